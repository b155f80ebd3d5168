"""A shard that fails with a transient error is retried by Prefect, and one that keeps
failing makes its inputs rejects while the run completes; any other error is a bug in
newsmill (an input's own surprises are that input's rejects) and fails the run, with
nothing of it visible. Faults are injected by wrapping the real shard function in a real
run."""

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from newsmill.tasks import shard
from newsmill.tasks.ingest.sources import Shard
from tests.conftest import CliResult, NewsmillHere


def _table(lake: Path, name: str) -> str:
    return f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning = true)"


def _faulty_run(
    newsmill_here: NewsmillHere,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    texts: dict[str, str],
) -> tuple[CliResult, Path, list[str], list[str]]:
    """A run whose shards (one file each) fail as their file's name says; the names of the
    shards tried, in order."""
    src, lake = tmp_path / "src", tmp_path / "lake"
    src.mkdir()
    for name, text in texts.items():
        (src / name).write_text(text)
    real_process_shard, attempts = shard.process_shard, []

    def process_shard(work: Shard, *args: Any, **kwargs: Any) -> Any:
        name = "+".join(Path(part.file.path).name for part in work.parts)
        attempts.append(name)
        if name == "broken.txt":
            raise KeyError("a bug: the same input fails the same way every time")
        if name == "unreachable.txt":
            raise ConnectionResetError("the object store hung up")
        if name == "flaky.txt" and attempts.count(name) < 2:
            raise TimeoutError("worker lost")
        return real_process_shard(work, *args, **kwargs)

    monkeypatch.setattr(shard, "process_shard", process_shard)
    args = ["run", str(src), "--lake", str(lake), "--shard-max-files", "1"]
    result = newsmill_here(*args, "--shard-retry-delay-s", "0.1")
    monkeypatch.undo()
    return result, lake, attempts, args


def test_transient_failures_are_retried_then_rejected_and_the_run_completes(
    newsmill_here: NewsmillHere, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result, lake, attempts, args = _faulty_run(
        newsmill_here,
        monkeypatch,
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
    healthy = newsmill_here(*args, "--quiet")
    assert healthy.returncode == 0, healthy.stderr
    articles = duckdb.sql(f"select source from {_table(lake, 'articles')} order by 1").fetchall()
    assert [Path(s).name for (s,) in articles] == ["a.txt", "flaky.txt", "unreachable.txt"]


def test_a_bug_fails_the_run_at_once_with_nothing_visible(
    newsmill_here: NewsmillHere, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result, lake, attempts, _ = _faulty_run(
        newsmill_here,
        monkeypatch,
        tmp_path,
        {
            "a.txt": "The harbour opens a new ferry line to the islands on Monday morning.",
            "broken.txt": "The council votes on the new budget for the city libraries tonight.",
        },
    )
    assert result.returncode == 1
    assert "run failed, nothing was committed: KeyError" in result.stderr
    assert attempts.count("broken.txt") == 1  # not transient: trying again would not help
    [(status, error)] = duckdb.sql(f"select status, error from {_table(lake, 'runs')}").fetchall()
    assert status == "failed" and "KeyError: 'a bug" in error
    assert not any((lake / table).exists() for table in ("articles", "rejects", "input_keys"))
