"""Plain records passed between stages: a document on its way to the lake, or a reject."""

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import xxhash

from newsmill.schemas.reasons import Reason
from newsmill.tasks.mentions.entity import Entity
from newsmill.tasks.mentions.quotes import Quote
from newsmill.tasks.timelimit import TimeLimitExceeded, time_limit


def hash_bytes(data: bytes) -> str:
    """xxh3-64 hex digest: the hash used for inputs, contents and paragraphs."""
    return xxhash.xxh3_64_hexdigest(data)


def hash_text(text: str) -> str:
    return xxhash.xxh3_64_hexdigest(text.encode("utf-8"))


MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: each mixing step is a bijection


def mix_columns(columns: np.ndarray) -> np.ndarray:
    """(n,) uint64: each row of an (n, k) uint64 array hashed, its columns mixed in in turn
    (XOR, then times `MIX`, wrapping): near dedup's band keys, the id set's lookups."""
    hashes = np.zeros(len(columns), dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around multiplication is the hash
        for column in range(columns.shape[1]):
            hashes = (hashes ^ columns[:, column]) * MIX
    return hashes


def make_doc_id(source: str, input_hash: str) -> str:
    """Stable id: the same input at the same source always gets the same id.

    Interned, so the dedup index and the near-dup state share one string per article.
    """
    return sys.intern(xxhash.xxh3_128_hexdigest(f"{source}\0{input_hash}".encode()))


@dataclass(slots=True)
class Document:
    """One input on its way to becoming an article; later stages fill the empty fields."""

    source: str
    input_hash: str
    source_kind: str
    body: str
    encoding: str | None = None
    line_number: int | None = None
    external_id: str | None = None
    url: str | None = None
    title: str | None = None
    author: str | None = None
    published_raw: str | None = None
    site_name: str | None = None
    extractor: str = "plain-text"
    paragraphs: list[str] = field(default_factory=list)
    mojibake_repaired: bool = False
    published_at: datetime | None = None
    language: str | None = None
    language_score: float | None = None
    domain: str | None = None
    site: str | None = None
    content_hash: str | None = None
    paragraph_hashes: list[str] = field(default_factory=list)
    dropped_paragraphs: list["ParagraphDuplicate"] = field(default_factory=list)
    boilerplate_paragraphs: list["ParagraphDuplicate"] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)  # offsets into `text`
    quotes: list[Quote] = field(default_factory=list)
    mentions_version: str | None = None  # what found `entities` and `quotes`

    @property
    def doc_id(self) -> str:
        return make_doc_id(self.source, self.input_hash)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class Reject:
    source: str
    reason: Reason
    detail: str
    input_hash: str | None = None
    line_number: int | None = None

    @property
    def stage(self) -> str:
        return self.reason.stage


@dataclass(frozen=True, slots=True)
class ParagraphDuplicate:
    """A paragraph dropped from an article because an earlier paragraph says the same."""

    position: int
    duplicate_of_position: int | None  # None: boilerplate, a site template, not a paragraph
    paragraph_hash: str


@dataclass(frozen=True, slots=True)
class DocumentDuplicate:
    """A whole document dropped because a kept article has the same normalised text."""

    document: Document
    duplicate_of: str
    content_hash: str
    method: str = "exact"
    similarity: float = 1.0


@dataclass(slots=True)
class StageOutput:
    """Documents that go on, rejects routed out, and the stage's counts."""

    docs: list[Document]
    rejects: list[Reject]
    counts: dict[str, int]


# the stages whose per-document errors reject the document: `<stage>_unexpected`
_UNEXPECTED = {reason.stage: reason for reason in Reason if reason.value.endswith("_unexpected")}
_TIMEOUT = {reason.stage: reason for reason in Reason if reason.value.endswith("_timeout")}
_MAX_DETAIL_CHARS = 500


def run_stage(
    stage: str,
    docs: list[Document],
    step: Callable[[Document], Document | Reject],
    time_limit_s: float | None = None,
) -> StageOutput:
    """Apply a per-document step to a batch; count total, kept and dropped_<reason>. An
    exception the step raises on one document rejects that document as
    `<stage>_unexpected` (with the exception's type and message), a document over
    `time_limit_s` as `<stage>_timeout`, and the batch goes on."""
    kept: list[Document] = []
    rejects: list[Reject] = []
    unexpected = _UNEXPECTED.get(stage.split("_", 1)[0])
    for doc in docs:
        try:
            with contextlib.nullcontext() if time_limit_s is None else time_limit(time_limit_s):
                result = step(doc)
        except TimeLimitExceeded:
            detail = f"{stage} ran over {time_limit_s:g} s (document_timeout_s) and was stopped"
            result = Reject(doc.source, _TIMEOUT[stage], detail, doc.input_hash, doc.line_number)
        except Exception as error:  # one input's surprise must not cost its whole shard
            if unexpected is None:
                raise
            detail = f"{type(error).__name__}: {error}"[:_MAX_DETAIL_CHARS]
            result = Reject(doc.source, unexpected, detail, doc.input_hash, doc.line_number)
        (rejects if isinstance(result, Reject) else kept).append(result)  # type: ignore[arg-type]
    return StageOutput(kept, rejects, count_stage(stage, len(docs), kept, rejects))


def count_stage(
    stage: str, total: int, kept: list[Document], rejects: list[Reject]
) -> dict[str, int]:
    counts = {f"{stage}.total": total, f"{stage}.kept": len(kept)}
    for reject in rejects:
        key = f"{stage}.dropped_{reject.reason.value}"
        counts[key] = counts.get(key, 0) + 1
    return counts


class StageClock:
    """Milliseconds spent in each stage, as counts (`time_ms.<stage>`) that add up over
    batches, shards and workers like every other count."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.counts[f"time_ms.{stage}"] += round((time.perf_counter() - started) * 1000)


@dataclass(slots=True)
class ShardBatch:
    """One shard on its way through the stages: what goes on, what was routed out, counts.

    Stages replace `docs` and add to the rest.
    """

    docs: list[Document] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: list[DocumentDuplicate] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def apply(self, output: StageOutput) -> None:
        self.docs = output.docs
        self.rejects.extend(output.rejects)
        for key, value in output.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
