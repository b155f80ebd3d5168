"""A real HTTP server on loopback playing a news site, with every misbehaviour fetching
must survive. Tests start it (`NewsSite.start`), read its request log, and stop it."""

import contextlib
import functools
import gzip
import http.server
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.utils import formatdate

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8

SUBJECTS = [
    "The city council",
    "A regional court",
    "The health ministry",
    "Local farmers",
    "The national rail operator",
    "Hospital managers",
    "A group of teachers",
    "The harbour authority",
    "Two opposition parties",
    "The central bank",
    "Museum curators",
    "Fire brigade officers",
]
ACTIONS = [
    "voted on Tuesday to expand",
    "announced a review of",
    "published new figures on",
    "raised concerns about",
    "agreed to fund",
    "postponed a decision on",
    "called for an inquiry into",
    "welcomed the plan for",
    "criticised the delays to",
    "presented a proposal on",
]
OBJECTS = [
    "the night bus network",
    "school meals in rural districts",
    "the flood defences",
    "waiting times at clinics",
    "the new cycling lanes",
    "housing for key workers",
    "the summer festival budget",
    "broadband in mountain villages",
    "the ferry timetable",
    "recycling centres",
    "the airport expansion",
    "youth sports clubs",
]
ENDINGS = [
    "after months of public consultation",
    "despite warnings from independent experts",
    "ahead of the elections next spring",
    "following complaints from residents",
    "in a statement released late in the evening",
    "according to documents seen by reporters",
]


def article_html(number: int) -> bytes:
    """A page with navigation, a cookie banner and an article of its own (sentences drawn
    by `number`: pages differ as much as real articles, so none is a near copy)."""
    rng = random.Random(number)
    sentences = [
        f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)} "
        f"{rng.choice(ENDINGS)}, said a report numbered {number}-{i}."
        for i in range(8)
    ]
    paragraphs = "".join(f"<p>{sentence}</p>" for sentence in sentences)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Council news, story {number}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
        "<div class='cookie'>We use cookies to improve your experience. Accept all cookies.</div>"
        f"<article><h1>Council news, story {number}</h1>{paragraphs}</article>"
        "<footer>Copyright The Daily Example. All rights reserved.</footer></body></html>"
    ).encode()


@functools.cache
def gzip_bomb() -> bytes:
    """~200 KB of gzip that decodes to 200 MB (made once, when a test first asks)."""
    return gzip.compress(b"<html><body>" + b" " * (200 * 1024 * 1024), 9)


@dataclass
class Hit:
    path: str
    at: float  # time.monotonic() when the request arrived
    headers: dict[str, str]


@dataclass
class NewsSite:
    """Routes: /news/<n>.html articles; /feed.rss (1-3), /atom.xml (4-5), /sitemap_index.xml
    → /sitemap-1.xml (6-7), /sitemap-2.xml (8-9); robots.txt disallows /private/; /slow,
    /drip (a body trickling for seconds),
    /flaky (500 then 200), /limited (429 Retry-After: 1 then 200), /loop-a ⇄ /loop-b,
    /away?to=<url> (a 302 there), /huge (50 MB of HTML), /bomb.html (200 KB of gzip, 200 MB decoded),
    /gzipped.html (an article in two gzip members), /binary.html (PNG bytes said to be HTML), /image.png, /etag.html
    (304 to If-None-Match), /gone (404)."""

    host: str = "127.0.0.1"
    robots: str = "User-agent: *\nDisallow: /private/\n"
    robots_status: int = 200
    hits: list[Hit] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def requested(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def start(self) -> "NewsSite":
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(Hit(self.path, time.monotonic(), dict(self.headers.items())))
                site._counts[self.path] = site._counts.get(self.path, 0) + 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site._route(self, site._counts[self.path])

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _route(self, handler: http.server.BaseHTTPRequestHandler, count: int) -> None:
        path = handler.path.split("?", 1)[0]

        def send(
            status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str
        ) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                handler.send_header(name.replace("_", "-"), value)
            handler.end_headers()
            handler.wfile.write(body)

        if path == "/robots.txt":
            send(self.robots_status, self.robots.encode(), "text/plain")
        elif path == "/away":  # a redirect to wherever ?to= says, another site's page too
            send(302, b"", Location=urllib.parse.unquote(handler.path.split("?to=", 1)[1]))
        elif path.startswith("/news/") and path.endswith(".html"):
            send(200, article_html(int(path[6:-5])))
        elif path == "/private/secret.html":
            send(200, article_html(99))
        elif path == "/feed.rss":
            items = "".join(
                f"<item><title>Story {n}</title><link>{self.base}/news/{n}.html</link></item>"
                for n in (1, 2, 3)
            )
            rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Example</title><link>{self.base}/</link>{items}</channel></rss>'
            send(200, rss.encode(), "application/rss+xml")
        elif path == "/atom.xml":
            entries = "".join(
                f'<entry><title>Story {n}</title><link href="{self.base}/news/{n}.html"/></entry>'
                for n in (4, 5)
            )
            atom = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title><link rel="self" href="{self.base}/atom.xml"/>{entries}</feed>'
            send(200, atom.encode(), "application/atom+xml")
        elif path == "/sitemap_index.xml":
            maps = "".join(
                f"<sitemap><loc>{self.base}/sitemap-{n}.xml</loc></sitemap>" for n in (1, 2)
            )
            index = f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'
            send(200, index.encode(), "application/xml")
        elif path in ("/sitemap-1.xml", "/sitemap-2.xml"):
            first = 6 if path == "/sitemap-1.xml" else 8
            urls = "".join(
                f"<url><loc>{self.base}/news/{n}.html</loc></url>" for n in (first, first + 1)
            )
            urlset = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            send(200, urlset.encode(), "application/xml")
        elif path == "/slow":
            time.sleep(3)
            send(200, article_html(50))
        elif path == "/drip":  # each read is quick, the whole body is not
            body = article_html(54)
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for start in range(0, len(body), 100):
                handler.wfile.write(body[start : start + 100])
                handler.wfile.flush()
                time.sleep(0.1)
        elif path == "/header-drip":  # a header line every 0.1 s for 10 s: reads never wait
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for n in range(100):
                handler.wfile.write(f"X-Drip-{n}: {n}\r\n".encode())
                handler.wfile.flush()
                time.sleep(0.1)
            handler.wfile.write(b"Content-Length: 0\r\n\r\n")
        elif path == "/flaky":
            if count == 1:
                send(500, b"internal error", "text/plain")
            else:
                send(200, article_html(51))
        elif path == "/limited":
            if count == 1:
                send(429, b"slow down", "text/plain", Retry_After="1")
            else:
                send(200, article_html(52))
        elif path in ("/loop-a", "/loop-b"):
            target = "/loop-b" if path == "/loop-a" else "/loop-a"
            send(302, b"", Location=target)
        elif path == "/huge":
            self._send_huge(handler)
        elif path == "/bomb.html":  # 200 KB on the wire, 200 MB once decoded
            send(200, gzip_bomb(), Content_Encoding="gzip")
        elif path == "/gzipped.html":  # a page in two gzip members, as some servers send
            body = article_html(7)
            halves = gzip.compress(body[:100]) + gzip.compress(body[100:])
            send(200, halves, Content_Encoding="gzip")
        elif path == "/binary.html":
            send(200, PNG)
        elif path == "/image.png":
            send(200, PNG, "image/png")
        elif path == "/etag.html":
            if handler.headers.get("If-None-Match") == '"v1"':
                handler.send_response(304)
                handler.send_header("ETag", '"v1"')
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            else:
                modified = formatdate(0, usegmt=True)
                send(200, article_html(53), ETag='"v1"', Last_Modified=modified)
        else:
            send(404, b"not found", "text/plain")

    @staticmethod
    def _send_huge(handler: http.server.BaseHTTPRequestHandler) -> None:
        size = 50 * 1024 * 1024
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65_529 + b"</p>"
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)
        handler.wfile.write(b" " * (size % len(chunk)))
