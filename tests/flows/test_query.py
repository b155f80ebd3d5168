"""`newsmill query` reads the lake and nothing else unless told: in process, on a lake with a
`runs` table."""

import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsmill.flows.report import QueryRefused, query_lake
from newsmill.schemas.tables import FETCHES, RUNS
from newsmill.tasks.lake.lake import Lake
from tests.conftest import NewsmillHere
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


@pytest.mark.parametrize("output_format", ["csv", "json", "parquet", "table"])
def test_results_come_as_csv_json_lines_parquet_or_a_table(lake: Path, output_format: str) -> None:
    out = io.BytesIO()
    query_lake(
        lake, "select distinct run_id, 2 as n from runs", output_format=output_format, output=out
    )
    data = out.getvalue()
    expected = {"run_id": "20261202T010000Z-aaaaaa", "n": 2}
    if output_format == "csv":
        assert data.decode().splitlines() == ['"run_id","n"', '"20261202T010000Z-aaaaaa",2']
    elif output_format == "json":
        assert [json.loads(line) for line in data.decode().splitlines()] == [expected]
    elif output_format == "parquet":
        assert pq.read_table(io.BytesIO(data)).to_pylist() == [expected]
    else:
        assert "20261202T010000Z-aaaaaa" in data.decode() and "┌" in data.decode()


def test_a_table_no_run_has_written_is_an_empty_view_with_its_columns(lake: Path) -> None:
    """`select * from fetches` was a Catalog Error on a lake that never fetched."""
    out = io.BytesIO()
    query_lake(lake, "select * from fetches", output_format="json", output=out)
    assert out.getvalue() == b""
    query_lake(
        lake, "select count(*) as n from shared_paragraphs", output_format="json", output=out
    )
    assert json.loads(out.getvalue()) == {"n": 0}
    described = io.BytesIO()
    query_lake(lake, "select column_name from (describe fetches)", False, "csv", described)
    assert described.getvalue().decode().split()[1:] == [f'"{n}"' for n in FETCHES.schema.names]


def test_a_bad_query_keeps_duckdbs_hints_and_shows_no_traceback(
    lake: Path, newsmill_here: NewsmillHere
) -> None:
    result = newsmill_here("query", "--lake", str(lake), "select * from rnus")
    assert result.returncode == 2
    assert result.stderr.startswith("newsmill: Catalog Error: Table with name rnus does not exist")
    assert 'Did you mean "runs"' in result.stderr  # the hint, cut before
    assert "Traceback" not in result.stderr
