"""DuckDB views over the lake: the ones `newsmill query` runs against, and the catalog file
that BI tools open (DuckDB UI, Superset, Metabase, Evidence, the `duckdb` CLI).

Every table is a view with exactly its declared columns and types: partition columns as
declared (DuckDB reads `year=2024` as BIGINT, pandas as a category), `*_json` columns as
JSON, a column that older files lack as null, and a table no run has written yet as an
empty view. The ready views of `schemas/views.py` come on top.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb

from newsmill.schemas.tables import TABLES, TableSpec
from newsmill.schemas.views import VIEWS
from newsmill.tasks import __version__
from newsmill.tasks.errors import LakeError
from newsmill.tasks.lake.lake import Lake, table_files

# the oldest storage the current DuckDB releases write and read: the `duckdb` CLI 1.5 opens
# it, where DuckDB 2.0's default storage is refused by every 1.x tool
CATALOG_STORAGE_VERSION = "v1.5.0"
CATALOG_NAME = "newsmill.duckdb"
LAKE_VIEW = "newsmill_catalog"  # which lake the file shows: a run refreshes only its own


def create_views(
    connection: duckdb.DuckDBPyConnection,
    lake: Lake,
    run_id: str | None = None,
    tables: Iterable[TableSpec] | None = None,
) -> None:
    """A view per table and the ready views, in the connection's current database; of one
    run's rows only, given `run_id` (its files only are read). Given `tables`, a view of
    each of those only, and no ready view (each reads several tables)."""
    for spec in TABLES.values() if tables is None else tables:
        table = _table_sql(connection, lake, spec, run_id)
        connection.execute(f'create or replace view "{spec.name}" as {table}')
        connection.execute(f'comment on view "{spec.name}" is {_literal(spec.description)}')
    if tables is not None:
        return
    for name, (description, sql) in VIEWS.items():
        connection.execute(f'create or replace view "{name}" as {sql}')
        connection.execute(f'comment on view "{name}" is {_literal(description)}')


def default_catalog_path(lake: Lake) -> Path:
    """Beside a local lake's folder: data/lake → data/newsmill.duckdb."""
    if lake.local_root is None:
        raise LakeError(
            f"a lake on object storage ({lake.root}) has no default catalog file: name one, "
            "e.g. `newsmill catalog --lake s3://… newsmill.duckdb`"
        )
    return lake.local_root.parent / CATALOG_NAME


def write_catalog(lake: Lake, path: Path) -> None:
    """Write the catalog file whole (a temporary file renamed into place), so a BI tool
    never opens half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with lake.store.duckdb() as connection:
        connection.execute(
            f"attach {_literal(str(temporary))} as catalog "
            f"(storage_version '{CATALOG_STORAGE_VERSION}')"
        )
        connection.execute("use catalog")
        create_views(connection, lake)
        connection.execute(
            f"create view {LAKE_VIEW} as select {_literal(lake.root)} as lake, "
            f"{_literal(__version__)} as newsmill_version"
        )
        connection.execute("use memory")
        connection.execute("detach catalog")
    os.replace(temporary, path)


def catalog_lake(path: Path) -> str | None:
    """The lake a catalog file was written for; None when the file is not a catalog."""
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            [(lake,)] = connection.execute(f"select lake from {LAKE_VIEW}").fetchall()
    except (duckdb.Error, ValueError):
        return None
    return str(lake)


def _table_sql(
    connection: duckdb.DuckDBPyConnection, lake: Lake, spec: TableSpec, run_id: str | None
) -> str:
    declared = _declared_types(connection, spec)
    if not lake.store.has_files(lake.table_path(spec), table_files(run_id)):
        columns = [f'cast(null as {kind}) as "{name}"' for name, kind in declared.items()]
        return f"select {', '.join(columns)} limit 0"
    scan = lake.scan(spec, run_id)
    present = {row[0] for row in connection.execute(f"describe select * from {scan}").fetchall()}
    columns = [
        f'cast("{name}" as {kind}) as "{name}"'
        if name in present
        else f'cast(null as {kind}) as "{name}"'
        for name, kind in declared.items()
    ]
    return f"select {', '.join(columns)} from {scan}"


def _declared_types(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[str, str]:
    """Column → DuckDB type, as DuckDB maps the declared Arrow schema; JSON for `*_json`."""
    connection.register("_declared", spec.schema.empty_table())
    described = connection.execute("describe select * from _declared").fetchall()
    connection.unregister("_declared")
    return {name: "JSON" if name.endswith("_json") else kind for name, kind, *_ in described}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
