"""The cost table: where a run's time goes, per stage, next to the floor for that work.

`newsmill run` on a make_corpus.py corpus (20k documents, seed 11), against one running
Prefect server, with 1 worker and with 2. Each run records milliseconds per stage in its
`runs` row (`counts_json`, `time_ms.<stage>`, summed over shards and workers); this prints
them as µs per document and share of the stages' total. The floor is measured in the same
script on the same texts: the least any implementation pays for that kind of work (UTF-8
decoding, NFC, xxh3 of the text, rensa signatures of shingles built beforehand, writing
the run's articles again with pyarrow).

    .venv/bin/python benchmarks/profile.py [--docs 20000] [--seed 11] [--workers 1 2]
"""

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import rensa
import xxhash
from common import NEWSMILL, WORK, build_corpus, prefect_server

from newsmill.tasks.dedup.near import NearDupSettings, shingles
from newsmill.tasks.lake.runs import STAGE_ORDER


def run(corpus: Path, workers: int, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    lake = WORK / f"lake-profile-{workers}"
    shutil.rmtree(lake, ignore_errors=True)
    command = [NEWSMILL, "run", str(corpus), "--lake", str(lake), "--quiet"]
    started = time.monotonic()
    subprocess.run(
        [*command, "--workers", str(workers)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    wall = time.monotonic() - started
    [(counts, flow)] = duckdb.sql(
        f"select counts_json, epoch(finished_at) - epoch(started_at) "
        f"from read_parquet('{lake}/runs/**/*.parquet')"
    ).fetchall()
    return json.loads(counts), flow or wall


def floors(corpus: Path, lake: Path) -> dict[str, float]:
    """µs per document of the least work of each kind, on the same texts."""
    lines = corpus.read_bytes().splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    raw = [t.encode() for t in texts]
    near = NearDupSettings()
    built = [shingles(t, near.shingle_words) for t in texts]

    def signatures() -> None:
        for tokens in built:
            minhash = rensa.RMinHash(near.num_perm, near.minhash_seed)
            minhash.update(tokens)
            minhash.digest()

    articles = pq.read_table(lake / "articles")
    with tempfile.TemporaryDirectory() as folder:
        found = {
            "decode (UTF-8)": _per_doc(lambda: [b.decode() for b in raw], len(raw)),
            "NFC": _per_doc(lambda: [unicodedata.normalize("NFC", t) for t in texts], len(texts)),
            "xxh3 of the text": _per_doc(
                lambda: [xxhash.xxh3_64_intdigest(b) for b in raw], len(raw)
            ),
            "rensa signatures of built shingles": _per_doc(signatures, len(built)),
            "write the articles (pyarrow)": _per_doc(
                lambda: pq.write_table(articles, f"{folder}/a.parquet"), articles.num_rows
            ),
        }
    return found


def _per_doc(work: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1e6 / max(n, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    corpus = build_corpus(args.docs, args.seed) / "articles.jsonl"
    results = {}
    with prefect_server() as env:
        for workers in args.workers:
            results[workers] = run(corpus, workers, env)
    print(f"cost table: {args.docs} documents (make_corpus seed {args.seed}), one Prefect server")
    header = "  stage        " + "".join(
        f"{f'{w} worker(s): µs/doc  share':>30}" for w in args.workers
    )
    print(header)
    for stage in STAGE_ORDER:
        cells = []
        for workers in args.workers:
            counts, _ = results[workers]
            total = sum(v for k, v in counts.items() if k.startswith("time_ms."))
            ms = counts.get(f"time_ms.{stage}", 0)
            cells.append(f"{ms * 1000 / counts['inputs.seen']:>20,.0f}  {ms / max(total, 1):>6.1%}")
        print(f"  {stage:<13}" + "".join(f"{c:>30}" for c in cells))
    for workers in args.workers:
        counts, flow = results[workers]
        print(
            f"  {workers} worker(s): {counts['inputs.seen'] / flow:,.0f} docs/s in the flow ({flow:.1f} s)"
        )
    print("  floor, µs/doc, same texts:")
    for work, micros in floors(corpus, WORK / f"lake-profile-{args.workers[0]}").items():
        print(f"    {work:<38} {micros:>8,.1f}")


if __name__ == "__main__":
    main()
