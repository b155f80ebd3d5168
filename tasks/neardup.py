"""Near-duplicate articles: MinHash over word shingles, LSH banding, verification, clusters.

Phases, each a plain function:
    compute_signatures → band_keys → find_candidates → verify_pairs → cluster → choose_canonical

The kernel is rensa's RMinHash (measured here on 4,000 news articles: 86k signatures/s
per core once the shingles exist; building the shingles in Python, ~8k docs/s, is the
real cost; datasketch managed 2.5k/s and a vectorised numpy kernel 2.4k/s).

Only signatures and band keys are needed to compare articles, so the state kept in the
lake (`minhash` table) lets a later run find copies without re-reading any text.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version

import numpy as np
import pyarrow as pa
import rensa

from tasks.records import Document

NEAR_DUP_VERSION = "near_minhash_v1"
_WORD = re.compile(r"\w+")
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, slots=True)
class NearDupSettings:
    near_dedup: bool = True
    shingle_words: int = 5
    num_perm: int = 128
    bands: int = 32
    near_threshold: float = 0.5
    minhash_seed: int = 1

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands

    @property
    def kernel(self) -> str:
        return (
            f"{NEAR_DUP_VERSION};rensa {version('rensa')};k={self.shingle_words};"
            f"perm={self.num_perm};bands={self.bands};seed={self.minhash_seed}"
        )


def shingles(text: str, size: int) -> list[str]:
    """Word `size`-grams of the case-folded text; a text shorter than that is one shingle."""
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


def compute_signatures(texts: Sequence[str], settings: NearDupSettings) -> np.ndarray:
    """One MinHash signature per text, as rows of a (n, num_perm) uint32 matrix.

    A text without a single word gets an all-max row, which bands never match.
    """
    signatures = np.full((len(texts), settings.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    for row, text in enumerate(texts):
        items = shingles(text, settings.shingle_words)
        if items:
            minhash = rensa.RMinHash(settings.num_perm, settings.minhash_seed)
            minhash.update(items)
            signatures[row] = minhash.digest()
    return signatures


def band_keys(signatures: np.ndarray, settings: NearDupSettings) -> np.ndarray:
    """(n, bands) uint64 keys: rows of a band hashed together, the band number mixed in."""
    n = signatures.shape[0]
    rows = signatures[:, : settings.bands * settings.rows_per_band].astype(np.uint64)
    rows = rows.reshape(n, settings.bands, settings.rows_per_band)
    keys = np.zeros((n, settings.bands), dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around multiplication is the hash
        for column in range(settings.rows_per_band):
            keys = (keys ^ rows[:, :, column]) * _BAND_MIX
        keys ^= np.arange(settings.bands, dtype=np.uint64) * _BAND_MIX
    empty = (signatures == np.iinfo(np.uint32).max).all(axis=1)
    keys[empty] = 0  # never stored, never matched
    return keys


def find_candidates(keys: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, of rows sharing at least one band key.

    Sort-based and band by band, so memory stays O(rows): in a bucket of m rows only m-1
    pairs (each row with the bucket's first) are emitted; clustering connects the rest
    transitively, and a bucket of many exact copies costs m, not m².
    """
    found = [_bucket_pairs(keys[:, band]) for band in range(keys.shape[1])]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def _bucket_pairs(column: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(column)  # key 0: an empty text, never matched
    if len(rows) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = rows[np.argsort(column[rows], kind="stable")]
    keys = column[order]
    same_as_previous = np.r_[False, keys[1:] == keys[:-1]]
    bucket_start = np.maximum.accumulate(np.where(same_as_previous, 0, np.arange(len(order))))
    first = order[bucket_start][same_as_previous]
    member = order[same_as_previous]
    return np.sort(np.stack([first, member], axis=1), axis=1).astype(np.int64)


def estimate_similarity(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of each pair: the share of signature positions that agree."""
    if not len(pairs):
        return np.zeros(0, dtype=np.float32)
    agree = signatures[pairs[:, 0]] == signatures[pairs[:, 1]]
    return agree.mean(axis=1).astype(np.float32)


def verify_pairs(
    signatures: np.ndarray, pairs: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs whose estimated Jaccard reaches the threshold, with it."""
    similarity = estimate_similarity(signatures, pairs)
    keep = similarity >= threshold
    return pairs[keep], similarity[keep]


def cluster(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components (union-find): a component label per row, the smallest row in it."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs.tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(n)], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Member:
    """What the canonical rule needs to know about an article in a cluster."""

    doc_id: str
    in_lake: bool  # committed by an earlier run
    published_at: datetime | None
    n_words: int
    order: int  # ingest order: earlier runs first, then this run's source order


def canonical_key(member: Member) -> tuple:
    """The rule: an article already in the lake stays canonical; else the earliest
    published (undated last), then the longest text, then the first ingested."""
    published = member.published_at.timestamp() if member.published_at else float("inf")
    return (not member.in_lake, published, -member.n_words, member.order)


def choose_canonical(members: Iterable[Member]) -> Member:
    return min(members, key=canonical_key)


@dataclass(slots=True)
class SignedArticle:
    """An article of this run as the near-dup step sees it: no text, only what it needs."""

    doc_id: str
    source: str
    input_hash: str
    content_hash: str
    published_at: datetime | None
    n_words: int
    n_paragraph_duplicates: int
    n_boilerplate_paragraphs: int
    n_paragraphs: int


def signed_article(doc: Document) -> SignedArticle:
    assert doc.content_hash is not None, "near dedup runs after exact dedup"
    return SignedArticle(
        doc.doc_id,
        doc.source,
        doc.input_hash,
        doc.content_hash,
        doc.published_at,
        len(doc.text.split()),
        len(doc.dropped_paragraphs),
        len(doc.boilerplate_paragraphs),
        len(doc.paragraphs),
    )


class RunSignatures:
    """Signatures of the articles a run kept so far, appended shard by shard."""

    def __init__(self, settings: NearDupSettings) -> None:
        self.settings = settings
        self.articles: list[SignedArticle] = []
        self._signatures: list[np.ndarray] = []

    def add(self, docs: Sequence[Document]) -> None:
        if docs:
            self.articles.extend(signed_article(d) for d in docs)
            self._signatures.append(compute_signatures([d.text for d in docs], self.settings))

    @property
    def signatures(self) -> np.ndarray:
        if not self._signatures:
            return np.zeros((0, self.settings.num_perm), dtype=np.uint32)
        if len(self._signatures) > 1:
            self._signatures = [np.concatenate(self._signatures)]
        return self._signatures[0]


@dataclass(frozen=True, slots=True)
class LakeSignatures:
    """Signatures of committed articles that share a band key with this run's articles."""

    doc_ids: list[str]
    signatures: np.ndarray
    published_at: list[datetime | None]
    n_words: list[int]


def lake_signatures(table: pa.Table, num_perm: int) -> LakeSignatures:
    """From `minhash` rows (see `Lake.related_signatures`)."""
    signatures = np.array(table["signature"].to_pylist(), dtype=np.uint32)
    return LakeSignatures(
        doc_ids=table["doc_id"].to_pylist(),
        signatures=signatures.reshape(table.num_rows, num_perm),
        published_at=table["published_at"].to_pylist(),
        n_words=table["n_words"].to_pylist(),
    )


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    article: SignedArticle
    duplicate_of: str
    similarity: float
    cluster_id: str


def decide_near_duplicates(run: RunSignatures, lake: LakeSignatures) -> list[NearDuplicate]:
    """Cluster this run's articles with each other and with the lake's, then name the
    canonical article of each cluster; every other article of this run is a near duplicate.

    Articles already in the lake are never demoted: they are history, and a cluster that
    grows across runs keeps its canonical.
    """
    settings = run.settings
    signatures = np.concatenate([run.signatures, lake.signatures])
    n_run = len(run.articles)
    members = [
        Member(a.doc_id, False, a.published_at, a.n_words, i) for i, a in enumerate(run.articles)
    ] + [
        Member(doc_id, True, published, words, -1)
        for doc_id, published, words in zip(
            lake.doc_ids, lake.published_at, lake.n_words, strict=True
        )
    ]
    pairs, _ = verify_pairs(
        signatures, find_candidates(band_keys(signatures, settings)), settings.near_threshold
    )
    labels = cluster(len(members), pairs)
    by_cluster: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        by_cluster.setdefault(label, []).append(row)
    duplicates = []
    for rows in by_cluster.values():
        if len(rows) < 2 or min(rows) >= n_run:
            continue
        canonical = min(rows, key=lambda r: (*canonical_key(members[r]), members[r].doc_id))
        for row in rows:
            if row != canonical and row < n_run:
                similarity = float(estimate_similarity(signatures, np.array([[row, canonical]]))[0])
                doc_id = members[canonical].doc_id
                duplicates.append(NearDuplicate(run.articles[row], doc_id, similarity, doc_id))
    return duplicates
