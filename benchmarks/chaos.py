"""Chaos, part 1: thousands of malformed inputs through every reader and every stage.

A seeded generator writes N inputs of every kind newsmill reads — text, HTML, JSONL lines,
gzip, WARC — most of them broken on purpose: bad and mixed encodings, truncation, NUL
bytes, lone surrogates, deep nesting, absurd dates, huge lines, gzip bombs, empty files,
binary data under a text name, odd file names. They are cut into shards as a run cuts
them and each shard goes through `process_shard`, the real per-document stages (one
core, no Prefect). Printed: crashes (a shard that raised; must be 0), and whether every
input is accounted for exactly once (`inputs.seen` = articles + document duplicates +
rejects, and the generator's own count), with the rejects by reason.

    .venv/bin/python benchmarks/chaos.py [--inputs 10000] [--seed 1]

Not here yet: part 2 (kill -9 at random moments of a 20k run, then resume, compared with
an uninterrupted run) and part 3 (20 concurrent starters on one lake; the lock's test
covers it in tests/tasks/lake/test_lock.py).
"""

import argparse
import gzip
import io
import json
import random
import shutil
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import WORK
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsmill.tasks.ingest.sources import discover_sources, plan_shards
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.shard import ShardSettings, process_shard
from newsmill.tasks.versions import PIPELINE_VERSION

WORDS = [
    "harbour",
    "council",
    "ferry",
    "vote",
    "budget",
    "tram",
    "library",
    "frost",
    "storm",
    "school",
    "museum",
]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(3, 40))).capitalize() + "."


def text_body(rng: random.Random) -> bytes:
    text = "\n\n".join(sentence(rng) for _ in range(rng.randint(0, 6)))
    damage = rng.randrange(10)
    data = text.encode(rng.choice(["utf-8", "cp1252", "utf-16", "latin-1"]), "replace")
    if damage == 0:
        data = data[: rng.randint(0, len(data))]  # truncated, maybe mid-character
    elif damage == 1:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))  # binary
    elif damage == 2:
        data = data.replace(b" ", b"\x00")
    elif damage == 3:
        data = ("Ã©Ã¨ â€œmojibakeâ€ " * rng.randint(1, 50)).encode()
    elif damage == 4:
        data = b""
    elif damage == 5:
        data = b"# " + b"#" * rng.randint(1, 200_000) + b"\n\n" + data  # a hostile headline
    return data


def html_body(rng: random.Random) -> bytes:
    paragraphs = "".join(f"<p>{sentence(rng)}</p>" for _ in range(rng.randint(0, 8)))
    page = f"<html><body class='cookie-consent'><article>{paragraphs}</article></body></html>"
    damage = rng.randrange(6)
    if damage == 0:
        page = "<div>" * rng.randint(1_000, 50_000) + page  # deep nesting
    elif damage == 1:
        page = page[: rng.randint(0, len(page))]
    elif damage == 2:
        page = "<script>" + "x" * 10_000 + page
    return page.encode()


def jsonl_line(rng: random.Random) -> bytes:
    record: dict = {"id": str(rng.randrange(10**9)), "text": sentence(rng) * rng.randint(1, 5)}
    damage = rng.randrange(12)
    if damage == 0:
        record["published"] = rng.choice(
            ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "yesterday", "31/02/2024"]
        )
    elif damage == 1:
        return b'{"text": "lone \\ud800 surrogate ' + sentence(rng).encode() + b'"}'
    elif damage == 2:
        return b'{"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    elif damage == 3:
        return json.dumps(record).encode()[: rng.randint(1, 40)]  # truncated record
    elif damage == 4:
        return b"[1, 2, 3]"
    elif damage == 5:
        record["text"] = None
    elif damage == 6:
        record["html"] = html_body(rng).decode("utf-8", "replace")
        del record["text"]
    elif damage == 7:
        record["title"] = {"nested": ["odd"]}
    return json.dumps(record).encode()


def warc_file(rng: random.Random, path: Path, records: int) -> None:
    """A WARC of HTML responses, sometimes truncated (its records are counted by the run:
    a damaged archive's remainder is one reject)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for n in range(records):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"https://chaos.example/{n}",
            "response",
            payload=io.BytesIO(html_body(rng)),
            http_headers=headers,
        )
        writer.write_record(record)
    data = buffer.getvalue()
    if rng.random() < 0.3:
        data = data[: rng.randint(0, len(data))]
    path.write_bytes(data)


def generate(folder: Path, n: int, seed: int) -> int:
    """Write about n inputs under `folder`; the number of inputs that are not WARC records."""
    rng = random.Random(seed)
    count = 0
    names = ["plain", "caf\udce9", "line\nbreak", "space name", "x" * 100]
    while count < n:
        kind = rng.randrange(5)
        stem = f"{rng.choice(names)}-{count:06d}"
        if kind == 0:
            (folder / f"{stem}.txt").write_bytes(text_body(rng))
            count += 1
        elif kind == 1:
            (folder / f"{stem}.html").write_bytes(html_body(rng))
            count += 1
        elif kind == 2:
            lines = [jsonl_line(rng) for _ in range(rng.randint(1, 50))]
            (folder / f"{stem}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
            count += len(lines)
        elif kind == 3:
            lines = [jsonl_line(rng) for _ in range(rng.randint(1, 20))]
            data = gzip.compress(b"\n".join(lines) + b"\n")
            if rng.random() < 0.3:
                data = data[: rng.randint(10, len(data))]  # a damaged gzip stream
            (folder / f"{stem}.jsonl.gz").write_bytes(data)
            count += len(lines)
        else:
            warc_file(rng, folder / f"{stem}.warc.gz", rng.randint(1, 5))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = WORK / "chaos"
    shutil.rmtree(root, ignore_errors=True)
    folder, lake = root / "inputs", root / "lake"
    folder.mkdir(parents=True)
    generated = generate(folder, args.inputs, args.seed)
    files = discover_sources([str(folder)]).files
    shards = plan_shards(files, 1 << 20, 50)
    settings = ShardSettings()
    counts: Counter[str] = Counter()
    crashes = 0
    started = time.perf_counter()
    for run, shard in enumerate(shards):
        ctx = RunContext(f"chaos-{run:05d}", _now(), PIPELINE_VERSION)
        try:
            counts.update(process_shard(shard, str(lake), ctx, settings).counts)
        except Exception:
            crashes += 1
            print(f"CRASH in shard {shard.index}:\n{traceback.format_exc(limit=4)}")
    seconds = time.perf_counter() - started
    seen = counts["inputs.seen"]
    duplicates = sum(v for k, v in counts.items() if k.startswith("duplicates.document."))
    accounted = counts["written.articles"] + duplicates + counts["written.rejects"]
    rejects = {k.removeprefix("rejects."): v for k, v in counts.items() if k.startswith("rejects.")}
    print(f"chaos part 1: {len(files)} files in {len(shards)} shards, {seconds:.1f} s")
    print(
        f"  inputs generated (without WARC records) {generated}, seen {seen} (a damaged gzip "
        "or WARC file ends in one reject for its unread rest)"
    )
    print(f"  crashes                                  {crashes}")
    print(
        f"  articles {counts['written.articles']}, document duplicates {duplicates}, "
        f"rejects {counts['written.rejects']}"
    )
    print(f"  unaccounted (seen - articles - duplicates - rejects): {seen - accounted}")
    for reason, n in sorted(rejects.items(), key=lambda item: -item[1]):
        print(f"    {reason:<32} {n}")


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    main()
