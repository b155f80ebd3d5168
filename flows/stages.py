"""Thin Prefect task wrappers: each runs one step's pure functions.

No logic lives here; see the matching modules in `tasks/`. `process-shard` is the unit of
parallel work (a worker process, or a Dask or Ray worker, runs it); the others are the
run-level steps the flow runs once, over keys and signatures rather than texts. Results
stay in memory (no caching, no persistence); the lake is written through the run's writers.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from newsmill.flows.progress import ui_logger
from newsmill.schemas.tables import (
    ARTICLES,
    DUPLICATES,
    INPUT_KEYS,
    MINHASH,
    REJECTS,
    SITE_PARAGRAPHS,
)
from newsmill.tasks import shard
from newsmill.tasks.dedup.exact import ExactCopy, resolve_chains, without_dropped
from newsmill.tasks.dedup.near import (
    NearDuplicate,
    RunSignatures,
    band_keys,
    decide_near_duplicates,
    lake_signatures,
)
from newsmill.tasks.errors import is_transient
from newsmill.tasks.ingest.sources import Shard
from newsmill.tasks.lake import catalog, rows
from newsmill.tasks.lake.lake import MERGED_TABLES, Lake, RunWriter
from newsmill.tasks.lake.runs import RunSummary, stage_times
from newsmill.tasks.web import crawl
from newsmill.tasks.web.discover import WebSources
from newsmill.tasks.web.fetch import FetchSettings


def retry_if_transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn` of a shard: try again only what may pass when tried again (a
    failed state's data is the exception the task raised)."""
    return isinstance(state.data, BaseException) and is_transient(state.data)


@task(name="fetch-web", cache_policy=NO_CACHE)
def crawl_web(
    web: WebSources, lake: Lake, ctx: rows.RunContext, settings: FetchSettings, roll_bytes: int
) -> crawl.CrawlResult:
    return crawl.crawl(web, lake, ctx, settings, roll_bytes, log=get_run_logger().info)


@task(name="process-shard", cache_policy=NO_CACHE)
def process_shard(
    work: Shard, lake_root: str, ctx: rows.RunContext, settings: shard.ShardSettings
) -> shard.ShardResult:
    result = shard.process_shard(work, lake_root, ctx, settings)
    c = result.counts
    duplicates = sum(v for k, v in c.items() if k.startswith("duplicates.document."))
    ui_logger().info(
        "%d inputs → %d articles, %d document duplicates, %d rejects (%s); time per stage: %s",
        c["inputs.seen"],
        c["written.articles"],
        duplicates,
        c["written.rejects"],
        ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k.startswith("rejects.")) or "-",
        stage_times(c),
    )
    return result


@task(name="near-dedup", cache_policy=NO_CACHE)
def find_near_duplicates(signatures: RunSignatures, lake: Lake) -> list[NearDuplicate]:
    related = lake.related_signatures(
        band_keys(chunk, signatures.settings) for chunk in signatures.chunks
    )
    return decide_near_duplicates(
        signatures, lake_signatures(related, signatures.settings.num_perm)
    )


@task(name="stage-duplicates", cache_policy=NO_CACHE)
def stage_document_duplicates(
    writer: RunWriter,
    ctx: rows.RunContext,
    exact: list[ExactCopy],
    near: list[NearDuplicate],
    signatures: RunSignatures | None,
) -> None:
    """Record the copies found across shards (exact) and across the run (near), keep the
    signatures of what stays, drop the copies' staged rows, and merge the shards' files."""
    dropped = {c.article.doc_id: c.duplicate_of for c in exact}
    dropped |= {d.article.doc_id: d.cluster_id for d in near}
    columns = ["doc_id", "source", "input_hash", "content_hash"]
    staged = {r["doc_id"]: r for r in writer.read_staged(ARTICLES, set(dropped), columns)}
    writer.write(
        DUPLICATES,
        [rows.exact_copy_row(c, staged[c.article.doc_id], ctx) for c in exact]
        + [rows.near_duplicate_row(d, staged[d.article.doc_id], ctx) for d in near],
    )
    if signatures is not None:
        for table in rows.minhash_tables(signatures, set(dropped), ctx):
            writer.write_table(MINHASH, table)
    writer.merge_parts(MERGED_TABLES, without_dropped(resolve_chains(dropped)))


@task(name="refresh-catalog", cache_policy=NO_CACHE)
def refresh_catalog(lake: Lake, named: str) -> str | None:
    """Write the `named` catalog file, or else rewrite the lake's default one if `newsmill
    catalog` made it, so BI tools see the tables as they are now. The run is committed by
    now: a refresh that fails, for whatever reason, is logged and the run stays completed."""
    if named:
        path = Path(named)
        if path.exists() and catalog.catalog_lake(path) is None:
            get_run_logger().error("catalog %s not written: the file is not a catalog", path)
            return None
    elif lake.local_root is None or not (path := catalog.default_catalog_path(lake)).exists():
        return None
    elif catalog.catalog_lake(path) != lake.root:
        return None  # another lake's catalog beside this one, or not a catalog: left alone
    try:
        catalog.write_catalog(lake, path)
    except Exception:
        get_run_logger().exception("catalog %s not refreshed", path)
        return None
    return str(path)


@task(name="write-report", cache_policy=NO_CACHE)
def write_report(lake: Lake, summary: RunSummary, seconds: float) -> str | None:
    """The run's HTML report. The run is committed by now: a report that fails, for
    whatever reason, is logged with its traceback and the run stays completed."""
    from newsmill.flows.html_report import write_run_report

    try:
        return write_run_report(lake, summary, seconds)
    except Exception:
        get_run_logger().exception("the run report was not written")
        return None


@task(name="stage-dedup-state", cache_policy=NO_CACHE)
def stage_dedup_state(
    writer: RunWriter, ctx: rows.RunContext, site_counts: Mapping[int, int]
) -> None:
    """Write what later runs look up instead of loading the lake: the input keys of all
    the run staged (after copies were dropped), and its site paragraph counts."""
    articles = writer.iter_staged(ARTICLES, ["doc_id", "source", "input_hash", "content_hash"])
    for staged in articles:
        writer.write_table(INPUT_KEYS, rows.input_keys_table(staged, ctx, articles=True))
    for staged in writer.iter_staged(DUPLICATES, ["source", "input_hash", "level"]):
        documents = staged.filter(pc.equal(staged["level"], "document"))
        writer.write_table(INPUT_KEYS, rows.input_keys_table(documents, ctx, articles=False))
    for staged in writer.iter_staged(REJECTS, ["source", "input_hash", "reason"]):
        # an input that met a bug is not remembered: a later newsmill tries it again
        retried = pc.ends_with(staged["reason"], "_unexpected")
        kept = staged.filter(pc.invert(retried))
        writer.write_table(INPUT_KEYS, rows.input_keys_table(kept, ctx, articles=False))
    writer.write_table(SITE_PARAGRAPHS, rows.site_paragraphs_table(site_counts, ctx))
