"""What the CLI shows: the end-of-run summary and query results from the lake."""

# annotations stay strings: a DuckDB type object held by an annotation outlives the
# interpreter's teardown and DuckDB prints a "nanobind: leaked" report at every exit
from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from newsmill.flows.settings import Settings
from newsmill.schemas.tables import TABLES, TableSpec
from newsmill.tasks.lake.catalog import create_views
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.runs import RunSummary


def _line(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in counts.items()) or "none"


def render_summary(summary: RunSummary, settings: Settings, seconds: float) -> str:
    c = summary.counts
    duplicates = {k.replace(".", "/"): v for k, v in summary.count("duplicates.").items()}
    rejects = summary.count("rejects.")
    lake = _shown(summary.lake)
    lines = [
        f"newsmill run {summary.run_id} {summary.status} in {seconds:.1f} s",
        f"  inputs seen        {c['inputs.seen']}  (already ingested, skipped: {c['read.already_ingested']})",
        f"  articles written   {c['written.articles']}  (paragraphs: {c['written.paragraphs']}, "
        f"entity mentions: {c['written.entities']}, quotes: {c['written.quotes']})",
        f"  duplicates         {_line(duplicates)}",
        f"  rejects            {c['written.rejects']}  ({_line(rejects)})",
        f"  time per stage     {summary.stage_times()} (summed over shards and workers)",
        f"  tables             {lake}/{{{','.join(TABLES)}}}",
        "  query them:",
        f"    duckdb -c \"select title, language, n_words from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true) limit 10\"",
        f'    newsmill query --lake {lake} "select reason, count(*) from rejects group by all"',
        f"  report             {_shown(summary.report)}"
        if summary.report
        else "  report             not written (see the warning above)",
        f"  catalog            {_shown(summary.catalog)} (open it in the DuckDB UI, a BI tool or the duckdb CLI)"
        if summary.catalog
        else "  catalog            not written (see the error above)"
        if settings.catalog
        else f"  catalog            none yet: `newsmill catalog --lake {lake}` or `--catalog FILE` writes one for BI tools",
    ]
    for action in summary.recovered:
        lines.append(f"  recovered: {action}")
    return "\n".join(lines)


def render_summary_markdown(summary: RunSummary, seconds: float) -> str:
    """The run as the Prefect UI shows it best: Markdown tables, nothing cut at the width
    of a code block."""
    c = summary.counts
    outcome = [
        ("inputs seen", c["inputs.seen"]),
        ("already ingested (skipped)", c["read.already_ingested"]),
        ("articles written", c["written.articles"]),
        ("paragraphs", c["written.paragraphs"]),
        ("entity mentions", c["written.entities"]),
        ("quotes", c["written.quotes"]),
        *(
            (f"duplicates: {k.replace('.', ' / ')}", v)
            for k, v in summary.count("duplicates.").items()
        ),
        ("rejects", c["written.rejects"]),
        *((f"rejects: `{reason}`", n) for reason, n in summary.count("rejects.").items()),
    ]
    times = summary.count("time_ms.")
    lines = [
        f"## newsmill run `{summary.run_id}`: {summary.status} in {seconds:.1f} s",
        "",
        "| outcome | count |",
        "| --- | ---: |",
        *(f"| {name} | {n:,} |" for name, n in outcome),
        "",
        "| stage | seconds (summed over shards and workers) |",
        "| --- | ---: |",
        *(f"| {stage} | {times[stage] / 1000:.1f} |" for stage in summary.ordered_stages()),
        "",
        f"Lake: `{summary.lake}`"
        + (f"; report: `{summary.report}`" if summary.report else "")
        + (f"; catalog: `{summary.catalog}`" if summary.catalog else ""),
    ]
    lines += [f"- recovered: {action}" for action in summary.recovered]
    return "\n".join(lines)


def _shown(path: str) -> str:
    """A path relative to the working folder when it is under it, else as it is."""
    relative = os.path.relpath(path) if "://" not in path else path
    return path if relative.startswith("..") else relative


def connect_lake(
    location: str | Path, run_id: str | None = None, tables: Iterable[TableSpec] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake's views (`tasks/lake/catalog.py`); of one run's
    rows only, given `run_id`; of these tables only, given `tables`."""
    lake = Lake(location)
    connection = lake.store.duckdb()
    create_views(connection, lake, run_id, tables)
    return connection


# What a read-only query may be: reading, explaining a plan, PRAGMAs that show things (the
# configuration is locked, so no PRAGMA can change it)
READ_ONLY = frozenset(
    [duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA]
)


class QueryRefused(ValueError):
    """A statement a read-only query may not run."""


QUERY_FORMATS = ("table", "csv", "json", "parquet")


def query_lake(
    location: str | Path,
    sql: str,
    allow_writes: bool = False,
    output_format: str = "table",
    output: BinaryIO | None = None,
) -> None:
    """Run SQL on the lake's tables and write the result to `output` (stdout): a table for
    people, or CSV, JSON lines or Parquet for programs. Read-only unless `allow_writes`:
    only SELECT, EXPLAIN and PRAGMA statements, and no file outside the lake is read or
    written (no COPY … TO, ATTACH, INSTALL, read_csv('/etc/…')): a query from a shared
    notebook or a BI tool's SQL box cannot change the lake or reach the machine."""
    lake = Lake(location)
    lake.ensure_exists()
    connection = connect_lake(location)
    if not allow_writes:
        refuse_writes(sql)
        confine_to_lake(connection, lake)
    result = connection.sql(sql)
    if result is None:  # a statement with no result (an --allow-writes COPY)
        return
    if output_format == "table" and output is None:
        result.show(max_width=200)
        return
    output = output or sys.stdout.buffer
    if output_format == "table":
        output.write(f"{result}\n".encode())
    elif output_format == "csv":
        pacsv.write_csv(result.to_arrow_table(), output)
    elif output_format == "json":
        for row in result.to_arrow_table().to_pylist():
            output.write(json.dumps(row, default=str, ensure_ascii=False).encode() + b"\n")
    else:
        pq.write_table(result.to_arrow_table(), output)


def refuse_writes(sql: str) -> None:
    for statement in duckdb.extract_statements(sql):
        if statement.type not in READ_ONLY:
            kind = statement.type.name
            raise QueryRefused(f"newsmill query is read-only: {kind} needs --allow-writes")


def confine_to_lake(connection: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """No file system access but the lake's folder, and no way to change that back."""
    root = lake.root.rstrip("/")
    folders = [f"{root}/"]
    if "://" in root:  # DuckDB writes a URL's path with three slashes: memory:///lake
        protocol, path = root.split("://", 1)
        folders.append(f"{protocol}:///{path.lstrip('/')}/")
    connection.execute("set allowed_directories = ?", [folders])
    connection.execute("set enable_external_access = false")
    connection.execute("set lock_configuration = true")
