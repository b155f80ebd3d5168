"""WARC archives as sources: HTML responses become pages, other records are counted."""

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsmill.schemas.reasons import Reason
from newsmill.tasks.ingest.read import ReadSettings, read_shard
from newsmill.tasks.ingest.sources import discover_sources, plan_shards
from newsmill.tasks.records import Document

ARTICLE = (
    "<html><head><title>Harbour reopens</title></head><body><article>"
    + "".join(
        f"<p>The harbour reopened on day {n} after weeks of repairs to the old sea wall, "
        f"and fishing boat number {n} was the first to sail out past the lighthouse.</p>"
        for n in range(6)
    )
    + "</article></body></html>"
)


def _response(
    writer: WARCWriter, url: str, body: bytes, content_type: str, status: str = "200 OK"
) -> None:
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    writer.write_record(
        writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
    )


def write_warc(path: Path) -> None:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=path.suffix == ".gz")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        request = StatusAndHeaders(
            "GET /a HTTP/1.1", [("Host", "example.org")], is_http_request=True
        )
        writer.write_record(
            writer.create_warc_record("https://example.org/a", "request", http_headers=request)
        )
        _response(writer, "https://example.org/a", ARTICLE.encode(), "text/html; charset=utf-8")
        _response(
            writer, "https://example.org/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"
        )
        _response(
            writer, "https://example.org/gone", b"<html>gone</html>", "text/html", "404 Not Found"
        )
        _response(
            writer, "https://example.org/b", "<p>Café, naïve</p>".encode("cp1252"), "text/html"
        )


def _read(path: Path):
    [shard] = plan_shards(discover_sources([str(path)]).files, 8 << 20, 10)
    return read_shard(shard, ReadSettings())


def test_html_responses_become_pages_and_other_records_are_counted(tmp_path: Path) -> None:
    for name in ("crawl.warc.gz", "crawl.warc"):
        path = tmp_path / name
        write_warc(path)
        read = _read(path)
        assert [type(d) for d in read.docs] == [Document, Document]
        first, second = read.docs
        assert first.url == "https://example.org/a" and first.source_kind == "html"
        assert first.source.startswith(f"{path}@") and "Harbour reopens" in first.body
        assert second.body == "<p>Café, naïve</p>"  # decoded, not mojibake
        assert first.source != second.source
        assert read.rejects == []
        assert read.counts["read.skipped.warcinfo"] == 1
        assert read.counts["read.skipped.request"] == 1
        assert read.counts["read.skipped.not_html"] == 1
        assert read.counts["read.skipped.http_404"] == 1
        assert read.counts["read.total"] == 2


def test_a_truncated_archive_keeps_what_came_before_the_damage(tmp_path: Path) -> None:
    for name in ("whole.warc.gz", "whole.warc"):
        whole = tmp_path / name
        write_warc(whole)
        cut = tmp_path / f"cut-{name}"
        cut.write_bytes(whole.read_bytes()[:-30])  # inside the last record's page
        read = _read(cut)
        assert [d.url for d in read.docs] == ["https://example.org/a"]
        [reject] = read.rejects
        assert reject.reason is Reason.READ_CORRUPT_WARC
        assert reject.source.startswith(f"{cut}@") and "truncated" in reject.detail


def test_a_response_without_a_target_uri_costs_the_rest_of_its_archive_not_the_shard(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.warc.gz"
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        _response(writer, "https://example.org/a", ARTICLE.encode(), "text/html")
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            "https://example.org/b",
            "response",
            payload=io.BytesIO(b"<p>b</p>"),
            http_headers=headers,
        )
        record.rec_headers.remove_header("WARC-Target-URI")  # warcio raises on reading it
        writer.write_record(record)
    read = _read(path)
    assert [d.url for d in read.docs] == ["https://example.org/a"]
    [reject] = read.rejects
    assert reject.reason is Reason.READ_CORRUPT_WARC and "cannot parse" in reject.detail
