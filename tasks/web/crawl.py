"""Crawl: web sources → fetched pages in the raw zone, ready to be read as WARC shards.

    discover (feeds, sitemaps and their child sitemaps, URL lists)
      → the URLs the lake already has are skipped (or asked for conditionally: --refresh)
      → fetch politely (web.fetch), every response into the run's staged WARC files
      → a `fetches` row per URL tried, a reject per URL that failed

The pages themselves become articles the ordinary way: the run reads the staged WARC files
as sources (`ingest.read`), under the names they will have once committed.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import FETCHES, REJECTS
from newsmill.tasks.dedup.exact import LakeIndex, input_key
from newsmill.tasks.ingest.sources import SourceFile
from newsmill.tasks.lake import rows
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.lake.runs import reject_counts
from newsmill.tasks.lookup import Lookup
from newsmill.tasks.records import Reject, hash_bytes, hash_text
from newsmill.tasks.web import discover
from newsmill.tasks.web.discover import WebSources
from newsmill.tasks.web.fetch import (
    Fetcher,
    FetchRequest,
    FetchResult,
    FetchSettings,
    Resolver,
    resolve,
)
from newsmill.tasks.web.rawzone import RawFile, RawZoneWriter

MAX_SITEMAP_DEPTH = 3  # index → sitemap → sitemap is as deep as real sites go
MAX_SITEMAPS = 1_000
PROGRESS_EVERY_S = 5.0
KNOWN_OUTCOMES = ("fetched", "not_modified", "rejected")  # `failed` is tried again


@dataclass(slots=True)
class CrawlResult:
    files: list[str]  # staged files (WARC, fetches and rejects rows) for the run to adopt
    raw: list[RawFile]  # the WARC files, to read as sources
    counts: Counter[str]


@dataclass(frozen=True, slots=True)
class _Candidate:
    url: str
    found_in: str | None


@dataclass(slots=True)
class _Recorder:
    """Keeps every result: its exchanges in the raw zone, a `fetches` row, a reject."""

    raw: RawZoneWriter
    ctx: RunContext
    fetch_rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    discover_rejects: list[Reject] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def record(self, result: FetchResult) -> None:
        record = None
        for exchange in result.exchanges:
            record = self.raw.write(exchange)
        self.fetch_rows.append(
            rows.fetch_row(result, discover.url_key(result.request.url), record, self.ctx)
        )
        self.counts[f"fetch.{result.request.role}.{result.outcome}"] += 1
        if result.reason is not None and result.request.role != "robots":
            self.reject(Reject(result.request.url, result.reason, result.detail))

    def reject(self, reject: Reject) -> None:
        """A reject of this run; discover rejects (with the input's hash) wait for
        `drop_known`, as an earlier run may have rejected the same line or feed already."""
        if reject.stage == "discover":
            self.discover_rejects.append(reject)
        else:
            self.rejects.append(reject)

    def drop_known(self, lake: Lookup) -> None:
        """Keep the discover rejects no earlier run recorded: re-running adds nothing."""
        pairs = [(r.source, r.input_hash) for r in self.discover_rejects]
        known = LakeIndex(lake).known_inputs(pairs)
        for reject in self.discover_rejects:
            if input_key(reject.source, reject.input_hash) in known:
                self.counts["read.already_ingested"] += 1
            else:
                self.rejects.append(reject)
        self.discover_rejects.clear()


def crawl(
    web: WebSources,
    lake: Lake,
    ctx: RunContext,
    settings: FetchSettings,
    roll_bytes: int,
    log: Callable[[str], None] = lambda _: None,
    resolver: Resolver = resolve,
) -> CrawlResult:
    """Fetch what `web` names into the run's staging, with a writer of its own: its files
    are returned for the run's writer to adopt. WARC files roll at `roll_bytes`."""
    writer = lake.start_run(ctx.run_id, part="fetch")
    recorder = _Recorder(RawZoneWriter(lake, writer, ctx.started_at.date(), roll_bytes), ctx)
    with Fetcher(settings, resolver) as fetcher:
        candidates = list(_listed(web, recorder))
        candidates += _discovered(web, fetcher, recorder, log)
        requests = _to_fetch(candidates, lake, settings, recorder, log)
        clock, last = time.monotonic(), time.monotonic()
        for result in fetcher.fetch_all(requests):
            recorder.record(result)
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                log(_progress(recorder.counts, len(requests), last - clock))
        recorder.counts.update(fetcher.counts)
    recorder.drop_known(lake)
    recorder.counts.update(reject_counts(recorder.rejects))
    raw_files = recorder.raw.close()
    writer.write(FETCHES, recorder.fetch_rows)
    writer.write(REJECTS, [rows.reject_row(r, ctx) for r in recorder.rejects])
    files = writer.close() + [f.relative for f in raw_files]
    return CrawlResult(files, raw_files, recorder.counts)


def fetched_pages(crawled: CrawlResult) -> list[SourceFile]:
    """The run's staged WARC files as sources, under the names they will have once committed."""
    return [SourceFile(f.staged, f.size, True, name=f.committed) for f in crawled.raw]


def _progress(counts: Counter[str], total: int, seconds: float) -> str:
    done = sum(v for k, v in counts.items() if k.startswith("fetch.article."))
    fetched = counts["fetch.article.fetched"]
    return f"fetched {done}/{total} URLs ({fetched} pages, {done - fetched} not) in {seconds:.0f} s"


def _listed(web: WebSources, recorder: _Recorder) -> Iterator[_Candidate]:
    """Article URLs given as arguments and in URL lists; a line that is no URL is a reject."""
    for url in web.articles:
        yield _Candidate(url, None)
    for path in web.url_lists:
        try:
            for number, line in discover.read_url_list(path):
                if discover.clean_url(line) is None:
                    recorder.reject(
                        Reject(
                            f"{path}:{number}",
                            Reason.DISCOVER_BAD_URL,
                            f"{line[:200]!r} is not an http(s) URL with a host",
                            hash_text(line),
                            number,
                        )
                    )
                    continue
                yield _Candidate(line, path)
        except OSError as error:
            recorder.reject(
                Reject(path, Reason.READ_IO_ERROR, f"could not read the URL list: {error}")
            )


def _discovered(
    web: WebSources, fetcher: Fetcher, recorder: _Recorder, log: Callable[[str], None]
) -> list[_Candidate]:
    """Article links of the feeds and sitemaps (child sitemaps followed, a few levels)."""
    found: list[_Candidate] = []
    pending = [FetchRequest(u, role="feed") for u in _fetchable(web.feeds, recorder)]
    pending += [FetchRequest(u, role="sitemap") for u in _fetchable(web.sitemaps, recorder)]
    seen = {r.url for r in pending}
    for _ in range(MAX_SITEMAP_DEPTH):
        children: list[FetchRequest] = []
        for result in fetcher.fetch_all(pending):
            recorder.record(result)
            request, response = result.request, result.response
            if result.outcome != "fetched" or request.role == "robots" or response is None:
                continue
            sitemaps: list[str] = []
            try:
                if request.role == "feed":
                    links = discover.feed_links(response.body, response.url)
                else:
                    sitemaps, links = discover.sitemap_links(response.body, response.url)
            except discover.TooLargeWhenDecompressed as error:
                detail = f"the {request.role} is refused: {error}"
                body_hash = hash_bytes(response.body)
                recorder.reject(Reject(request.url, Reason.FETCH_TOO_LARGE, detail, body_hash))
                continue
            if not links and not sitemaps:
                what = "feed (RSS, Atom or JSON)" if request.role == "feed" else "sitemap"
                detail = f"no links found: not a {what}, or an empty one"
                body_hash = hash_bytes(response.body)  # an unchanged empty feed: once
                recorder.reject(Reject(request.url, Reason.DISCOVER_NO_LINKS, detail, body_hash))
            log(f"{request.role} {request.url}: {len(links)} links, {len(sitemaps)} sitemaps")
            found += [_Candidate(link, request.url) for link in links]
            for child in sitemaps:
                if child not in seen and len(seen) < MAX_SITEMAPS:
                    seen.add(child)
                    children.append(FetchRequest(child, role="sitemap", found_in=request.url))
        pending = children
        if not pending:
            break
    return found


def _fetchable(urls: Iterable[str], recorder: _Recorder) -> Iterator[str]:
    for url in urls:
        cleaned = discover.clean_url(url)
        if cleaned is None:
            detail = "not an http(s) URL with a host"
            recorder.reject(Reject(url, Reason.DISCOVER_BAD_URL, detail, hash_text(url)))
        else:
            yield cleaned


def _to_fetch(
    candidates: list[_Candidate],
    lake: Lookup,
    settings: FetchSettings,
    recorder: _Recorder,
    log: Callable[[str], None],
) -> list[FetchRequest]:
    """Each page once (by normalised URL); those the lake has skipped, or asked for with
    their validators on --refresh; at most `max_urls`."""
    unique: dict[int, FetchRequest] = {}
    for candidate in candidates:
        cleaned = discover.clean_url(candidate.url)
        if cleaned is None:
            recorder.counts["discover.bad_links"] += 1
            continue
        unique.setdefault(
            discover.url_key(cleaned), FetchRequest(cleaned, found_in=candidate.found_in)
        )
    known = _known_urls(lake, list(unique))
    requests: list[FetchRequest] = []
    for key, request in unique.items():
        if key in known:
            if not settings.refresh:
                recorder.counts["fetch.known"] += 1
                continue
            etag, last_modified = known[key]
            request = replace(request, etag=etag, last_modified=last_modified)
        requests.append(request)
    if len(requests) > settings.max_urls:
        deferred = len(requests) - settings.max_urls
        recorder.counts["fetch.deferred"] += deferred
        log(
            f"{len(requests)} URLs to fetch: the first {settings.max_urls} now (max_urls), {deferred} in later runs"
        )
        requests = requests[: settings.max_urls]
    return requests


def _known_urls(lake: Lookup, keys: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """Pages the lake has fetched (or rejected for good): key → (ETag, Last-Modified) of the
    latest response."""
    columns = ["url_key", "role", "outcome", "etag", "last_modified", "fetched_at"]
    found: pa.Table = lake.look_up(FETCHES, "url_key", np.array(keys, np.uint64), columns)
    known: dict[int, tuple[str | None, str | None]] = {}
    latest: dict[int, Any] = {}
    for row in found.to_pylist():
        if row["role"] != "article" or row["outcome"] not in KNOWN_OUTCOMES:
            continue
        key = row["url_key"]
        if key not in latest or row["fetched_at"] > latest[key]:
            latest[key] = row["fetched_at"]
            known[key] = (row["etag"], row["last_modified"])
    return known
