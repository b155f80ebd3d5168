"""The run record: what a run saw and did, counted shard by shard, and its `runs` row."""

import json
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsmill.tasks import __version__
from newsmill.tasks.dedup.near import NearDuplicate, SignedArticle
from newsmill.tasks.records import Reject, ShardBatch

# the order a document meets the stages, then the run-level steps
STAGE_ORDER = (
    "read",
    "extract",
    "clean",
    "dedup",
    "fields",
    "boilerplate",
    "mentions",
    "sign",
    "write",
    "near",
    "finish",
    "commit",
)


def ordered_stages(counts: Mapping[str, int]) -> list[str]:
    """The stages with a `time_ms.<stage>` count, in the order documents meet them."""
    order = {stage: n for n, stage in enumerate(STAGE_ORDER)}
    stages = [k.removeprefix("time_ms.") for k in counts if k.startswith("time_ms.")]
    return sorted(stages, key=lambda s: (order.get(s, len(order)), s))


def stage_times(counts: Mapping[str, int]) -> str:
    """`read 1.2 s · write 0.5 s`: the `time_ms.<stage>` counts, in pipeline order."""
    return (
        " · ".join(f"{s} {counts[f'time_ms.{s}'] / 1000:.1f} s" for s in ordered_stages(counts))
        or "none"
    )


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
    catalog: str | None = None  # the catalog file this run refreshed
    report: str | None = None  # this run's HTML report
    # (shard number, seconds since the shards started, inputs) of each shard processed
    timeline: list[tuple[int, float, int]] = field(default_factory=list)

    def count(self, prefix: str) -> dict[str, int]:
        return {
            k.removeprefix(prefix): v
            for k, v in sorted(self.counts.items())
            if k.startswith(prefix)
        }

    def resume(self, run_id: str, started_at: datetime, staged_shards: int) -> None:
        """Go on as the dead run `run_id`, which staged this many shards."""
        self.run_id, self.started_at = run_id, started_at
        self.counts["shards.resumed"] = staged_shards
        self.recovered.append(f"resumed run {run_id}: {staged_shards} shard(s) already staged")

    def record_shard(self, counts: Counter[str]) -> None:
        """Add one staged shard's counts (see `shard_counts`)."""
        self.counts.update(counts)

    def record_exact_duplicates(self, articles: list[SignedArticle]) -> None:
        """Articles staged by one shard whose content an earlier shard of the run kept."""
        self.counts["duplicates.document.exact"] += len(articles)
        self._unstage(articles)

    def record_near_duplicates(self, near: list[NearDuplicate]) -> None:
        """Near copies were counted as articles when staged; move them to duplicates."""
        if near:
            self.counts["duplicates.document.near"] += len(near)
        self._unstage([dup.article for dup in near])

    def _unstage(self, articles: list[SignedArticle]) -> None:
        """Take back the article, paragraph and paragraph-duplicate rows of these articles,
        counted when their shard was staged and dropped with them."""
        self.counts["written.articles"] -= len(articles)
        for article in articles:
            self.counts["written.paragraphs"] -= article.n_paragraphs
            self.counts["written.entities"] -= article.n_entities
            self.counts["written.quotes"] -= article.n_quotes
            self.counts["duplicates.paragraph.exact"] -= article.n_paragraph_duplicates
            if article.n_boilerplate_paragraphs:
                self.counts["duplicates.paragraph.boilerplate"] -= article.n_boilerplate_paragraphs

    def progress_line(self, shards_done: int, shards: int, seconds: float) -> str:
        """Where the run is, how fast this process goes and when it should be done."""
        c = self.counts
        rate, eta = self.rate_and_eta(shards_done, shards, seconds)
        return (
            f"shard {shards_done}/{shards} ({shards_done / max(shards, 1):.0%}): "
            f"{c['inputs.seen']:,} inputs, {c['written.articles']:,} articles before near "
            f"dedup, {c['written.rejects']:,} rejects; {rate}, ETA {eta}"
        )

    def rate_and_eta(self, shards_done: int, shards: int, seconds: float) -> tuple[str, str]:
        """Both count only the shards this run processed (not those it resumed)."""
        processed, inputs = self.counts["shards.processed"], self.counts["inputs.processed"]
        rate = f"{inputs / seconds:,.0f} inputs/s" if processed and seconds > 0 else "resumed"
        left = shards - shards_done
        eta = "0:00" if not left else _clock(seconds / processed * left) if processed else "?"
        return rate, eta

    def stage_times(self) -> str:
        """Seconds per stage, summed over the shards (over workers too: with several, the
        total exceeds the run's wall time)."""
        return stage_times(self.counts)

    def ordered_stages(self) -> list[str]:
        """The stages that took time, in the order documents meet them."""
        return ordered_stages(self.counts)

    def runs_row(self, sources: list[str], settings: Mapping[str, Any]) -> dict[str, Any]:
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
            "settings_json": json.dumps(settings, default=str),
            "newsmill_version": __version__,
            "run_date": self.started_at.date(),
        }


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def reject_counts(rejects: Iterable[Reject]) -> Counter[str]:
    """Counts of rejects that are inputs in their own right (a failed shard's files, URLs
    that could not be fetched), as `RunSummary.record_shard` adds them."""
    counts: Counter[str] = Counter()
    for reject in rejects:
        counts["inputs.seen"] += 1
        counts["written.rejects"] += 1
        counts[f"rejects.{reject.reason.value}"] += 1
    return counts


def shard_counts(batch: ShardBatch) -> Counter[str]:
    """One staged shard's stage counts and outcomes, as `RunSummary.record_shard` adds them."""
    counts: Counter[str] = Counter(batch.counts)
    counts["inputs.seen"] += batch.counts.get("read.total", 0)
    counts["written.articles"] += len(batch.docs)
    counts["written.rejects"] += len(batch.rejects)
    for reject in batch.rejects:
        counts[f"rejects.{reject.reason.value}"] += 1
    for dup in batch.duplicates:
        counts[f"duplicates.document.{dup.method}"] += 1
    for doc in batch.docs:
        counts["duplicates.paragraph.exact"] += len(doc.dropped_paragraphs)
        if doc.boilerplate_paragraphs:
            counts["duplicates.paragraph.boilerplate"] += len(doc.boilerplate_paragraphs)
        counts["written.paragraphs"] += len(doc.paragraphs)
        counts["written.entities"] += len(doc.entities)
        counts["written.quotes"] += len(doc.quotes)
    return counts


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
