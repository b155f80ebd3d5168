"""Thin Prefect task wrappers: each runs one stage's pure function over a batch.

No logic lives here; see the matching module in `tasks/`. Results stay in memory (no
caching, no persistence): batches are passed along, and the lake is written by the writer.
"""

from datetime import datetime
from functools import partial

import pyarrow.compute as pc
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.tables import (
    ARTICLES,
    DUPLICATES,
    INPUT_KEYS,
    MINHASH,
    PARAGRAPHS,
    REJECTS,
    SITE_PARAGRAPHS,
    TABLES,
)
from tasks import boilerplate, clean, dedup, fields, neardup, read, rows
from tasks.extract import HtmlExtractor
from tasks.lake import Lake, RunWriter
from tasks.records import ShardBatch, run_stage
from tasks.sources import Shard


@task(name="read", cache_policy=NO_CACHE)
def read_shard(
    batch: ShardBatch, shard: Shard, settings: read.ReadSettings, index: dedup.LakeIndex
) -> None:
    batch.apply(dedup.skip_known_inputs(read.read_shard(shard, settings), index)[0])


@task(name="extract-html", cache_policy=NO_CACHE)
def extract_html(batch: ShardBatch, extractor: HtmlExtractor) -> None:
    batch.apply(extractor.extract_documents(batch.docs))


@task(name="clean", cache_policy=NO_CACHE)
def clean_documents(batch: ShardBatch) -> None:
    batch.apply(run_stage("clean", batch.docs, clean.clean_document))


@task(name="dedup-paragraphs", cache_policy=NO_CACHE)
def dedup_paragraphs(batch: ShardBatch) -> None:
    batch.apply(run_stage("dedup_paragraphs", batch.docs, dedup.remove_repeated_paragraphs))


@task(name="fields", cache_policy=NO_CACHE)
def add_fields(batch: ShardBatch, now: datetime, settings: fields.FieldSettings) -> None:
    step = partial(fields.add_fields, now=now, settings=settings)
    batch.apply(run_stage("fields", batch.docs, step))


@task(name="remove-boilerplate", cache_policy=NO_CACHE)
def remove_boilerplate(
    batch: ShardBatch,
    counts: boilerplate.SiteParagraphCounts,
    settings: boilerplate.BoilerplateSettings,
) -> None:
    counts.meet(k for doc in batch.docs for _, k in boilerplate.short_paragraph_keys(doc, settings))
    step = partial(boilerplate.remove_boilerplate, counts=counts, settings=settings)
    batch.apply(run_stage("boilerplate", batch.docs, step))


@task(name="dedup-documents", cache_policy=NO_CACHE)
def dedup_documents(batch: ShardBatch, index: dedup.LakeIndex) -> None:
    batch.docs, batch.duplicates = dedup.dedup_against(batch.docs, index)


@task(name="stage-rows", cache_policy=NO_CACHE)
def stage_rows(
    writer: RunWriter, ctx: rows.RunContext, batch: ShardBatch, index: dedup.LakeIndex
) -> None:
    """Write a batch's rows to the run's staging area."""
    previous = index.latest_articles(doc.source for doc in batch.docs)
    table_rows = rows.batch_rows(ctx, batch.docs, batch.duplicates, batch.rejects, previous)
    for table, these in table_rows.items():
        writer.write(TABLES[table], these)


@task(name="sign-articles", cache_policy=NO_CACHE)
def sign_articles(batch: ShardBatch, signatures: neardup.RunSignatures) -> None:
    signatures.add(batch.docs)


@task(name="near-dedup", cache_policy=NO_CACHE)
def find_near_duplicates(
    signatures: neardup.RunSignatures, lake: Lake
) -> list[neardup.NearDuplicate]:
    related = lake.related_signatures(
        neardup.band_keys(chunk, signatures.settings) for chunk in signatures.chunks
    )
    return neardup.decide_near_duplicates(
        signatures, neardup.lake_signatures(related, signatures.settings.num_perm)
    )


@task(name="stage-near-duplicates", cache_policy=NO_CACHE)
def stage_near_duplicates(
    writer: RunWriter,
    ctx: rows.RunContext,
    signatures: neardup.RunSignatures,
    near: list[neardup.NearDuplicate],
) -> None:
    """Record near copies, keep the signatures of what stays, drop the copies' staged rows."""
    dropped = {d.article.doc_id: d.duplicate_of for d in near}
    columns = ["doc_id", "source", "input_hash", "content_hash"]
    staged = {r["doc_id"]: r for r in writer.read_staged(ARTICLES, set(dropped), columns)}
    writer.write(
        DUPLICATES, [rows.near_duplicate_row(d, staged[d.article.doc_id], ctx) for d in near]
    )
    for table in rows.minhash_tables(signatures, set(dropped), ctx):
        writer.write_table(MINHASH, table)
    writer.drop_documents(dropped, (ARTICLES, PARAGRAPHS, DUPLICATES))


@task(name="stage-dedup-state", cache_policy=NO_CACHE)
def stage_dedup_state(
    writer: RunWriter, ctx: rows.RunContext, site_counts: boilerplate.SiteParagraphCounts
) -> None:
    """Write what later runs look up instead of loading the lake: the input keys of all
    the run staged (after near copies were dropped), and its site paragraph counts."""
    articles = writer.iter_staged(ARTICLES, ["doc_id", "source", "input_hash", "content_hash"])
    for staged in articles:
        writer.write_table(INPUT_KEYS, rows.input_keys_table(staged, ctx, articles=True))
    for staged in writer.iter_staged(DUPLICATES, ["source", "input_hash", "level"]):
        documents = staged.filter(pc.equal(staged["level"], "document"))
        writer.write_table(INPUT_KEYS, rows.input_keys_table(documents, ctx, articles=False))
    for staged in writer.iter_staged(REJECTS, ["source", "input_hash"]):
        writer.write_table(INPUT_KEYS, rows.input_keys_table(staged, ctx, articles=False))
    writer.write_table(SITE_PARAGRAPHS, rows.site_paragraphs_table(site_counts.in_run, ctx))
