"""Resuming a run that died (killed, out of memory, machine restarted) from its staged shards.

A run records its plan when it starts: a fingerprint of its shards (the sources' paths,
sizes, modification times and byte ranges), the settings that shape what it writes, the
pipeline version and the lake's committed runs. Once a shard's files are staged, the run
checkpoints what the run-level steps need of it (`ShardResult`: keys, counts, signatures),
as data (`checkpoints.py`: Arrow IPC and JSON), never as code.

A later run with the same fingerprint takes the dead run over: same run id and start time,
its checkpointed shards as they are, only the missing shards processed, so no staged work
is done twice and the tables come out as an uninterrupted run's. Anything else (other
sources, a changed file, other settings, a run committed in between) discards the staged
files: shards staged against other inputs or another lake state would be wrong.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsmill.tasks.errors import CheckpointError
from newsmill.tasks.ingest.sources import Shard, version_marker
from newsmill.tasks.lake.checkpoints import decode_crawl, decode_shard, encode_crawl, encode_shard
from newsmill.tasks.lake.lake import Lake, RunWriter
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.shard import ShardResult
from newsmill.tasks.web.crawl import CrawlResult
from newsmill.tasks.web.discover import WebSources


@dataclass(slots=True)
class StagedRun:
    """A dead run taken over: its identity and the shards it staged."""

    run_id: str
    started_at: datetime
    results: dict[int, ShardResult]
    crawl: CrawlResult | None = None  # its fetch stage, when that was staged whole


def plan_fingerprint(
    shards: Sequence[Shard],
    output_settings: Mapping[str, Any],
    pipeline_version: str,
    committed_runs: Sequence[str],
    web: WebSources | None = None,
) -> str:
    """The run's identity for taking it over: its file shards, its web sources (URL lists
    by their version too; what the web answers is checkpointed, not fingerprinted), the
    settings that shape its output, the pipeline and the lake's state."""
    digest = hashlib.sha256()
    if web:
        lists = [[path, version_marker(path)] for path in web.url_lists]
        digest.update(json.dumps([web.articles, web.feeds, web.sitemaps, lists]).encode())
    for shard in shards:
        for part in shard.parts:
            modified = version_marker(part.file.path)
            identity = [shard.index, part.file.path, part.file.size, modified, part.start, part.end]
            digest.update(json.dumps(identity).encode())
    rest = [sorted(output_settings.items()), pipeline_version, list(committed_runs)]
    digest.update(json.dumps(rest, default=str).encode())
    return digest.hexdigest()


def save_plan(writer: RunWriter, ctx: RunContext, fingerprint: str) -> None:
    writer.save_plan(
        {
            "fingerprint": fingerprint,
            "run_id": ctx.run_id,
            "started_at": ctx.started_at.isoformat(),
        }
    )


def checkpoint(writer: RunWriter, result: ShardResult) -> None:
    writer.checkpoint(result.index, encode_shard(result))


def checkpoint_crawl(writer: RunWriter, crawl: CrawlResult) -> None:
    writer.checkpoint_crawl(encode_crawl(crawl))


def take_over(lake: Lake, fingerprint: str, resume: bool) -> tuple[StagedRun | None, list[str]]:
    """The newest dead run with this fingerprint (when `resume`), and what was done with
    the others' staged files: discarded."""
    chosen: StagedRun | None = None
    actions: list[str] = []
    for run_id in reversed(lake.staged_runs()):
        try:
            plan = lake.staged_plan(run_id)
        except (OSError, ValueError):
            plan = {}
        if resume and chosen is None and plan.get("fingerprint") == fingerprint:
            started = datetime.fromisoformat(plan["started_at"])
            results, discarded = _whole_results(lake, run_id)
            crawl = _whole_crawl(lake, run_id, discarded)
            chosen = StagedRun(run_id, started, results, crawl)
            actions.extend(f"run {run_id}: {why}" for why in discarded)
            continue
        lake.discard_staging(run_id)
        why = "--no-resume" if not resume else "other sources, settings or lake state"
        actions.append(f"discarded the staged shards of run {run_id} ({why})")
    return chosen, actions


def _whole_results(lake: Lake, run_id: str) -> tuple[dict[int, ShardResult], list[str]]:
    """Checkpointed shards whose staged files are all there and whole (any other shard
    runs again), and why any checkpoint was discarded."""
    results: dict[int, ShardResult] = {}
    discarded: list[str] = []
    for payload in lake.staged_checkpoints(run_id):
        try:
            result = decode_shard(payload)
        except CheckpointError as error:
            discarded.append(f"discarded a shard checkpoint ({error}); the shard runs again")
            continue
        if all(lake.staged_file_is_whole(run_id, f) for f in result.files):
            results[result.index] = result
    return results, discarded


def _whole_crawl(lake: Lake, run_id: str, discarded: list[str]) -> CrawlResult | None:
    """The dead run's fetch stage, if it finished and its files are all there: its pages
    are not fetched again (they may have changed since, and the raw zone keeps what was
    fetched); else the run fetches again."""
    payload = lake.staged_crawl(run_id)
    if payload is None:
        return None
    try:
        crawl = decode_crawl(payload)
    except CheckpointError as error:
        discarded.append(f"discarded the fetch checkpoint ({error}); the run fetches again")
        return None
    raw = {f.relative for f in crawl.raw}
    whole = all(lake.staged_file_exists(run_id, f.relative, f.size) for f in crawl.raw) and all(
        lake.staged_file_is_whole(run_id, f) for f in crawl.files if f not in raw
    )
    return crawl if whole else None
