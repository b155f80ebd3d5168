import gzip

import pytest

from newsmill.tasks.web import discover
from newsmill.tasks.web.discover import (
    WebSources,
    clean_url,
    feed_links,
    normalise,
    read_url_list,
    sitemap_links,
    split_sources,
    url_key,
)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>http://10.0.0.1:8080/</link>
<item><title>a</title><link>http://10.0.0.1:8080/news/a.html</link></item>
<item><title>b</title><link>/news/b.html</link></item>
<item><title>a again</title><link>http://10.0.0.1:8080/news/a.html</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>x</title><link rel="self" href="http://news.example/atom.xml"/>
<entry><title>c</title><link href="http://news.example/news/c.html"/></entry>
<entry><title>d</title><link href="https://other.example/d"/></entry></feed>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.example/sitemap-1.xml</loc></sitemap>
<sitemap><loc>http://news.example/sitemap-2.xml.gz</loc></sitemap></sitemapindex>"""

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://news.example/news/e.html</loc></url>
<url><loc>http://news.example/news/f.html</loc></url></urlset>"""


def test_sources_split_into_files_and_web() -> None:
    files, web = split_sources(
        [
            "data/samples",
            "https://news.example/a",
            "feed:https://news.example/rss",
            "sitemap:https://news.example/sitemap.xml",
            "urls:lists/today.txt",
            "s3://bucket/in/",
        ]
    )
    assert files == ["data/samples", "s3://bucket/in/"]
    assert web == WebSources(
        ("https://news.example/a",),
        ("lists/today.txt",),
        ("https://news.example/rss",),
        ("https://news.example/sitemap.xml",),
    )
    assert not split_sources(["data"])[1]


def test_rss_links_come_out_absolute_once_each_whatever_the_host() -> None:
    links = feed_links(RSS, "http://10.0.0.1:8080/feed.rss")
    assert links == ["http://10.0.0.1:8080/news/a.html", "http://10.0.0.1:8080/news/b.html"]


def test_atom_links_skip_the_feed_itself_and_keep_other_sites() -> None:
    links = feed_links(ATOM, "http://news.example/atom.xml")
    assert links == ["http://news.example/news/c.html", "https://other.example/d"]


def test_a_page_that_is_no_feed_has_no_links() -> None:
    assert feed_links(b"<html><body>hello</body></html>", "http://news.example/rss") == []
    assert feed_links(b"", "http://news.example/rss") == []


def test_a_sitemap_index_names_its_sitemaps_and_a_sitemap_its_pages() -> None:
    assert sitemap_links(INDEX, "http://news.example/sitemap.xml") == (
        ["http://news.example/sitemap-1.xml", "http://news.example/sitemap-2.xml.gz"],
        [],
    )
    assert sitemap_links(URLSET, "http://news.example/sitemap-1.xml") == (
        [],
        ["http://news.example/news/e.html", "http://news.example/news/f.html"],
    )


def test_gzipped_and_text_sitemaps_are_read() -> None:
    gz = gzip.compress(URLSET)
    assert sitemap_links(gz, "http://news.example/sitemap-2.xml.gz")[1] == [
        "http://news.example/news/e.html",
        "http://news.example/news/f.html",
    ]
    txt = b"http://news.example/news/g.html\nhttp://news.example/news/h.html\n"
    assert sitemap_links(txt, "http://news.example/sitemap.txt")[1] == [
        "http://news.example/news/g.html",
        "http://news.example/news/h.html",
    ]


def test_a_sitemap_gzipped_in_two_members_is_read_whole() -> None:
    middle = URLSET.index(b"</url>") + len(b"</url>")
    gz = gzip.compress(URLSET[:middle]) + gzip.compress(URLSET[middle:])
    assert sitemap_links(gz, "http://news.example/sitemap.xml.gz")[1] == [
        "http://news.example/news/e.html",
        "http://news.example/news/f.html",
    ]


def test_a_gzipped_sitemap_that_expands_past_50_mb_is_refused_unread() -> None:
    """A 4 MB gzipped sitemap of blanks took 8.7 GB of memory; it stops at the protocol's cap."""
    bomb = gzip.compress(URLSET[:-10] + b" " * (60 * 1024 * 1024) + URLSET[-10:], 9)
    assert len(bomb) < 200_000
    with pytest.raises(discover.TooLargeWhenDecompressed, match="50 MB"):
        discover.sitemap_links(bomb, "https://example.org/sitemap.xml.gz")
    with pytest.raises(discover.TooLargeWhenDecompressed):
        discover.feed_links(bomb, "https://example.org/feed.xml")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTP://News.Example:80/a?utm_source=x#top", "http://news.example/a"),
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
    ],
)
def test_one_page_written_two_ways_is_one_url(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)
    assert url_key(a) == url_key(b)


def test_different_pages_have_different_keys() -> None:
    assert url_key("http://news.example/a") != url_key("http://news.example/b")


@pytest.mark.parametrize(
    "text", ["not a url", "ftp://news.example/a", "http://", "mailto:x@y", "http://h:99999/"]
)
def test_what_is_not_an_http_url_is_refused(text: str) -> None:
    assert clean_url(text) is None


def test_clean_url_drops_the_fragment_only() -> None:
    assert clean_url(" http://news.example/a?x=1#top ") == "http://news.example/a?x=1"


def test_url_lists_skip_blank_and_comment_lines_and_number_the_rest(tmp_path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# today\nhttp://news.example/a#frag\n\n  http://news.example/b  \nnonsense\n")
    assert list(read_url_list(str(path))) == [
        (2, "http://news.example/a#frag"),
        (4, "http://news.example/b"),
        (5, "nonsense"),
    ]
