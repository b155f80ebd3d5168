"""The lake on an object store (a real S3-compatible server on 127.0.0.1): the same commit,
recovery, lock and lookups as a local lake, with copies instead of renames."""

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import s3fs

from newsmill.schemas.tables import INPUT_KEYS, REJECTS, RUNS
from newsmill.tasks.errors import LakeError
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.lake import JOURNAL_NAME, STAGING_DIR, Lake
from newsmill.tasks.lake.rows import input_keys_table
from tests.conftest import S3_SECRET
from tests.tasks.lake_runs import run_context, runs_row

RUN_DAY = date(2026, 11, 28)


def _reject(i: int) -> dict:
    return {
        "source": f"s3://in/f{i}.txt",
        "line_number": None,
        "input_hash": f"{i:016x}",
        "stage": "read",
        "reason": "read_empty_file",
        "detail": "empty",
        "run_id": "r1",
        "run_date": RUN_DAY,
    }


def _objects(bucket: str) -> list[str]:
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    prefix = bucket.removeprefix("s3://")
    return sorted(p.removeprefix(prefix + "/") for p in fs.find(prefix))


def test_nothing_is_visible_until_commit_then_everything_is(bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    lake.ensure_writable()
    writer = lake.start_run("r1")
    writer.write(REJECTS, [_reject(i) for i in range(3)])
    writer.close()  # an object appears when its upload completes, at close
    assert lake.read_table(REJECTS).num_rows == 0
    assert any(o.startswith(f"lake/{STAGING_DIR}/r1/rejects/") for o in _objects(bucket))
    writer.commit(runs_row("r1"))
    assert lake.read_table(REJECTS).num_rows == 3
    assert _objects(bucket) == [
        "lake/rejects/run_date=2026-11-28/part-r1.parquet",
        "lake/runs/run_date=2026-11-28/part-r1.parquet",
    ]
    assert lake.committed_runs() == ["part-r1.parquet"]


def test_a_commit_interrupted_midway_is_rolled_forward(bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    writer = lake.start_run("half")
    writer.write(REJECTS, [_reject(1)])
    writer.write(RUNS, [runs_row("half")])
    files = writer.close()
    files.sort(key=lambda f: f.startswith("runs/"))
    staging = f"{lake.store.base}/{STAGING_DIR}/half"
    lake.store.write_atomic(f"{staging}/{JOURNAL_NAME}", repr(files).replace("'", '"').encode())
    lake.store.move(f"{staging}/{files[0]}", f"{lake.store.base}/{files[0]}")  # then the crash
    assert lake.read_table(RUNS).num_rows == 0
    assert lake.recover() == ["completed the interrupted commit of run half"]
    assert lake.read_table(REJECTS).num_rows == 1 and lake.read_table(RUNS).num_rows == 1
    assert not [o for o in _objects(bucket) if STAGING_DIR in o]


def test_a_run_that_died_is_discarded_or_resumed(bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    dead = lake.start_run("dead")
    dead.write(REJECTS, [_reject(1)])
    dead.close()
    assert lake.recover() == ["discarded the uncommitted files of run dead"]
    assert not _objects(bucket)

    resumable = lake.start_run("resumable")
    resume.save_plan(resumable, run_context("resumable"), "plan")
    assert lake.recover() == []
    assert lake.staged_runs() == ["resumable"]
    staged, actions = resume.take_over(lake, "plan", resume=True)
    assert staged is not None and staged.run_id == "resumable" and actions == []


def test_the_lock_is_a_conditional_write(bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    with (
        lake.lock("first"),
        pytest.raises(LakeError, match="in use by run first"),
        lake.lock("second"),
    ):
        pass
    assert not _objects(bucket)  # let go
    with lake.lock("third"):
        assert _objects(bucket) == ["lake/_lock"]


def test_lookups_read_the_committed_keys_through_duckdb(bucket: str) -> None:
    lake = Lake(f"{bucket}/lake")
    writer = lake.start_run("r1")
    staged = pa.record_batch(
        {
            "doc_id": ["d1", "d2"],
            "source": ["s3://in/a.txt", "s3://in/b.txt"],
            "input_hash": ["0" * 16, "1" * 16],
            "content_hash": ["2" * 16, "3" * 16],
        }
    )
    writer.write_table(INPUT_KEYS, input_keys_table(staged, run_context("r1"), articles=True))
    writer.commit(runs_row("r1"))
    keys = lake.read_table(INPUT_KEYS)["content_key"].to_numpy()
    found = lake.look_up(INPUT_KEYS, "content_key", keys[:1], ["doc_id"])
    assert found["doc_id"].to_pylist() == ["d1"]
    assert lake.related_signatures([np.array([1, 2], dtype=np.uint64)]).num_rows == 0


def test_a_missing_bucket_is_a_clear_error_without_secrets(s3_env: dict[str, str]) -> None:
    with pytest.raises(LakeError, match="is not writable") as error:
        Lake("s3://no-such-bucket-newsmill/lake").ensure_writable()
    assert S3_SECRET not in str(error.value)


def test_duckdb_takes_file_details_from_its_listing_and_a_new_connection_lists_again(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB asked S3 for each file's details ~7 times per query: ~600 HEAD requests
    after a run of the samples had committed (its report and views)."""
    lake = Lake(f"{bucket}/lake")
    for day in range(1, 5):
        path = lake.store.path("t", f"day={day}", "part.parquet")
        lake.store.write_atomic(path, _parquet({"n": [day]}))
    calls: list[str] = []
    call_s3 = s3fs.S3FileSystem._call_s3

    async def counted(self: s3fs.S3FileSystem, method: str, *args: object, **kwargs: object):
        calls.append(method)
        return await call_s3(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", counted)
    scan = f"read_parquet('{lake.store.uri(lake.store.path('t'))}/**/*.parquet')"
    with lake.store.duckdb() as connection:
        for _ in range(3):
            assert connection.sql(f"select sum(n) from {scan}").fetchall() == [(10,)]
    assert "head_object" not in calls and calls.count("list_objects_v2") <= 2 * 3

    lake.store.write_atomic(lake.store.path("t", "day=5", "part.parquet"), _parquet({"n": [5]}))
    with lake.store.duckdb() as connection:  # a file committed since: seen
        assert connection.sql(f"select sum(n) from {scan}").fetchall() == [(15,)]


def _parquet(columns: dict[str, list[int]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue().to_pybytes()
