"""The fetcher against a real HTTP server on 127.0.0.1 (tests/websites.py)."""

import itertools
import threading
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from newsmill.schemas.reasons import Reason
from newsmill.tasks.web.fetch import (
    Fetcher,
    FetchRequest,
    FetchResult,
    FetchSettings,
    HostScheduler,
    _Job,
    is_public_address,
    retry_after_seconds,
)
from tests.websites import NewsSite, article_html, gzip_bomb

# fast manners for tests; each test changes what it is about
FAST = FetchSettings(
    allow_private_hosts=True,
    host_delay_s=0.0,
    read_timeout_s=0.5,
    total_timeout_s=5,
    fetch_backoff_s=0.05,
    fetch_retries=2,
    max_body_mb=1,
)


def fetch(site: NewsSite, *paths: str, settings: FetchSettings = FAST) -> dict[str, FetchResult]:
    with Fetcher(settings) as fetcher:
        results = fetcher.fetch_all([FetchRequest(site.url(p)) for p in paths])
        return {r.request.url.removeprefix(site.base): r for r in results}


def test_a_page_is_fetched_with_our_user_agent_after_robots_txt(news_site: NewsSite) -> None:
    result = fetch(news_site, "/news/1.html")["/news/1.html"]
    assert result.outcome == "fetched" and result.response is not None
    assert result.response.status == 200 and b"Council news, story 1" in result.response.body
    assert [h.path for h in news_site.hits] == ["/robots.txt", "/news/1.html"]
    assert news_site.hits[1].headers["User-Agent"] == FAST.user_agent
    # the connection went to the checked address; the host name travelled in Host
    assert news_site.hits[1].headers["Host"] == news_site.base.removeprefix("http://")


@pytest.mark.parametrize(
    ("path", "reason", "attempts", "statuses"),
    [
        ("/private/secret.html", Reason.FETCH_ROBOTS_DISALLOWED, 1, []),
        ("/gone", Reason.FETCH_HTTP_ERROR, 1, [404]),  # other 4xx: no retry
        ("/image.png", Reason.FETCH_NOT_HTML, 1, [200]),
        ("/loop-a", Reason.FETCH_TOO_MANY_REDIRECTS, 1, [302, 302]),
        ("/huge", Reason.FETCH_TOO_LARGE, 1, [200]),
        ("/slow", Reason.FETCH_TIMEOUT, 3, []),  # retried, then given up
    ],
)
def test_each_failure_is_a_result_with_its_reason(
    news_site: NewsSite, path: str, reason: Reason, attempts: int, statuses: list[int]
) -> None:
    result = fetch(news_site, path)[path]
    assert result.reason == reason, result.detail
    assert result.attempts == attempts
    assert [e.status for e in result.exchanges] == statuses
    transient = reason == Reason.FETCH_TIMEOUT
    assert result.outcome == ("failed" if transient else "rejected")
    if transient:
        assert "no data for 0.5 s (read_timeout_s)" in result.detail


def test_the_body_is_cut_at_the_limit_and_marked(news_site: NewsSite) -> None:
    result = fetch(news_site, "/huge")["/huge"]
    assert result.response is not None and result.response.truncated
    assert len(result.response.body) == FAST.max_body_bytes
    assert "1,048,576-byte limit" in result.detail


def test_a_gzip_bomb_is_decoded_only_up_to_the_limit(news_site: NewsSite) -> None:
    """httpx inflated each network chunk whole: 64 KB of this bomb became 64 MB at once."""
    gzip_bomb()  # made before measuring
    tracemalloc.start()
    try:
        result = fetch(news_site, "/bomb.html")["/bomb.html"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.response is not None and result.response.truncated
    assert len(result.response.body) == FAST.max_body_bytes
    assert result.response.body.startswith(b"<html><body>   ")
    # the property under test, not a speed target: never much more than the limit held
    assert peak < 8 * FAST.max_body_bytes


def test_a_gzipped_page_in_two_members_is_decoded_whole(news_site: NewsSite) -> None:
    result = fetch(news_site, "/gzipped.html")["/gzipped.html"]
    assert result.outcome == "fetched" and result.response is not None
    assert result.response.body == article_html(7)


def test_a_body_that_trickles_past_the_total_timeout_is_cut(news_site: NewsSite) -> None:
    settings = replace(FAST, total_timeout_s=0.5, read_timeout_s=2, fetch_retries=0)
    result = fetch(news_site, "/drip", settings=settings)["/drip"]
    assert result.reason == Reason.FETCH_TIMEOUT and "total_timeout_s" in result.detail


def test_headers_that_trickle_past_the_total_timeout_are_cut(news_site: NewsSite) -> None:
    """A header line a second never trips the read timeout; the attempt ran ~300 s."""
    settings = replace(FAST, total_timeout_s=0.5, read_timeout_s=2, fetch_retries=0)
    started = time.monotonic()
    result = fetch(news_site, "/header-drip", settings=settings)["/header-drip"]
    assert result.reason == Reason.FETCH_TIMEOUT and "total_timeout_s" in result.detail
    assert time.monotonic() - started < 5  # the server drips for 10 s


def test_robots_rules_are_matched_against_the_configured_user_agent(news_site: NewsSite) -> None:
    news_site.robots = "User-agent: NightlyBot\nDisallow: /\n\nUser-agent: *\nDisallow:\n"
    named = replace(FAST, user_agent="NightlyBot/2.0 (+mailto:desk@example.org)")
    assert fetch(news_site, "/news/1.html")["/news/1.html"].outcome == "fetched"
    result = fetch(news_site, "/news/2.html", settings=named)["/news/2.html"]
    assert result.reason == Reason.FETCH_ROBOTS_DISALLOWED
    assert news_site.requested("/robots.txt")[-1].headers["User-Agent"] == named.user_agent


@pytest.mark.parametrize(
    ("robots", "allowed", "disallowed"),
    [
        # the longest matching rule wins, whatever its order
        ("Disallow: /news/\nAllow: /news/1.html", ["/news/1.html"], ["/news/2.html"]),
        ("Allow: /news/1.html\nDisallow: /news/", ["/news/1.html"], ["/news/2.html"]),
        # * matches any run of characters, $ anchors the end
        ("Disallow: /*.png$", ["/image.png?size=2", "/news/1.html"], ["/image.png"]),
        ("Disallow: /news/*.html", ["/etag.html"], ["/news/3.html"]),
        # at equal length, Allow wins
        ("Disallow: /news/1.html\nAllow: /news/1.html", ["/news/1.html"], []),
    ],
)
def test_robots_txt_is_read_as_rfc_9309_says(
    news_site: NewsSite, robots: str, allowed: list[str], disallowed: list[str]
) -> None:
    news_site.robots = "User-agent: *\n" + robots + "\n"
    results = fetch(news_site, *allowed, *disallowed)
    refused = {p for p, r in results.items() if r.reason == Reason.FETCH_ROBOTS_DISALLOWED}
    assert refused == set(disallowed)


def test_a_redirect_to_another_site_obeys_that_sites_robots_txt(news_site: NewsSite) -> None:
    other = NewsSite(robots="User-agent: *\nDisallow: /news/\n").start()
    try:
        target = other.url("/news/1.html")
        result = fetch(news_site, f"/away?to={target}")[f"/away?to={target}"]
        assert result.reason == Reason.FETCH_ROBOTS_DISALLOWED and target in result.detail
        assert other.requested("/robots.txt") and not other.requested("/news/1.html")
    finally:
        other.stop()


def test_a_redirect_loop_shows_its_chain(news_site: NewsSite) -> None:
    detail = fetch(news_site, "/loop-a")["/loop-a"].detail
    assert "redirect loop" in detail and "/loop-a -> " in detail and detail.endswith("/loop-a")


def test_a_redirect_limit_stops_before_the_loop_closes(news_site: NewsSite) -> None:
    settings = replace(FAST, max_redirects=0)
    result = fetch(news_site, "/loop-a", settings=settings)["/loop-a"]
    assert result.reason == Reason.FETCH_TOO_MANY_REDIRECTS
    assert "more than 0 redirects" in result.detail


def test_a_500_is_retried_and_the_second_answer_kept(news_site: NewsSite) -> None:
    result = fetch(news_site, "/flaky")["/flaky"]
    assert result.outcome == "fetched" and result.attempts == 2
    assert [e.status for e in result.exchanges] == [500, 200]  # both kept for the raw zone


def test_a_429_waits_for_retry_after(news_site: NewsSite) -> None:
    result = fetch(news_site, "/limited")["/limited"]
    assert result.outcome == "fetched" and [e.status for e in result.exchanges] == [429, 200]
    first, second = news_site.requested("/limited")
    assert second.at - first.at >= 1.0  # Retry-After: 1, although the backoff is 0.05 s


def test_a_retry_after_beyond_the_limit_is_not_waited_for(news_site: NewsSite) -> None:
    result = fetch(news_site, "/limited", settings=replace(FAST, max_retry_after_s=0.5))
    limited = result["/limited"]
    assert limited.reason == Reason.FETCH_RATE_LIMITED and limited.outcome == "failed"
    assert limited.attempts == 1 and "max_retry_after_s" in limited.detail


def test_a_conditional_request_gets_a_304(news_site: NewsSite) -> None:
    first = fetch(news_site, "/etag.html")["/etag.html"]
    assert first.response is not None and first.response.header("etag") == '"v1"'
    with Fetcher(FAST) as fetcher:
        request = FetchRequest(news_site.url("/etag.html"), etag='"v1"', last_modified="x")
        (again,) = [r for r in fetcher.fetch_all([request]) if r.request.role == "article"]
    assert again.outcome == "not_modified" and again.response is not None
    assert again.response.status == 304
    assert news_site.requested("/etag.html")[-1].headers["If-None-Match"] == '"v1"'


def test_private_addresses_are_refused_before_any_connection(news_site: NewsSite) -> None:
    guarded = FetchSettings()  # the default: allow_private_hosts off
    # a public-looking name that resolves to loopback, as a hostile feed would use
    resolver = {"news.example": ["127.0.0.1"], "intranet.example": ["10.1.2.3"]}
    port = news_site.base.rsplit(":", 1)[1]
    requests = [
        FetchRequest(news_site.url("/news/1.html")),
        FetchRequest(f"http://news.example:{port}/news/1.html"),
        FetchRequest("http://intranet.example/admin"),
        FetchRequest("http://169.254.169.254/latest/meta-data/"),
    ]
    with Fetcher(guarded, resolver=lambda host, port: resolver.get(host, [host])) as fetcher:
        results = list(fetcher.fetch_all(requests))
    assert len(results) == 4
    assert {r.reason for r in results} == {Reason.FETCH_PRIVATE_ADDRESS}
    assert not news_site.hits  # not even robots.txt


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("2606:4700:4700::1111", True),
        ("fe80::1%eth0", False),
        # IPv6 carrying an IPv4 address: judged by the IPv4 address inside
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::808:808", False),  # NAT64 local-use prefix
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("::ffff:8.8.8.8", True),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
        ("fec0::1", False),  # site-local
        ("::", False),
        ("::1", False),
    ],
)
def test_the_address_guard_sees_the_ipv4_address_inside_ipv6(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_only_http_and_https_are_fetched() -> None:
    with Fetcher(FAST) as fetcher:
        (result,) = fetcher.fetch_all([FetchRequest("file:///etc/passwd")])
    assert result.reason == Reason.FETCH_BAD_URL and "http/https only" in result.detail


def test_an_unreachable_robots_txt_means_fetch_nothing(news_site: NewsSite) -> None:
    news_site.robots_status = 503
    result = fetch(news_site, "/news/1.html")["/news/1.html"]
    assert result.reason == Reason.FETCH_ROBOTS_UNAVAILABLE and result.outcome == "failed"
    assert [h.path for h in news_site.hits] == ["/robots.txt"]


def test_a_missing_robots_txt_allows_everything(news_site: NewsSite) -> None:
    news_site.robots_status = 404
    assert fetch(news_site, "/private/secret.html")["/private/secret.html"].outcome == "fetched"


def test_robots_txt_can_be_ignored_on_request(news_site: NewsSite) -> None:
    results = fetch(news_site, "/private/secret.html", settings=replace(FAST, obey_robots=False))
    assert results["/private/secret.html"].outcome == "fetched"
    assert not news_site.requested("/robots.txt")


def test_requests_to_one_host_are_spaced_by_its_delay(news_site: NewsSite) -> None:
    fetch(
        news_site, *(f"/news/{n}.html" for n in range(4)), settings=replace(FAST, host_delay_s=0.3)
    )
    starts = [h.at for h in news_site.hits]  # robots.txt, then four pages
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # measured where the server receives them: a busy machine can delay one arrival, so
    # allow 50 ms of that; requests sent without the delay would arrive ~1 ms apart
    assert len(gaps) == 4 and min(gaps) >= 0.25


def test_a_crawl_delay_longer_than_ours_wins(news_site: NewsSite) -> None:
    news_site.robots = "User-agent: *\nCrawl-delay: 1\n"  # whole seconds: urllib's parser
    fetch(news_site, "/news/1.html", "/news/2.html", settings=replace(FAST, host_delay_s=0.05))
    first, second = news_site.requested("/news/1.html") + news_site.requested("/news/2.html")
    assert abs(second.at - first.at) >= 0.99


def test_hosts_are_fetched_side_by_side(news_site: NewsSite) -> None:
    other = NewsSite(host="127.0.0.2").start()
    try:
        settings = replace(FAST, host_delay_s=0.5)
        with Fetcher(settings) as fetcher:
            requests = [
                FetchRequest(s.url(f"/news/{n}.html")) for s in (news_site, other) for n in (1, 2)
            ]
            results = list(fetcher.fetch_all(requests))
    finally:
        other.stop()
    assert sum(r.outcome == "fetched" for r in results) == 6  # 4 pages + 2 robots.txt
    # each host waits 0.5 s between its two pages, but not for the other host
    a = news_site.requested("/news/1.html")[0].at
    b = other.requested("/news/1.html")[0].at
    assert abs(a - b) < 0.4


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now) == pytest.approx(30)
    assert retry_after_seconds("soon", now) == 0 and retry_after_seconds(None, now) == 0


def test_the_scheduler_never_exceeds_a_hosts_limit() -> None:
    scheduler = HostScheduler(per_host=2, delay_s=0.0)
    for n in range(30):
        scheduler.add(_Job(FetchRequest(f"http://h{n % 3}.example/{n}"), f"h{n % 3}"))
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    def work() -> None:
        while (job := scheduler.take()) is not None:
            with lock:
                in_flight[job.host] = in_flight.get(job.host, 0) + 1
                peak[job.host] = max(peak.get(job.host, 0), in_flight[job.host])
            time.sleep(0.01)
            with lock:
                in_flight[job.host] -= 1
            scheduler.done(job)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert peak == {"h0": 2, "h1": 2, "h2": 2}


def test_a_job_put_back_waits_for_its_time_without_blocking_others() -> None:
    scheduler = HostScheduler(per_host=1, delay_s=0.0)
    retried = _Job(FetchRequest("http://a.example/1"), "a.example")
    other = _Job(FetchRequest("http://b.example/1"), "b.example")
    scheduler.add(retried)
    assert scheduler.take() is retried
    scheduler.add(other)
    scheduler.done(retried, retry_at=time.monotonic() + 0.3)
    started = time.monotonic()
    assert scheduler.take() is other  # at once
    assert time.monotonic() - started < 0.1
    scheduler.done(other)
    assert scheduler.take() is retried
    assert time.monotonic() - started >= 0.29
    scheduler.done(retried)
    assert scheduler.take() is None
