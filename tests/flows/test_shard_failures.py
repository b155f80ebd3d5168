"""A shard that fails with a transient error is retried by Prefect; any other error, or one
that keeps failing, makes the shard's inputs rejects and the run completes. Faults are
injected by wrapping the real shard function in a real run."""

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


def test_transient_failures_are_retried_others_rejected_at_once_and_the_run_completes(
    prefect_env, tmp_path: Path
) -> None:
    src, lake, tries = tmp_path / "src", tmp_path / "lake", tmp_path / "tries.log"
    src.mkdir()
    for name, text in {
        "a.txt": "The harbour opens a new ferry line to the islands on Monday morning.",
        "broken.txt": "The council votes on the new budget for the city libraries tonight.",
        "flaky.txt": "Farmers expect an early harvest after the warmest spring on record.",
        "unreachable.txt": "The museum reopens its east wing after two years of repairs.",
    }.items():
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
    assert result.returncode == 0, result.stderr
    attempts = tries.read_text().splitlines()
    assert attempts.count("a.txt") == 1
    assert attempts.count("flaky.txt") == 2  # a transient failure, retried once
    assert attempts.count("unreachable.txt") == 3  # the first try and the 2 default retries
    assert attempts.count("broken.txt") == 1  # not transient: trying again would not help

    articles = duckdb.sql(f"select source from {_table(lake, 'articles')} order by 1").fetchall()
    assert [Path(s).name for (s,) in articles] == ["a.txt", "flaky.txt"]
    rejects = duckdb.sql(
        f"select source, stage, reason, detail from {_table(lake, 'rejects')} order by 1"
    ).fetchall()
    assert [(Path(source).name, stage, reason) for source, stage, reason, _ in rejects] == [
        ("broken.txt", "shard", "shard_failed"),
        ("unreachable.txt", "shard", "shard_failed"),
    ]
    assert "KeyError: 'a bug" in rejects[0][3]
    assert "ConnectionResetError: the object store hung up" in rejects[1][3]
    [(inputs_seen, rejected, counts)] = duckdb.sql(
        f"select inputs_seen, rejects, counts_json from {_table(lake, 'runs')}"
    ).fetchall()
    assert (inputs_seen, rejected) == (4, 2)
    assert json.loads(counts)["shards.failed"] == 2

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
    assert [Path(s).name for (s,) in articles] == [
        "a.txt",
        "broken.txt",
        "flaky.txt",
        "unreachable.txt",
    ]
