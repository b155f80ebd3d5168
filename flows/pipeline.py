"""The newsmill flow: read → extract HTML → clean → dedup paragraphs → fields →
dedup documents → stage rows, shard by shard, then one atomic commit of the run."""

import time
from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows import stages
from flows.settings import Settings
from tasks import __version__
from tasks.boilerplate import SiteParagraphCounts
from tasks.clean import CLEAN_VERSION
from tasks.dedup import DEDUP_VERSION, LakeIndex
from tasks.extract import HtmlExtractor
from tasks.fields import FIELDS_VERSION
from tasks.lake import Lake, RunWriter
from tasks.neardup import NEAR_DUP_VERSION, RunSignatures
from tasks.records import ShardBatch
from tasks.rows import RunContext
from tasks.runs import RunSummary, new_run_id
from tasks.sources import Shard, discover_sources, plan_shards

PIPELINE_VERSION = f"newsmill {__version__}; {CLEAN_VERSION}; {DEDUP_VERSION}; {NEAR_DUP_VERSION}; {FIELDS_VERSION}"


def _process_shard(
    shard: Shard,
    settings: Settings,
    summary: RunSummary,
    extractor: HtmlExtractor,
    index: LakeIndex,
    writer: RunWriter,
    ctx: RunContext,
    signatures: RunSignatures,
    site_counts: SiteParagraphCounts,
) -> None:
    # The tasks share one holder per shard, passed in quote(): Prefect otherwise walks every
    # argument looking for futures (~0.2 ms per document per task), and it keeps recent task
    # parameters alive, so the holder is emptied once the shard is staged.
    batch = ShardBatch()
    stages.read_shard(quote(batch), shard, settings.read, quote(index))
    stages.extract_html(quote(batch), extractor)
    stages.clean_documents(quote(batch))
    stages.dedup_paragraphs(quote(batch))
    stages.add_fields(quote(batch), ctx.started_at, settings.fields)
    stages.remove_boilerplate(quote(batch), quote(site_counts), settings.boilerplate)
    stages.dedup_documents(quote(batch), quote(index))
    stages.stage_rows(writer, ctx, quote(batch), quote(index))
    if settings.near.near_dedup:
        stages.sign_articles(quote(batch), quote(signatures))
    summary.record_shard(batch)
    batch.clear()


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
        files = discovery.files
        for argument in discovery.unmatched:
            logger.warning("source %r matched no file", argument)
        shards = plan_shards(files, settings.shard_bytes, settings.shard_max_files)
        logger.info(
            "run %s: %d files in %d shards → %s", summary.run_id, len(files), len(shards), lake.root
        )
        index = LakeIndex(lake)
        site_counts = SiteParagraphCounts(lake)
        writer = lake.start_run(summary.run_id, settings.write_buffer_rows)
        signatures = RunSignatures(settings.near)
        clock = time.monotonic()
        try:
            with HtmlExtractor(settings.extract) as extractor:
                for number, shard in enumerate(shards, start=1):
                    _process_shard(
                        shard,
                        settings,
                        summary,
                        extractor,
                        index,
                        writer,
                        ctx,
                        signatures,
                        site_counts,
                    )
                    logger.info(
                        summary.progress_line(number, len(shards), time.monotonic() - clock)
                    )
            if settings.near.near_dedup:
                near = stages.find_near_duplicates(quote(signatures), lake)
                stages.stage_near_duplicates(writer, ctx, quote(signatures), quote(near))
                summary.record_near_duplicates(near)
                logger.info("near duplicates: %d", len(near))
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
