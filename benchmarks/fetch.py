"""Fetching N hosts at once: does a crawl take the politeness floor, or the sum of latencies?

Starts HOSTS web servers on 127.0.0.1, 127.0.0.2, … (Linux routes all of 127/8 to loopback)
in a separate process, each answering after LATENCY ms, and fetches PAGES pages spread over
them with newsmill's fetcher (robots.txt included), then with the whole crawl stage (raw-zone
WARC files and the crawl log written). Prints the wall time against:

  - the politeness floor: per host, one request at a time, their starts host_delay_s apart
    and each taking one latency: (requests - 1) × max(delay, latency) + latency, the hosts
    side by side; no polite crawler can beat it;
  - the sum of latencies: what fetching one page after another would take at best.

It also checks the manners: the smallest gap between two request starts to one host as
sent (the fetcher's clock) and as received (the servers' logs, which add the machine's
scheduling jitter), and the most requests one host had in flight at once.

    .venv/bin/python benchmarks/fetch.py                       # 1,000 pages, 20 hosts, 5 ms
    .venv/bin/python benchmarks/fetch.py --delays 0 0.05 0.2
"""

import argparse
import http.server
import itertools
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.web.crawl import crawl
from newsmill.tasks.web.discover import WebSources
from newsmill.tasks.web.fetch import Fetcher, FetchRequest, FetchSettings

PAGE = (
    "<!doctype html><html><head><title>Page {n}</title></head><body><article>"
    + "<p>Paragraph {n} of a benchmark page with enough words to look like news prose.</p>" * 40
    + "</article></body></html>"
)


def serve(hosts: int, latency_s: float, pipe: Connection) -> None:
    """HOSTS servers; sends their ports, then on any message their request logs:
    (host, path, start, end) with CLOCK_MONOTONIC times, comparable across processes."""
    log: list[tuple[str, str, float, float]] = []
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            start = time.monotonic()
            time.sleep(latency_s)
            if self.path == "/robots.txt":
                body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
            else:
                body, kind = PAGE.format(n=self.path).encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with lock:
                log.append((self.server.server_address[0], self.path, start, time.monotonic()))

    servers = []
    for n in range(1, hosts + 1):
        server = http.server.ThreadingHTTPServer((f"127.0.0.{n}", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    pipe.send([s.server_address[1] for s in servers])
    while True:
        message = pipe.recv()
        if message == "stop":
            break
        with lock:
            pipe.send(list(log))
            log.clear()
    for server in servers:
        server.shutdown()


def smallest_gap(starts: dict[str, list[float]]) -> float:
    gaps = [b - a for times in starts.values() for a, b in itertools.pairwise(sorted(times))]
    return min(gaps) if gaps else 0.0


def manners(log: list[tuple[str, str, float, float]]) -> tuple[float, int]:
    """(smallest gap between two request starts on one host, most in flight on one host)."""
    by_host: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for host, _, start, end in log:
        by_host[host].append((start, end))
    gaps, peak = [], 0
    for spans in by_host.values():
        spans.sort()
        gaps += [b[0] - a[0] for a, b in itertools.pairwise(spans)]
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
        level = 0
        for _, step in events:
            level += step
            peak = max(peak, level)
    return min(gaps) if gaps else 0.0, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 0.05, 0.2])
    parser.add_argument("--concurrency", type=int, default=FetchSettings().fetch_concurrency)
    args = parser.parse_args()

    latency = args.latency_ms / 1000
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.hosts, latency, theirs), daemon=True)
    server.start()
    ports = ours.recv()
    urls = [
        f"http://127.0.0.{n % args.hosts + 1}:{ports[n % args.hosts]}/news/{n}.html"
        for n in range(args.pages)
    ]
    per_host = -(-args.pages // args.hosts) + 1  # its pages and its robots.txt
    print(
        f"{args.pages} pages over {args.hosts} hosts, {args.latency_ms:g} ms latency, "
        f"fetch_concurrency {args.concurrency}, host_concurrency 1"
    )
    print(
        f"{'what':<20}{'delay s':>8}{'wall s':>8}{'floor s':>8}{'x floor':>8}"
        f"{'sum lat s':>10}{'gap sent':>9}{'gap recv':>9}{'peak/host':>10}{'pages':>6}"
    )
    base = FetchSettings(
        allow_private_hosts=True, fetch_concurrency=args.concurrency, host_concurrency=1
    )
    for delay in args.delays:
        settings = replace(base, host_delay_s=delay)
        floor = (per_host - 1) * max(delay, latency) + latency
        sum_latency = per_host * args.hosts * latency
        for what in ("fetcher", "crawl (WARC, log)"):
            started = time.monotonic()
            sent: dict[str, list[float]] = defaultdict(list)
            if what == "fetcher":
                pages = 0
                with Fetcher(settings) as fetcher:
                    for result in fetcher.fetch_all(FetchRequest(u) for u in urls):
                        pages += result.request.role == "article" and result.outcome == "fetched"
                        for exchange in result.exchanges:
                            sent[exchange.address].append(exchange.fetched_at.timestamp())
            else:
                with tempfile.TemporaryDirectory() as folder:
                    ctx = RunContext("bench", datetime.now(UTC), "bench")
                    result = crawl(
                        WebSources(articles=tuple(urls)), Lake(folder), ctx, settings, 8 << 20
                    )
                    pages = result.counts["fetch.article.fetched"]
            wall = time.monotonic() - started
            ours.send("log")
            gap, peak = manners(ours.recv())
            gap_sent = f"{smallest_gap(sent):.3f}" if sent else "-"
            print(
                f"{what:<20}{delay:>8g}{wall:>8.2f}{floor:>8.2f}{wall / floor:>8.2f}"
                f"{sum_latency:>10.2f}{gap_sent:>9}{gap:>9.3f}{peak:>10}{pages:>6}"
            )
    ours.send("stop")
    server.join(timeout=10)


if __name__ == "__main__":
    main()
