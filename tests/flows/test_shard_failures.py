"""A shard that fails with a transient error is retried by Prefect, and one that keeps
failing makes its inputs rejects while the run completes; any other error is a bug in
newsmill (an input's own surprises are that input's rejects) and fails the run, with
nothing of it visible. Faults are injected by wrapping the real shard function in a real
run."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import ROOT

FAULTY_SHARDS = """
import pathlib, sys
import newsmill.tasks.shard
from newsmill.flows.cli import main

real_process_shard = newsmill.tasks.shard.process_shard
tries = pathlib.Path(sys.argv[1])

def process_shard(shard, *args, **kwargs):
    name = "+".join(pathlib.Path(p.file.path).name for p in shard.parts)
    with tries.open("a") as log:
        log.write(name + "\\n")
    if name == "broken.txt":
        raise KeyError("a bug: the same input fails the same way every time")
    if name == "unreachable.txt":
        raise ConnectionResetError("the object store hung up")
    if name == "flaky.txt" and tries.read_text().splitlines().count(name) < 2:
        raise TimeoutError("worker lost")
    return real_process_shard(shard, *args, **kwargs)

newsmill.tasks.shard.process_shard = process_shard
sys.exit(main(sys.argv[2:]))
"""


def _table(lake: Path, name: str) -> str:
    return f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning = true)"


def _faulty_run(prefect_env, tmp_path: Path, texts: dict[str, str]) -> tuple:
    src, lake, tries = tmp_path / "src", tmp_path / "lake", tmp_path / "tries.log"
    src.mkdir()
    for name, text in texts.items():
        (src / name).write_text(text)
    args = ["run", str(src), "--lake", str(lake), "--shard-max-files", "1"]
    result = subprocess.run(
        [sys.executable, "-c", FAULTY_SHARDS, str(tries), *args, "--shard-retry-delay-s", "0.1"],
        env=prefect_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, lake, tries.read_text().splitlines(), args


def test_transient_failures_are_retried_then_rejected_and_the_run_completes(
    prefect_env, tmp_path: Path
) -> None:
    result, lake, attempts, args = _faulty_run(
        prefect_env,
        tmp_path,
        {
            "a.txt": "The harbour opens a new ferry line to the islands on Monday morning.",
            "flaky.txt": "Farmers expect an early harvest after the warmest spring on record.",
            "unreachable.txt": "The museum reopens its east wing after two years of repairs.",
        },
    )
    assert result.returncode == 0, result.stderr
    assert attempts.count("a.txt") == 1
    assert attempts.count("flaky.txt") == 2  # a transient failure, retried once
    assert attempts.count("unreachable.txt") == 3  # the first try and the 2 default retries

    articles = duckdb.sql(f"select source from {_table(lake, 'articles')} order by 1").fetchall()
    assert [Path(s).name for (s,) in articles] == ["a.txt", "flaky.txt"]
    [(source, stage, reason, detail)] = duckdb.sql(
        f"select source, stage, reason, detail from {_table(lake, 'rejects')}"
    ).fetchall()
    assert (Path(source).name, stage, reason) == ("unreachable.txt", "shard", "shard_failed")
    assert "ConnectionResetError: the object store hung up" in detail
    [(inputs_seen, rejected, counts)] = duckdb.sql(
        f"select inputs_seen, rejects, counts_json from {_table(lake, 'runs')}"
    ).fetchall()
    assert (inputs_seen, rejected) == (3, 1)
    assert json.loads(counts)["shards.failed"] == 1

    # the failure is not remembered as ingested: a later run tries the input again
    healthy = subprocess.run(
        [sys.executable, "-m", "newsmill.flows.cli", *args, "--quiet"],
        env=prefect_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert healthy.returncode == 0, healthy.stderr
    articles = duckdb.sql(f"select source from {_table(lake, 'articles')} order by 1").fetchall()
    assert [Path(s).name for (s,) in articles] == ["a.txt", "flaky.txt", "unreachable.txt"]


def test_a_bug_fails_the_run_at_once_with_nothing_visible(prefect_env, tmp_path: Path) -> None:
    result, lake, attempts, _ = _faulty_run(
        prefect_env,
        tmp_path,
        {
            "a.txt": "The harbour opens a new ferry line to the islands on Monday morning.",
            "broken.txt": "The council votes on the new budget for the city libraries tonight.",
        },
    )
    assert result.returncode != 0
    assert "KeyError" in result.stdout + result.stderr  # the traceback is in the log
    assert attempts.count("broken.txt") == 1  # not transient: trying again would not help
    [(status, error)] = duckdb.sql(f"select status, error from {_table(lake, 'runs')}").fetchall()
    assert status == "failed" and "KeyError: 'a bug" in error
    assert not any((lake / table).exists() for table in ("articles", "rejects", "input_keys"))
