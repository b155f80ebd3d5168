from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.reasons import Reason
from tasks.clean import clean_text
from tasks.dedup import (
    LakeIndex,
    content_hash,
    dedup_documents,
    dedup_paragraphs,
    paragraph_hash,
    skip_known_inputs,
)
from tasks.records import Document, Reject, StageOutput


def _doc(source: str, paragraphs: list[str]) -> Document:
    return Document(source, f"h-{source}", "text", "", paragraphs=paragraphs)


def test_seed_keeps_eight_of_fifteen_paragraphs(seed_text: str) -> None:
    paragraphs = clean_text(seed_text).paragraphs
    kept, hashes, dropped = dedup_paragraphs(paragraphs)
    assert (len(paragraphs), len(kept), len(dropped)) == (15, 8, 7)
    assert hashes == [paragraph_hash(p) for p in kept]
    assert [(d.position, d.duplicate_of_position) for d in dropped] == [
        (i + 7, i) for i in range(1, 8)
    ]
    assert kept == paragraphs[:8]
    assert all(d.paragraph_hash == paragraph_hash(paragraphs[d.position]) for d in dropped)


def test_paragraph_keys_fold_case_whitespace_and_quote_styles() -> None:
    kept, _, dropped = dedup_paragraphs(["He said “yes.”", 'He  said "YES."', "Something else."])
    assert kept == ["He said “yes.”", "Something else."]
    assert [(d.position, d.duplicate_of_position) for d in dropped] == [(1, 0)]


def test_exact_duplicates_point_at_the_first_kept_article() -> None:
    index: dict[str, str] = {}
    docs = [_doc("a", ["One.", "Two."]), _doc("b", ["Other."]), _doc("c", ["one.", "two."])]
    kept, dups = dedup_documents(docs, index)
    assert [d.source for d in kept] == ["a", "b"]
    assert [(d.document.source, d.duplicate_of) for d in dups] == [("c", docs[0].doc_id)]
    assert kept[0].content_hash == content_hash(["One.", "Two."]) == dups[0].content_hash
    # a later batch (or run) sees what earlier ones kept
    later, later_dups = dedup_documents([_doc("d", ["Two."]), _doc("e", ["Other."])], index)
    assert [d.source for d in later] == ["d"]
    assert later_dups[0].duplicate_of == docs[1].doc_id


_PARAGRAPHS = st.lists(
    st.sampled_from(["Alpha.", "Beta.", "Gamma.", "alpha.", "Delta."]), min_size=1, max_size=3
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PARAGRAPHS, min_size=1, max_size=12), st.randoms())
def test_document_dedup_does_not_depend_on_input_order(texts: list[list[str]], rng) -> None:
    docs = [_doc(f"s{i}", t) for i, t in enumerate(texts)]
    shuffled = docs[:]
    rng.shuffle(shuffled)

    def groups(order: list[Document]) -> set[frozenset[str]]:
        kept, dups = dedup_documents(order, {})
        members = {d.doc_id: {d.source} for d in kept}
        for dup in dups:
            members[dup.duplicate_of].add(dup.document.source)
        return {frozenset(m) for m in members.values()}

    assert groups(docs) == groups(shuffled)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["A.", "B.", "C.", "b."]), max_size=12))
def test_paragraph_dedup_keeps_each_distinct_paragraph_once(paragraphs: list[str]) -> None:
    kept, _, dropped = dedup_paragraphs(paragraphs)
    assert len(kept) + len(dropped) == len(paragraphs)
    assert {paragraph_hash(p) for p in kept} == {paragraph_hash(p) for p in paragraphs}
    assert dedup_paragraphs(kept)[0::2] == (kept, [])


def test_known_inputs_are_skipped_by_source_and_content() -> None:
    index = LakeIndex()
    index.remember("a.txt", "h1")
    index.remember("bad.txt", None)
    read = StageOutput(
        docs=[
            Document("a.txt", "h1", "text", "x"),
            Document("a.txt", "h2", "text", "y"),
            Document("b.txt", "h1", "text", "z"),
        ],
        rejects=[
            Reject("bad.txt", Reason.READ_TOO_LARGE, "big"),
            Reject("new.txt", Reason.READ_EMPTY_FILE, "e"),
        ],
        counts={"read.total": 5},
    )
    fresh, known = skip_known_inputs(read, index)
    assert known == 2
    assert [(d.source, d.input_hash) for d in fresh.docs] == [("a.txt", "h2"), ("b.txt", "h1")]
    assert [r.source for r in fresh.rejects] == ["new.txt"]
    assert fresh.counts["read.already_ingested"] == 2
