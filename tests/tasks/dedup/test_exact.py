import sys
import unicodedata
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import INPUT_KEYS
from newsmill.tasks.dedup.exact import (
    _FOLD,
    LAST_WHITESPACE,
    LakeIndex,
    content_hash,
    dedup_against,
    dedup_documents,
    dedup_paragraphs,
    normalise_for_key,
    paragraph_hash,
    resolve_chains,
    skip_known_inputs,
)
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import input_keys_table
from newsmill.tasks.records import Document, Reject, StageOutput
from newsmill.tasks.text.clean import clean_text
from tests.tasks.lake_runs import STARTED, commit_tables, run_context


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


def _lake_with_inputs(root: Path) -> Lake:
    """Run 1: article a.txt@h1 and reject bad.txt; run 2, a day later: a.txt@h3."""
    lake = Lake(root)
    first, second = run_context("r1"), run_context("r2", STARTED + timedelta(days=1))
    articles = pa.record_batch(
        {
            "doc_id": ["d1"],
            "source": ["a.txt"],
            "input_hash": ["h1"],
            "content_hash": [content_hash(["Same text."])],
        }
    )
    rejects = pa.record_batch({"source": ["bad.txt"], "input_hash": pa.nulls(1, pa.string())})
    commit_tables(
        lake,
        first,
        [
            (INPUT_KEYS, input_keys_table(articles, first, articles=True)),
            (INPUT_KEYS, input_keys_table(rejects, first, articles=False)),
        ],
    )
    newer = articles.set_column(0, "doc_id", pa.array(["d3"])).set_column(
        2, "input_hash", pa.array(["h3"])
    )
    newer = newer.set_column(3, "content_hash", pa.array([content_hash(["Newer text."])]))
    commit_tables(lake, second, [(INPUT_KEYS, input_keys_table(newer, second, articles=True))])
    return lake


def test_known_inputs_are_skipped_by_source_and_content(tmp_path: Path) -> None:
    index = LakeIndex(_lake_with_inputs(tmp_path))
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


def test_the_lake_is_looked_up_for_contents_and_previous_versions(tmp_path: Path) -> None:
    index = LakeIndex(_lake_with_inputs(tmp_path))
    assert index.kept_by_hash == {}  # nothing is loaded up front
    docs = [
        Document("c.txt", "h9", "text", "", paragraphs=["Same  text."]),
        Document("d.txt", "h9", "text", "", paragraphs=["Fresh text."]),
    ]
    kept, duplicates = dedup_against(docs, index)
    assert [(d.document.source, d.duplicate_of) for d in duplicates] == [("c.txt", "d1")]
    assert [d.source for d in kept] == ["d.txt"]
    assert index.latest_articles(["a.txt", "c.txt"]) == {"a.txt": "d3"}
    assert index.latest_articles([]) == {}
    assert LakeIndex().known_inputs([("a.txt", "h1")]) == set()  # no lake: nothing known


def test_chains_of_copies_resolve_to_the_kept_article() -> None:
    # x copies w (across shards), w is a near copy of c, y copies x inside its shard
    assert resolve_chains({"x": "w", "w": "c", "y": "x", "z": "c"}) == {
        "x": "c",
        "w": "c",
        "y": "c",
        "z": "c",
    }
    assert resolve_chains({}) == {}


def _key_by_splitting_every_word(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for variant, plain in _FOLD.items():
        text = text.replace(variant, plain)
    return " ".join(text.casefold().split())


# spaces of every kind, and characters whose NFKC form holds a space ("´" is " ́")
_SPACEY = st.text(
    st.sampled_from([" ", "\t", "\n", "\xa0", "\u2003", "\u3000", "\x1f", "´", "¨", "‗"])
    | st.characters(),
    max_size=40,
)


@given(_SPACEY)
def test_a_key_is_the_text_with_its_words_one_space_apart(text: str) -> None:
    """A text whose words are one space apart already is not split (the common case); any
    other is, and both give the key that splitting every text would."""
    assert normalise_for_key(text) == _key_by_splitting_every_word(text)


def test_no_code_point_past_the_last_whitespace_one_is_whitespace() -> None:
    assert chr(LAST_WHITESPACE).isspace()
    assert not any(chr(c).isspace() for c in range(LAST_WHITESPACE + 1, sys.maxunicode + 1))
