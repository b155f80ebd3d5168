"""The newsmill flow: shards run through the per-document stages (`process-shard`, in
parallel with `workers` > 1), then the run-level steps settle exact copies between shards,
near copies across the run and the lake, and the dedup state, and the run commits at once."""

import time
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import stages
from flows.settings import Settings
from tasks import __version__
from tasks.clean import CLEAN_VERSION
from tasks.dedup import DEDUP_VERSION, ExactAcrossShards
from tasks.fields import FIELDS_VERSION
from tasks.lake import Lake
from tasks.neardup import NEAR_DUP_VERSION, RunSignatures
from tasks.rows import RunContext
from tasks.runs import RunSummary, new_run_id
from tasks.shard import ShardResult
from tasks.sources import Shard, discover_sources, plan_shards

PIPELINE_VERSION = f"newsmill {__version__}; {CLEAN_VERSION}; {DEDUP_VERSION}; {NEAR_DUP_VERSION}; {FIELDS_VERSION}"


def task_runner(settings: Settings) -> TaskRunner[Any]:
    """A Dask cluster when one is named; worker processes for several workers (the stages
    are CPU-bound Python: threads would share one core); else one thread, which keeps the
    run in this process."""
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    if settings.n_workers > 1:
        return ProcessPoolTaskRunner(max_workers=settings.n_workers)
    return ThreadPoolTaskRunner(max_workers=1)


def _shard_results(
    shards: list[Shard], lake: Lake, ctx: RunContext, settings: Settings
) -> Iterator[ShardResult]:
    """Results in shard order, with at most two shards per worker in flight: the tables do
    not depend on which worker finishes first, and memory stays bounded."""
    window = 2 * settings.n_workers
    work = iter(shards)
    pending: deque[PrefectFuture[ShardResult]] = deque()
    shard_settings = settings.shard_settings
    while True:
        while len(pending) < window and (shard := next(work, None)):
            pending.append(stages.process_shard.submit(shard, str(lake.root), ctx, shard_settings))
        if not pending:
            return
        yield pending.popleft().result()


@flow(
    name="newsmill", description="Raw news text → cleaned, deduplicated, partitioned Parquet lake."
)
def newsmill_flow(sources: list[str], settings: Settings) -> RunSummary:
    """Ingest SOURCES (files, folders, globs) into the lake named in `settings`."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    lake = Lake(settings.lake)
    summary = RunSummary(new_run_id(started), flow_run.get_id(), str(lake.root.resolve()), started)
    ctx = RunContext(summary.run_id, started, PIPELINE_VERSION)
    lake.ensure_writable()
    with lake.lock(summary.run_id):
        summary.recovered = lake.recover()
        for action in summary.recovered:
            logger.warning("lake recovery: %s", action)
        discovery = discover_sources(sources, exclude=lake.root)
        for argument in discovery.unmatched:
            logger.warning("source %r matched no file", argument)
        shards = plan_shards(discovery.files, settings.shard_bytes, settings.shard_max_files)
        logger.info(
            "run %s: %d files in %d shards, %d worker(s) → %s",
            summary.run_id,
            len(discovery.files),
            len(shards),
            settings.n_workers,
            lake.root,
        )
        writer = lake.start_run(summary.run_id, settings.write_buffer_rows)
        signatures = RunSignatures(settings.near)
        exact = ExactAcrossShards()
        site_counts: Counter[int] = Counter()
        clock = time.monotonic()
        try:
            for result in _shard_results(shards, lake, ctx, settings):
                writer.adopt(result.files)
                kept, copies = exact.admit(result.articles)
                summary.record_shard(result.counts)
                summary.record_exact_duplicates([c.article for c in copies])
                signatures.add_chunk(kept)
                site_counts.update(result.site_counts)
                logger.info(
                    summary.progress_line(result.index + 1, len(shards), time.monotonic() - clock)
                )
            # quote(): Prefect otherwise walks every element of a task's arguments looking
            # for futures, which costs more than the step itself on large runs
            near = []
            if settings.near.near_dedup:
                near = stages.find_near_duplicates(quote(signatures), lake)
                summary.record_near_duplicates(near)
                logger.info("near duplicates: %d", len(near))
            stages.stage_document_duplicates(
                writer,
                ctx,
                quote(exact.copies),
                quote(near),
                quote(signatures) if settings.near.near_dedup else None,
            )
            stages.stage_dedup_state(writer, ctx, quote(site_counts))
            summary.status, summary.finished_at = "completed", datetime.now(UTC)
            writer.commit(summary.runs_row(sources, settings))
        except BaseException as error:
            writer.abort()
            summary.status, summary.error = "failed", f"{type(error).__name__}: {error}"
            summary.finished_at = datetime.now(UTC)
            try:
                lake.start_run(summary.run_id).commit(summary.runs_row(sources, settings))
            except Exception:  # the lake itself may be what failed; the original error matters
                logger.exception("could not record the failed run in the runs table")
            raise
    return summary
