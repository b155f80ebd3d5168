"""The raw zone: every HTTP response a run received, as WARC (ISO 28500) files in the lake.

Each exchange becomes a `request` and a `response` record (gzipped per record, the form
Common Crawl and the Internet Archive publish), so the zone replays in any WARC tool and
`newsmill run <lake>/raw` re-extracts the articles without fetching again: the article's
`source` is its response record, `<file>@<offset>`.

Bodies are stored as received after HTTP decoding (gzip, chunked), which is what readers
replay: the `Content-Encoding` and `Transfer-Encoding` headers are dropped and
`Content-Length` is the stored length. A body cut at `max_body_mb` carries the standard
`WARC-Truncated: length`. `WARC-Newsmill-Role` says why it was fetched (article, feed,
sitemap, robots), so re-reading takes only articles.
"""

import io
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsmill.tasks.ingest.read import ROLE_HEADER
from newsmill.tasks.lake.lake import Lake, RunWriter
from newsmill.tasks.web.fetch import Exchange

_DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True, slots=True)
class RawFile:
    relative: str  # in the lake, and in the run's staging until the commit
    staged: str  # where to read it before the commit
    committed: str  # where it will be: the name records are known by
    size: int


class RawZoneWriter:
    """Appends exchanges to the run's staged WARC files, starting a new file past
    `roll_bytes`, so the files make shards of a useful size."""

    def __init__(self, lake: Lake, writer: RunWriter, fetch_date: date, roll_bytes: int) -> None:
        self._lake, self._writer = lake, writer
        self._fetch_date, self._roll_bytes = fetch_date, roll_bytes
        self._handle: BinaryIO | None = None
        self._warc: WARCWriter | None = None
        self._relative = ""
        self.files: list[RawFile] = []

    def write(self, exchange: Exchange) -> str:
        """Store one exchange; returns its response record's name, `<file>@<offset>`."""
        if self._handle is None or self._handle.tell() >= self._roll_bytes:
            self._start_file()
        assert self._handle is not None and self._warc is not None
        response = self._response_record(exchange)
        offset = self._handle.tell()
        self._warc.write_record(response)
        self._warc.write_record(self._request_record(exchange, response))
        return f"{self._writer.committed_uri(self._relative)}@{offset}"

    def _start_file(self) -> None:
        self._close_file()
        self._relative = self._lake.raw_file(
            self._fetch_date, self._writer.run_id, len(self.files) + 1
        )
        self._handle = self._writer.open_staged(self._relative)
        self._warc = WARCWriter(self._handle, gzip=True)

    def _response_record(self, exchange: Exchange) -> ArcWarcRecord:
        assert self._warc is not None
        headers = [(k, v) for k, v in exchange.headers if k.lower() not in _DROPPED_HEADERS]
        headers.append(("Content-Length", str(len(exchange.body))))
        http = StatusAndHeaders(
            f"{exchange.status} {exchange.reason_phrase}".strip(), headers, protocol="HTTP/1.1"
        )
        warc_headers = {
            "WARC-Date": exchange.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "WARC-IP-Address": exchange.address,
            ROLE_HEADER: exchange.role,
        }
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "length"
        return self._warc.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )

    def _request_record(self, exchange: Exchange, response: ArcWarcRecord) -> ArcWarcRecord:
        assert self._warc is not None
        target = exchange.url.split("://", 1)[-1]
        path = "/" + target.split("/", 1)[1] if "/" in target else "/"
        http = StatusAndHeaders(
            f"GET {path} HTTP/1.1", list(exchange.request_headers), is_http_request=True
        )
        warc_headers = {
            "WARC-Date": response.rec_headers.get_header("WARC-Date"),
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            ROLE_HEADER: exchange.role,
        }
        return self._warc.create_warc_record(
            exchange.url, "request", http_headers=http, warc_headers_dict=warc_headers
        )

    def _close_file(self) -> None:
        if self._handle is None:
            return
        size = self._handle.tell()
        self._handle.close()
        self.files.append(
            RawFile(
                self._relative,
                self._writer.staged_uri(self._relative),
                self._writer.committed_uri(self._relative),
                size,
            )
        )
        self._handle = self._warc = None

    def close(self) -> list[RawFile]:
        self._close_file()
        return self.files
