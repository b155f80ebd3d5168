import gzip
import json
import random
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from newsmill.schemas.reasons import Reason
from newsmill.tasks.ingest.read import (
    ReadSettings,
    parse_jsonl_record,
    read_part,
    read_shard,
    read_shard_batches,
    sniff_kind,
)
from newsmill.tasks.ingest.sources import FilePart, Shard, SourceFile
from newsmill.tasks.records import Document, Reject

SETTINGS = ReadSettings(max_input_mb=0.01)  # 10 KiB keeps the oversized cases small


def _read(path: Path, explicit: bool = True) -> list[Document | Reject]:
    part = FilePart(SourceFile(str(path), path.stat().st_size, explicit))
    return list(read_part(part, SETTINGS))


@pytest.mark.parametrize(
    ("head", "suffix", "kind"),
    [
        (b'{"text": "a"}\n{"text": "b"}', ".txt", "jsonl"),
        (b'{"text": "trunc', ".jsonl", "jsonl"),
        (b"<!DOCTYPE html><html><body><p>x</p>", ".txt", "html"),
        (b"<p>One</p><p>Two</p><div>three</div>", ".txt", "html"),
        (b"Hello <b>bold</b> world", ".html", "text"),
        (b"<p>fragment</p>", ".htm", "html"),
        (b"Plain text about a < b and c > d.", ".txt", "text"),
        (b"Plain text.", ".md", "text"),
    ],
)
def test_sniff_kind_by_content_then_extension(head: bytes, suffix: str, kind: str) -> None:
    assert sniff_kind(head, suffix) == kind


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", Reason.READ_EMPTY_FILE),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), Reason.READ_NOT_TEXT),
        ("controls.txt", bytes(range(1, 9)) * 200, Reason.READ_NOT_TEXT),
        ("big.txt", b"word " * 5000, Reason.READ_TOO_LARGE),
        ("bomb.txt.gz", gzip.compress(b"word " * 5000, mtime=0), Reason.READ_TOO_LARGE),
        (
            "broken.txt.gz",
            gzip.compress(b"some text " * 100, mtime=0)[:-30],
            Reason.READ_CORRUPT_GZIP,
        ),
    ],
)
def test_bad_files_become_one_reject_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: Reason
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    [result] = _read(path)
    assert isinstance(result, Reject)
    assert result.reason is reason
    assert result.source == str(path)
    assert result.detail


def test_unknown_extension_is_rejected_only_when_found_by_walking(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("A plain note that happens to have a csv name.")
    [walked] = _read(path, explicit=False)
    assert isinstance(walked, Reject) and walked.reason is Reason.READ_UNSUPPORTED_TYPE
    [named] = _read(path, explicit=True)
    assert isinstance(named, Document) and named.source_kind == "text"


def test_gzip_text_html_and_encodings_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress("Grüße aus Köln".encode()))
    (tmp_path / "b.htm").write_bytes(
        '<html><head><meta charset="windows-1252"></head><body><p>Café “ouvert”</p></body></html>'.encode(
            "cp1252"
        )
    )
    [text] = _read(tmp_path / "a.txt.gz")
    [html] = _read(tmp_path / "b.htm")
    assert (
        isinstance(text, Document) and text.body == "Grüße aus Köln" and text.source_kind == "text"
    )
    assert isinstance(html, Document) and "Café “ouvert”" in html.body and html.encoding == "cp1252"


def test_jsonl_lines_each_become_a_document_or_a_reject(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": 7,
                "url": "https://x.example/a",
                "title": "T",
                "author": ["A B", "C D"],
                "published": "2023-01-02",
                "text": "Body",
            }
        ),
        "not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"title": "no body", "text": "  "}),
        json.dumps({"html": "<html><body><p>Hi</p></body></html>"}),
        '{"text": "cut off in the midd',
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines))
    results = _read(path)
    assert [(r.line_number, type(r).__name__) for r in results] == [
        (1, "Document"),
        (2, "Reject"),
        (4, "Reject"),
        (5, "Reject"),
        (6, "Document"),
        (7, "Reject"),
    ]
    first = results[0]
    assert isinstance(first, Document)
    assert (first.source, first.external_id, first.author, first.published_raw) == (
        f"{path}:1",
        "7",
        "A B, C D",
        "2023-01-02",
    )
    reasons = [r.reason for r in results if isinstance(r, Reject)]
    assert reasons == [
        Reason.PARSE_INVALID_JSON,
        Reason.PARSE_NOT_OBJECT,
        Reason.PARSE_MISSING_TEXT,
        Reason.PARSE_INVALID_JSON,
    ]
    assert "truncated" in results[-1].detail  # type: ignore[union-attr]
    assert results[4].source_kind == "jsonl-html"  # type: ignore[union-attr]


def test_damaged_gzip_jsonl_keeps_lines_before_the_damage(tmp_path: Path) -> None:
    rng = random.Random(5)
    words = ["tram", "council", "harbour", "vote", "budget", "ferry", "frost", "library"]
    body = "\n".join(
        json.dumps({"text": " ".join(rng.choices(words, k=80))}) for _ in range(300)
    ).encode()
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress(body)[:-50])
    results = _read(path)
    assert isinstance(results[-1], Reject) and results[-1].reason is Reason.READ_CORRUPT_GZIP
    assert all(isinstance(r, Document) for r in results[:-2])
    assert len(results) > 50


def test_jsonl_line_over_the_limit_is_rejected() -> None:
    line = json.dumps({"text": "x" * 20_000}).encode()
    result = parse_jsonl_record("f.jsonl", 3, line, SETTINGS)
    assert isinstance(result, Reject) and result.reason is Reason.READ_TOO_LARGE
    assert (result.source, result.line_number) == ("f.jsonl:3", 3)


def test_a_huge_line_in_a_gzipped_export_is_rejected_without_being_held(tmp_path: Path) -> None:
    """A 30 MB line grew one bytes object chunk by chunk (quadratic: 51 s for 100 MB) and
    was held whole; now it is cut off at the limit as it streams, and the lines around it
    are read."""
    settings = replace(SETTINGS, max_input_mb=1)
    fine = json.dumps({"text": "The ferry leaves at nine and returns at five, officials said."})
    huge = json.dumps({"text": "x" * 30_000_000})
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join([fine, huge, fine]).encode(), compresslevel=1))
    tracemalloc.start()
    try:
        part = FilePart(SourceFile(str(path), path.stat().st_size, True))
        results = list(read_part(part, settings))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the property under test, not a speed target: the line is never gathered whole
    assert peak < 10_000_000
    assert [type(r).__name__ for r in results] == ["Document", "Reject", "Document"]
    reject = results[1]
    assert isinstance(reject, Reject) and reject.reason is Reason.READ_TOO_LARGE
    assert (reject.source, reject.line_number) == (f"{path}:2", 2)
    assert reject.input_hash


def test_a_first_line_nested_too_deep_to_sniff_is_read_not_raised(tmp_path: Path) -> None:
    """Sniffing parses the first 4 KB as JSON; 4,000 open brackets recursed out of it."""
    path = tmp_path / "odd.txt"
    path.write_bytes(b'{"x": ' + b"[" * 4_000 + b"]" * 4_000 + b"}\n")  # 8 KB, in the limit
    [result] = _read(path)
    assert isinstance(result, Document) and result.source_kind == "text"


def test_a_gzipped_export_of_many_tiny_records_is_read_a_batch_at_a_time(tmp_path: Path) -> None:
    """A .jsonl.gz is one shard however many records it holds: 254 KB of tiny records took
    10 GB when the shard was read whole. Now a worker holds one batch of documents."""
    settings = replace(SETTINGS, read_batch_inputs=1_000)
    records = "\n".join(json.dumps({"text": f"Ferry {i} sails at dawn."}) for i in range(20_000))
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress(records.encode()))
    shard = Shard(0, (FilePart(SourceFile(str(path), path.stat().st_size, True)),))
    sizes = []
    tracemalloc.start()
    try:
        for batch in read_shard_batches(shard, settings):
            sizes.append(len(batch.docs))
            assert batch.counts["read.total"] == len(batch.docs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes == [1_000] * 20
    whole = read_shard(shard, settings)
    assert len(whole.docs) == 20_000 and whole.counts["read.total"] == 20_000
    # the property under test, not a memory target: 20 batches (~17 MB) are never held at once
    assert peak < 8_000_000


def test_an_empty_shard_is_one_empty_batch(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n")
    shard = Shard(0, (FilePart(SourceFile(str(path), path.stat().st_size, True)),))
    [batch] = read_shard_batches(shard, SETTINGS)
    assert (batch.docs, batch.rejects, batch.counts["read.total"]) == ([], [], 0)
