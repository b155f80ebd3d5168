"""What the benchmark scripts share: paths, the labelled corpora, the newsmill command."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"  # corpora, lakes, the datatrove venv (git-ignored)
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
NEWSMILL = str(Path(sys.executable).with_name("newsmill"))


def newsmill_env() -> dict[str, str]:
    """The environment `make run` gives newsmill: project Prefect home, no telemetry."""
    return {
        **os.environ,
        "PREFECT_HOME": str(ROOT / ".prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def build_corpus(docs: int, seed: int = 7) -> Path:
    """A make_corpus.py corpus (articles.jsonl + labels.jsonl), made once and reused."""
    out = WORK / f"corpus-{docs}-{seed}"
    if not (out / "labels.jsonl").exists():
        command = [
            sys.executable,
            str(MAKE_CORPUS),
            str(out),
            "--docs",
            str(docs),
            "--seed",
            str(seed),
        ]
        subprocess.run(command, check=True)
    return out


RUN_LEVEL_STEPS = ("near", "finish")  # in the flow's process, after the shards


def run_phases(lake: Path) -> dict[str, float]:
    """From a lake's one run: seconds in the flow, in its run-level steps, and in the
    shards' stages (summed over the workers)."""
    import duckdb  # the scripts' own dependency, imported where used

    [(flow, counts)] = duckdb.sql(
        "select epoch(finished_at) - epoch(started_at), counts_json "
        f"from read_parquet('{lake}/runs/**/*.parquet')"
    ).fetchall()
    times = {
        key.removeprefix("time_ms."): value / 1000
        for key, value in json.loads(counts).items()
        if key.startswith("time_ms.")
    }
    run_level = sum(times.get(step, 0.0) for step in RUN_LEVEL_STEPS)
    return {"flow": flow, "run_level": run_level, "shard_work": sum(times.values()) - run_level}


_pool_settings: Any = None  # each `shard_pool` process's shard settings (`_load_stages`)


def _load_stages(fields: bool) -> None:
    from newsmill.flows.settings import Settings
    from newsmill.tasks.shard import load_stage_state

    global _pool_settings
    _pool_settings = Settings.from_flat({"fields": fields}).shard_settings
    load_stage_state(_pool_settings, datetime.now(UTC))


def run_shard(shard: Any) -> float:
    """Seconds one shard takes through the stages in a `shard_pool` process, into a lake
    of its own that is removed after."""
    from newsmill.tasks.lake.rows import RunContext
    from newsmill.tasks.shard import process_shard

    lake = tempfile.mkdtemp(dir=WORK)
    try:
        ctx = RunContext(f"pool-{shard.index}", datetime.now(UTC), "benchmark")
        started = time.perf_counter()
        process_shard(shard, lake, ctx, _pool_settings)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(lake)


def planned_shards(corpus: Path) -> list[Any]:
    """The corpus's shards as a run plans and numbers them (default settings)."""
    from newsmill.flows.settings import Settings
    from newsmill.tasks.ingest.sources import discover_sources, number_lines, plan_shards

    settings = Settings()
    files = discover_sources([str(corpus / "articles.jsonl")]).files
    return list(number_lines(plan_shards(files, settings.shard_bytes, settings.shard_max_files)))


@contextlib.contextmanager
def shard_pool(workers: int, fields: bool) -> Iterator[ProcessPoolExecutor]:
    """A plain pool of `workers` processes for `run_shard`, each with the stages loaded:
    no Prefect, no flow process."""
    with ProcessPoolExecutor(workers, initializer=_load_stages, initargs=(fields,)) as pool:
        yield pool


def plain_pool_seconds(corpus: Path, workers: int, fields: bool) -> float:
    """Seconds for every shard of the corpus in a `shard_pool` of `workers` processes, one
    round of shards run before the clock starts. What this machine allows the shard phase."""
    shards = planned_shards(corpus)
    with shard_pool(workers, fields) as pool:
        list(pool.map(run_shard, shards[:workers]))
        started = time.perf_counter()
        list(pool.map(run_shard, shards))
        return time.perf_counter() - started


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the largest process) of a command, via GNU time."""
    stats = WORK / "time.txt"
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(stats), *command],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{result.stderr[-4000:]}")
    return wall, int(stats.read_text().split()[-1]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def prefect_server(home: Path | None = None) -> Iterator[dict[str, str]]:
    """A running Prefect server (its own database under `home`, else the project's): the
    environment for newsmill runs and cluster workers, which then start no temporary API."""
    env = newsmill_env()
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        env["PREFECT_HOME"] = str(home)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(NEWSMILL).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_healthy(api, server)
        env = {**env, "PREFECT_API_URL": api}
        _warm_up(env)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_until_healthy(api: str, server: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 120
    while not _healthy(api):
        if time.monotonic() > deadline or (server and server.poll() is not None):
            raise SystemExit("the Prefect server did not start in 120 s")
        time.sleep(0.5)


def _warm_up(env: dict[str, str]) -> None:
    """One small run first: a server builds its routes' models at their first requests (~1 s
    of its time, FastAPI's lazy set-up), once per start; a server that has been running
    has done it long ago, and no measured run should pay it."""
    with tempfile.TemporaryDirectory() as lake:
        command = [NEWSMILL, "run", str(ROOT / "data" / "samples" / "text"), "--lake", lake]
        subprocess.run([*command, "--quiet"], env=env, check=True, capture_output=True)


def _healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
