"""`newsmill query` reads the lake and nothing else unless told: in process, on a lake with a
`runs` table."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from newsmill.flows.report import QueryRefused, query_lake
from newsmill.schemas.tables import RUNS
from newsmill.tasks.lake.lake import Lake
from tests.tasks.lake_runs import commit_tables, run_context, runs_row


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    ctx = run_context("20261202T010000Z-aaaaaa")
    table = pa.Table.from_pylist([runs_row(ctx.run_id)], schema=RUNS.schema)
    commit_tables(Lake(root), ctx, [(RUNS, table)])
    return root


def test_a_read_only_query_reads_the_lake(lake: Path, capsys: pytest.CaptureFixture) -> None:
    query_lake(lake, "select run_id from runs")
    assert "20261202T010000Z-aaaaaa" in capsys.readouterr().out
    files = f"read_parquet('{lake}/runs/**/*.parquet')"
    query_lake(lake, f"select (select count(*) from {files}) = (select count(*) from runs)")
    assert "true" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sql",
    [
        "copy runs to '{lake}/runs/copied.csv'",  # a write inside the lake
        "copy runs to '{outside}/stolen.csv'",
        "attach '{outside}/other.duckdb'",
        "install httpfs",
        "set enable_external_access = true",
        "create table t as select 1",
        "select 1; copy runs to '{outside}/stolen.csv'",  # hidden after a harmless one
    ],
)
def test_a_statement_that_writes_is_refused_by_default(lake: Path, sql: str) -> None:
    outside = lake.parent / "outside"
    outside.mkdir()
    with pytest.raises(QueryRefused, match="--allow-writes"):
        query_lake(lake, sql.format(lake=lake, outside=outside))
    assert not any(outside.iterdir()) and not (lake / "runs" / "copied.csv").exists()


def test_files_outside_the_lake_cannot_be_read(lake: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    with pytest.raises(duckdb.PermissionException):
        query_lake(lake, f"select * from read_csv('{secret}')")


def test_allow_writes_lifts_both_limits(lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    query_lake(lake, f"copy runs to '{target}'", allow_writes=True)
    assert "20261202T010000Z-aaaaaa" in target.read_text()
