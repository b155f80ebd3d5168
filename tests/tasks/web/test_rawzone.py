"""The raw zone: exchanges become standard WARC records that any WARC reader replays, and
that newsmill reads back as articles by their record names."""

from datetime import UTC, date, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from newsmill.tasks.ingest.read import ROLE_HEADER
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.web.fetch import Exchange
from newsmill.tasks.web.rawzone import RawZoneWriter

PAGE = b"<html><body><p>The ferry to the islands runs again from Monday.</p></body></html>"


def exchange(n: int, body: bytes = PAGE, truncated: bool = False) -> Exchange:
    return Exchange(
        url=f"http://127.0.0.1:8000/news/{n}.html",
        address="127.0.0.1",
        request_headers=(("User-Agent", "newsmill-test"), ("Accept", "text/html")),
        status=200,
        reason_phrase="OK",
        headers=(
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),  # the body is stored decoded: this header goes
            ("Content-Length", "17"),
        ),
        body=body,
        truncated=truncated,
        fetched_at=datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC),
        role="article",
    )


def test_exchanges_become_warc_records_named_by_file_and_offset(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    writer = lake.start_run("r1")
    raw = RawZoneWriter(lake, writer, date(2026, 12, 2), roll_bytes=1)  # a file per exchange
    names = [raw.write(exchange(1)), raw.write(exchange(2, b"cut", truncated=True))]
    files = raw.close()
    assert [f.relative for f in files] == [
        "raw/fetch_date=2026-12-02/part-r1-0001.warc.gz",
        "raw/fetch_date=2026-12-02/part-r1-0002.warc.gz",
    ]
    assert names == [f"{f.committed}@0" for f in files]  # where the record will be once committed
    records = []
    for file in files:
        assert Path(file.staged).stat().st_size == file.size
        with open(file.staged, "rb") as stream:
            records += [
                (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
                for r in ArchiveIterator(stream)
            ]
    assert [r[0] for r in records] == ["response", "request", "response", "request"]
    response_headers, http, body = records[0][1], records[0][2], records[0][3]
    assert body == PAGE
    assert response_headers.get_header("WARC-Target-URI") == "http://127.0.0.1:8000/news/1.html"
    assert response_headers.get_header(ROLE_HEADER) == "article"
    assert http.get_header("Content-Length") == str(len(PAGE))
    assert http.get_header("Content-Encoding") is None
    assert records[1][1].get_header("WARC-Concurrent-To") == response_headers.get_header(
        "WARC-Record-ID"
    )
    assert records[2][1].get_header("WARC-Truncated") == "length"
    assert records[0][1].get_header("WARC-Truncated") is None


def test_files_roll_over_past_the_size_given(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    raw = RawZoneWriter(lake, lake.start_run("r1"), date(2026, 12, 2), roll_bytes=10_000)
    for n in range(5):
        raw.write(exchange(n))
    assert len(raw.close()) == 1
    raw = RawZoneWriter(lake, lake.start_run("r2"), date(2026, 12, 2), roll_bytes=1)
    for n in range(5):
        raw.write(exchange(n))
    assert len(raw.close()) == 5
