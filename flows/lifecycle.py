"""A run's life around its stages: `with open_run(...) as run:` holds the lake's lock,
recovers what a crashed commit left, plans the shards, takes over a dead run with the same
plan, and stages into the run's writer. The body commits with `run.commit()`; if it raises
instead, the staged files are dropped and a `failed` runs row records the error. A kill or
an interrupt (not an Exception) leaves the staged shards for the next run to resume."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prefect.runtime import flow_run

from newsmill.flows.settings import Settings
from newsmill.tasks.errors import SettingsError
from newsmill.tasks.ingest.sources import Shard, discover_sources, plan_shards
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.lake import Lake, RunWriter
from newsmill.tasks.lake.resume import StagedRun
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.lake.runs import RunSummary, new_run_id
from newsmill.tasks.web.discover import WebSources, split_sources

# what Prefect's get_run_logger() returns
RunLogger = logging.Logger | logging.LoggerAdapter[logging.Logger]


@dataclass(slots=True)
class Run:
    """A run that holds the lake: what it will process and where it stages it."""

    sources: list[str]
    settings: Settings
    lake: Lake
    summary: RunSummary
    ctx: RunContext
    writer: RunWriter
    shards: list[Shard]
    web: WebSources
    staged: StagedRun | None  # the dead run this one took over

    def runs_row(self) -> dict[str, Any]:
        return self.summary.runs_row(self.sources, self.settings.as_record())

    def commit(self) -> None:
        self.summary.status, self.summary.finished_at = "completed", datetime.now(UTC)
        self.writer.commit(self.runs_row())


@contextmanager
def open_run(
    sources: list[str], settings: Settings, pipeline_version: str, logger: RunLogger
) -> Iterator[Run]:
    lake = Lake(settings.lake)
    lake.ensure_writable()
    started = datetime.now(UTC)
    summary = RunSummary(new_run_id(started), flow_run.get_id(), lake.root, started)

    def waiting(holder: dict[str, Any]) -> None:
        logger.info(
            "lake in use by run %s (pid %s on %s): waiting up to %g s for it to finish",
            holder.get("run_id"),
            holder.get("pid"),
            holder.get("host"),
            settings.lease_wait_s,
        )

    with lake.lock(summary.run_id, settings.lease_wait_s, waiting, settings.lease_s):
        run = _planned_run(sources, settings, pipeline_version, lake, summary, logger)
        try:
            yield run
        except Exception as error:
            _record_failure(run, error, logger)
            raise


def _planned_run(
    sources: list[str],
    settings: Settings,
    pipeline_version: str,
    lake: Lake,
    summary: RunSummary,
    logger: RunLogger,
) -> Run:
    summary.recovered = lake.recover()
    file_sources, web = split_sources(sources)
    discovery = discover_sources(file_sources, exclude=lake.local_root)
    for argument in discovery.unmatched:
        logger.warning("source %r matched no file", argument)
    if not discovery.files and not web:
        raise SettingsError(f"no sources matched: {' '.join(sources)}")
    shards = plan_shards(discovery.files, settings.shard_bytes, settings.shard_max_files)
    fingerprint = resume.plan_fingerprint(
        shards, settings.output_settings(), pipeline_version, lake.committed_runs(), web
    )
    staged, discarded = resume.take_over(lake, fingerprint, settings.resume)
    summary.recovered += discarded
    if staged is not None:
        summary.resume(staged.run_id, staged.started_at, len(staged.results))
    for action in summary.recovered:
        logger.warning("lake recovery: %s", action)
    ctx = RunContext(summary.run_id, summary.started_at, pipeline_version)
    logger.info(
        "run %s: %d files in %d shards, %d worker(s) → %s",
        summary.run_id,
        len(discovery.files),
        len(shards),
        settings.n_workers,
        lake.root,
    )
    writer = lake.start_run(summary.run_id, settings.shard.write_buffer_rows)
    resume.save_plan(writer, ctx, fingerprint)
    return Run(sources, settings, lake, summary, ctx, writer, shards, web, staged)


def _record_failure(run: Run, error: Exception, logger: RunLogger) -> None:
    """An error would recur on resuming: drop the run's files and record it as failed.
    A run that failed inside its commit, once the journal was written, is committed: the
    next run finishes its renames (`Lake.recover`), and no failed row contradicts it."""
    if run.writer.journaled:
        logger.error(
            "run %s failed while its files were moved into place (%s: %s); it is committed, "
            "and the next run on this lake completes the move",
            run.summary.run_id,
            type(error).__name__,
            error,
        )
        return
    run.writer.abort()
    summary = run.summary
    summary.status, summary.error = "failed", f"{type(error).__name__}: {error}"
    summary.finished_at = datetime.now(UTC)
    try:
        run.lake.start_run(summary.run_id).commit(run.runs_row())
    except Exception:  # the lake itself may be what failed; the original error matters
        logger.exception("could not record the failed run in the runs table")
