"""The newsmill flow: shards run through the per-document stages (`process-shard`, in
parallel with `workers` > 1), then the run-level steps settle exact copies between shards,
near copies across the run and the lake, and the dedup state, and the run commits at once."""

import os
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from newsmill.flows import stages
from newsmill.flows.report import render_summary
from newsmill.flows.settings import Settings, flow_parameter_docs, flow_signature
from newsmill.tasks import __version__
from newsmill.tasks import shard as shard_module
from newsmill.tasks.dedup.exact import DEDUP_VERSION, ExactAcrossShards
from newsmill.tasks.dedup.near import NEAR_DUP_VERSION, RunSignatures
from newsmill.tasks.extras import require
from newsmill.tasks.ingest.sources import Shard, discover_sources, plan_shards
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.lake.runs import RunSummary, new_run_id
from newsmill.tasks.shard import ShardResult
from newsmill.tasks.text.clean import CLEAN_VERSION
from newsmill.tasks.text.fields import FIELDS_VERSION
from newsmill.tasks.web.crawl import fetched_pages
from newsmill.tasks.web.discover import split_sources

PIPELINE_VERSION = f"newsmill {__version__}; {CLEAN_VERSION}; {DEDUP_VERSION}; {NEAR_DUP_VERSION}; {FIELDS_VERSION}"


def task_runner(settings: Settings) -> TaskRunner[Any]:
    """A Dask or Ray cluster when one is named; worker processes for several workers (the
    stages are CPU-bound Python: threads would share one core); else one thread, which keeps
    the run in this process."""
    if settings.ray_address:
        RayTaskRunner = require("prefect_ray", "ray_address").RayTaskRunner

        # Ray starts its worker processes itself: hand them the API this run reports to
        prefect_env = {k: v for k, v in os.environ.items() if k.startswith("PREFECT_")}
        return RayTaskRunner(
            address=settings.ray_address,
            init_kwargs={"runtime_env": {"env_vars": prefect_env}},
        )
    if settings.dask_address:
        DaskTaskRunner = require("prefect_dask", "dask_address").DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address)
    if settings.n_workers > 1:
        return ProcessPoolTaskRunner(max_workers=settings.n_workers)
    return ThreadPoolTaskRunner(max_workers=1)


def _shard_results(
    shards: list[Shard],
    lake: Lake,
    ctx: RunContext,
    settings: Settings,
    staged: Mapping[int, ShardResult],
    runner: TaskRunner[Any],
) -> Iterator[tuple[ShardResult, bool]]:
    """(result, newly processed) in shard order, with at most two shards per worker in
    flight: the tables do not depend on which worker finishes first, and memory stays
    bounded. Shards in `staged` (a resumed run's) are not processed again; a shard that
    fails on every try becomes rejects."""
    window = 2 * settings.n_workers
    work = iter(shards)
    pending: deque[tuple[Shard, PrefectFuture[ShardResult] | None]] = deque()
    shard_settings = settings.shard_settings
    process = stages.process_shard.with_options(
        retries=settings.shard_retries,
        retry_delay_seconds=exponential_backoff(settings.shard_retry_delay_s),
        retry_jitter_factor=0.5,
    )
    while True:
        while sum(f is not None for _, f in pending) < window and (shard := next(work, None)):
            future = None
            if shard.index not in staged:
                parameters = {"work": shard, "lake_root": lake.root, "ctx": ctx}
                future = runner.submit(process, {**parameters, "settings": shard_settings})
            pending.append((shard, future))
        if not pending:
            return
        shard, future = pending.popleft()
        if future is None:
            yield staged[shard.index], False
            continue
        try:
            result = future.result()
        except Exception as error:
            get_run_logger().error(
                "shard %d failed %d time(s), its %d input part(s) become rejects: %s",
                shard.index,
                settings.shard_retries + 1,
                len(shard.parts),
                error,
            )
            reason = f"{type(error).__name__}: {error}"
            result = shard_module.failed_shard(shard, lake.root, ctx, shard_settings, reason)
        yield result, True


def _newsmill(**parameters: Any) -> RunSummary:
    """Ingest SOURCES (files, folders, globs) into the lake; every setting is a parameter
    (see `newsmill run --help`), checked before any work starts."""
    sources = parameters.pop("sources")
    return ingest(list(sources), Settings.from_flat(parameters))


# The flow's parameters are `sources` and every setting by its flat name, typed and with
# their defaults and bounds, so deployments, manual runs and the UI offer and check each
# one; `newsmill run` passes them all. Deployments record the entrypoint by the function's
# name, which must be this module's attribute.
_newsmill.__signature__ = flow_signature()  # type: ignore[attr-defined]
_newsmill.__doc__ = f"{_newsmill.__doc__}\n\n{flow_parameter_docs()}"
_newsmill.__name__ = _newsmill.__qualname__ = "newsmill_flow"
newsmill_flow: Flow[..., RunSummary] = flow(
    name="newsmill",
    description="Raw news text → cleaned, deduplicated, partitioned Parquet lake.",
    validate_parameters=True,
)(_newsmill)


def ingest(sources: list[str], settings: Settings) -> RunSummary:
    """The flow's body: shards through the per-document stages on the task runner the
    settings ask for, then the run-level steps and the commit."""
    logger = get_run_logger()
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

    with lake.lock(summary.run_id, settings.lease_wait_s, waiting):
        summary.recovered = lake.recover()
        file_sources, web = split_sources(sources)
        discovery = discover_sources(file_sources, exclude=lake.local_root)
        for argument in discovery.unmatched:
            logger.warning("source %r matched no file", argument)
        shards = plan_shards(discovery.files, settings.shard_bytes, settings.shard_max_files)
        fingerprint = resume.plan_fingerprint(
            shards, settings.output_settings(), PIPELINE_VERSION, lake.committed_runs(), web
        )
        staged, discarded = resume.take_over(lake, fingerprint, settings.resume)
        summary.recovered += discarded
        if staged is not None:
            summary.resume(staged.run_id, staged.started_at, len(staged.results))
        for action in summary.recovered:
            logger.warning("lake recovery: %s", action)
        ctx = RunContext(summary.run_id, summary.started_at, PIPELINE_VERSION)
        logger.info(
            "run %s: %d files in %d shards, %d worker(s) → %s",
            summary.run_id,
            len(discovery.files),
            len(shards),
            settings.n_workers,
            lake.root,
        )
        writer = lake.start_run(summary.run_id, settings.write_buffer_rows)
        resume.save_plan(writer, ctx, fingerprint)
        if web:
            crawled = staged.crawl if staged and staged.crawl else None
            if crawled is None:
                crawled = stages.crawl_web(web, lake, ctx, settings.fetch, settings.shard_bytes)
                resume.checkpoint_crawl(writer, crawled)
            writer.adopt(crawled.files)
            summary.counts.update(crawled.counts)
            logger.info(
                "fetched %d pages (%d URLs already in the lake), kept in %d raw WARC file(s)",
                crawled.counts["fetch.article.fetched"],
                crawled.counts["fetch.known"],
                len(crawled.raw),
            )
            shards += plan_shards(
                fetched_pages(crawled), settings.shard_bytes, settings.shard_max_files, len(shards)
            )
        summary.counts["shards.planned"] = len(shards)
        signatures = RunSignatures(settings.near)
        exact = ExactAcrossShards()
        site_counts: Counter[int] = Counter()
        clock = time.monotonic()
        try:
            with task_runner(settings) as runner:
                staged_results = staged.results if staged else {}
                results = _shard_results(shards, lake, ctx, settings, staged_results, runner)
                for result, processed in results:
                    writer.adopt(result.files)
                    if processed:
                        resume.checkpoint(writer, result)
                        summary.counts["shards.processed"] += 1
                    kept, copies = exact.admit(result.articles)
                    summary.record_shard(result.counts)
                    summary.record_exact_duplicates([c.article for c in copies])
                    signatures.add_chunk(kept)
                    site_counts.update(result.site_counts)
                    logger.info(
                        summary.progress_line(
                            result.index + 1, len(shards), time.monotonic() - clock
                        )
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
            create_markdown_artifact(
                markdown=f"```\n{render_summary(summary, settings, time.monotonic() - clock)}\n```",
                key="newsmill-run-summary",
                description=f"newsmill run {summary.run_id}",
            )
        except Exception as error:
            # an error would recur on resuming: record the failed run and drop its files.
            # A kill or an interrupt leaves the staged shards for the next run to resume.
            writer.abort()
            summary.status, summary.error = "failed", f"{type(error).__name__}: {error}"
            summary.finished_at = datetime.now(UTC)
            try:
                lake.start_run(summary.run_id).commit(summary.runs_row(sources, settings))
            except Exception:  # the lake itself may be what failed; the original error matters
                logger.exception("could not record the failed run in the runs table")
            raise
    return summary
