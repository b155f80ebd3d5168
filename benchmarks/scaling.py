"""Speed-up from 1 to N workers (`newsmill run --workers`) on a make_corpus.py corpus.

For each worker count: wall time end to end (the command's start-up and exit included),
time inside the flow (from the `runs` table), docs/s, peak RSS of the largest process, and
the speed-up over 1 worker. The tables of every run are compared with the 1-worker run's
(ordering aside): a speed-up that changed the results would not count. The runs report to
a Prefect server this script starts first (issue 18's condition), so none pays for a
temporary API's start-up; `--temporary-api` measures the embedded default instead.

    .venv/bin/python benchmarks/scaling.py --docs 20000 --workers 1 2 --repeat 3
"""

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
from common import (
    NEWSMILL,
    WORK,
    build_corpus,
    count_lines,
    free_port,
    newsmill_env,
    planned_shards,
    prefect_server,
    run_phases,
    run_shard,
    shard_pool,
    timed,
)

BIN = Path(NEWSMILL).parent
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

COMPARED = {
    "articles": "doc_id, content_hash, text",
    "duplicates": "doc_id, duplicate_of, level, method, similarity, position",
    "rejects": "source, reason",
}


def run(
    corpus: Path, workers: int, extra: list[str], env: dict[str, str] | None = None, name: str = ""
) -> dict[str, float]:
    lake = WORK / f"lake-scaling-{name or workers}"
    shutil.rmtree(lake, ignore_errors=True)
    command = [NEWSMILL, "run", str(corpus / "articles.jsonl"), "--lake", str(lake), "--quiet"]
    wall, rss = timed([*command, "--workers", str(workers), *extra], env or newsmill_env())
    return {"wall": wall, "rss": rss, **run_phases(lake)}


def where_the_time_went(measured: dict[str, float], workers: int) -> str:
    """The flow's wall time split: the run-level steps (serial by nature), the shards'
    stage time spread evenly over the workers (the ideal), and the rest: what did not run
    in parallel (worker start-up, the last shard running alone, results crossing processes,
    the flow's bookkeeping per shard)."""
    even = measured["shard_work"] / workers
    rest = measured["flow"] - measured["run_level"] - even
    return (
        f"  in the flow: run-level steps {measured['run_level']:.1f} s, shard stages "
        f"{measured['shard_work']:.1f} s / {workers} = {even:.1f} s, the rest {rest:.1f} s "
        f"({rest / measured['flow']:.0%}: worker start-up, the last shard alone, transfers)"
    )


def same_tables(workers: int) -> bool:
    """Every compared table of the N-worker lake equals the 1-worker one, as a multiset."""
    for table, columns in COMPARED.items():
        present = [
            any((WORK / f"lake-scaling-{n}" / table).glob("**/*.parquet")) for n in (1, workers)
        ]
        if not any(present):
            continue
        if not all(present):
            return False
        scans = [
            f"select {columns} from read_parquet('{WORK}/lake-scaling-{n}/{table}/**/*.parquet', hive_partitioning=true)"
            for n in (1, workers)
        ]
        [(difference,)] = duckdb.sql(
            f"select count(*) from (({scans[0]} except all {scans[1]}) union all ({scans[1]} except all {scans[0]}))"
        ).fetchall()
        if difference:
            return False
    return True


def hardware_ceiling(corpus: Path, workers: int) -> float:
    """Speed-up of `workers` shards run at once in a plain process pool (no Prefect, no
    flow) over the same shards one after the other: what the machine allows this work."""
    shards = planned_shards(corpus)[:workers]
    with shard_pool(workers, fields=True) as pool:
        list(pool.map(run_shard, shards))  # warm up
        serial = sum(pool.submit(run_shard, shard).result() for shard in shards)
        started = time.perf_counter()
        list(pool.map(run_shard, shards))
        return serial / (time.perf_counter() - started)


@contextlib.contextmanager
def dask_cluster(env: dict[str, str], workers: int) -> Iterator[str]:
    """A Dask scheduler and `workers` single-threaded worker processes; its address."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1"]
    worker = [str(BIN / "dask"), "worker", address, "--nworkers", str(workers), "--nthreads", "1"]
    processes = [
        subprocess.Popen(
            [*scheduler, "--port", address.rsplit(":", 1)[1], "--dashboard-address", ":0"],
            env=env,
            **QUIET,
        ),
        subprocess.Popen(
            [*worker, "--no-dashboard", "--local-directory", str(WORK / "dask")],
            env={**env, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"},
            **QUIET,
        ),
    ]
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=180)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)


@contextlib.contextmanager
def ray_cluster(env: dict[str, str], workers: int) -> Iterator[str]:
    """A Ray head node with `workers` CPUs; its address."""
    port = str(free_port())
    options = ["--num-cpus", str(workers), "--include-dashboard=false", "--disable-usage-stats"]
    subprocess.run(
        [str(BIN / "ray"), "start", "--head", "--port", port, *options],
        env=env,
        check=True,
        **QUIET,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=env, **QUIET)


CLUSTERS = {"dask": dask_cluster, "ray": ray_cluster}


def compare_with_clusters(
    corpus: Path, docs: int, workers: int, extra: list[str], engines: list[str]
) -> None:
    """`--workers N` and local clusters of N worker processes, against one running Prefect
    server (so none pays the temporary API's start-up)."""
    with prefect_server() as env:
        local = run(corpus, workers, extra, env, name=f"{workers}-server")
        measured = {f"--workers {workers}": local}
        for engine in engines:
            with CLUSTERS[engine](env, workers) as address:
                address_flag = [f"--{engine}-address", address]
                measured[engine] = run(corpus, workers, [*extra, *address_flag], env, name=engine)
    for label, figures in measured.items():
        print(
            f"{label:>16} (running Prefect server): end to end {figures['wall']:6.1f} s, "
            f"in the flow {figures['flow']:6.1f} s ({docs / figures['flow']:,.0f} docs/s)",
            flush=True,
        )
    for engine in engines:
        print(
            f"  {engine} / --workers {workers}, in the flow: "
            f"x{measured[engine]['flow'] / local['flow']:.2f}; "
            f"tables equal to the 1-worker run's: {same_tables(engine)}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="N rounds of every worker count; then the median speed-up and its range",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also time N shards at once in a plain process pool: the machine's own speed-up",
    )
    parser.add_argument(
        "--dask",
        action="store_true",
        help="also compare --workers N with a local Dask cluster of N worker processes",
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="also compare --workers N with a local Ray cluster of N CPUs",
    )
    parser.add_argument(
        "--temporary-api",
        action="store_true",
        help="each run starts its own temporary Prefect API (the embedded default)",
    )
    parser.add_argument("newsmill_args", nargs="*", help="extra `newsmill run` flags, after --")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    corpus = build_corpus(args.docs)
    docs = count_lines(corpus / "articles.jsonl")
    api = "a temporary API each run" if args.temporary_api else "a running Prefect server"
    print(f"corpus {corpus.name}: {docs:,} docs, {os.cpu_count()} cores; {api}", flush=True)
    with contextlib.nullcontext(newsmill_env()) if args.temporary_api else prefect_server() as env:
        compare_workers(corpus, docs, args, env)
    engines = [name for name in CLUSTERS if getattr(args, name)]
    if engines:
        compare_with_clusters(corpus, docs, max(args.workers), args.newsmill_args, engines)


def compare_workers(corpus: Path, docs: int, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Each worker count in turn, `--repeat` rounds: the speed-up is each round's, over
    that round's 1-worker run, so that the machine's pace (±10% between minutes here)
    moves both runs of a ratio alike."""
    counts = sorted(set([1, *args.workers]))
    speed_ups: dict[int, list[float]] = {workers: [] for workers in counts}
    flow_rates: dict[int, list[float]] = {workers: [] for workers in counts}
    for round_number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"round {round_number} of {args.repeat}", flush=True)
        results: dict[int, dict[str, float]] = {}
        for workers in counts:
            results[workers] = measured = run(corpus, workers, args.newsmill_args, env)
            base = results[1]
            speed_ups[workers].append(base["flow"] / measured["flow"])
            flow_rates[workers].append(docs / measured["flow"])
            print(
                f"workers {workers}: end to end {measured['wall']:6.1f} s ({docs / measured['wall']:,.0f} docs/s, "
                f"x{base['wall'] / measured['wall']:.2f}); in the flow {measured['flow']:6.1f} s "
                f"({docs / measured['flow']:,.0f} docs/s, x{base['flow'] / measured['flow']:.2f}); "
                f"peak RSS {measured['rss']:,.0f} MiB",
                flush=True,
            )
            print(where_the_time_went(measured, workers), flush=True)
            if workers != 1:
                print(f"  tables equal to the 1-worker run's: {same_tables(workers)}", flush=True)
                if args.ceiling:
                    print(
                        f"  the same shards in a plain pool of {workers} processes: x{hardware_ceiling(corpus, workers):.2f}",
                        flush=True,
                    )
    if args.repeat > 1:
        for workers in counts[1:]:
            ups, rates = speed_ups[workers], flow_rates[workers]
            print(
                f"workers {workers}, {args.repeat} rounds, in the flow: speed-up median "
                f"x{statistics.median(ups):.2f} (x{min(ups):.2f}-x{max(ups):.2f}), "
                f"{statistics.median(rates):,.0f} docs/s median ({min(rates):,.0f}-{max(rates):,.0f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
