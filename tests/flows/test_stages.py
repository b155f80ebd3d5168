"""The run-level steps, called as plain functions on a real lake."""

from pathlib import Path

import duckdb

from newsmill.flows import stages
from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import INPUT_KEYS, REJECTS
from newsmill.tasks.dedup.exact import input_key
from newsmill.tasks.lake import rows
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.records import Reject
from tests.tasks.lake_runs import run_context, runs_row


def test_an_input_that_met_a_bug_is_not_remembered_so_a_later_run_retries_it(
    tmp_path: Path,
) -> None:
    lake, ctx = Lake(tmp_path / "lake"), run_context("r1")
    empty = Reject("empty.txt", Reason.READ_EMPTY_FILE, "empty file", "e1")
    buggy = Reject("odd.txt", Reason.FIELDS_UNEXPECTED, "KeyError: 'x'", "b1")
    writer = lake.start_run(ctx.run_id)
    writer.write(REJECTS, rows.batch_rows(ctx, [], [], [empty, buggy], {})[REJECTS.name])
    stages.stage_dedup_state.fn(writer, ctx, {})
    writer.commit(runs_row(ctx.run_id, ctx.started_at))
    keys = duckdb.sql(f"select input_key from {lake.scan(INPUT_KEYS)}").fetchall()
    assert keys == [(input_key("empty.txt", "e1"),)]
