"""Committing small runs to a real lake in tests, the way the flow's writer does."""

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from newsmill.schemas.tables import TableSpec
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext

STARTED = datetime(2026, 11, 28, 3, tzinfo=UTC)


def runs_row(run_id: str, started: datetime = STARTED) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "flow_run_id": None,
        "started_at": started,
        "finished_at": started,
        "status": "completed",
        "error": None,
        "sources": ["x"],
        "inputs_seen": 1,
        "articles": 0,
        "duplicates_document": 0,
        "duplicates_paragraph": 0,
        "rejects": 1,
        "already_ingested": 0,
        "counts_json": "{}",
        "settings_json": "{}",
        "newsmill_version": "test",
        "run_date": started.date(),
    }


def run_context(run_id: str, started: datetime = STARTED) -> RunContext:
    return RunContext(run_id, started, "test")


def commit_tables(lake: Lake, ctx: RunContext, tables: list[tuple[TableSpec, pa.Table]]) -> None:
    writer = lake.start_run(ctx.run_id)
    for spec, table in tables:
        writer.write_table(spec, table)
    writer.commit(runs_row(ctx.run_id, ctx.started_at))
