"""`newsmill run` on web sources, end to end against a real loopback site: feeds, a sitemap
index, a URL list and URLs become articles; every failure is a reject with its reason; the
raw zone reproduces the articles; a re-run fetches nothing it has."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import ROOT, NewsmillHere
from tests.websites import NewsSite

FAST = [
    "--allow-private-hosts",
    "--host-delay-s",
    "0.05",
    "--read-timeout-s",
    "0.5",
    "--fetch-backoff-s",
    "0.1",
    "--fetch-retries",
    "1",
    "--max-body-mb",
    "1",
]

# what each URL of the list must become: an article, or a reject of this reason
LISTED = {
    "/news/10.html": "article",
    "/flaky": "article",  # 500, then 200
    "/limited": "article",  # 429 Retry-After: 1, then 200
    "/etag.html": "article",
    "/private/secret.html": "fetch_robots_disallowed",
    "/slow": "fetch_timeout",
    "/loop-a": "fetch_too_many_redirects",
    "/huge": "fetch_too_large",
    "/binary.html": "read_not_text",  # said to be HTML, but PNG bytes
    "/image.png": "fetch_not_html",
    "/gone": "fetch_http_error",
}


# `newsmill` with the shard stage wrapped: the process group is killed (SIGKILL) as the first
# shard of fetched pages starts, i.e. after the crawl was staged and checkpointed
KILLED_AFTER_FETCHING = """
import os, signal, sys
import newsmill.tasks.shard
from newsmill.flows.cli import main

real_process_shard = newsmill.tasks.shard.process_shard

def process_shard(shard, *args, **kwargs):
    if any(".warc.gz" in part.file.path for part in shard.parts):
        os.killpg(os.getpgid(0), signal.SIGKILL)
    return real_process_shard(shard, *args, **kwargs)

newsmill.tasks.shard.process_shard = process_shard
sys.exit(main(sys.argv[1:]))
"""


def rows(lake: Path, sql: str) -> list[tuple]:
    for name in ("articles", "rejects", "fetches", "runs", "duplicates"):
        sql = sql.replace(
            f"{{{name}}}", f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning=true)"
        )
    return duckdb.sql(sql).fetchall()


def test_feeds_sitemaps_and_lists_become_articles_rejects_and_a_raw_zone(
    newsmill_here: NewsmillHere, news_site: NewsSite, tmp_path: Path
) -> None:
    urls = tmp_path / "urls.txt"
    lines = [news_site.url(path) for path in LISTED] + ["# a comment", "not a url"]
    urls.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    arguments = [
        "run",
        news_site.url("/news/11.html"),
        "--feed",
        news_site.url("/feed.rss"),
        "--feed",
        news_site.url("/atom.xml"),
        "--sitemap",
        news_site.url("/sitemap_index.xml"),
        "--urls",
        str(urls),
        "--lake",
        str(lake),
        *FAST,
    ]
    # raw files roll at the shard size: small shards, so two workers extract the fetched
    # pages side by side
    first = newsmill_here(*arguments, "--workers", "2", "--shard-mb", "0.004")
    assert first.returncode == 0, first.stderr

    # every URL is an article or a reject, named by its URL
    articles = dict(rows(lake, "select url, source from {articles}"))
    expected_articles = {f"/news/{n}.html" for n in range(1, 12)} | {
        path for path, outcome in LISTED.items() if outcome == "article"
    }
    assert {url.removeprefix(news_site.base) for url in articles} == expected_articles
    assert all(source.startswith(f"{lake}/raw/fetch_date=") for source in articles.values())
    rejects = rows(lake, "select source, stage, reason, detail from {rejects}")
    # a read reject names its raw record; the crawl log has that record's URL
    records = dict(rows(lake, "select record, url from {fetches} where record is not null"))
    by_url = {
        (records[source] if stage == "read" else source).removeprefix(news_site.base): reason
        for source, stage, reason, _ in rejects
    }
    assert by_url == {
        **{path: outcome for path, outcome in LISTED.items() if outcome != "article"},
        f"{urls}:13": "discover_bad_url",
    }
    assert not (lake / "duplicates").exists()  # all pages differ: no copies

    # the crawl log: every page once, discovery documents and robots.txt too
    fetched = rows(lake, "select role, count(*) from {fetches} group by all order by 1")
    assert fetched == [("article", 9 + 1 + len(LISTED)), ("feed", 2), ("robots", 1), ("sitemap", 3)]
    (counts,) = rows(lake, "select inputs_seen, articles, rejects, counts_json from {runs}")
    assert counts[:3] == (len(articles) + len(rejects), len(articles), len(rejects))
    assert json.loads(counts[3])["shards.planned"] > 2
    assert len(list((lake / "raw").rglob("*.warc.gz"))) == json.loads(counts[3])["shards.planned"]

    # the raw zone alone reproduces the articles, into another lake
    replay_lake = tmp_path / "replay"
    replay = newsmill_here("run", str(lake / "raw"), "--lake", str(replay_lake))
    assert replay.returncode == 0, replay.stderr
    original = rows(lake, "select doc_id, url, text from {articles} order by doc_id")
    assert rows(replay_lake, "select doc_id, url, text from {articles} order by doc_id") == original

    # the same run again fetches no page it has; only the timed-out URL is tried again
    hits_before = len(news_site.hits)
    again = newsmill_here(*arguments)
    assert again.returncode == 0, again.stderr
    pages = {h.path for h in news_site.hits[hits_before:]} - {
        "/robots.txt",
        "/feed.rss",
        "/atom.xml",
        "/sitemap_index.xml",
        "/sitemap-1.xml",
        "/sitemap-2.xml",
    }
    assert pages == {"/slow"}
    second_run = rows(lake, "select articles, rejects from {runs} order by started_at desc limit 1")
    assert second_run == [(0, 1)]  # the retried timeout
    assert rows(lake, "select count(*) from {articles}") == [(len(articles),)]


def test_private_addresses_are_refused_unless_allowed(
    newsmill_here: NewsmillHere, news_site: NewsSite, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    result = newsmill_here("run", news_site.url("/news/1.html"), "--lake", str(lake))
    assert result.returncode == 0, result.stderr
    assert rows(lake, "select reason from {rejects}") == [("fetch_private_address",)]
    assert not news_site.hits
    assert not (lake / "articles").exists()


def test_a_missing_url_list_stops_before_any_work(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    result = newsmill_here(
        "run", "--urls", str(tmp_path / "nope.txt"), "--lake", str(tmp_path / "lake")
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"newsmill: URL list not found: {tmp_path / 'nope.txt'}"


def test_run_help_explains_the_web_sources_and_manners(newsmill_here: NewsmillHere) -> None:
    result = newsmill_here("run", "--help")
    for flag in (
        "--feed",
        "--sitemap",
        "--urls",
        "--allow-private-hosts",
        "--refresh",
        "--host-delay-s",
    ):
        assert flag in result.stdout, flag
    assert "raw zone" in result.stdout


def test_a_run_killed_after_fetching_resumes_without_fetching_again(
    prefect_env, newsmill_here: NewsmillHere, news_site: NewsSite, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    arguments = ["run", "--feed", news_site.url("/feed.rss"), "--lake", str(lake), *FAST]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FETCHING, *arguments],
        env=prefect_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert killed.returncode == -9, killed.stderr
    assert list((lake / "_staging").rglob("_CRAWL.json"))
    assert not (lake / "articles").exists() and not (lake / "raw").exists()
    requests_so_far = len(news_site.hits)

    resumed = newsmill_here(*arguments)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run" in resumed.stdout
    assert len(news_site.hits) == requests_so_far  # the staged crawl is reused as it is
    urls = {url.removeprefix(news_site.base) for (url,) in rows(lake, "select url from {articles}")}
    assert urls == {"/news/1.html", "/news/2.html", "/news/3.html"}
    (counts,) = rows(lake, "select counts_json from {runs}")[0]
    assert json.loads(counts)["fetch.article.fetched"] == 3
    assert len(list((lake / "raw").rglob("*.warc.gz"))) == 1
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())
