"""The newsmill flow: shards run through the per-document stages (`process-shard`, in
parallel with `workers` > 1), then the run-level steps settle exact copies between shards,
near copies across the run and the lake, and the dedup state, and the run commits at once."""

import os
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from newsmill.flows import stages
from newsmill.flows.lifecycle import Run, RunLogger, open_run
from newsmill.flows.progress import shard_progress
from newsmill.flows.report import render_summary_markdown
from newsmill.flows.runners import ForkedProcessPoolTaskRunner
from newsmill.flows.settings import Settings, flow_parameter_docs, flow_signature
from newsmill.tasks import shard as shard_module
from newsmill.tasks.dedup.exact import ExactAcrossShards
from newsmill.tasks.dedup.near import RunSignatures
from newsmill.tasks.errors import is_transient
from newsmill.tasks.extras import require
from newsmill.tasks.ingest.sources import Shard, number_lines, plan_shards
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.lake.runs import RunSummary
from newsmill.tasks.records import StageClock
from newsmill.tasks.shard import ShardResult
from newsmill.tasks.versions import PIPELINE_VERSION
from newsmill.tasks.web.crawl import fetched_pages


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
        return ForkedProcessPoolTaskRunner(max_workers=settings.n_workers)
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
    work = number_lines(shards)
    pending: deque[tuple[Shard, PrefectFuture[ShardResult] | None]] = deque()
    shard_settings = settings.shard_settings
    process = stages.process_shard.with_options(
        retries=settings.shard_retries,
        retry_condition_fn=stages.retry_if_transient,
        retry_delay_seconds=exponential_backoff(settings.shard_retry_delay_s),
        retry_jitter_factor=0.5,
    )
    while True:
        while sum(f is not None for _, f in pending) < window and (shard := next(work, None)):
            future = None
            if shard.index not in staged:
                parameters = {"work": shard, "lake_root": lake.root, "ctx": ctx}
                named = process.with_options(task_run_name=shard.label(len(shards)))
                future = runner.submit(named, {**parameters, "settings": shard_settings})
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
            if not is_transient(error):
                raise  # a bug in newsmill: the run fails, and nothing of it is committed
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
    """The flow's body: plan → crawl → shards through the per-document stages (on the task
    runner the settings ask for) → exact copies across shards → near copies → commit."""
    logger = get_run_logger()
    with open_run(sources, settings, PIPELINE_VERSION, logger) as run:
        if run.web:
            run.shards += _crawled_shards(run, logger)
        run.summary.counts["shards.planned"] = len(run.shards)
        clock = time.monotonic()
        exact, signatures, site_counts = _process_shards(run, clock)
        # quote(): Prefect otherwise walks every element of a task's arguments looking
        # for futures, which costs more than the step itself on large runs
        near = []
        run_clock = StageClock()
        if settings.shard.near.near_dedup:
            with run_clock("near"):
                near = stages.find_near_duplicates(quote(signatures), run.lake)
            run.summary.record_near_duplicates(near)
            logger.info("near duplicates: %d", len(near))
        with run_clock("finish"):
            stages.stage_document_duplicates(
                run.writer,
                run.ctx,
                quote(exact.copies),
                quote(near),
                quote(signatures) if settings.shard.near.near_dedup else None,
            )
            stages.stage_dedup_state(run.writer, run.ctx, quote(site_counts))
        run.summary.counts.update(run_clock.counts)
        with run_clock("commit"):  # after its own runs row: in the summary only
            run.commit()
        run.summary.counts.update({"time_ms.commit": run_clock.counts["time_ms.commit"]})
        logger.info(
            "committed in %.1f s: the run's rows are visible; time per stage: %s",
            run_clock.counts["time_ms.commit"] / 1000,
            run.summary.stage_times(),
        )
        run.summary.catalog = stages.refresh_catalog(run.lake, settings.catalog)
        run.summary.report = stages.write_report(run.lake, run.summary, time.monotonic() - clock)
        create_markdown_artifact(
            markdown=render_summary_markdown(run.summary, time.monotonic() - clock),
            key="newsmill-run-summary",
            description=f"newsmill run {run.summary.run_id}",
        )
    return run.summary


def _crawled_shards(run: Run, logger: RunLogger) -> list[Shard]:
    """Fetch the run's web sources (or take what a dead run fetched) into the raw zone; the
    fetched pages become shards after the file shards."""
    settings = run.settings
    crawled = run.staged.crawl if run.staged and run.staged.crawl else None
    if crawled is None:
        crawled = stages.crawl_web(run.web, run.lake, run.ctx, settings.fetch, settings.shard_bytes)
        resume.checkpoint_crawl(run.writer, crawled)
    run.writer.adopt(crawled.files)
    run.summary.counts.update(crawled.counts)
    logger.info(
        "fetched %d pages (%d URLs already in the lake), kept in %d raw WARC file(s)",
        crawled.counts["fetch.article.fetched"],
        crawled.counts["fetch.known"],
        len(crawled.raw),
    )
    pages = fetched_pages(crawled)
    return plan_shards(pages, settings.shard_bytes, settings.shard_max_files, len(run.shards))


def _process_shards(
    run: Run, clock: float
) -> tuple[ExactAcrossShards, RunSignatures, Counter[int]]:
    """Every shard staged (or taken from the dead run), its articles admitted across shards
    in shard order: what the run-level steps need."""
    summary = run.summary
    signatures = RunSignatures(run.settings.shard.near)
    exact = ExactAcrossShards()
    site_counts: Counter[int] = Counter()
    staged = run.staged.results if run.staged else {}
    with task_runner(run.settings) as runner, shard_progress(len(run.shards)) as show:
        results = _shard_results(run.shards, run.lake, run.ctx, run.settings, staged, runner)
        for result, processed in results:
            run.writer.adopt(result.files)
            done = time.monotonic() - clock
            if processed:
                resume.checkpoint(run.writer, result)
                summary.counts["shards.processed"] += 1
                summary.counts["inputs.processed"] += result.counts["inputs.seen"]
                summary.timeline.append((result.index + 1, done, result.counts["inputs.seen"]))
            kept, copies = exact.admit(result.articles)
            summary.record_shard(result.counts)
            summary.record_exact_duplicates([c.article for c in copies])
            signatures.add_chunk(kept)
            site_counts.update(result.site_counts)
            show(summary, result.index + 1, len(run.shards), done)
    return exact, signatures, site_counts
