"""The catalog BI tools open: one DuckDB file, every table and ready view, the declared
types, in a storage the duckdb CLI 1.5 reads; runs refresh it."""

import csv
import io
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from prefect.logging import disable_run_logger

from newsmill.flows import stages
from newsmill.schemas.tables import TABLES
from newsmill.schemas.views import VIEWS
from newsmill.tasks.lake.catalog import default_catalog_path, write_catalog
from newsmill.tasks.lake.lake import Lake
from tests.golden.run import golden_tables

DUCKDB_CLI = Path(sys.executable).with_name("duckdb")  # the duckdb-cli package: DuckDB 1.5


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog") / "lake"
    golden_tables(root)  # the samples and golden inputs, through every stage
    return root


def cli(catalog: Path, sql: str) -> list[list[str]]:
    result = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(catalog), "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return list(csv.reader(io.StringIO(result.stdout)))


def test_the_duckdb_cli_opens_the_catalog_and_every_view_answers(
    lake: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "newsmill.duckdb"
    write_catalog(Lake(lake), catalog)
    names = [*TABLES, *VIEWS]
    rows = cli(catalog, " union all ".join(f"select '{n}', count(*) from \"{n}\"" for n in names))
    counts = {name: int(n) for name, n in rows}
    assert set(counts) == set(names)
    assert counts["fetches"] == 0  # never fetched: an empty view, not a Catalog Error
    assert not {name for name in VIEWS if not counts[name]}  # the samples fill every view
    # the follow-up story reuses two paragraphs of the library story, both ways round
    assert counts["shared_paragraphs"] == 2
    assert counts["latest_articles"] == counts["articles"] > 0


def test_the_catalog_has_the_declared_types(lake: Path, tmp_path: Path) -> None:
    """DuckDB read partition columns as BIGINT and the JSON columns as VARCHAR."""
    catalog = tmp_path / "newsmill.duckdb"
    write_catalog(Lake(lake), catalog)
    [types] = cli(
        catalog,
        "select typeof(a.year), typeof(a.month), typeof(r.counts_json), typeof(r.run_date), "
        "json_type(r.counts_json) "
        "from articles a, runs r limit 1",
    )
    assert types == ["SMALLINT", "TINYINT", "JSON", "DATE", "OBJECT"]
    [[description]] = cli(
        catalog, "select comment from duckdb_views() where view_name = 'rejects_by_reason'"
    )
    assert description == VIEWS["rejects_by_reason"][0]


def test_a_run_refreshes_its_own_catalog_and_no_other(lake: Path, tmp_path: Path) -> None:
    default = default_catalog_path(Lake(lake))
    assert default == lake.parent / "newsmill.duckdb"
    default.unlink(missing_ok=True)
    assert stages.refresh_catalog.fn(Lake(lake), "") is None and not default.exists()

    write_catalog(Lake(lake), default)
    with duckdb.connect(str(default)) as connection:  # what only an old catalog would hold
        connection.execute("create view stale as select 1")
    assert stages.refresh_catalog.fn(Lake(lake), "") == str(default)
    assert cli(default, "select count(*) from duckdb_views() where view_name = 'stale'") == [["0"]]

    # another lake in the same folder: its catalog is not this lake's to rewrite
    other = lake.parent / "other-lake"
    (other / "runs").mkdir(parents=True, exist_ok=True)
    write_catalog(Lake(other), default)
    before = default.read_bytes()
    assert stages.refresh_catalog.fn(Lake(lake), "") is None
    assert default.read_bytes() == before
    assert cli(default, "select lake from newsmill_catalog") == [[str(other)]]


def test_a_run_writes_the_catalog_it_is_told_to_and_no_other_database(
    lake: Path, tmp_path: Path
) -> None:
    named = tmp_path / "bi" / "named.duckdb"
    assert stages.refresh_catalog.fn(Lake(lake), str(named)) == str(named)  # created
    assert cli(named, "select lake from newsmill_catalog") == [[str(lake)]]

    somebody_elses = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(somebody_elses)) as connection:
        connection.execute("create table sales as select 1 as amount")
    before = somebody_elses.read_bytes()
    with disable_run_logger():
        assert stages.refresh_catalog.fn(Lake(lake), str(somebody_elses)) is None
    assert somebody_elses.read_bytes() == before
