"""The records stages pass along: stable ids, and how a stage's results are counted."""

import contextlib

from newsmill.schemas.reasons import Reason
from newsmill.tasks.records import (
    Document,
    Reject,
    ShardBatch,
    hash_text,
    make_doc_id,
    run_stage,
)


def doc(source: str, body: str) -> Document:
    return Document(source=source, input_hash=hash_text(body), source_kind="text", body=body)


def test_a_doc_id_depends_on_source_and_input_only() -> None:
    a, again = doc("a.txt", "Same words."), doc("a.txt", "Same words.")
    again.title, again.paragraphs = "A title", ["changed later by a stage"]
    assert a.doc_id == again.doc_id == make_doc_id("a.txt", hash_text("Same words."))
    assert doc("b.txt", "Same words.").doc_id != a.doc_id
    assert doc("a.txt", "Other words.").doc_id != a.doc_id


def test_text_is_the_paragraphs_joined_by_blank_lines() -> None:
    d = doc("a.txt", "raw")
    d.paragraphs = ["One.", "Two."]
    assert d.text == "One.\n\nTwo."


def test_a_stage_routes_rejects_out_and_counts_each_reason() -> None:
    docs = [doc(f"{n}.txt", "x" * n) for n in range(5)]

    def step(d: Document) -> Document | Reject:
        if len(d.body) == 0:
            return Reject(d.source, Reason.READ_EMPTY_FILE, "empty")
        if len(d.body) > 3:
            return Reject(d.source, Reason.READ_TOO_LARGE, "too large")
        return d

    output = run_stage("read", docs, step)
    assert [d.source for d in output.docs] == ["1.txt", "2.txt", "3.txt"]
    assert [(r.source, r.stage) for r in output.rejects] == [("0.txt", "read"), ("4.txt", "read")]
    assert output.counts == {
        "read.total": 5,
        "read.kept": 3,
        "read.dropped_read_empty_file": 1,
        "read.dropped_read_too_large": 1,
    }

    batch = ShardBatch()
    batch.apply(output)
    batch.apply(run_stage("clean", batch.docs, lambda d: d))
    assert len(batch.docs) == 3 and len(batch.rejects) == 2
    assert batch.counts["read.total"] == 5 and batch.counts["clean.total"] == 3


def test_an_error_on_one_document_rejects_it_and_the_batch_goes_on() -> None:
    docs = [doc(f"{n}.txt", "x" * n) for n in range(3)]

    def step(d: Document) -> Document:
        if d.source == "1.txt":
            raise KeyError("a field no check foresaw")
        return d

    output = run_stage("fields", docs, step)
    assert [d.source for d in output.docs] == ["0.txt", "2.txt"]
    [reject] = output.rejects
    assert (reject.source, reject.reason, reject.input_hash) == (
        "1.txt",
        Reason.FIELDS_UNEXPECTED,
        docs[1].input_hash,
    )
    assert reject.detail == "KeyError: 'a field no check foresaw'"
    assert output.counts["fields.dropped_fields_unexpected"] == 1
    # "dedup_paragraphs" rejects as the dedup stage
    assert run_stage("dedup_paragraphs", docs, step).rejects[0].reason is Reason.DEDUP_UNEXPECTED


def test_a_document_over_the_time_limit_is_rejected_and_the_batch_goes_on() -> None:
    """The step's own `except Exception` does not swallow the stop."""
    docs = [doc(f"{n}.txt", "x" * n) for n in range(3)]

    def step(d: Document) -> Document:
        while d.source == "1.txt":  # a pathological input: no end in sight
            with contextlib.suppress(Exception):
                sum(range(1000))
        return d

    output = run_stage("mentions", docs, step, time_limit_s=0.2)
    assert [d.source for d in output.docs] == ["0.txt", "2.txt"]
    [reject] = output.rejects
    assert (reject.source, reject.reason) == ("1.txt", Reason.MENTIONS_TIMEOUT)
    assert "ran over 0.2 s (document_timeout_s)" in reject.detail
    assert output.counts["mentions.dropped_mentions_timeout"] == 1
