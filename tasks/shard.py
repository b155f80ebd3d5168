"""One shard, start to staged rows: read → extract HTML → clean → dedup paragraphs →
fields → site boilerplate → exact dedup → rows in the run's staging area.

This is the unit of parallel work: it needs only the shard, the committed lake (read-only
lookups) and the run context, so any process can run it, and it returns what the run-level
steps need (exact keys, signatures, counts) without any text. Shards are planned without
regard to the number of workers, and the flow takes their results in shard order, so the
tables do not depend on how many processes ran them.

Boilerplate and exact dedup see the lake and this shard; the flow then settles exact
copies between shards (`exact.ExactAcrossShards`) and near copies across the whole run.
"""

import functools
import importlib
import multiprocessing.util
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import REJECTS, TABLES
from newsmill.tasks.dedup import exact
from newsmill.tasks.dedup.near import ArticleChunk, NearDupSettings, article_chunk
from newsmill.tasks.ingest import read
from newsmill.tasks.ingest.extract import ExtractSettings, HtmlExtractor
from newsmill.tasks.ingest.read import ReadSettings
from newsmill.tasks.ingest.sources import FilePart, Shard
from newsmill.tasks.lake import rows
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.lake.runs import reject_counts, shard_counts
from newsmill.tasks.mentions import speakers
from newsmill.tasks.mentions.lexicon import plain_words
from newsmill.tasks.mentions.speakers import MentionSettings
from newsmill.tasks.records import Document, Reject, ShardBatch, StageClock, StageOutput, run_stage
from newsmill.tasks.setting import setting
from newsmill.tasks.text import boilerplate, clean, fields
from newsmill.tasks.text.boilerplate import BoilerplateSettings, SiteParagraphCounts
from newsmill.tasks.text.fields import FieldSettings
from newsmill.tasks.text.words import count_paragraph_words


@dataclass(frozen=True, slots=True)
class ShardSettings:
    read: ReadSettings = field(default_factory=ReadSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    fields: FieldSettings = field(default_factory=FieldSettings)
    boilerplate: BoilerplateSettings = field(default_factory=BoilerplateSettings)
    near: NearDupSettings = field(default_factory=NearDupSettings)
    mentions: MentionSettings = field(default_factory=MentionSettings)
    document_timeout_s: float = setting(
        20.0,
        "Time limit per document in the clean and in the mentions stage (extraction has extract_timeout_s); a document over it is rejected as clean_timeout or mentions_timeout.",
        unit="s",
    )
    write_buffer_rows: int = setting(
        20_000,
        "Rows buffered in memory before they are written to the run's staging files.",
        unit="rows",
        shapes_output=False,
    )


@dataclass(slots=True)
class ShardResult:
    index: int  # the shard's
    files: list[str]  # staged files, relative to the run's staging folder
    counts: Counter[str]
    articles: ArticleChunk  # the shard's kept articles
    site_counts: dict[int, int]  # short paragraphs met, for the `site_paragraphs` state


@functools.cache
def shared_extractor(settings: ExtractSettings) -> HtmlExtractor:
    """One extraction pool per process and settings, started on the first HTML page and
    stopped when the process exits: starting it per shard would cost ~1 s each.

    A multiprocessing finalizer, not `atexit`: a worker process joins its own children
    (this pool's processes) before `atexit` handlers run, and would wait for them forever.
    """
    extractor = HtmlExtractor(settings)
    multiprocessing.util.Finalize(None, extractor.close, exitpriority=10)
    return extractor


def process_shard(
    shard: Shard, lake_root: str, ctx: RunContext, settings: ShardSettings
) -> ShardResult:
    """Run every per-document stage over one shard, one read batch at a time, and stage its
    rows (file names carry the shard number, so shards can stage at once)."""
    lake = Lake(lake_root)
    index = exact.LakeIndex(lake)
    site_counts = SiteParagraphCounts(lake)
    writer = lake.start_run(ctx.run_id, settings.write_buffer_rows, part=f"{shard.index:06d}")
    counts: Counter[str] = Counter()
    articles: list[ArticleChunk] = []
    clock = StageClock()
    batches = read.read_shard_batches(shard, settings.read)
    while True:
        with clock("read"):
            read_batch = next(batches, None)
        if read_batch is None:
            break
        batch = _through_stages(read_batch, index, site_counts, ctx, settings, clock)
        with clock("write"):
            words = [count_paragraph_words(doc.paragraphs) for doc in batch.docs]
            previous = index.latest_articles(doc.source for doc in batch.docs)
            for table, these in rows.batch_rows(
                ctx, batch.docs, batch.duplicates, batch.rejects, previous, words
            ).items():
                writer.write(TABLES[table], these)
        counts.update(shard_counts(batch))
        with clock("sign"):
            n_words = [total for _, total in words]
            articles.append(article_chunk(batch.docs, settings.near, n_words))
    with clock("write"):
        files = writer.close()
    counts.update(clock.counts)
    return ShardResult(
        shard.index, files, counts, ArticleChunk.joined(articles), site_counts.in_run
    )


def _through_stages(
    read_batch: StageOutput,
    index: exact.LakeIndex,
    site_counts: SiteParagraphCounts,
    ctx: RunContext,
    settings: ShardSettings,
    clock: StageClock,
) -> ShardBatch:
    batch = ShardBatch()
    with clock("dedup"):
        batch.apply(exact.skip_known_inputs(read_batch, index)[0])
    with clock("extract"):
        batch.apply(shared_extractor(settings.extract).extract_documents(batch.docs))
    limit = settings.document_timeout_s
    with clock("clean"):
        batch.apply(run_stage("clean", batch.docs, clean.clean_document, limit))
    with clock("dedup"):
        batch.apply(run_stage("dedup_paragraphs", batch.docs, exact.remove_repeated_paragraphs))
    with clock("fields"):
        batch.apply(fields.add_fields_to_batch(batch.docs, ctx.started_at, settings.fields))
    with clock("boilerplate"):
        _remove_boilerplate(batch, site_counts, settings)
    # after boilerplate: offsets index the article's final text
    add_mentions = functools.partial(speakers.add_mentions, settings=settings.mentions)
    with clock("mentions"):
        batch.apply(run_stage("mentions", batch.docs, add_mentions, limit))
    with clock("dedup"):
        batch.docs, batch.duplicates = exact.dedup_against(batch.docs, index)
    return batch


_WARM_UP_PAGE = """<html lang="en"><head><title>Council approves budget</title></head><body>
<article><h1>Council approves budget</h1><p>The city council in Port Alder approved the budget
on Tuesday after a long debate about transport, schools and the harbour.</p>
<p>"We listened to everyone," Mayor Anna Lindqvist said at the Reuters office in London.</p>
</article></body></html>"""
_WARM_UP_TEXT = """The city council in Port Alder approved the budget on Tuesday after a long debate.

"We listened to everyone," Mayor Anna Lindqvist said at the Reuters office in London."""


def warm_up(settings: ShardSettings, now: datetime) -> None:
    """Start the extraction processes on one small page, then `load_stage_state`, dropping
    the results (~2 s), so a caller can do it while it waits for something else (Prefect
    starting)."""
    doc = Document(source="warm-up", input_hash="0", source_kind="html", body=_WARM_UP_PAGE)
    shared_extractor(settings.extract).extract_documents([doc])
    load_stage_state(settings, now)


def load_stage_state(settings: ShardSettings, now: datetime) -> None:
    """Run one short text through the stages after extraction and drop the result: it loads
    the word lists, the Public Suffix List and Arrow's Acero, and maps the language model
    (~0.3 s; ~0.8 s more on a machine whose model cache is not written yet) and starts no
    process or thread, so a forkserver can do it once for all the workers it forks."""
    # a URL: its site is read with the Public Suffix List, which loads at the first (~20 ms)
    url = "https://news.example.co.uk/warm-up"
    docs = [
        Document(source="warm-up", input_hash="0", source_kind="text", body=_WARM_UP_TEXT, url=url)
    ]
    docs = run_stage("clean", docs, clean.clean_document).docs
    docs = fields.add_fields_to_batch(docs, now, settings.fields).docs
    run_stage(
        "mentions", docs, functools.partial(speakers.add_mentions, settings=settings.mentions)
    )
    plain_words()  # the one word list the text above does not reach (~25 ms)
    # counting boilerplate and the lake's writer group rows with Arrow's Acero, which
    # imports itself at its first use (~140 ms)
    importlib.import_module("pyarrow.acero")


def _remove_boilerplate(
    batch: ShardBatch, site_counts: SiteParagraphCounts, settings: ShardSettings
) -> None:
    if settings.boilerplate.boilerplate_min_articles > 0:
        site_counts.meet(
            key
            for doc in batch.docs
            for _, key in boilerplate.short_paragraph_keys(doc, settings.boilerplate)
        )
        remove = functools.partial(
            boilerplate.remove_boilerplate, counts=site_counts, settings=settings.boilerplate
        )
        batch.apply(run_stage("boilerplate", batch.docs, remove))


def failed_shard(
    shard: Shard, lake_root: str, ctx: RunContext, settings: ShardSettings, error: str
) -> ShardResult:
    """Stage a `shard_failed` reject for each part of a shard that failed on every try, so
    its inputs are accounted for and the run goes on."""
    rejects = [
        Reject(
            source=part.file.source_name,
            reason=Reason.SHARD_FAILED,
            detail=f"{_part_description(part)} failed on every try: {error}",
            line_number=part.first_line if part.end is not None else None,
        )
        for part in shard.parts
    ]
    writer = Lake(lake_root).start_run(ctx.run_id, part=f"{shard.index:06d}")
    writer.write(REJECTS, [rows.reject_row(r, ctx) for r in rejects])
    counts = reject_counts(rejects)
    counts["shards.failed"] += 1
    return ShardResult(shard.index, writer.close(), counts, ArticleChunk.joined([]), {})


def _part_description(part: FilePart) -> str:
    if part.end is None:
        return "the file"
    return f"bytes {part.start}-{part.end} (from line {part.first_line}) of the file"
