"""`newsmill run` with sources and the lake on S3 (a real S3-compatible server on 127.0.0.1),
the same client code path as real S3: the tables match a local run's, re-runs add nothing,
credentials never show."""

import json
from collections import Counter
from pathlib import Path

import duckdb
import s3fs

from tests.conftest import LOCAL_SAMPLES_OPTIONS, S3_SECRET, SAMPLES, NewsmillHere, run_newsmill


def _rows(lake: str, sql: str) -> list[tuple]:
    connection = duckdb.connect()
    if lake.startswith("s3://"):
        connection.register_filesystem(s3fs.S3FileSystem(skip_instance_cache=True))
    for table in ("articles", "duplicates", "rejects", "runs"):
        connection.execute(
            f"create view {table} as select * from "
            f"read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning = true)"
        )
    return connection.sql(sql).fetchall()


def test_a_run_from_s3_sources_into_an_s3_lake_matches_a_local_run(
    prefect_env,
    newsmill_here: NewsmillHere,
    s3_env: dict[str, str],
    bucket: str,
    local_samples_lake: Path,
) -> None:
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put(str(SAMPLES) + "/", f"{bucket}/inputs/", recursive=True)
    env = {**prefect_env, **s3_env}
    lake, local_lake = f"{bucket}/lake", str(local_samples_lake)
    options = LOCAL_SAMPLES_OPTIONS
    on_s3 = run_newsmill(env, "run", f"{bucket}/inputs", "--lake", lake, "--workers", "2", *options)
    assert on_s3.returncode == 0, on_s3.stderr
    assert S3_SECRET not in on_s3.stdout + on_s3.stderr

    for sql in (
        "select content_hash, text, language from articles order by all",
        "select level, method, count(*) from duplicates group by all order by all",
        "select stage, reason, count(*) from rejects group by all order by all",
        "select inputs_seen, articles, duplicates_document, rejects from runs",
    ):
        assert _rows(lake, sql) == _rows(local_lake, sql), sql
    sources = [s for (s,) in _rows(lake, "select source from articles")]
    assert sources and all(s.startswith(f"{bucket}/inputs/") for s in sources)
    assert not fs.find(f"{bucket}/lake/_staging")  # nothing left behind

    # Prefect's lines of a run were checked above: this one's own output in the process
    again = newsmill_here("run", f"{bucket}/inputs", "--lake", lake, *options, env=s3_env)
    assert again.returncode == 0, again.stderr
    runs = _rows(lake, "select articles, already_ingested, inputs_seen, counts_json from runs")
    second = [r for r in runs if r[0] == 0]
    assert len(runs) == 2 and len(second) == 1
    assert second[0][1] == second[0][2] > 0  # everything already ingested
    assert json.loads(second[0][3])["read.already_ingested"] == second[0][2]

    query = newsmill_here("query", "--lake", lake, "select count(*) as n from articles", env=s3_env)
    assert query.returncode == 0, query.stderr
    [(articles,)] = _rows(lake, "select count(*) from articles")
    assert str(articles) in query.stdout
    assert Counter(S3_SECRET in out for out in (again.stdout, again.stderr, query.stdout)) == {
        False: 3
    }
