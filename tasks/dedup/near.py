"""Near-duplicate articles: MinHash over word shingles, LSH banding, verification, clusters.

Phases, each a plain function:
    compute_signatures → band_keys → find_candidates → agreement (verify) → cluster → choose_canonical

The kernel is rensa's RMinHash (measured here on 4,000 news articles: 86k signatures/s
per core once the shingles exist; building the shingles in Python, ~8k docs/s, is the
real cost; datasketch managed 2.5k/s and a vectorised numpy kernel 2.4k/s).

Only signatures and band keys are needed to compare articles, so the state kept in the
lake (`minhash` table) lets a later run find copies without re-reading any text.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version

import numpy as np
import pyarrow as pa
import rensa

from newsmill.tasks.records import MIX, Document, mix_columns
from newsmill.tasks.setting import setting
from newsmill.tasks.text.words import count_words, utf8_words

# v2: characters of scripts without spaces are words; every pair in an LSH bucket of up to ALL_PAIRS_BUCKET rows is verified; a copy
# joined to its cluster through another copy points at its closest verified neighbour
NEAR_DUP_VERSION = "near_minhash_v2"
# Candidate pairs verified per block: gathering both signatures of 400k pairs at once
# would hold ~200 MB.
_VERIFY_BLOCK = 50_000


@dataclass(frozen=True, slots=True)
class NearDupSettings:
    near_dedup: bool = setting(
        True,
        "Find near-duplicate articles (MinHash + LSH); --no-near-dedup keeps exact dedup only.",
    )
    shingle_words: int = setting(5, "Near dedup: words per shingle.", unit="words")
    num_perm: int = setting(
        128, "Near dedup: MinHash permutations (signature length); a multiple of --bands."
    )
    bands: int = setting(
        32, "Near dedup: LSH bands; more bands find lower similarities and more candidates."
    )
    near_threshold: float = setting(
        0.5,
        "Near dedup: estimated Jaccard similarity at or above which two articles are copies.",
        maximum=1.0,
    )
    minhash_seed: int = setting(
        1, "Near dedup: MinHash seed (changing it makes earlier signatures incomparable)."
    )

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands

    @property
    def kernel(self) -> str:
        return (
            f"{NEAR_DUP_VERSION};u16;rensa {version('rensa')};k={self.shingle_words};"
            f"perm={self.num_perm};bands={self.bands};seed={self.minhash_seed}"
        )


def shingles(text: str, size: int) -> list[bytes]:
    """Word `size`-grams of the case-folded text (a character of Chinese, Japanese, Thai …
    is a word: `tasks/text/words.py`); a text shorter than that is one shingle. UTF-8
    encoded: rensa hashes a string as its UTF-8 bytes, so the signatures are the same as
    the strings', and words are found faster as bytes."""
    words = utf8_words(text.casefold())
    if len(words) <= size:
        return [b" ".join(words)] if words else []
    return list(map(b" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


SIGNATURE_DTYPE = np.uint16
_EMPTY = np.iinfo(SIGNATURE_DTYPE).max


def compute_signatures(texts: Sequence[str], settings: NearDupSettings) -> np.ndarray:
    """One MinHash signature per text, as rows of a (n, num_perm) uint16 matrix.

    Each 32-bit MinHash value keeps its low 16 bits: two different values then agree by
    chance once in 65,536 positions (a similarity bias below 0.00002), a band of 4 rows
    still has 64 bits of key, and signatures take half the memory (1M articles: 256 MB).
    A text without a single word gets an all-max row, which bands never match.
    """
    signatures = np.full((len(texts), settings.num_perm), _EMPTY, dtype=SIGNATURE_DTYPE)
    for row, text in enumerate(texts):
        items = shingles(text, settings.shingle_words)
        if items:
            minhash = rensa.RMinHash(settings.num_perm, settings.minhash_seed)
            minhash.update(items)
            signatures[row] = np.array(minhash.digest(), dtype=np.uint32) & 0xFFFF
    return signatures


def band_key_column(signatures: np.ndarray, settings: NearDupSettings, band: int) -> np.ndarray:
    """The keys of one band for every row: (n,) uint64."""
    rows = settings.rows_per_band
    keys = mix_columns(signatures[:, band * rows : (band + 1) * rows].astype(np.uint64))
    with np.errstate(over="ignore"):
        keys ^= np.uint64(band) * MIX
    keys[(signatures == _EMPTY).all(axis=1)] = 0  # empty text: never matched
    return keys


def band_keys(signatures: np.ndarray, settings: NearDupSettings) -> np.ndarray:
    """(n, bands) uint64 keys: rows of a band hashed together, the band number mixed in."""
    columns = [band_key_column(signatures, settings, band) for band in range(settings.bands)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(signatures), 0), np.uint64)


def find_candidates(keys: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, of rows sharing at least one band key; keys is (rows, bands)."""
    return find_candidates_by_band(keys[:, band] for band in range(keys.shape[1]))


def find_candidates_by_band(columns: Iterable[np.ndarray]) -> np.ndarray:
    """Pairs (i, j), i < j, of rows sharing a key in at least one of the band columns.

    Sort-based and one band at a time, so memory stays O(rows). In a bucket of up to
    `ALL_PAIRS_BUCKET` rows every pair is a candidate; in a larger one (many copies of one
    story) each row is paired with the bucket's first and with its neighbour in the
    bucket, so a bucket of m rows costs 2m, not m², and the copies it holds still connect.
    """
    found = [_bucket_pairs(column) for column in columns]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


# Past this many rows a bucket's pairs are not all compared: 50 rows are 1,225 pairs.
ALL_PAIRS_BUCKET = 50


def _bucket_pairs(column: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(column)  # key 0: an empty text, never matched
    if len(rows) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = rows[np.argsort(column[rows], kind="stable")]
    keys = column[order]
    shared = np.r_[keys[1:] == keys[:-1], False] | np.r_[False, keys[1:] == keys[:-1]]
    order, keys = order[shared], keys[shared]  # rows alone in their bucket have no pair
    if not len(order):
        return np.zeros((0, 2), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    bucket = np.repeat(np.arange(len(starts)), sizes)
    size = sizes[bucket]
    found = [
        np.stack([order[starts[bucket]], order], axis=1)[np.arange(len(order)) > starts[bucket]]
    ]
    for gap in range(1, min(int(sizes.max()), ALL_PAIRS_BUCKET)):
        left = np.flatnonzero(
            (bucket[:-gap] == bucket[gap:]) & ((size[:-gap] <= ALL_PAIRS_BUCKET) | (gap == 1))
        )
        found.append(np.stack([order[left], order[left + gap]], axis=1))
    pairs = np.concatenate(found)
    return np.sort(pairs, axis=1).astype(np.int64)


def agreement(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of row pairs: the share of signature positions that agree."""
    if not len(left):
        return np.zeros(0, dtype=np.float32)
    return (left == right).mean(axis=1).astype(np.float32)


def estimate_similarity(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return agreement(signatures[pairs[:, 0]], signatures[pairs[:, 1]])


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
    published (undated last), then the longest text, then the first ingested; the doc_id
    settles ties between lake articles, which carry no ingest order here."""
    published = member.published_at.timestamp() if member.published_at else float("inf")
    return (not member.in_lake, published, -member.n_words, member.order, member.doc_id)


def choose_canonical(members: Iterable[Member]) -> Member:
    return min(members, key=canonical_key)


@dataclass(slots=True)
class SignedArticle:
    """An article of this run as the near-dup step reports it: no text, only what it needs."""

    doc_id: str
    published_at: datetime | None
    n_words: int
    n_paragraph_duplicates: int
    n_boilerplate_paragraphs: int
    n_paragraphs: int
    n_entities: int = 0
    n_quotes: int = 0


def _utc(seconds: float) -> datetime | None:
    return None if np.isnan(seconds) else datetime.fromtimestamp(seconds, UTC)


def _signed(doc_id: str, published: float, numbers: np.ndarray) -> SignedArticle:
    words, paragraphs, repeats, boilerplate, entities, quotes = numbers.tolist()
    return SignedArticle(
        doc_id, _utc(published), words, repeats, boilerplate, paragraphs, entities, quotes
    )


@dataclass(slots=True)
class ArticleChunk:
    """A shard's kept articles as the run-level steps need them, without their text: ids,
    content hashes, counts, dates and MinHash signatures (None when near dedup is off).
    Small enough to send from a worker process to the flow."""

    doc_ids: list[str]
    content_hashes: list[str]
    numbers: np.ndarray  # (n, 6) int32: words, paragraphs, repeats, boilerplate, entities, quotes
    published: np.ndarray  # epoch seconds, NaN when undated
    signatures: np.ndarray | None

    def __len__(self) -> int:
        return len(self.doc_ids)

    def select(self, keep: np.ndarray) -> "ArticleChunk":
        return ArticleChunk(
            [d for d, k in zip(self.doc_ids, keep.tolist(), strict=True) if k],
            [h for h, k in zip(self.content_hashes, keep.tolist(), strict=True) if k],
            self.numbers[keep],
            self.published[keep],
            None if self.signatures is None else self.signatures[keep],
        )

    @classmethod
    def joined(cls, chunks: Sequence["ArticleChunk"]) -> "ArticleChunk":
        signatures = [c.signatures for c in chunks if c.signatures is not None]
        return cls(
            [doc_id for c in chunks for doc_id in c.doc_ids],
            [h for c in chunks for h in c.content_hashes],
            np.concatenate([np.empty((0, 6), np.int32), *(c.numbers for c in chunks)]),
            np.concatenate([np.empty(0, np.float64), *(c.published for c in chunks)]),
            np.concatenate(signatures) if signatures else None,
        )

    def article(self, i: int) -> SignedArticle:
        return _signed(self.doc_ids[i], float(self.published[i]), self.numbers[i])


def article_chunk(
    docs: Sequence[Document], settings: NearDupSettings, n_words: Sequence[int] | None = None
) -> ArticleChunk:
    """`n_words`: each document's, when the caller has counted them."""
    if n_words is None:
        n_words = [count_words(d.text) for d in docs]
    numbers = [
        [
            words,
            len(d.paragraphs),
            len(d.dropped_paragraphs),
            len(d.boilerplate_paragraphs),
            len(d.entities),
            len(d.quotes),
        ]
        for d, words in zip(docs, n_words, strict=True)
    ]
    published = [d.published_at.timestamp() if d.published_at else np.nan for d in docs]
    return ArticleChunk(
        [d.doc_id for d in docs],
        [d.content_hash or "" for d in docs],
        np.array(numbers, dtype=np.int32).reshape(len(docs), 6),
        np.array(published, dtype=np.float64),
        compute_signatures([d.text for d in docs], settings) if settings.near_dedup else None,
    )


class RunSignatures:
    """Signatures and the little else the near-dup step needs of the articles a run kept,
    appended shard by shard in compact arrays (~0.3 KB an article at 128 permutations):
    no text, no Python object per article but its (shared) id, no copy of all signatures."""

    def __init__(self, settings: NearDupSettings) -> None:
        self.settings = settings
        self.doc_ids: list[str] = []
        self.chunks: list[np.ndarray] = []  # (rows, num_perm) signatures per added batch
        self._numbers: list[np.ndarray] = []  # ArticleChunk.numbers
        self._published: list[np.ndarray] = []  # epoch seconds, NaN when undated
        self._starts = np.zeros(1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def add(self, docs: Sequence[Document]) -> None:
        self.add_chunk(article_chunk(docs, self.settings))

    def add_chunk(self, chunk: ArticleChunk) -> None:
        if not len(chunk) or chunk.signatures is None:
            return
        self.doc_ids.extend(chunk.doc_ids)
        self.chunks.append(chunk.signatures)
        self._numbers.append(chunk.numbers)
        self._published.append(chunk.published)
        self._starts = np.append(self._starts, len(self.doc_ids))

    def _locate(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._starts, rows, side="right") - 1

    def signature_rows(self, rows: np.ndarray) -> np.ndarray:
        """Signatures of the given run rows, gathered from the chunks."""
        out = np.empty((len(rows), self.settings.num_perm), dtype=SIGNATURE_DTYPE)
        chunk_of = self._locate(rows)
        for chunk in np.unique(chunk_of).tolist():
            mine = chunk_of == chunk
            out[mine] = self.chunks[chunk][rows[mine] - self._starts[chunk]]
        return out

    def articles(self, rows: np.ndarray) -> list[SignedArticle]:
        """What the near-dup step reports of each of these run rows, gathered at once."""
        published = np.concatenate([np.empty(0), *self._published])[rows].tolist()
        numbers = np.concatenate([np.empty((0, 6), np.int32), *self._numbers])[rows]
        return [
            _signed(self.doc_ids[row], seconds, row_numbers)
            for row, seconds, row_numbers in zip(rows.tolist(), published, numbers, strict=True)
        ]

    def iter_chunks(self) -> Iterator[tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
        """(doc_ids, signatures, published epoch seconds, word counts) per added batch."""
        for i, signatures in enumerate(self.chunks):
            start, end = int(self._starts[i]), int(self._starts[i + 1])
            yield self.doc_ids[start:end], signatures, self._published[i], self._numbers[i][:, 0]


@dataclass(frozen=True, slots=True)
class LakeSignatures:
    """Signatures of committed articles that share a band key with this run's articles."""

    doc_ids: list[str]
    signatures: np.ndarray
    published_at: list[datetime | None]
    n_words: list[int]


def lake_signatures(table: pa.Table, num_perm: int) -> LakeSignatures:
    """From `minhash` rows (see `Lake.related_signatures`)."""
    signatures = np.array(table["signature"].to_pylist(), dtype=SIGNATURE_DTYPE)
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
    grows across runs keeps its canonical. Rows 0..n-1 are this run's, n.. the lake's;
    band keys are made one band at a time, so memory stays O(articles).
    """
    settings = run.settings
    n_run = len(run)
    lake_keys = band_keys(lake.signatures, settings)
    candidates = find_candidates_by_band(
        np.concatenate(
            [*(band_key_column(c, settings, band) for c in run.chunks), lake_keys[:, band]]
        )
        for band in range(settings.bands)
    )

    def signatures_of(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), settings.num_perm), dtype=SIGNATURE_DTYPE)
        mine = rows < n_run
        out[mine] = run.signature_rows(rows[mine])
        out[~mine] = lake.signatures[rows[~mine] - n_run]
        return out

    verified = _pair_agreement(candidates, signatures_of)
    close = verified >= settings.near_threshold
    pairs = candidates[close]
    labels = cluster(n_run + len(lake.doc_ids), pairs)
    nearest = _nearest(n_run + len(lake.doc_ids), pairs, verified[close])
    values, sizes = np.unique(labels, return_counts=True)
    in_clusters = np.flatnonzero(np.isin(labels, values[sizes > 1]))
    order = in_clusters[np.argsort(labels[in_clusters], kind="stable")]
    clusters = [
        rows
        for rows in np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
        if len(rows) and rows.min() < n_run  # lake articles only: history is not rewritten
    ]
    return _cluster_duplicates(clusters, run, lake, signatures_of, nearest)


def _pair_agreement(
    pairs: np.ndarray, signatures_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """`agreement` of each (n, 2) row pair, `_VERIFY_BLOCK` pairs at a time."""
    return np.concatenate(
        [np.zeros(0, np.float32)]
        + [
            agreement(signatures_of(block[:, 0]), signatures_of(block[:, 1]))
            for block in np.array_split(pairs, max(1, len(pairs) // _VERIFY_BLOCK))
        ]
    )


def _nearest(n: int, pairs: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """(n, 2): each row's most similar verified neighbour (-1 when none), and the
    similarity to it as float64 bits; ties go to the lower row."""
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    partners = np.concatenate([pairs[:, 1], pairs[:, 0]])
    sims = np.concatenate([similarity, similarity]).astype(np.float64)
    order = np.lexsort((partners, -sims, rows))
    rows, partners, sims = rows[order], partners[order], sims[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, bool)
    best = np.full((n, 2), -1.0)
    best[rows[first], 0] = partners[first]
    best[rows[first], 1] = sims[first]
    return best


def _cluster_duplicates(
    clusters: list[np.ndarray],
    run: RunSignatures,
    lake: LakeSignatures,
    signatures_of: Callable[[np.ndarray], np.ndarray],
    nearest: np.ndarray,
) -> list[NearDuplicate]:
    """Name each cluster's canonical article; this run's other members are its near copies.

    A copy points at the canonical when it is similar enough to it; a member joined to the
    cluster only through another copy (A ~ B ~ C, A and C too far apart) points at its most
    similar verified neighbour instead, so `similarity` is never below the threshold. The
    run's articles are looked up and the copies compared with their canonicals all at once,
    not cluster by cluster (~60 µs a cluster)."""
    n_run = len(run)
    rows = np.concatenate([np.zeros(0, np.int64), *clusters])
    in_run = rows[rows < n_run]
    articles = dict(zip(in_run.tolist(), run.articles(in_run), strict=True))

    def member(row: int) -> Member:
        if row < n_run:
            article = articles[row]
            return Member(article.doc_id, False, article.published_at, article.n_words, row)
        i = row - n_run
        return Member(lake.doc_ids[i], True, lake.published_at[i], lake.n_words[i], -1)

    copies: list[tuple[int, int, dict[int, Member]]] = []  # (copy, its canonical, cluster)
    for cluster_rows in clusters:
        members = {row: member(row) for row in cluster_rows.tolist()}
        canonical = min(members, key=lambda row: canonical_key(members[row]))
        copies += [(row, canonical, members) for row in members if row != canonical and row < n_run]
    pairs = np.array([(row, canonical) for row, canonical, _ in copies], np.int64).reshape(-1, 2)
    similarity = _pair_agreement(pairs, signatures_of)
    threshold = run.settings.near_threshold
    duplicates = []
    for (row, canonical, members), sim in zip(copies, similarity.tolist(), strict=True):
        cluster_id = members[canonical].doc_id
        if sim < threshold:
            partner, sim = nearest[row]
            target = members[int(partner)].doc_id
        else:
            target = cluster_id
        duplicates.append(NearDuplicate(articles[row], target, float(sim), cluster_id))
    return duplicates
