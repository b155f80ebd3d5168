"""The run record: what a run saw and did, counted shard by shard, and its `runs` row."""

import json
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tasks import __version__
from tasks.neardup import NearDuplicate
from tasks.records import ShardBatch


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

    def count(self, prefix: str) -> dict[str, int]:
        return {
            k.removeprefix(prefix): v
            for k, v in sorted(self.counts.items())
            if k.startswith(prefix)
        }

    def record_shard(self, batch: ShardBatch) -> None:
        """Add one staged shard's stage counts and outcomes."""
        self.counts["inputs.seen"] += batch.counts.get("read.total", 0)
        self.counts.update(batch.counts)
        self.counts["written.articles"] += len(batch.docs)
        self.counts["written.rejects"] += len(batch.rejects)
        for reject in batch.rejects:
            self.counts[f"rejects.{reject.reason.value}"] += 1
        for dup in batch.duplicates:
            self.counts[f"duplicates.document.{dup.method}"] += 1
        for doc in batch.docs:
            self.counts["duplicates.paragraph.exact"] += len(doc.dropped_paragraphs)
            if doc.boilerplate_paragraphs:
                self.counts["duplicates.paragraph.boilerplate"] += len(doc.boilerplate_paragraphs)
            self.counts["written.paragraphs"] += len(doc.paragraphs)

    def record_near_duplicates(self, near: list[NearDuplicate]) -> None:
        """Near copies were counted as articles when staged; move them to duplicates."""
        if near:
            self.counts["duplicates.document.near"] += len(near)
        self.counts["written.articles"] -= len(near)
        for dup in near:
            self.counts["written.paragraphs"] -= dup.article.n_paragraphs
            # their paragraph-level rows are dropped with them
            self.counts["duplicates.paragraph.exact"] -= dup.article.n_paragraph_duplicates
            if dup.article.n_boilerplate_paragraphs:
                self.counts["duplicates.paragraph.boilerplate"] -= (
                    dup.article.n_boilerplate_paragraphs
                )

    def progress_line(self, shard_number: int, shards: int, seconds: float) -> str:
        c = self.counts
        return (
            f"shard {shard_number}/{shards}: {c['inputs.seen']} inputs, {c['written.articles']} "
            f"articles, {c['written.rejects']} rejects so far "
            f"({c['inputs.seen'] / max(seconds, 1e-9):.0f} inputs/s)"
        )

    def runs_row(self, sources: list[str], settings: Any) -> dict[str, Any]:
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
            "settings_json": json.dumps(asdict(settings), default=str),
            "newsmill_version": __version__,
            "run_date": self.started_at.date(),
        }


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
