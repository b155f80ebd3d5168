"""The run record: shard counts add up to the `runs` row, copies found after staging are
taken back out of the written counts, and a failed run claims nothing."""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import RUNS
from newsmill.tasks.lake.runs import RunSummary, new_run_id, reject_counts, shard_counts
from newsmill.tasks.records import Document, DocumentDuplicate, Reject, ShardBatch

STARTED = datetime(2026, 12, 2, 1, tzinfo=UTC)


@dataclass
class Staged:
    """What the run knows of a staged article (a `SignedArticle`'s counts)."""

    n_paragraphs: int
    n_entities: int = 0
    n_quotes: int = 0
    n_paragraph_duplicates: int = 0
    n_boilerplate_paragraphs: int = 0


def doc(name: str, paragraphs: int) -> Document:
    d = Document(name, name, "text", name)
    d.paragraphs = [f"{name} {i}" for i in range(paragraphs)]
    return d


def shard() -> ShardBatch:
    batch = ShardBatch(
        docs=[doc("a", 3), doc("b", 2)],
        rejects=[Reject("c", Reason.READ_EMPTY_FILE, "empty")],
        duplicates=[DocumentDuplicate(doc("d", 1), "a-id", "h")],
        counts={"read.total": 4},
    )
    return batch


def test_shard_counts_add_up_to_the_runs_row() -> None:
    summary = RunSummary(new_run_id(STARTED), None, "/lake", STARTED)
    summary.record_shard(shard_counts(shard()))
    summary.record_shard(reject_counts([Reject("u", Reason.FETCH_TIMEOUT, "slow")]))
    summary.status, summary.finished_at = "completed", STARTED
    row = summary.runs_row(["in/"], {"near": {"near_threshold": 0.5}})
    assert (row["inputs_seen"], row["articles"], row["rejects"], row["duplicates_document"]) == (
        5,
        2,
        2,
        1,
    )
    assert json.loads(row["counts_json"])["written.paragraphs"] == 5
    assert json.loads(row["settings_json"]) == {"near": {"near_threshold": 0.5}}
    assert set(row) == set(RUNS.schema.names)
    pa.Table.from_pylist([row], schema=RUNS.schema).validate(full=True)


def test_copies_found_after_staging_move_from_articles_to_duplicates() -> None:
    summary = RunSummary("r", None, "/lake", STARTED)
    summary.record_shard(shard_counts(shard()))
    summary.record_exact_duplicates([Staged(n_paragraphs=2)])  # "b" copies an earlier shard's
    assert summary.counts["written.articles"] == 1
    assert summary.counts["written.paragraphs"] == 3
    assert summary.counts["duplicates.document.exact"] == 2


def test_a_failed_run_claims_no_rows_but_keeps_its_counts() -> None:
    summary = RunSummary("r", None, "/lake", STARTED)
    summary.record_shard(shard_counts(shard()))
    summary.status, summary.error = "failed", "OSError: disk full"
    row = summary.runs_row(["in/"], {"near": {"near_threshold": 0.5}})
    assert (row["inputs_seen"], row["articles"], row["rejects"]) == (0, 0, 0)
    assert json.loads(row["counts_json"])["written.articles"] == 2


def test_run_ids_sort_by_start_time_and_do_not_collide() -> None:
    ids = {new_run_id(STARTED) for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("20261202T010000Z-") for i in ids)
    assert Counter(i < new_run_id(datetime(2026, 12, 3, tzinfo=UTC)) for i in ids) == {True: 50}


def _summary(**counts: int) -> RunSummary:
    summary = RunSummary("r", None, "/lake", datetime(2026, 12, 5, tzinfo=UTC))
    summary.counts.update(counts)
    return summary


def test_progress_counts_only_what_this_run_processed_for_rate_and_eta() -> None:
    """After a resume the rate read "216277 inputs/s": resumed shards took no time."""
    summary = _summary(
        **{"inputs.seen": 9_000, "inputs.processed": 3_000, "shards.processed": 1},
        **{"written.articles": 8_000, "written.rejects": 12},
    )
    line = summary.progress_line(3, 8, seconds=10.0)
    assert line == (
        "shard 3/8 (38%): 9,000 inputs, 8,000 articles before near dedup, 12 rejects; "
        "300 inputs/s, ETA 0:50"
    )
    resumed = _summary(**{"inputs.seen": 9_000})
    assert resumed.progress_line(2, 8, 0.5).endswith("resumed, ETA ?")
    assert resumed.progress_line(8, 8, 0.5).endswith("resumed, ETA 0:00")


def test_stage_times_come_in_pipeline_order() -> None:
    summary = _summary(**{"time_ms.write": 500, "time_ms.read": 1_250, "time_ms.near": 40})
    assert summary.stage_times() == "read 1.2 s · write 0.5 s · near 0.0 s"
