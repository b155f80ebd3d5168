"""Dedup stage, exact methods: repeated paragraphs inside an article, and whole articles
whose normalised text is already kept (earlier in this run or in the lake).

Keys are computed on a normalised form (case, whitespace, quote and dash variants folded)
so copies that differ only in those still match; the kept text is never changed by it.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from newsmill.schemas.tables import INPUT_KEYS
from newsmill.tasks.dedup.near import ArticleChunk, SignedArticle
from newsmill.tasks.idset import IdSet
from newsmill.tasks.lookup import NO_LAKE, Lookup
from newsmill.tasks.records import (
    Document,
    DocumentDuplicate,
    ParagraphDuplicate,
    StageOutput,
    hash_text,
)

# v2: an exact copy keeps pointing at the document with its content (`duplicate_of`) when
# that one is dropped as a near copy; `cluster_id` names the article kept for them all
DEDUP_VERSION = "dedup_exact_v2"
_FOLD = {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-"}
_FOLDABLE = re.compile("[" + "".join(_FOLD) + "]")


# What `str.split()` splits on but the plain space: whitespace ends at U+3000, the
# ideographic space (a test checks every code point).
LAST_WHITESPACE = 0x3000
_OTHER_WHITESPACE = re.compile(
    "["
    + re.escape(
        "".join(c for c in map(chr, range(LAST_WHITESPACE + 1)) if c.isspace() and c != " ")
    )
    + "]"
)


def normalise_for_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if _FOLDABLE.search(text):
        # chained str.replace runs in C; str.translate and re.sub(callable) cost 10x more here
        for variant, plain in _FOLD.items():
            text = text.replace(variant, plain)
    text = text.casefold()
    # a cleaned paragraph's words are one space apart already (NFKC can add spaces: "´" is
    # " ́"): tell that, ~4x faster than splitting and joining every word
    if "  " in text or text[:1] == " " or text[-1:] == " " or _OTHER_WHITESPACE.search(text):
        return " ".join(text.split())
    return text


def paragraph_hash(paragraph: str) -> str:
    return hash_text(normalise_for_key(paragraph))


def content_hash(paragraphs: Iterable[str]) -> str:
    """Exact-dedup key of an article: its normalised paragraphs, in order."""
    return content_hash_of_paragraph_hashes([paragraph_hash(p) for p in paragraphs])


def content_hash_of_paragraph_hashes(paragraph_hashes: Iterable[str]) -> str:
    return hash_text("\n".join(paragraph_hashes))


def dedup_paragraphs(
    paragraphs: list[str],
) -> tuple[list[str], list[str], list[ParagraphDuplicate]]:
    """Keep the first occurrence of each paragraph; report every later repeat.

    Returns the kept paragraphs, their hashes, and the repeats (with positions in the input).
    """
    first_position: dict[str, int] = {}
    kept: list[str] = []
    kept_hashes: list[str] = []
    dropped: list[ParagraphDuplicate] = []
    for position, paragraph in enumerate(paragraphs):
        key = paragraph_hash(paragraph)
        if key in first_position:
            dropped.append(ParagraphDuplicate(position, first_position[key], key))
        else:
            first_position[key] = position
            kept.append(paragraph)
            kept_hashes.append(key)
    return kept, kept_hashes, dropped


def dedup_documents(
    docs: Iterable[Document], kept_by_hash: MutableMapping[str, str]
) -> tuple[list[Document], list[DocumentDuplicate]]:
    """Split docs into new articles and exact duplicates of already-kept ones.

    `kept_by_hash` maps content hash to kept doc_id (seeded from the lake); new articles
    are added to it, so a later batch or run sees them.
    """
    kept: list[Document] = []
    duplicates: list[DocumentDuplicate] = []
    for doc in docs:
        keyed = doc if doc.content_hash else with_content_hash(doc)
        key = keyed.content_hash or ""
        original = kept_by_hash.get(key)
        if original is None:
            kept_by_hash[key] = doc.doc_id
            kept.append(keyed)
        else:
            duplicates.append(DocumentDuplicate(doc, original, key))
    return kept, duplicates


def with_content_hash(doc: Document) -> Document:
    """`doc` with its paragraph hashes and the content hash over them (the final text)."""
    hashes = doc.paragraph_hashes or [paragraph_hash(p) for p in doc.paragraphs]
    return replace(
        doc, paragraph_hashes=hashes, content_hash=content_hash_of_paragraph_hashes(hashes)
    )


def remove_repeated_paragraphs(doc: Document) -> Document:
    kept, hashes, dropped = dedup_paragraphs(doc.paragraphs)
    return replace(doc, paragraphs=kept, paragraph_hashes=hashes, dropped_paragraphs=dropped)


def input_key(source: str, input_hash: str | None) -> int:
    """Compact key of an input: same source and same raw content."""
    return xxhash.xxh3_64_intdigest(f"{source}\0{input_hash or ''}".encode())


def source_key(source: str) -> int:
    return xxhash.xxh3_64_intdigest(source.encode())


def content_key(content_hash: str) -> int:
    return int(content_hash, 16)


def _keys(values: Iterable[int]) -> np.ndarray:
    return np.fromiter(values, dtype=np.uint64)


class LakeIndex:
    """A run's exact-dedup state: the lake's `input_keys` rows for the keys this run meets,
    looked up batch by batch, plus this run's own articles.

    Memory and time grow with the run, not with the lake: nothing is loaded up front.
    """

    def __init__(self, lake: Lookup = NO_LAKE) -> None:
        self._lake = lake
        # content hash -> kept doc_id: this run's articles, and the lake's ones it has met
        self.kept_by_hash: dict[str, str] = {}

    def _look_up(self, column: str, keys: np.ndarray, columns: list[str]) -> pa.Table:
        return self._lake.look_up(INPUT_KEYS, column, keys, columns)

    def known_inputs(self, inputs: Iterable[tuple[str, str | None]]) -> set[int]:
        """Keys of those (source, input hash) pairs that an earlier run accounted for."""
        keys = _keys(input_key(source, input_hash) for source, input_hash in inputs)
        return set(self._look_up("input_key", keys, ["input_key"])["input_key"].to_pylist())

    def meet_contents(self, content_hashes: Iterable[str]) -> None:
        """Add the lake's articles with any of these contents to `kept_by_hash`."""
        wanted = {content_key(h): h for h in content_hashes if h not in self.kept_by_hash}
        found = self._look_up(
            "content_key", _keys(wanted), ["content_key", "doc_id", "ingested_at"]
        ).sort_by([("ingested_at", "ascending"), ("doc_id", "ascending")])
        for key, doc_id in zip(
            found["content_key"].to_pylist(), found["doc_id"].to_pylist(), strict=True
        ):
            self.kept_by_hash.setdefault(wanted[key], doc_id)

    def latest_articles(self, sources: Iterable[str]) -> dict[str, str]:
        """Source -> its most recent article in the lake, for those sources that have one."""
        wanted = {source_key(s): s for s in sources}
        found = self._look_up(
            "source_key", _keys(wanted), ["source_key", "doc_id", "ingested_at"]
        ).sort_by([("ingested_at", "ascending"), ("doc_id", "ascending")])
        return {
            wanted[key]: doc_id
            for key, doc_id in zip(
                found["source_key"].to_pylist(), found["doc_id"].to_pylist(), strict=True
            )
        }


def skip_known_inputs(read: StageOutput, index: LakeIndex) -> tuple[StageOutput, int]:
    """Drop inputs an earlier run already accounted for (same source, same content)."""
    known = index.known_inputs(
        [(d.source, d.input_hash) for d in read.docs]
        + [(r.source, r.input_hash) for r in read.rejects]
    )
    docs = [d for d in read.docs if input_key(d.source, d.input_hash) not in known]
    rejects = [r for r in read.rejects if input_key(r.source, r.input_hash) not in known]
    skipped = len(read.docs) + len(read.rejects) - len(docs) - len(rejects)
    return StageOutput(docs, rejects, {**read.counts, "read.already_ingested": skipped}), skipped


def dedup_against(
    docs: list[Document], index: LakeIndex
) -> tuple[list[Document], list[DocumentDuplicate]]:
    """`dedup_documents` against this run's articles and the lake's ones with the same content."""
    keyed = [with_content_hash(d) for d in docs]
    index.meet_contents(d.content_hash or "" for d in keyed)
    return dedup_documents(keyed, index.kept_by_hash)


@dataclass(frozen=True, slots=True)
class ExactCopy:
    article: SignedArticle
    duplicate_of: str
    content_hash: str


class ExactAcrossShards:
    """Exact copies between shards of one run: the first shard (in shard order) to keep a
    content keeps it; a later shard's article with that content becomes its duplicate."""

    def __init__(self) -> None:
        self._kept_by_hash: dict[str, str] = {}
        self.copies: list[ExactCopy] = []

    def admit(self, articles: ArticleChunk) -> tuple[ArticleChunk, list[ExactCopy]]:
        """The articles that stay, and the copies found among them."""
        copies: list[ExactCopy] = []
        keep = np.ones(len(articles), dtype=bool)
        for i, (doc_id, content_hash) in enumerate(
            zip(articles.doc_ids, articles.content_hashes, strict=True)
        ):
            original = self._kept_by_hash.setdefault(content_hash, doc_id)
            if original != doc_id:
                keep[i] = False
                copies.append(ExactCopy(articles.article(i), original, content_hash))
        self.copies.extend(copies)
        return (articles if keep.all() else articles.select(keep)), copies


def resolve_chains(replaced_by: dict[str, str]) -> dict[str, str]:
    """Each dropped document -> the kept one at the end of its chain (a copy of a copy of a
    near copy ends at the near copy's canonical): the `cluster_id` of its rows."""
    resolved: dict[str, str] = {}
    for start in replaced_by:
        target, seen = replaced_by[start], {start}
        while target in replaced_by and target not in seen:
            seen.add(target)
            target = replaced_by[target]
        resolved[start] = target
    return resolved


RowFilter = Callable[[pa.RecordBatch], pa.RecordBatch]


def without_dropped(replaced_by: dict[str, str]) -> RowFilter | None:
    """The rows of a run's staged tables once copies are dropped (for `RunWriter.merge_parts`;
    None when nothing was dropped): every row of a dropped document goes, with its
    paragraph-level duplicates; its document-level duplicate row is its audit trail and
    stays. `duplicate_of` keeps naming the document copied (which may be a dropped one, in
    `duplicates`), and `cluster_id` names the article kept in its place."""
    if not replaced_by:
        return None
    doomed = IdSet(replaced_by)

    def kept(batch: pa.RecordBatch) -> pa.RecordBatch:
        if "doc_id" not in batch.schema.names:
            return batch
        drop = doomed.mask(batch["doc_id"])
        if "level" in batch.schema.names:
            drop = pc.and_(drop, pc.equal(batch["level"], "paragraph"))
        batch = batch.filter(pc.invert(drop))
        return _reclustered(batch, replaced_by) if "cluster_id" in batch.schema.names else batch

    return kept


def _reclustered(batch: pa.RecordBatch, replaced_by: dict[str, str]) -> pa.RecordBatch:
    column = batch.schema.get_field_index("cluster_id")
    clusters = batch.column(column).to_pylist()
    if not any(c in replaced_by for c in clusters):
        return batch
    kept_instead = pa.array([replaced_by.get(c, c) for c in clusters], pa.string())
    return batch.set_column(column, batch.schema.field(column), kept_instead)
