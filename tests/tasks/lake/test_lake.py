import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.schemas.tables import REJECTS, RUNS
from newsmill.tasks.errors import LakeError, SchemaError
from newsmill.tasks.lake.lake import JOURNAL_NAME, STAGING_DIR, Lake, parquet_writer
from newsmill.tasks.lake.lock import LOCK_NAME
from tests.tasks.lake_runs import runs_row

RUN_DAY = date(2026, 11, 28)


def _reject(i: int, day: date = RUN_DAY) -> dict:
    return {
        "source": f"f{i}.txt",
        "line_number": i if i % 2 else None,
        "input_hash": f"{i:016x}",
        "stage": "read",
        "reason": "read_empty_file",
        "detail": "empty",
        "run_id": "r1",
        "run_date": day,
    }


def test_nothing_is_visible_until_commit_then_everything_is(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    writer = lake.start_run("r1")
    writer.write(REJECTS, [_reject(i) for i in range(3)] + [_reject(9, date(2026, 11, 27))])
    writer.flush()
    assert lake.read_table(REJECTS).num_rows == 0
    assert list((tmp_path / STAGING_DIR / "r1").rglob("*.parquet"))
    writer.commit(runs_row("r1"))
    assert lake.read_table(REJECTS).num_rows == 4
    assert not (tmp_path / STAGING_DIR / "r1").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")) == [
        "rejects/run_date=2026-11-27/part-r1.parquet",
        "rejects/run_date=2026-11-28/part-r1.parquet",
        "runs/run_date=2026-11-28/part-r1.parquet",
    ]
    count = duckdb.sql(
        f"select count(*) from read_parquet('{tmp_path}/rejects/**/*.parquet', hive_partitioning=true) where run_date = DATE '2026-11-27'"
    ).fetchall()
    assert count == [(1,)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(max_size=30),
            st.none() | st.integers(1, 10**9),
            st.sampled_from([RUN_DAY, date(2020, 2, 29)]),
        ),
        max_size=30,
    )
)
def test_write_then_read_round_trips_every_row_and_type(
    tmp_path_factory: pytest.TempPathFactory, rows: list
) -> None:
    root = tmp_path_factory.mktemp("lake")
    lake = Lake(root)
    writer = lake.start_run("r1")
    written = [{**_reject(0), "source": s, "line_number": n, "run_date": d} for s, n, d in rows]
    writer.write(REJECTS, written)
    writer.commit(runs_row("r1"))
    back = lake.read_table(REJECTS).to_pylist()
    key = lambda r: (r["source"], r["line_number"] or 0, r["run_date"])  # noqa: E731
    assert sorted(back, key=key) == sorted(written, key=key)
    assert lake.read_table(REJECTS).schema.equals(REJECTS.schema)


def test_a_run_that_died_before_its_journal_is_discarded(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    writer = lake.start_run("dead")
    writer.write(REJECTS, [_reject(1)])
    writer.flush()  # files in staging, no journal: the process "dies" here
    actions = lake.recover()
    assert actions == ["discarded the uncommitted files of run dead"]
    assert lake.read_table(REJECTS).num_rows == 0
    assert not (tmp_path / STAGING_DIR / "dead").exists()


def test_a_commit_interrupted_midway_is_rolled_forward(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    writer = lake.start_run("half")
    writer.write(REJECTS, [_reject(1), _reject(2, date(2026, 11, 27))])
    writer.write(RUNS, [runs_row("half")])
    writer.flush()
    for w in writer._writers.values():
        w.close()
    files = sorted(writer._files, key=lambda f: f.startswith("runs/"))
    staging = tmp_path / STAGING_DIR / "half"
    (staging / JOURNAL_NAME).write_text(json.dumps(files))
    first = tmp_path / files[0]  # the crash came after the first rename
    first.parent.mkdir(parents=True)
    os.replace(staging / files[0], first)
    assert lake.read_table(RUNS).num_rows == 0  # the runs row, renamed last, is not there yet
    assert lake.recover() == ["completed the interrupted commit of run half"]
    assert lake.read_table(REJECTS).num_rows == 2
    assert lake.read_table(RUNS).num_rows == 1
    assert not staging.exists()


def test_lock_refuses_a_second_live_run_and_takes_over_a_dead_ones(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    with (
        lake.lock("first"),
        pytest.raises(LakeError, match="in use by run first"),
        lake.lock("second"),
    ):
        pass
    assert not (tmp_path / LOCK_NAME).exists()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    import socket

    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "run_id": "gone"})
    )
    with lake.lock("third"):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == "third"


def test_unwritable_lake_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(LakeError, match="not writable"):
        Lake(blocker / "lake").ensure_writable()


def test_shard_writers_stage_apart_and_merge_into_one_file_per_partition(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    main = lake.start_run("r1")
    for shard in (0, 1):
        part = lake.start_run("r1", part=f"{shard:06d}")
        part.write(REJECTS, [_reject(shard * 10 + i, date(2026, 11, 27 + i)) for i in range(2)])
        main.adopt(part.close())
    main.write(REJECTS, [_reject(99)])
    main.flush()
    assert len(list(Path(main.staging).rglob("*.parquet"))) == 5
    assert main.merge_parts((REJECTS,)) == 0
    files = sorted(
        p.relative_to(Path(main.staging)).as_posix() for p in Path(main.staging).rglob("*.parquet")
    )
    assert files == [
        "rejects/run_date=2026-11-27/part-r1.parquet",
        "rejects/run_date=2026-11-28/part-r1.parquet",
    ]
    main.commit(runs_row("r1"))
    sources = duckdb.sql(
        f"select source from read_parquet('{tmp_path}/rejects/**/*.parquet', hive_partitioning=true) order by all"
    ).fetchall()
    assert sources == [(f"f{i}.txt",) for i in (0, 1, 10, 11, 99)]


def test_merged_tables_are_staged_plain_and_committed_compressed(tmp_path: Path) -> None:
    """A shard's files of a table the merge rewrites are staged cheaply (lz4, no
    dictionaries: written and read once); what the run commits is zstd with dictionaries, a partition of a single staged
    file with nothing dropped included (the merge rewrites it rather than keep it)."""
    lake = Lake(tmp_path)
    main = lake.start_run("r1")
    part = lake.start_run("r1", part="000000")
    part.write(REJECTS, [_reject(0, date(2026, 11, 27)), _reject(1, date(2026, 11, 28))])
    part.write(RUNS, [runs_row("r0")])  # not merged: staged as it is kept
    staged = part.close()
    codecs = {f.split("/")[0]: _codec(Path(part.staging) / f) for f in staged}
    assert codecs == {"rejects": ("LZ4", False), "runs": ("ZSTD", True)}
    main.adopt(staged)
    assert main.merge_parts((REJECTS,)) == 0  # no transform: nothing was dropped
    main.commit(runs_row("r1"))
    committed = list((tmp_path / "rejects").rglob("*.parquet"))
    assert len(committed) == 2 and {_codec(f) for f in committed} == {("ZSTD", True)}


def _codec(path: Path) -> tuple[str, bool]:
    """A file's first column's compression, and whether it has a dictionary page."""
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    return column.compression, column.dictionary_page_offset is not None


def test_lists_of_hash_values_are_written_without_a_dictionary(tmp_path: Path) -> None:
    schema = pa.schema([("doc_id", pa.string()), ("signature", pa.list_(pa.uint16()))])
    rows = pa.table({"doc_id": ["a", "b"], "signature": [[1, 2, 3], [4, 5, 6]]}, schema=schema)
    with parquet_writer(str(tmp_path / "t.parquet"), schema, None) as writer:
        writer.write_table(rows)
    file = pq.ParquetFile(tmp_path / "t.parquet")
    doc_id, signature = (file.metadata.row_group(0).column(i) for i in (0, 1))
    assert doc_id.dictionary_page_offset is not None
    assert signature.dictionary_page_offset is None
    assert file.read().equals(rows)


def test_rows_must_have_exactly_their_tables_columns(tmp_path: Path) -> None:
    writer = Lake(tmp_path).start_run("r1")
    misspelt = _reject(1)
    misspelt["detials"] = misspelt.pop("detail")
    with pytest.raises(SchemaError, match=r"unknown \['detials'\], missing \['detail'\]"):
        writer.write(REJECTS, [_reject(0), misspelt])
    with pytest.raises(SchemaError, match=r"missing \['line_number'\]"):
        writer.write(REJECTS, [{k: v for k, v in _reject(2).items() if k != "line_number"}])
    table = pa.Table.from_pylist([_reject(3) | {"extra": 1}])
    with pytest.raises(SchemaError, match=r"unknown \['extra'\]"):
        writer.write_table(REJECTS, table)
    writer.write(REJECTS, [_reject(4)])  # the declared columns, partition columns included
    writer.commit(runs_row("r1"))
    assert Lake(tmp_path).read_table(REJECTS)["source"].to_pylist() == ["f4.txt"]
