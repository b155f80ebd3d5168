"""The newsmill flow: read → extract HTML → clean → dedup paragraphs → fields →
dedup documents → stage rows, shard by shard, then one atomic commit of the run."""

import json
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows import stages
from flows.settings import Settings
from tasks import __version__
from tasks.clean import CLEAN_VERSION
from tasks.dedup import DEDUP_VERSION, LakeIndex
from tasks.extract import HtmlExtractor
from tasks.fields import FIELDS_VERSION
from tasks.lake import Lake, RunWriter
from tasks.rows import RunContext
from tasks.sources import Shard, discover_sources, plan_shards

PIPELINE_VERSION = f"newsmill {__version__}; {CLEAN_VERSION}; {DEDUP_VERSION}; {FIELDS_VERSION}"


@dataclass
class RunSummary:
    run_id: str
    flow_run_id: str | None
    lake: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    error: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    recovered: list[str] = field(default_factory=list)

    def count(self, prefix: str) -> dict[str, int]:
        return {
            k.removeprefix(prefix): v
            for k, v in sorted(self.counts.items())
            if k.startswith(prefix)
        }

    def runs_row(self, sources: list[str], settings: Settings) -> dict[str, Any]:
        # A failed run committed nothing: its totals are zero, counts_json keeps the detail.
        c = self.counts if self.status == "completed" else Counter()
        return {
            "run_id": self.run_id,
            "flow_run_id": self.flow_run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "error": self.error,
            "sources": list(sources),
            "inputs_seen": c["inputs.seen"],
            "articles": c["written.articles"],
            "duplicates_document": sum(
                v for k, v in c.items() if k.startswith("duplicates.document.")
            ),
            "duplicates_paragraph": sum(
                v for k, v in c.items() if k.startswith("duplicates.paragraph.")
            ),
            "rejects": c["written.rejects"],
            "already_ingested": c["read.already_ingested"],
            "counts_json": json.dumps(dict(sorted(self.counts.items()))),
            "settings_json": json.dumps(asdict(settings), default=str),
            "newsmill_version": __version__,
            "run_date": self.started_at.date(),
        }


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _count_batch(
    summary: RunSummary,
    outputs: list[Any],
    articles: list[Any],
    duplicates: list[Any],
    rejects: list[Any],
    written: dict[str, int],
) -> None:
    for output in outputs:
        summary.counts.update(output.counts)
    summary.counts["written.articles"] += len(articles)
    summary.counts["written.rejects"] += len(rejects)
    for reject in rejects:
        summary.counts[f"rejects.{reject.reason.value}"] += 1
    for dup in duplicates:
        summary.counts[f"duplicates.document.{dup.method}"] += 1
    for doc in articles:
        summary.counts["duplicates.paragraph.exact"] += len(doc.dropped_paragraphs)
    summary.counts["written.paragraphs"] += written.get("paragraphs", 0)


def _process_shard(
    shard: Shard,
    settings: Settings,
    summary: RunSummary,
    extractor: HtmlExtractor,
    index: LakeIndex,
    writer: RunWriter,
    ctx: RunContext,
) -> None:
    # quote(): Prefect otherwise walks every argument looking for futures, ~0.2 ms per
    # document per task; batches are plain data, there is nothing in them to resolve.
    read = stages.read_shard(shard, settings.read, quote(index))
    extracted = stages.extract_html(quote(read.docs), extractor)
    cleaned = stages.clean_documents(quote(extracted.docs))
    unrepeated = stages.dedup_paragraphs(quote(cleaned.docs))
    fielded = stages.add_fields(quote(unrepeated.docs), ctx.started_at)
    articles, duplicates = stages.dedup_documents(quote(fielded.docs), quote(index))
    rejects = read.rejects + extracted.rejects + cleaned.rejects
    written = stages.stage_rows(
        writer, ctx, quote(articles), quote(duplicates), quote(rejects), quote(index)
    )
    summary.counts["inputs.seen"] += read.counts["read.total"]
    _count_batch(
        summary,
        [read, extracted, cleaned, unrepeated, fielded],
        articles,
        duplicates,
        rejects,
        written,
    )


@flow(
    name="newsmill", description="Raw news text → cleaned, deduplicated, partitioned Parquet lake."
)
def newsmill_flow(sources: list[str], settings: Settings) -> RunSummary:
    """Ingest SOURCES (files, folders, globs) into the lake named in `settings`."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    lake = Lake(settings.lake)
    summary = RunSummary(
        new_run_id(started), flow_run.get_id(), str(Path(settings.lake).resolve()), started
    )
    ctx = RunContext(summary.run_id, started, PIPELINE_VERSION)
    lake.ensure_writable()
    with lake.lock(summary.run_id):
        summary.recovered = lake.recover()
        for action in summary.recovered:
            logger.warning("lake recovery: %s", action)
        discovery = discover_sources(sources)
        lake_root = str(Path(settings.lake).resolve())
        files = [f for f in discovery.files if not f.path.startswith(lake_root + "/")]
        for argument in discovery.unmatched:
            logger.warning("source %r matched no file", argument)
        shards = plan_shards(files, settings.shard_bytes, settings.shard_max_files)
        logger.info(
            "run %s: %d files in %d shards → %s", summary.run_id, len(files), len(shards), lake.root
        )
        index = stages.load_lake_index(lake)
        writer = lake.start_run(summary.run_id, settings.write_buffer_rows)
        clock = time.monotonic()
        try:
            with HtmlExtractor(settings.extract) as extractor:
                for number, shard in enumerate(shards, start=1):
                    _process_shard(shard, settings, summary, extractor, index, writer, ctx)
                    rate = summary.counts["inputs.seen"] / max(time.monotonic() - clock, 1e-9)
                    logger.info(
                        "shard %d/%d: %d inputs, %d articles, %d rejects so far (%.0f inputs/s)",
                        number,
                        len(shards),
                        summary.counts["inputs.seen"],
                        summary.counts["written.articles"],
                        summary.counts["written.rejects"],
                        rate,
                    )
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
