"""What the CLI shows: the end-of-run summary and query results from the lake."""

import os
from pathlib import Path

import duckdb

from newsmill.flows.settings import Settings
from newsmill.schemas.tables import TABLES
from newsmill.schemas.views import VIEWS
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.runs import RunSummary


def _line(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in counts.items()) or "none"


def render_summary(summary: RunSummary, settings: Settings, seconds: float) -> str:
    c = summary.counts
    duplicates = {k.replace(".", "/"): v for k, v in summary.count("duplicates.").items()}
    rejects = summary.count("rejects.")
    lake = (
        os.path.relpath(summary.lake)
        if not os.path.relpath(summary.lake).startswith("..")
        else summary.lake
    )
    lines = [
        f"newsmill run {summary.run_id} {summary.status} in {seconds:.1f} s",
        f"  inputs seen        {c['inputs.seen']}  (already ingested, skipped: {c['read.already_ingested']})",
        f"  articles written   {c['written.articles']}  (paragraphs: {c['written.paragraphs']}, "
        f"entity mentions: {c['written.entities']}, quotes: {c['written.quotes']})",
        f"  duplicates         {_line(duplicates)}",
        f"  rejects            {c['written.rejects']}  ({_line(rejects)})",
        f"  tables             {lake}/{{{','.join(TABLES)}}}",
        "  query them:",
        f"    duckdb -c \"select title, language, n_words from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true) limit 10\"",
        f'    newsmill query --lake {lake} "select reason, count(*) from rejects group by all"',
    ]
    for action in summary.recovered:
        lines.append(f"  recovered: {action}")
    return "\n".join(lines)


def connect_lake(location: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per lake table that has data, and the ready views."""
    lake = Lake(location)
    connection = lake.store.duckdb()
    present = set()
    for name, spec in TABLES.items():
        if lake.store.has_files(lake.table_path(spec), ".parquet"):
            connection.execute(f"create view {name} as select * from {lake.scan(spec)}")
            present.add(name)
    if "paragraphs" in present:
        for name, (_, sql) in VIEWS.items():
            connection.execute(f"create view {name} as {sql}")
    return connection


def query_lake(location: str | Path, sql: str) -> None:
    lake = Lake(location)
    if not any(lake.store.exists(lake.table_path(spec)) for spec in TABLES.values()):
        raise FileNotFoundError(
            f"no lake at {location}: run `newsmill run SOURCE... --lake {location}` first"
        )
    connect_lake(location).sql(sql).show(max_width=200)
