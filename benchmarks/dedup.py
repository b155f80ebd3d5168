"""Near-duplicate detection at scale, against the injected duplicates of make_corpus.py.

For each corpus size: docs/s end to end, peak RSS, recall and precision of the injected
exact and near copies, and the cost growth between sizes. With --datatrove, datatrove's
MinHash pipeline (defaults; a separate benchmark-only venv, never a project dependency)
runs on the smallest corpus in the same script run, and the ratio is printed. newsmill
reports to a Prefect server this script starts first (issue 18's condition), so no run pays
for a temporary API's start-up; `--temporary-api` measures the embedded default instead.

    .venv/bin/python benchmarks/dedup.py --sizes 20000 100000 --datatrove

Scoring, by pairs: a labelled copy (exact or near, with the article it copies) is found
when newsmill puts both in one cluster (same canonical article). A flagged duplicate is
correct when it and its canonical descend from the same original in the labels.
"""

import argparse
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from common import (
    NEWSMILL,
    ROOT,
    WORK,
    build_corpus,
    count_lines,
    newsmill_env,
    plain_pool_seconds,
    prefect_server,
    run_phases,
    timed,
)

DATATROVE_PYTHON = WORK / "venv-datatrove" / "bin" / "python"


def labelled_roots(corpus: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Each id's original (following `of` chains), and the labelled (copy, original) pairs."""
    of: dict[str, str | None] = {}
    with open(corpus / "labels.jsonl", encoding="utf-8") as handle:
        for line in handle:
            label = json.loads(line)
            of[label["id"]] = label["of"] if label["kind"] in ("exact", "near") else None

    def root(i: str) -> str:
        while of[i] is not None:
            i = of[i]  # type: ignore[assignment]
        return i

    pairs = [(i, o) for i, o in of.items() if o is not None]
    return {i: root(i) for i in of}, pairs


def newsmill_clusters(lake: Path, corpus: Path) -> tuple[dict[str, str], set[str]]:
    """Corpus id → canonical corpus id, and the ids newsmill flagged as document duplicates."""
    table = lambda name: f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning=true)"  # noqa: E731
    ids = {
        row[0]: row[1]
        for row in duckdb.sql(f"select doc_id, external_id from {table('articles')}").fetchall()
    }
    line_to_id: dict[int, str] = {}
    with open(corpus / "articles.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line_to_id[number] = json.loads(line)["id"]
    canonical = {external: external for external in ids.values()}
    flagged = set()
    for source, cluster_id in duckdb.sql(
        f"select source, cluster_id from {table('duplicates')} where level = 'document'"
    ).fetchall():
        copy = line_to_id[int(source.rsplit(":", 1)[1])]
        canonical[copy] = ids[cluster_id]
        flagged.add(copy)
    return canonical, flagged


def score(
    canonical: dict[str, str],
    flagged: set[str],
    roots: dict[str, str],
    pairs: list[tuple[str, str]],
) -> dict[str, float]:
    found = sum(canonical.get(c, c) == canonical.get(o, o) for c, o in pairs)
    correct = sum(roots[d] == roots[canonical[d]] for d in flagged)
    return {
        "recall": found / len(pairs) if pairs else 1.0,
        "precision": correct / len(flagged) if flagged else 1.0,
        "flagged": len(flagged),
        "pairs": len(pairs),
    }


def measured(corpus: Path, wall: float, rss: float, scores: dict[str, float]) -> dict[str, float]:
    docs = count_lines(corpus / "articles.jsonl")
    return {"docs": docs, "seconds": wall, "docs_per_s": docs / wall, "rss_mib": rss, **scores}


def run_newsmill(corpus: Path, extra: list[str], env: dict[str, str]) -> dict[str, float]:
    lake = WORK / f"lake-dedup-{corpus.name}"
    shutil.rmtree(lake, ignore_errors=True)
    wall, rss = timed(
        [NEWSMILL, "run", str(corpus / "articles.jsonl"), "--lake", str(lake), "--quiet", *extra],
        env,
    )
    roots, pairs = labelled_roots(corpus)
    canonical, flagged = newsmill_clusters(lake, corpus)
    phases = run_phases(lake)
    return {**measured(corpus, wall, rss, score(canonical, flagged, roots, pairs)), **phases}


DATATROVE_SCRIPT = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter


def main(corpus, work, workers):
    config = MinhashConfig()
    reader = lambda: JsonlReader(corpus, glob_pattern="articles.jsonl", id_key="id")
    run = lambda steps, tasks, name: LocalPipelineExecutor(steps, tasks=tasks, workers=min(workers, tasks), logging_dir=f"{work}/logs/{name}").run()
    run([reader(), MinhashDedupSignature(f"{work}/sigs", config=config)], 1, "signature")
    run([MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=config)], config.num_buckets, "buckets")
    run([MinhashDedupCluster(f"{work}/buckets", f"{work}/remove_ids", config=config)], 1, "cluster")
    run([reader(), MinhashDedupFilter(f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)), ParquetWriter(f"{work}/kept")], 1, "filter")


if __name__ == "__main__":  # datatrove starts worker processes by spawning
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
"""


def ensure_datatrove() -> None:
    """The baseline's own venv, from benchmarks/datatrove-requirements.txt."""
    if not DATATROVE_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATATROVE_PYTHON.parents[1])], check=True)
        requirements = ROOT / "benchmarks" / "datatrove-requirements.txt"
        subprocess.run(
            [str(DATATROVE_PYTHON), "-m", "pip", "install", "-q", "-r", str(requirements)],
            check=True,
        )


def run_datatrove(corpus: Path, workers: int) -> dict[str, float]:
    ensure_datatrove()
    work = WORK / f"datatrove-{corpus.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    script = work / "pipeline.py"
    script.write_text(DATATROVE_SCRIPT)
    wall, rss = timed([str(DATATROVE_PYTHON), str(script), str(corpus), str(work), str(workers)])
    removed = set()
    for path in (work / "removed").glob("*.jsonl"):
        with open(path, encoding="utf-8") as handle:
            removed |= {json.loads(line)["id"] for line in handle}
    roots, pairs = labelled_roots(corpus)
    found = sum(c in removed or o in removed for c, o in pairs)
    # datatrove keeps one document per cluster; a removed document is right when it is a labelled copy
    # or an original whose copy was kept (both descend from the same original).
    correct = sum(
        roots[d] != d or any(roots[c] == d and c not in removed for c, _ in pairs) for d in removed
    )
    scores = {
        "recall": found / len(pairs),
        "precision": correct / len(removed) if removed else 1.0,
        "flagged": len(removed),
        "pairs": len(pairs),
    }
    return measured(corpus, wall, rss, scores)


def report(name: str, size: int, result: dict[str, float]) -> None:
    print(
        f"{name:<10} {size:>9,} docs  {result['seconds']:8.1f} s  {result['docs_per_s']:9,.0f} docs/s  "
        f"peak RSS {result['rss_mib']:7,.0f} MiB  recall {result['recall']:.3f}  precision {result['precision']:.4f}  "
        f"({result['flagged']:,} flagged, {result['pairs']:,} labelled copies)",
        flush=True,
    )


def incremental_run(fresh: Path, size: int, workers: int, env: dict[str, str]) -> None:
    """Time a run of the `fresh` corpus into a copy of the `size`-doc lake (0: empty lake).

    The copy is made of hard links (committed files are never modified, only added), so
    the benchmark lake stays as it was and the figure can be measured again.
    """
    copy = WORK / "lake-incremental"
    shutil.rmtree(copy, ignore_errors=True)
    if size:
        lake = WORK / f"lake-dedup-{build_corpus(size).name}"
        subprocess.run(["cp", "-al", str(lake), str(copy)], check=True)
    command = [NEWSMILL, "run", str(fresh / "articles.jsonl"), "--lake", str(copy), "--quiet"]
    wall, rss = timed([*command, "--no-fields", "--workers", str(workers)], env)
    [added] = duckdb.sql(
        f"""select articles, duplicates_document from read_parquet('{copy}/runs/**/*.parquet')
        order by run_id desc limit 1"""
    ).fetchall()
    shutil.rmtree(copy)
    print(
        f"incremental run of {count_lines(fresh / 'articles.jsonl'):,} new docs into the {size:,}-doc lake: "
        f"{wall:.1f} s, peak RSS {rss:,.0f} MiB ({added[0]:,} articles, {added[1]:,} duplicates added)",
        flush=True,
    )


def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[int, dict[str, float]]:
    """Each size `--repeat` times, its median run the result. With --datatrove, each newsmill
    run of the smallest size is followed by a datatrove run; the ratio is of the medians,
    and each pair's is printed too: the machine's pace (±10% between minutes here) moves
    both runs of a pair alike."""
    runs: dict[int, list[dict[str, float]]] = {}
    baselines: list[dict[str, float]] = []
    smallest = min(args.sizes)
    for size in [] if args.only_incremental else sorted(args.sizes):
        corpus = build_corpus(size)
        runs[size] = []
        for _ in range(args.repeat):
            # the same work as datatrove's pipeline: no field extraction (documented --no-fields)
            runs[size].append(
                run_newsmill(corpus, ["--no-fields", "--workers", str(args.workers)], env)
            )
            report("newsmill", size, runs[size][-1])
            if args.datatrove and size == smallest:
                baselines.append(run_datatrove(corpus, args.workers))
                report("datatrove", size, baselines[-1])
        if args.repeat > 1:
            report("median", size, median_run(runs[size]))
    results = {size: median_run(these) for size, these in runs.items()}
    if baselines:
        ratio = results[smallest]["docs_per_s"] / median_run(baselines)["docs_per_s"]
        pairs = [
            n["docs_per_s"] / d["docs_per_s"]
            for n, d in zip(runs[smallest], baselines, strict=True)
        ]
        each = f" (of the medians; each pair: {', '.join(f'{r:.1f}x' for r in pairs)})"
        print(
            f"speed ratio on {smallest:,} docs: newsmill / datatrove = {ratio:.1f}x"
            + (each if len(pairs) > 1 else "")
        )
    if args.floor and smallest in results:
        print_floor(build_corpus(smallest), results[smallest], args.workers, baselines)
    if args.incremental:
        fresh = build_corpus(args.incremental, seed=8)
        for size in [0, *sorted(args.sizes)]:
            incremental_run(fresh, size, args.workers, env)
    return results


def print_floor(
    corpus: Path, run: dict[str, float], workers: int, baselines: list[dict[str, float]]
) -> None:
    """The median run with its shard phase at a plain process pool's pace: what is left
    when Prefect's task runs, the flow's bookkeeping and the server take nothing from the
    workers; the command's start, the run-level steps and the end stay as measured. The
    flow's own set-up before its first shard is counted as shard phase, so the floor errs
    low."""
    shards = run["flow"] - run["run_level"]  # the flow's time before its run-level steps
    pool = plain_pool_seconds(corpus, workers, fields=False)
    floor = run["seconds"] - shards + pool
    docs = run["docs"]
    versus = ""
    if baselines:
        versus = (
            f": x{docs / floor / median_run(baselines)['docs_per_s']:.1f} of datatrove's median"
        )
    print(
        f"floor on {docs:,} docs: outside the flow {run['seconds'] - run['flow']:.2f} s + "
        f"run-level steps {run['run_level']:.2f} s + the shards in a plain pool of {workers} "
        f"processes {pool:.2f} s (in the flow: {shards:.2f} s) = {floor:.2f} s, "
        f"{docs / floor:,.0f} docs/s{versus}",
        flush=True,
    )


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median time (the faster middle one of an even number)."""
    return sorted(runs, key=lambda run: run["seconds"])[(len(runs) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    parser.add_argument(
        "--datatrove", action="store_true", help=f"also run datatrove from {DATATROVE_PYTHON}"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes, for newsmill (--workers) and datatrove alike",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each size N times (datatrove too, alternating) and report the medians",
    )
    parser.add_argument(
        "--incremental",
        type=int,
        default=0,
        metavar="N",
        help="then time a run of N new documents (another seed) into each size's lake",
    )
    parser.add_argument(
        "--temporary-api",
        action="store_true",
        help="newsmill starts its own temporary Prefect API each run (the embedded default)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then time the smallest size's shards in a plain process pool: the median run "
        "with its shard phase at that pace",
    )
    parser.add_argument(
        "--only-incremental",
        action="store_true",
        help="skip the full runs: time --incremental against the lakes the last run left",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    WORK.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        env = newsmill_env() if args.temporary_api else stack.enter_context(prefect_server())
        results = measure(args, env)
    sizes = sorted(results)
    for small, large in itertools.pairwise(sizes):
        growth = results[large]["seconds"] / results[small]["seconds"]
        print(
            f"cost growth {small:,} -> {large:,} docs ({large / small:.0f}x the docs): time x{growth:.2f}"
        )


if __name__ == "__main__":
    main()
