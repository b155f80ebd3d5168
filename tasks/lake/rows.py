"""Records to table rows: the one place that maps stage output onto the `schemas/` columns."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from newsmill.schemas.tables import (
    ARTICLES,
    DUPLICATES,
    ENTITIES,
    INPUT_KEYS,
    MINHASH,
    PARAGRAPHS,
    QUOTES,
    REJECTS,
    SITE_PARAGRAPHS,
    UTC_TIMESTAMP,
)
from newsmill.tasks.dedup.exact import ExactCopy, content_key, input_key, source_key
from newsmill.tasks.dedup.near import NearDuplicate, RunSignatures, band_keys
from newsmill.tasks.records import Document, DocumentDuplicate, ParagraphDuplicate, Reject
from newsmill.tasks.text.words import count_paragraph_words
from newsmill.tasks.web.fetch import FetchResult


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    started_at: datetime
    pipeline_version: str

    @property
    def run_partition(self) -> dict[str, Any]:
        return {"run_date": self.started_at.date(), "run_id": self.run_id}


def _publication_partition(doc: Document, ctx: RunContext) -> dict[str, Any]:
    year, month = _year_month(doc, ctx)
    return {"year": year, "month": month, "partition_from_ingest": doc.published_at is None}


def _year_month(doc: Document, ctx: RunContext) -> tuple[int, int]:
    when = doc.published_at or ctx.started_at
    return when.year, when.month


def article_row(
    doc: Document, ctx: RunContext, supersedes: str | None, n_words: int
) -> dict[str, Any]:
    """`n_words`: the article's, from `count_paragraph_words`."""
    text = doc.text
    return {
        "doc_id": doc.doc_id,
        "source": doc.source,
        "source_kind": doc.source_kind,
        "input_hash": doc.input_hash,
        "external_id": doc.external_id,
        "url": doc.url,
        "domain": doc.domain,
        "site": doc.site,
        "site_name": doc.site_name,
        "title": doc.title,
        "author": doc.author,
        "published_at": doc.published_at,
        "published_raw": doc.published_raw,
        "language": doc.language,
        "language_score": doc.language_score,
        "text": text,
        "n_paragraphs": len(doc.paragraphs),
        "n_words": n_words,
        "content_hash": doc.content_hash,
        "encoding": doc.encoding,
        "mojibake_repaired": doc.mojibake_repaired,
        "extractor": doc.extractor,
        "pipeline_version": ctx.pipeline_version,
        "supersedes": supersedes,
        "run_id": ctx.run_id,
        "ingested_at": ctx.started_at,
        **_publication_partition(doc, ctx),
    }


def paragraph_rows(doc: Document, ctx: RunContext, n_words: list[int]) -> list[dict[str, Any]]:
    """`n_words`: each paragraph's, from `count_paragraph_words`."""
    doc_id, (year, month) = doc.doc_id, _year_month(doc, ctx)  # once: a doc_id is a hash
    return [
        {
            "doc_id": doc_id,
            "position": position,
            "text": text,
            "paragraph_hash": paragraph_hash,
            "n_words": words,
            "run_id": ctx.run_id,
            "year": year,
            "month": month,
        }
        for position, (text, paragraph_hash, words) in enumerate(
            zip(doc.paragraphs, doc.paragraph_hashes, n_words, strict=True)
        )
    ]


def entity_rows(doc: Document, ctx: RunContext) -> list[dict[str, Any]]:
    doc_id, (year, month) = doc.doc_id, _year_month(doc, ctx)
    per_entity: dict[tuple[str, str], list[int]] = {}
    for entity in doc.entities:
        per_entity.setdefault((entity.label, entity.canonical), []).append(entity.start)
    return [
        {
            "doc_id": doc_id,
            "text": entity.text,
            "canonical": entity.canonical,
            "label": entity.label,
            "start": entity.start,
            "end": entity.end,
            "role": entity.role or None,
            "mentions": len(per_entity[(entity.label, entity.canonical)]),
            "first_start": min(per_entity[(entity.label, entity.canonical)]),
            "rules_version": doc.mentions_version,
            "run_id": ctx.run_id,
            "year": year,
            "month": month,
        }
        for entity in doc.entities
    ]


def quote_rows(doc: Document, ctx: RunContext) -> list[dict[str, Any]]:
    doc_id, (year, month) = doc.doc_id, _year_month(doc, ctx)
    return [
        {
            "doc_id": doc_id,
            "quote": quote.quote,
            "speaker": quote.speaker,
            "speaker_mention": quote.speaker_mention,
            "verb": quote.verb,
            "start": quote.start,
            "end": quote.end,
            "rules_version": doc.mentions_version,
            "run_id": ctx.run_id,
            "year": year,
            "month": month,
        }
        for quote in doc.quotes
    ]


def paragraph_duplicate_rows(
    doc: Document, dropped: list[ParagraphDuplicate], ctx: RunContext, method: str = "exact"
) -> list[dict[str, Any]]:
    doc_id = doc.doc_id if dropped else ""
    return [
        {
            "source": doc.source,
            "input_hash": doc.input_hash,
            "doc_id": doc_id,
            "duplicate_of": doc_id,
            "level": "paragraph",
            "method": method,
            "similarity": 1.0,
            "position": d.position,
            "duplicate_of_position": d.duplicate_of_position,
            "content_hash": d.paragraph_hash,
            "cluster_id": None,
            **ctx.run_partition,
        }
        for d in dropped
    ]


def document_duplicate_row(dup: DocumentDuplicate, ctx: RunContext) -> dict[str, Any]:
    return {
        "source": dup.document.source,
        "input_hash": dup.document.input_hash,
        "doc_id": dup.document.doc_id,
        "duplicate_of": dup.duplicate_of,
        "level": "document",
        "method": dup.method,
        "similarity": dup.similarity,
        "position": None,
        "duplicate_of_position": None,
        "content_hash": dup.content_hash,
        "cluster_id": dup.duplicate_of,
        **ctx.run_partition,
    }


def _copy_row(
    staged: dict[str, Any],
    duplicate_of: str,
    method: str,
    similarity: float,
    cluster_id: str | None,
    ctx: RunContext,
) -> dict[str, Any]:
    """A document duplicate found after its shard was staged. `staged`: the copy's own
    `articles` row as staged (doc_id, source, input and content hash)."""
    return {
        "source": staged["source"],
        "input_hash": staged["input_hash"],
        "doc_id": staged["doc_id"],
        "duplicate_of": duplicate_of,
        "level": "document",
        "method": method,
        "similarity": similarity,
        "position": None,
        "duplicate_of_position": None,
        "content_hash": staged["content_hash"],
        "cluster_id": cluster_id,
        **ctx.run_partition,
    }


def near_duplicate_row(
    dup: NearDuplicate, staged: dict[str, Any], ctx: RunContext
) -> dict[str, Any]:
    return _copy_row(staged, dup.duplicate_of, "near", dup.similarity, dup.cluster_id, ctx)


def exact_copy_row(copy: ExactCopy, staged: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    return _copy_row(staged, copy.duplicate_of, "exact", 1.0, copy.duplicate_of, ctx)


def minhash_tables(run: RunSignatures, dropped: set[str], ctx: RunContext) -> Iterator[pa.Table]:
    """`minhash` rows of the articles this run keeps (near copies are not kept, so not
    stored), built from the signature arrays without a Python object per value."""
    settings = run.settings
    for doc_ids, signatures, published, words in run.iter_chunks():
        keep = np.array([d not in dropped for d in doc_ids], dtype=bool)
        if not keep.any():
            continue
        kept = signatures[keep]
        keys = band_keys(kept, settings)
        seconds = published[keep]
        yield pa.table(
            {
                "doc_id": pa.array([d for d, k in zip(doc_ids, keep.tolist(), strict=True) if k]),
                "signature": _list_array(kept, pa.uint16()),
                "band_keys": _list_array(keys, pa.uint64()),
                "published_at": pa.array(
                    np.nan_to_num(seconds * 1e6).astype(np.int64), mask=np.isnan(seconds)
                ).cast(UTC_TIMESTAMP),
                "n_words": pa.array(words[keep], pa.int32()),
                "kernel": pa.array([settings.kernel] * len(kept)),
                "run_id": pa.array([ctx.run_id] * len(kept)),
                "run_date": pa.array([ctx.started_at.date()] * len(kept), pa.date32()),
            },
            schema=MINHASH.schema,
        )


def _list_array(matrix: np.ndarray, value_type: pa.DataType) -> pa.ListArray:
    offsets = np.arange(0, matrix.size + 1, max(matrix.shape[1], 1), dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.ravel(), value_type))


def reject_row(reject: Reject, ctx: RunContext) -> dict[str, Any]:
    return {
        "source": reject.source,
        "line_number": reject.line_number,
        "input_hash": reject.input_hash,
        "stage": reject.stage,
        "reason": reject.reason.value,
        "detail": reject.detail,
        **ctx.run_partition,
    }


def fetch_row(
    result: FetchResult, url_key: int, record: str | None, ctx: RunContext
) -> dict[str, Any]:
    """The crawl log's row for one URL tried; a 304 keeps the validators it was asked with
    when it names none."""
    request, response = result.request, result.response
    etag = response.header("etag") if response else None
    last_modified = response.header("last-modified") if response else None
    if result.outcome == "not_modified":
        etag, last_modified = etag or request.etag, last_modified or request.last_modified
    return {
        "url": request.url,
        "url_key": url_key,
        "role": request.role,
        "found_in": request.found_in,
        "final_url": result.final_url if response else None,
        "status": response.status if response else None,
        "outcome": result.outcome,
        "reason": result.reason.value if result.reason else None,
        "detail": result.detail or None,
        "content_type": response.content_type or None if response else None,
        "body_bytes": len(response.body) if response else None,
        "etag": etag,
        "last_modified": last_modified,
        "attempts": result.attempts,
        "fetched_at": response.fetched_at if response else ctx.started_at,
        "record": record,
        **ctx.run_partition,
    }


def batch_rows(
    ctx: RunContext,
    articles: list[Document],
    duplicates: list[DocumentDuplicate],
    rejects: list[Reject],
    previous_versions: Mapping[str, str],
    word_counts: Sequence[tuple[list[int], int]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """All rows one batch adds, by table name; links each article to the source's previous
    version in the lake, if any (`previous_versions`: source -> doc_id). `word_counts`: each
    article's `count_paragraph_words`, when the caller has them."""
    rows: dict[str, list[dict[str, Any]]] = {
        ARTICLES.name: [],
        PARAGRAPHS.name: [],
        ENTITIES.name: [],
        QUOTES.name: [],
        DUPLICATES.name: [document_duplicate_row(d, ctx) for d in duplicates],
        REJECTS.name: [reject_row(r, ctx) for r in rejects],
    }
    if word_counts is None:
        word_counts = [count_paragraph_words(doc.paragraphs) for doc in articles]
    for doc, (per_paragraph, n_words) in zip(articles, word_counts, strict=True):
        rows[ARTICLES.name].append(
            article_row(doc, ctx, previous_versions.get(doc.source), n_words)
        )
        rows[PARAGRAPHS.name].extend(paragraph_rows(doc, ctx, per_paragraph))
        rows[ENTITIES.name].extend(entity_rows(doc, ctx))
        rows[QUOTES.name].extend(quote_rows(doc, ctx))
        rows[DUPLICATES.name].extend(paragraph_duplicate_rows(doc, doc.dropped_paragraphs, ctx))
        rows[DUPLICATES.name].extend(
            paragraph_duplicate_rows(doc, doc.boilerplate_paragraphs, ctx, method="boilerplate")
        )
    return rows


def _run_columns(ctx: RunContext, n: int) -> dict[str, pa.Array]:
    return {
        "run_id": pa.array([ctx.run_id] * n, pa.string()),
        "run_date": pa.array([ctx.started_at.date()] * n, pa.date32()),
    }


def input_keys_table(staged: pa.RecordBatch, ctx: RunContext, *, articles: bool) -> pa.Table:
    """`input_keys` rows of staged rows (source and input_hash columns; for articles also
    doc_id and content_hash): articles carry every key, other inputs only the input key."""
    n = staged.num_rows
    sources = staged["source"].to_pylist()
    inputs = zip(sources, staged["input_hash"].to_pylist(), strict=True)
    if articles:
        per_article = {
            "source_key": pa.array([source_key(s) for s in sources], pa.uint64()),
            "content_key": pa.array(
                [content_key(h) for h in staged["content_hash"].to_pylist()], pa.uint64()
            ),
            "doc_id": staged["doc_id"],
        }
    else:
        per_article = {
            "source_key": pa.nulls(n, pa.uint64()),
            "content_key": pa.nulls(n, pa.uint64()),
            "doc_id": pa.nulls(n, pa.string()),
        }
    return pa.table(
        {
            "input_key": pa.array([input_key(s, h) for s, h in inputs], pa.uint64()),
            **per_article,
            "ingested_at": pa.array([ctx.started_at] * n, UTC_TIMESTAMP),
            **_run_columns(ctx, n),
        },
        schema=INPUT_KEYS.schema,
    )


def site_paragraphs_table(in_run: Mapping[int, int], ctx: RunContext) -> pa.Table:
    """`site_paragraphs` rows: this run's article count per site paragraph key."""
    return pa.table(
        {
            "site_key": pa.array(np.fromiter(in_run.keys(), np.uint64, len(in_run))),
            "articles": pa.array(np.fromiter(in_run.values(), np.int32, len(in_run))),
            **_run_columns(ctx, len(in_run)),
        },
        schema=SITE_PARAGRAPHS.schema,
    )
