"""Fetch stage: HTTP(S) with a good crawler's manners, every response kept.

Manners: robots.txt obeyed (RFC 9309: a 4xx means no rules, an unreachable one means stay
away), an honest User-Agent, per host at most `host_concurrency` requests at once and
`host_delay_s` between their starts (or the site's Crawl-delay, when longer), while other
hosts' requests go meanwhile, so N hosts overlap (`HostScheduler`).

Safety: http and https only; connect, read and total timeouts; the body streamed and cut at
`max_body_mb`; redirects followed one hop at a time, each hop checked, at most
`max_redirects`; and, unless `allow_private_hosts`, no private, loopback, link-local or
reserved address is ever connected to. The check holds against DNS rebinding because the
connection goes to the address that was checked (the host name travels in the Host header
and TLS SNI).

Failures: connection errors, timeouts, 429 (after its Retry-After) and 5xx are retried with
exponential backoff and jitter, through the scheduler, so a waiting retry holds no thread;
other 4xx are final. A URL that still fails is a `FetchResult` with a reason: the caller
turns it into a reject, and the run goes on. Nothing here raises on a bad URL or response.
"""

import heapq
import ipaddress
import itertools
import queue
import random
import socket
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from protego import Protego

from newsmill.schemas.reasons import Reason
from newsmill.tasks import __version__
from newsmill.tasks.errors import FetchError
from newsmill.tasks.setting import setting
from newsmill.tasks.web import deadline

Role = Literal["article", "feed", "sitemap", "robots"]
Outcome = Literal["fetched", "not_modified", "rejected", "failed"]
Resolver = Callable[[str, int], list[str]]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_CRAWL_DELAY_S = 60.0  # a robots.txt cannot slow us below one request a minute
USER_AGENT = f"newsmill/{__version__} (news text pipeline; +https://github.com/newsmill/newsmill)"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    user_agent: str = setting(
        USER_AGENT,
        "User-Agent sent with every request, and matched against robots.txt rules.",
        shapes_output=False,
    )
    fetch_concurrency: int = setting(
        16, "Requests in flight at once over all hosts.", unit="requests", shapes_output=False
    )
    host_concurrency: int = setting(
        1, "Requests in flight at once to one host.", unit="requests", shapes_output=False
    )
    host_delay_s: float = setting(
        1.0,
        "Seconds between the starts of two requests to one host (a longer robots.txt Crawl-delay wins, up to 60 s).",
        unit="s",
        zero="no delay",
        shapes_output=False,
    )
    obey_robots: bool = setting(
        True,
        "Fetch only what each site's robots.txt allows our user agent (--no-obey-robots ignores it).",
    )
    connect_timeout_s: float = setting(
        10.0, "Time limit to connect to a host.", unit="s", shapes_output=False
    )
    read_timeout_s: float = setting(
        30.0, "Time limit between two reads of a response.", unit="s", shapes_output=False
    )
    total_timeout_s: float = setting(
        60.0, "Time limit for a whole response.", unit="s", shapes_output=False
    )
    max_body_mb: float = setting(
        10.0,
        "Responses larger than this are cut off there and rejected as fetch_too_large.",
        unit="MB",
    )
    max_redirects: int = setting(
        5,
        "Redirects followed per URL (0: none); more is fetch_too_many_redirects.",
        zero="none followed",
    )
    fetch_retries: int = setting(
        3,
        "Retries of a URL after a transient failure (connection error, timeout, 429, 5xx), with exponential backoff and jitter.",
        zero="no retries",
        shapes_output=False,
    )
    fetch_backoff_s: float = setting(
        1.0,
        "Delay before a URL's first retry; it doubles at each further retry (a 429's Retry-After wins when longer).",
        unit="s",
        zero="no delay",
        shapes_output=False,
    )
    max_retry_after_s: float = setting(
        120.0,
        "A 429 whose Retry-After asks for longer than this is not waited for: fetch_rate_limited, tried in a later run.",
        unit="s",
        zero="never wait for a Retry-After",
        shapes_output=False,
    )
    allow_private_hosts: bool = setting(
        False,
        "Fetch from private, loopback and link-local addresses too (off by default: URLs from feeds could reach internal services).",
    )
    refresh: bool = setting(
        False,
        "Fetch again URLs the lake already has, asking with their ETag/Last-Modified; a 304 adds nothing.",
    )
    max_urls: int = setting(
        10_000,
        "At most this many article URLs fetched per run; the rest are left for later runs (they are not in the lake yet).",
        unit="URLs",
    )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str  # what is fetched (no fragment)
    role: Role = "article"
    found_in: str | None = None  # the feed, sitemap or URL list it came from
    etag: str | None = None  # validators of the copy already in the lake (--refresh)
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response as received (the body decoded, maybe cut off)."""

    url: str
    address: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason_phrase: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool
    fetched_at: datetime
    role: Role

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


@dataclass(slots=True)
class FetchResult:
    request: FetchRequest
    outcome: Outcome
    reason: Reason | None = None
    detail: str = ""
    exchanges: list[Exchange] = field(default_factory=list)  # every response, in order
    attempts: int = 0

    @property
    def response(self) -> Exchange | None:
        """The last response received: the page, or the error that ended the fetch."""
        return self.exchanges[-1] if self.exchanges else None

    @property
    def final_url(self) -> str:
        return self.response.url if self.response else self.request.url


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052) and the
# deprecated IPv4-compatible form; `is_global` judges the IPv6 address, not the one inside
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# deprecated site-local (RFC 3879), which Python counts as global, and NAT64's local-use prefix
_NOT_PUBLIC_V6 = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("64:ff9b:1::/48"))


def is_public_address(address: str) -> bool:
    """A globally reachable address, judged by the IPv4 address an IPv6 one carries too
    (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo): `64:ff9b::a9fe:a9fe` reaches
    169.254.169.254, and `::127.0.0.1` the loopback."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global
    if any(ip in network for network in _NOT_PUBLIC_V6):
        return False
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return embedded.is_global
    return ip.is_global


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client, which Python has already de-obfuscated
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 first)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in infos}, key=lambda a: ":" in a)
    return addresses


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """A Retry-After header (seconds, or an HTTP date) as seconds from `now`; 0 if absent
    or unreadable."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostScheduler:
    """Hands out jobs so that no host has more than `per_host` in flight, nor two starts
    closer than its delay, while other hosts' jobs go meanwhile. A job put back for a retry
    waits for its time without holding a thread."""

    def __init__(self, per_host: int, delay_s: float) -> None:
        self._per_host, self._delay_s = per_host, delay_s
        self._cond = threading.Condition()
        self._fresh: dict[str, deque[_Job]] = {}
        self._retries: dict[str, list[tuple[float, int, _Job]]] = {}
        self._in_flight: Counter[str] = Counter()
        self._ready_at: dict[str, float] = {}
        self._last_request: dict[str, float] = {}
        self._delays: dict[str, float] = {}
        self._armed: set[str] = set()
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._open = 0  # jobs queued, waiting or in flight

    def add(self, job: "_Job") -> None:
        with self._cond:
            self._fresh.setdefault(job.host, deque()).append(job)
            self._open += 1
            self._arm(job.host)
            self._cond.notify()

    def set_delay(self, host: str, delay_s: float) -> None:
        with self._cond:
            self._delays[host] = delay_s

    def pace(self, host: str) -> None:
        """Call right before each request to `host` (robots.txt and redirects too): waits
        until its delay since the host's previous request has passed, and counts from now."""
        with self._cond:
            delay = self._delays.get(host, self._delay_s)
            wait = self._last_request.get(host, -delay) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        with self._cond:
            now = time.monotonic()
            self._last_request[host] = now
            self._ready_at[host] = max(self._ready_at.get(host, 0.0), now + delay)

    def take(self) -> "_Job | None":
        """The next job that may start now, waiting as needed; None when all are done."""
        with self._cond:
            while True:
                if not self._open:
                    return None
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, host = heapq.heappop(self._heap)
                    self._armed.discard(host)
                    job = self._next_job(host, now)
                    if job is not None:
                        return job
                    self._arm(host)
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)

    def _next_job(self, host: str, now: float) -> "_Job | None":
        if self._in_flight[host] >= self._per_host:
            return None
        retries = self._retries.get(host)
        if retries and retries[0][0] <= now:
            job = heapq.heappop(retries)[2]
        elif self._fresh.get(host):
            job = self._fresh[host].popleft()
        else:
            return None
        self._in_flight[host] += 1
        self._ready_at[host] = now + self._delays.get(host, self._delay_s)
        self._arm(host)
        return job

    def done(self, job: "_Job", retry_at: float | None = None, pause_until: float = 0.0) -> None:
        """The job's attempt ended; it is finished, or waits until `retry_at` (monotonic)
        to go again. `pause_until` holds back every job of its host (Retry-After)."""
        with self._cond:
            host = job.host
            self._in_flight[host] -= 1
            if retry_at is not None:
                heapq.heappush(self._retries.setdefault(host, []), (retry_at, id(job), job))
            else:
                self._open -= 1
            self._ready_at[host] = max(self._ready_at.get(host, 0.0), pause_until)
            self._arm(host)
            self._cond.notify_all()

    def _arm(self, host: str) -> None:
        if host in self._armed or self._in_flight[host] >= self._per_host:
            return
        retries = self._retries.get(host)
        if not self._fresh.get(host) and not retries:
            return
        at = self._ready_at.get(host, 0.0)
        if not self._fresh.get(host) and retries:
            at = max(at, retries[0][0])
        heapq.heappush(self._heap, (at, next(self._order), host))
        self._armed.add(host)


@dataclass(slots=True)
class _Job:
    request: FetchRequest
    host: str
    attempts: int = 0
    exchanges: list[Exchange] = field(default_factory=list)


class Inflater:
    """Decodes a gzip or deflate body chunk by chunk, never more than asked per chunk (a
    body in several gzip members whole); a body that does not decode raises
    `httpx.DecodingError`."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None

    @classmethod
    def for_encoding(cls, encoding: str) -> "Inflater":
        encoding = encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            return cls(16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            return cls(zlib.MAX_WBITS)  # zlib-wrapped, as RFC 9110 says; raw deflate below
        return cls(None)

    def __call__(self, data: bytes, budget: int) -> bytes:
        if self._zlib is None:
            return data
        out = bytearray()
        while data and len(out) < budget:
            try:
                out += self._zlib.decompress(data, budget - len(out))
            except zlib.error as error:
                if self._wbits != zlib.MAX_WBITS or out:
                    raise httpx.DecodingError(f"the body does not decode: {error}") from error
                self._wbits, self._zlib = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            data = self._zlib.unconsumed_tail
            if self._zlib.eof and self._zlib.unused_data:  # another gzip member follows
                data = self._zlib.unused_data
                self._zlib = zlib.decompressobj(self._wbits or zlib.MAX_WBITS)
        return bytes(out)


@dataclass(slots=True)
class _Robots:
    rules: Protego | None  # None: unreachable, stay away
    detail: str = ""


class Fetcher:
    """Fetches batches of requests; results come out as they finish. One per run."""

    def __init__(self, settings: FetchSettings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self._resolve = resolver
        timeout = httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=settings.total_timeout_s,
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # only what Inflater decodes with a cap, whatever httpx could decode
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=deadline.transport(
                limits=httpx.Limits(max_connections=max(settings.fetch_concurrency, 1) * 2)
            ),
            trust_env=False,  # no proxy from the environment: the address check must hold
        )
        self._robots: dict[str, _Robots] = {}
        self._robots_lock = threading.Lock()
        self._robots_loading: dict[str, threading.Lock] = {}
        self._robots_exchanges: queue.SimpleQueue[FetchResult] = queue.SimpleQueue()
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()  # fetch threads count at once
        self._scheduler = HostScheduler(settings.host_concurrency, settings.host_delay_s)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_all(self, requests: Iterable[FetchRequest]) -> Iterator[FetchResult]:
        """Every request's result (and each robots.txt fetched on the way), in the order
        they finish."""
        settings = self.settings
        scheduler = self._scheduler = HostScheduler(
            settings.host_concurrency, settings.host_delay_s
        )
        for host, delay in self._known_delays().items():
            scheduler.set_delay(host, delay)
        jobs = 0
        for request in requests:
            scheduler.add(_Job(request, host_of(request.url)))
            jobs += 1
        if not jobs:
            return
        finished: queue.SimpleQueue[FetchResult | None] = queue.SimpleQueue()
        n_threads = min(settings.fetch_concurrency, jobs)

        def work() -> None:
            try:
                while (job := scheduler.take()) is not None:
                    result = self._attempt(job, scheduler)
                    if result is not None:
                        finished.put(result)
            finally:
                finished.put(None)

        with ThreadPoolExecutor(n_threads, thread_name_prefix="fetch") as pool:
            for _ in range(n_threads):
                pool.submit(work)
            running = n_threads
            while running:
                result = finished.get()
                while not self._robots_exchanges.empty():
                    yield self._robots_exchanges.get()
                if result is None:
                    running -= 1
                else:
                    yield result
        while not self._robots_exchanges.empty():
            yield self._robots_exchanges.get()

    def _count(self, name: str) -> None:
        with self._counts_lock:
            self.counts[name] += 1

    def _known_delays(self) -> dict[str, float]:
        return {
            host_of(origin): delay
            for origin, robots in self._robots.items()
            if robots.rules is not None and (delay := self._crawl_delay(robots.rules)) is not None
        }

    def _attempt(self, job: _Job, scheduler: HostScheduler) -> FetchResult | None:
        """One try of a job: its result, or None when it was put back for a retry."""
        settings = self.settings
        job.attempts += 1
        try:
            self._check_robots(job, scheduler)
            self._fetch_hops(job)
            result = self._judge(job)
        except FetchError as error:
            if error.retry_now and job.attempts <= settings.fetch_retries:
                backoff = settings.fetch_backoff_s * 2 ** (job.attempts - 1)
                wait = max(backoff * random.uniform(0.5, 1.5), error.retry_after)
                now = time.monotonic()
                pause = now + error.retry_after if error.retry_after else 0.0
                scheduler.done(job, retry_at=now + wait, pause_until=pause)
                self._count("fetch.retries")
                return None
            outcome: Outcome = "failed" if error.transient else "rejected"
            result = FetchResult(
                job.request, outcome, error.reason, error.detail, job.exchanges, job.attempts
            )
        except Exception as error:  # a bug or an exotic failure must not stop the run
            detail = f"unexpected error: {type(error).__name__}: {error}"
            result = FetchResult(
                job.request, "failed", Reason.FETCH_FAILED, detail, job.exchanges, job.attempts
            )
        scheduler.done(job)
        return result

    def _judge(self, job: _Job) -> FetchResult:
        """The last response decides: a page, nothing new, or an error (raised)."""
        response = job.exchanges[-1]
        status, request = response.status, job.request
        if status == 304 and (request.etag or request.last_modified):
            return FetchResult(
                request, "not_modified", exchanges=job.exchanges, attempts=job.attempts
            )
        if status == 429 or status == 408 or status >= 500:
            self._raise_retryable(response)
        if not 200 <= status < 300:
            raise FetchError(
                Reason.FETCH_HTTP_ERROR,
                f"HTTP {status} {response.reason_phrase} from {response.url}",
            )
        if response.truncated:
            raise FetchError(
                Reason.FETCH_TOO_LARGE,
                f"the body is over the {self.settings.max_body_bytes:,}-byte limit "
                "(max_body_mb); the part received is kept in the raw zone, marked truncated",
            )
        if request.role == "article" and response.content_type not in ("", *HTML_TYPES):
            raise FetchError(
                Reason.FETCH_NOT_HTML,
                f"content type {response.content_type!r} at {response.url} is not an HTML page",
            )
        return FetchResult(request, "fetched", exchanges=job.exchanges, attempts=job.attempts)

    def _raise_retryable(self, response: Exchange) -> None:
        if response.status == 429:
            wait = retry_after_seconds(response.header("retry-after"), response.fetched_at)
            if wait > self.settings.max_retry_after_s:
                raise FetchError(
                    Reason.FETCH_RATE_LIMITED,
                    f"HTTP 429: the site asks to wait {wait:.0f} s (Retry-After), over "
                    f"max_retry_after_s ({self.settings.max_retry_after_s:g} s)",
                    transient=True,
                    retry_now=False,
                )
            raise FetchError(
                Reason.FETCH_RATE_LIMITED,
                f"HTTP 429 Too Many Requests from {response.url} (Retry-After {wait:g} s)",
                transient=True,
                retry_after=wait,
            )
        raise FetchError(
            Reason.FETCH_HTTP_ERROR,
            f"HTTP {response.status} {response.reason_phrase} from {response.url}",
            transient=True,
        )

    def _fetch_hops(self, job: _Job) -> None:
        """The request and its redirects, each hop recorded in `job.exchanges`."""
        url, seen = job.request.url, [job.request.url]
        for _ in range(self.settings.max_redirects + 1):
            exchange = self._exchange(url, job.request, job.request.role)
            job.exchanges.append(exchange)
            location = exchange.header("location")
            if exchange.status not in REDIRECTS or not location:
                return
            url = urljoin(url, location.strip())
            if url in seen:
                raise FetchError(
                    Reason.FETCH_TOO_MANY_REDIRECTS,
                    f"redirect loop: {' -> '.join([*seen[seen.index(url) :], url])}",
                )
            seen.append(url)
            self._check_robots(job, None, url)  # the hop's own site may refuse it
        raise FetchError(
            Reason.FETCH_TOO_MANY_REDIRECTS,
            f"more than {self.settings.max_redirects} redirects (max_redirects): {' -> '.join(seen)}",
        )

    def _target(self, url: str) -> tuple[str, str, str]:
        """(address to connect to, Host header, host name) for an allowed URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(
                Reason.FETCH_BAD_URL,
                f"scheme {parts.scheme!r} is not fetched (http/https only): {url}",
            )
        host = parts.hostname
        if not host:
            raise FetchError(Reason.FETCH_BAD_URL, f"no host in {url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError(Reason.FETCH_BAD_URL, f"bad port in {url!r}") from None
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise FetchError(
                Reason.FETCH_CONNECTION_ERROR, f"cannot resolve {host}: {error}", transient=True
            ) from None
        if not addresses:
            raise FetchError(
                Reason.FETCH_CONNECTION_ERROR, f"{host} has no address", transient=True
            )
        if not self.settings.allow_private_hosts:
            private = [a for a in addresses if not is_public_address(a)]
            if private:
                raise FetchError(
                    Reason.FETCH_PRIVATE_ADDRESS,
                    f"{host} resolves to {private[0]}, a private, loopback, link-local or "
                    "reserved address: refused (allow_private_hosts is off)",
                )
        return addresses[0], parts.netloc.rsplit("@", 1)[-1], host

    def _exchange(self, url: str, request: FetchRequest, role: Role) -> Exchange:
        """One GET, to the checked address, paced for its host."""
        address, host_header, host = self._target(url)
        self._scheduler.pace(host)
        parts = urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        netloc = literal + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers = {"Host": host_header, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        if request.etag and role == request.role:
            headers["If-None-Match"] = request.etag
        if request.last_modified and role == request.role:
            headers["If-Modified-Since"] = request.last_modified
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        message = self._client.build_request("GET", pinned, headers=headers, extensions=extensions)
        fetched_at = datetime.now(UTC)
        with deadline.deadline(self.settings.total_timeout_s):
            try:
                response = self._client.send(message, stream=True)
                try:
                    body, truncated = self._read_body(response, url)
                finally:
                    response.close()
            except httpx.HTTPError as error:
                raise self._transport_error(error, url) from None
        self._count("fetch.requests")
        sent = tuple((k, v) for k, v in message.headers.items() if k.lower() != "host")
        return Exchange(
            url=url,
            address=address,
            request_headers=(("Host", host_header), *sent),
            status=response.status_code,
            reason_phrase=response.reason_phrase,
            headers=tuple(response.headers.multi_items()),
            body=body,
            truncated=truncated,
            fetched_at=fetched_at,
            role=role,
        )

    def _read_body(self, response: httpx.Response, url: str) -> tuple[bytes, bool]:
        """(body, cut off at max_body_mb); past the attempt's deadline it is a timeout. A gzip or
        deflate body is decoded here, never past max_body_mb: httpx would inflate each
        network chunk whole, and 64 KB of a gzip bomb is 64 MB."""
        settings = self.settings
        inflate = Inflater.for_encoding(response.headers.get("content-encoding", ""))
        body = bytearray()
        for raw in response.iter_raw():
            body += inflate(raw, settings.max_body_bytes + 1 - len(body))
            if len(body) > settings.max_body_bytes:
                return bytes(body[: settings.max_body_bytes]), True
            if deadline.passed():
                raise self._over_deadline(url)
        return bytes(body), False

    def _over_deadline(self, url: str) -> FetchError:
        return FetchError(
            Reason.FETCH_TIMEOUT,
            f"the response took over {self.settings.total_timeout_s:g} s (total_timeout_s): {url}",
            transient=True,
        )

    def _transport_error(self, error: httpx.HTTPError, url: str) -> FetchError:
        settings = self.settings
        if deadline.passed():
            return self._over_deadline(url)
        if isinstance(error, httpx.ConnectTimeout):
            why = f"connecting took over {settings.connect_timeout_s:g} s (connect_timeout_s)"
        elif isinstance(error, httpx.ReadTimeout):
            why = f"no data for {settings.read_timeout_s:g} s (read_timeout_s)"
        elif isinstance(error, httpx.TimeoutException):
            why = f"{type(error).__name__} (total_timeout_s {settings.total_timeout_s:g} s)"
        else:
            why = f"{type(error).__name__}: {error or 'connection failed'}"
            return FetchError(Reason.FETCH_CONNECTION_ERROR, f"{why}: {url}", transient=True)
        return FetchError(Reason.FETCH_TIMEOUT, f"{why}: {url}", transient=True)

    # robots.txt

    def _check_robots(self, job: _Job, scheduler: HostScheduler | None, url: str = "") -> None:
        """Refuse `url` (the job's, or a redirect hop's) when its site's robots.txt does."""
        url = url or job.request.url
        if not self.settings.obey_robots or job.request.role == "robots":
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            loading = self._robots_loading.setdefault(origin, threading.Lock())
        with loading:  # one robots.txt request per origin, whoever asks first
            robots = self._robots.get(origin)
            if robots is None:
                self._target(url)  # a URL refused outright needs no robots.txt
                robots = self._robots[origin] = self._load_robots(origin)
                delay = self._crawl_delay(robots.rules) if robots.rules is not None else None
                if delay is not None and scheduler is not None:
                    scheduler.set_delay(host_of(origin), delay)
        if robots.rules is None:
            raise FetchError(
                Reason.FETCH_ROBOTS_UNAVAILABLE, robots.detail, transient=True, retry_now=False
            )
        if not robots.rules.can_fetch(url, self.settings.user_agent):
            raise FetchError(
                Reason.FETCH_ROBOTS_DISALLOWED,
                f"{origin}/robots.txt disallows {url} for our user agent",
            )

    def _crawl_delay(self, rules: Protego) -> float | None:
        delay = rules.crawl_delay(self.settings.user_agent)
        if delay is None or float(delay) <= self.settings.host_delay_s:
            return None
        return min(float(delay), MAX_CRAWL_DELAY_S)

    def _load_robots(self, origin: str) -> _Robots:
        request = FetchRequest(f"{origin}/robots.txt", role="robots")
        job = _Job(request, host_of(origin))
        result = FetchResult(request, "fetched", attempts=1)
        try:
            self._fetch_hops(job)
        except FetchError as error:
            result.outcome, result.reason, result.detail = "failed", error.reason, error.detail
        result.exchanges = job.exchanges
        self._robots_exchanges.put(result)
        response = result.response
        if result.outcome == "failed" or response is None or response.status >= 500:
            why = result.detail or f"HTTP {response.status if response else '?'}"
            return _Robots(
                None,
                f"{origin}/robots.txt could not be read ({why}): the site is not fetched this run",
            )
        if 400 <= response.status < 500 or response.status in REDIRECTS:
            return _Robots(Protego.parse(""))  # RFC 9309: a 4xx means no rules
        return _Robots(Protego.parse(response.body.decode("utf-8", "replace")))
