"""Discover stage: web sources become the URLs to fetch.

Web sources sit among the file sources of a run:

    https://example.com/news/a.html      an article
    urls:lists/today.txt                 a file of URLs, one a line (`#` starts a comment)
    feed:https://example.com/rss.xml     an RSS, Atom or JSON feed: its article links
    sitemap:https://example.com/sitemap.xml
                                         an XML or TXT sitemap, or a sitemap index

Links are read by trafilatura's feed and sitemap parsers; we apply our own URL policy (any
host, IP addresses included: the fetch stage's address check is what keeps a crawl safe).
A URL's identity in the lake is its courlan-normalised form, so `HTTP://Example.com:80/a?
utm_source=x#top` and `http://example.com/a` are one page.
"""

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
import httpx
import xxhash
from trafilatura.feeds import FeedParameters, find_links
from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

from newsmill.tasks.ingest.decode import decode_bytes
from newsmill.tasks.ingest.read import GZIP_MAGIC
from newsmill.tasks.ingest.sources import open_input
from newsmill.tasks.web.fetch import Inflater

FEED_PREFIX, SITEMAP_PREFIX, URL_LIST_PREFIX = "feed:", "sitemap:", "urls:"


@dataclass(frozen=True, slots=True)
class WebSources:
    articles: tuple[str, ...] = ()
    url_lists: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.articles or self.url_lists or self.feeds or self.sitemaps)


def is_web_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def split_sources(sources: Sequence[str]) -> tuple[list[str], WebSources]:
    """(file sources, web sources) of a run's SOURCE arguments."""
    files: list[str] = []
    articles, lists, feeds, sitemaps = [], [], [], []
    for source in sources:
        if is_web_url(source):
            articles.append(source)
        elif source.startswith(FEED_PREFIX):
            feeds.append(source.removeprefix(FEED_PREFIX))
        elif source.startswith(SITEMAP_PREFIX):
            sitemaps.append(source.removeprefix(SITEMAP_PREFIX))
        elif source.startswith(URL_LIST_PREFIX):
            lists.append(source.removeprefix(URL_LIST_PREFIX))
        else:
            files.append(source)
    return files, WebSources(tuple(articles), tuple(lists), tuple(feeds), tuple(sitemaps))


def clean_url(url: str) -> str | None:
    """The URL to fetch (fragment dropped), or None when it is not http(s) with a host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))


def normalise(url: str) -> str:
    """The URL's identity: courlan's normal form (scheme and host lower-cased, default port
    and tracking parameters dropped, query sorted), without a fragment."""
    try:
        normal = courlan.normalize_url(url)
    except ValueError:
        normal = url
    return urlunsplit(urlsplit(normal)._replace(fragment=""))


def url_key(url: str) -> int:
    return xxhash.xxh3_64_intdigest(normalise(url).encode("utf-8"))


def read_url_list(path: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line of a URL list but blank lines and `#` comment
    lines (a `#` inside a URL is its fragment)."""
    with open_input(path) as handle:
        for number, raw in enumerate(io.TextIOWrapper(handle, "utf-8", errors="replace"), 1):
            line = raw.strip()
            if line and not line.startswith("#"):
                yield number, line


# sitemaps.org: a sitemap is at most 50 MB uncompressed; no feed comes near it
MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024


class TooLargeWhenDecompressed(ValueError):
    """A gzipped feed or sitemap that expands past MAX_DECOMPRESSED_BYTES (a gzip bomb)."""


def _text(body: bytes) -> str:
    """A feed's or sitemap's text; `.xml.gz` sitemaps come gzipped whatever their headers say,
    and are decompressed only up to the sitemap protocol's 50 MB."""
    if body.startswith(GZIP_MAGIC):
        try:
            body = Inflater.for_encoding("gzip")(body, MAX_DECOMPRESSED_BYTES + 1)
        except httpx.DecodingError:
            return ""
        if len(body) > MAX_DECOMPRESSED_BYTES:
            raise TooLargeWhenDecompressed(
                f"it expands past {MAX_DECOMPRESSED_BYTES // 2**20} MB when decompressed "
                "(the sitemap protocol's limit)"
            )
    decoded = decode_bytes(body)
    return decoded.text if decoded is not None else ""


def feed_links(body: bytes, feed_url: str) -> list[str]:
    """The article links of an RSS, Atom or JSON feed, absolute, in feed order, once each;
    not the feed itself nor a site's home page (an RSS channel's own <link>)."""
    host = urlsplit(feed_url).hostname or ""
    params = FeedParameters(feed_url, host, feed_url)
    links = (urljoin(feed_url, link.strip()) for link in find_links(_text(body).strip(), params))
    return _unique(
        link for link in links if link != feed_url and urlsplit(link).path not in ("", "/")
    )


class _Sitemap(SitemapObject):
    """trafilatura's sitemap parsing (XML, TXT, indexes) with our link policy: every
    http(s) link kept, whatever its host; sitemaps told apart from pages as trafilatura does."""

    def handle_link(self, link: str) -> None:
        absolute = urljoin(self.current_url, link.strip())
        if absolute == self.current_url or clean_url(absolute) is None:
            return
        if DETECT_SITEMAP_LINK.search(absolute):
            self.sitemap_urls.append(absolute)
        else:
            self.urls.append(absolute)


def sitemap_links(body: bytes, sitemap_url: str) -> tuple[list[str], list[str]]:
    """(child sitemaps, pages) listed by a sitemap or sitemap index."""
    host = urlsplit(sitemap_url).hostname or ""
    parsed = _Sitemap(sitemap_url, host, [])
    parsed.current_url, parsed.content = sitemap_url, _text(body)
    parsed.process()
    return _unique(parsed.sitemap_urls), _unique(parsed.urls)


def _unique(links: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(links))
