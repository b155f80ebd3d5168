"""Dedup stage, exact methods: repeated paragraphs inside an article, and whole articles
whose normalised text is already kept (earlier in this run or in the lake).

Keys are computed on a normalised form (case, whitespace, quote and dash variants folded)
so copies that differ only in those still match; the kept text is never changed by it.
"""

import re
import unicodedata
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field, replace

import xxhash

from schemas.tables import ARTICLES, DUPLICATES, REJECTS
from tasks.lake import Lake
from tasks.records import (
    Document,
    DocumentDuplicate,
    ParagraphDuplicate,
    StageOutput,
    hash_text,
)

DEDUP_VERSION = "dedup_exact_v1"
_FOLD = {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-"}
_FOLDABLE = re.compile("[" + "".join(_FOLD) + "]")


def normalise_for_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if _FOLDABLE.search(text):
        # chained str.replace runs in C; str.translate and re.sub(callable) cost 10x more here
        for variant, plain in _FOLD.items():
            text = text.replace(variant, plain)
    return " ".join(text.casefold().split())


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
        hashes = doc.paragraph_hashes or [paragraph_hash(p) for p in doc.paragraphs]
        key = content_hash_of_paragraph_hashes(hashes)
        original = kept_by_hash.get(key)
        if original is None:
            kept_by_hash[key] = doc.doc_id
            kept.append(replace(doc, content_hash=key, paragraph_hashes=hashes))
        else:
            duplicates.append(DocumentDuplicate(doc, original, key))
    return kept, duplicates


def remove_repeated_paragraphs(doc: Document) -> Document:
    kept, hashes, dropped = dedup_paragraphs(doc.paragraphs)
    return replace(doc, paragraphs=kept, paragraph_hashes=hashes, dropped_paragraphs=dropped)


def input_key(source: str, input_hash: str | None) -> int:
    """Compact key of an input: same source and same raw content."""
    return xxhash.xxh3_64_intdigest(f"{source}\0{input_hash or ''}".encode())


@dataclass(slots=True)
class LakeIndex:
    """What earlier runs already hold: inputs seen, kept contents, latest doc per source."""

    known_inputs: set[int] = field(default_factory=set)
    kept_by_hash: dict[str, str] = field(default_factory=dict)
    latest_by_source: dict[str, str] = field(default_factory=dict)

    def is_known(self, source: str, input_hash: str | None) -> bool:
        return input_key(source, input_hash) in self.known_inputs

    def remember(self, source: str, input_hash: str | None) -> None:
        self.known_inputs.add(input_key(source, input_hash))


def load_lake_index(lake: Lake) -> LakeIndex:
    """Read only the key columns of the committed tables; no text is read."""
    index = LakeIndex()
    articles = lake.read_table(
        ARTICLES, ["doc_id", "source", "input_hash", "content_hash", "ingested_at"]
    )
    articles = articles.sort_by([("ingested_at", "ascending")])
    for doc_id, source, input_hash, key in zip(
        *(articles[c].to_pylist() for c in ("doc_id", "source", "input_hash", "content_hash")),
        strict=True,
    ):
        index.remember(source, input_hash)
        index.kept_by_hash.setdefault(key, doc_id)
        index.latest_by_source[source] = doc_id
    duplicates = lake.read_table(DUPLICATES, ["source", "input_hash", "level"])
    for source, input_hash, level in zip(
        *(duplicates[c].to_pylist() for c in ("source", "input_hash", "level")), strict=True
    ):
        if level == "document":
            index.remember(source, input_hash)
    rejects = lake.read_table(REJECTS, ["source", "input_hash"])
    for source, input_hash in zip(
        rejects["source"].to_pylist(), rejects["input_hash"].to_pylist(), strict=True
    ):
        index.remember(source, input_hash)
    return index


def skip_known_inputs(read: StageOutput, index: LakeIndex) -> tuple[StageOutput, int]:
    """Drop inputs an earlier run already accounted for (same source, same content)."""
    docs = [d for d in read.docs if not index.is_known(d.source, d.input_hash)]
    rejects = [r for r in read.rejects if not index.is_known(r.source, r.input_hash)]
    known = len(read.docs) + len(read.rejects) - len(docs) - len(rejects)
    return StageOutput(docs, rejects, {**read.counts, "read.already_ingested": known}), known
