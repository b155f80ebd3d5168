"""The crawl stage against a real loopback site, without Prefect: what it stages in the raw
zone and the crawl log, and what the read stage makes of the raw zone."""

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import FETCHES, REJECTS
from newsmill.tasks.ingest.read import ReadSettings, read_shard
from newsmill.tasks.ingest.sources import plan_shards
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.records import Document, hash_bytes
from newsmill.tasks.web.crawl import CrawlResult, crawl, fetched_pages
from newsmill.tasks.web.discover import WebSources
from tests.tasks.lake_runs import STARTED, commit_tables, run_context
from tests.tasks.web.test_fetch import FAST
from tests.websites import NewsSite, article_html


def _crawl(
    site: NewsSite, lake: Lake, run_id: str = "run-1", **web: tuple[str, ...]
) -> CrawlResult:
    sources = WebSources(**web)
    return crawl(sources, lake, run_context(run_id), FAST, roll_bytes=8 << 20)


def _staged_rows(lake: Lake, run_id: str, result: CrawlResult, table: str) -> list[dict]:
    """A table's staged rows, with their partition value (it lives in the file's path)."""
    rows: list[dict] = []
    for relative in result.files:
        if relative.startswith(f"{table}/"):
            staged = pq.read_table(Path(lake.root) / "_staging" / run_id / relative).to_pylist()
            rows += [{**row, "run_date": STARTED.date()} for row in staged]
    return rows


def test_feeds_and_sitemaps_are_followed_and_every_response_is_kept(
    news_site: NewsSite, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    result = _crawl(
        news_site,
        lake,
        feeds=(news_site.url("/feed.rss"), news_site.url("/atom.xml")),
        sitemaps=(news_site.url("/sitemap_index.xml"),),
    )
    fetched = _staged_rows(lake, "run-1", result, "fetches")
    by_role: dict[str, set[str]] = {}
    for row in fetched:
        by_role.setdefault(row["role"], set()).add(row["url"].removeprefix(news_site.base))
    assert by_role == {
        "robots": {"/robots.txt"},
        "feed": {"/feed.rss", "/atom.xml"},
        "sitemap": {"/sitemap_index.xml", "/sitemap-1.xml", "/sitemap-2.xml"},
        "article": {f"/news/{n}.html" for n in range(1, 10)},
    }
    assert {row["outcome"] for row in fetched} == {"fetched"}
    assert result.counts["fetch.article.fetched"] == 9

    # every response is in the raw zone, paired with its request, named as it will be
    (raw,) = result.raw
    assert raw.committed == f"{lake.root}/{raw.relative}"
    assert raw.relative.startswith("raw/fetch_date=2026-11-28/part-run-1-")
    with open(raw.staged, "rb") as handle:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in ArchiveIterator(handle)
        ]
    responses = [uri for kind, uri in records if kind == "response"]
    assert len(responses) == len(fetched) == 15
    assert sum(kind == "request" for kind, _ in records) == 15
    assert all(row["record"].startswith(f"{raw.committed}@") for row in fetched)


def test_the_raw_zone_reads_back_as_the_articles_only(news_site: NewsSite, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    result = _crawl(
        news_site,
        lake,
        feeds=(news_site.url("/feed.rss"),),
        articles=(news_site.url("/huge"), news_site.url("/flaky")),
    )
    (shard,) = plan_shards(fetched_pages(result), 8 << 20, 500)
    output = read_shard(shard, ReadSettings())
    docs: list[Document] = output.docs  # type: ignore[assignment]
    pages = sorted(d.url.removeprefix(news_site.base) for d in docs if d.url)
    assert pages == ["/flaky", "/news/1.html", "/news/2.html", "/news/3.html"]
    assert not output.rejects
    # the robots.txt, the feed, requests, the 500 before the retry and the cut-off body
    assert output.counts["read.skipped.robots"] == 1
    assert output.counts["read.skipped.feed"] == 1
    assert output.counts["read.skipped.request"] == 8
    assert output.counts["read.skipped.http_500"] == 1
    assert output.counts["read.skipped.truncated"] == 1
    # a page's source is its response record, under the committed name
    fetched = {r["url"]: r for r in _staged_rows(lake, "run-1", result, "fetches")}
    for doc in docs:
        assert doc.source == fetched[doc.url]["record"]


def test_bad_lines_and_failures_become_rejects_named_by_their_url(
    news_site: NewsSite, tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{news_site.url('/news/4.html')}\nnot a url\n{news_site.url('/gone')}\n")
    lake = Lake(tmp_path / "lake")
    result = _crawl(news_site, lake, url_lists=(str(urls),), feeds=(news_site.url("/news/5.html"),))
    rejects = {
        (r["source"].removeprefix(news_site.base), r["stage"], r["reason"])
        for r in _staged_rows(lake, "run-1", result, "rejects")
    }
    assert rejects == {
        (f"{urls}:2", "discover", Reason.DISCOVER_BAD_URL.value),
        ("/gone", "fetch", Reason.FETCH_HTTP_ERROR.value),
        ("/news/5.html", "discover", Reason.DISCOVER_NO_LINKS.value),  # a page, not a feed
    }
    assert result.counts["written.rejects"] == result.counts["inputs.seen"] == 3
    (not_a_feed,) = [
        r
        for r in _staged_rows(lake, "run-1", result, "rejects")
        if r["stage"] == "discover" and r["line_number"] is None
    ]
    assert not_a_feed["input_hash"] == hash_bytes(article_html(5))  # a changed page: again


def test_urls_the_lake_has_are_skipped_or_asked_for_conditionally(
    news_site: NewsSite, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    paths = ("/etag.html", "/news/1.html", "/slow")
    first = _crawl(news_site, lake, articles=tuple(news_site.url(p) for p in paths))
    assert first.counts["fetch.article.failed"] == 1  # /slow timed out: tried again later
    commit_tables(
        lake,
        run_context("run-1"),
        [
            (
                FETCHES,
                pa.Table.from_pylist(_staged_rows(lake, "run-1", first, "fetches"), FETCHES.schema),
            )
        ],
    )
    requests_before = len(news_site.hits)

    again = _crawl(news_site, lake, "run-2", articles=tuple(news_site.url(p) for p in paths))
    assert again.counts["fetch.known"] == 2
    assert {h.path for h in news_site.hits[requests_before:]} == {"/robots.txt", "/slow"}

    refreshed = crawl(
        WebSources(articles=(news_site.url("/etag.html"),)),
        lake,
        run_context("run-3"),
        replace(FAST, refresh=True),
        8 << 20,
    )
    assert refreshed.counts["fetch.article.not_modified"] == 1
    assert news_site.requested("/etag.html")[-1].headers["If-None-Match"] == '"v1"'
    (row,) = [
        r for r in _staged_rows(lake, "run-3", refreshed, "fetches") if r["role"] == "article"
    ]
    assert row["status"] == 304 and row["etag"] == '"v1"'


def test_a_crawl_checkpoint_is_taken_over_only_when_its_files_are_whole(
    news_site: NewsSite, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    result = _crawl(news_site, lake, articles=(news_site.url("/news/1.html"),))
    writer = lake.start_run("run-1")
    resume.save_plan(writer, run_context("run-1"), "fingerprint")
    resume.checkpoint_crawl(writer, result)

    staged, _ = resume.take_over(lake, "fingerprint", resume=True)
    assert staged is not None and staged.crawl is not None
    assert staged.crawl == result

    (Path(lake.root) / "_staging" / "run-1" / result.raw[0].relative).write_bytes(b"torn")
    staged, _ = resume.take_over(lake, "fingerprint", resume=True)
    assert staged is not None and staged.crawl is None  # fetched again


def test_rejects_table_names_the_stage_prefixes() -> None:
    assert "discover, fetch" in REJECTS.schema.field("stage").metadata[b"description"].decode()


def test_the_raw_zone_works_on_object_storage(news_site: NewsSite, bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    result = _crawl(news_site, lake, articles=(news_site.url("/news/1.html"),))
    (raw,) = result.raw
    assert raw.staged.startswith(f"{bucket}/lake/_staging/run-1/raw/")
    assert raw.committed == f"{bucket}/lake/{raw.relative}"
    (shard,) = plan_shards(fetched_pages(result), 8 << 20, 500)
    (doc,) = read_shard(shard, ReadSettings()).docs
    assert doc.url == news_site.url("/news/1.html") and doc.source.startswith(f"{raw.committed}@")


def test_max_urls_leaves_the_rest_for_the_next_run(news_site: NewsSite, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    index = (news_site.url("/sitemap_index.xml"),)
    capped = replace(FAST, max_urls=3)
    first = crawl(WebSources(sitemaps=index), lake, run_context("run-1"), capped, 8 << 20)
    assert first.counts["fetch.article.fetched"] == 3 and first.counts["fetch.deferred"] == 1
    rows = _staged_rows(lake, "run-1", first, "fetches")
    commit_tables(
        lake, run_context("run-1"), [(FETCHES, pa.Table.from_pylist(rows, FETCHES.schema))]
    )

    second = crawl(WebSources(sitemaps=index), lake, run_context("run-2"), capped, 8 << 20)
    assert second.counts["fetch.known"] == 3 and second.counts["fetch.article.fetched"] == 1
    pages = [h.path for h in news_site.hits if h.path.startswith("/news/")]
    assert sorted(pages) == [f"/news/{n}.html" for n in range(6, 10)]  # each page once
