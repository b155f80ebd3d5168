"""A dead run's staged shards are taken over only by a run with the same plan."""

import os
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from newsmill.tasks.errors import CheckpointError
from newsmill.tasks.ingest.sources import discover_sources, plan_shards
from newsmill.tasks.lake import resume
from newsmill.tasks.lake.checkpoints import decode_shard, encode_shard
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.shard import ShardSettings, failed_shard, process_shard
from tests.conftest import SAMPLES
from tests.tasks.lake_runs import commit_tables, run_context, runs_row

SETTINGS = ShardSettings()
OUTPUT_SETTINGS = {"near_threshold": 0.8}


def _plan(folder: Path) -> list:
    return plan_shards(discover_sources([str(folder)]).files, 8 << 20, 1)


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(SAMPLES / "seed_article.txt", folder / "a.txt")
    shutil.copy(SAMPLES / "text" / "river-trees-bom.md", folder / "b.md")
    return folder


def _fingerprint(folder: Path, lake: Lake, settings: dict | None = None) -> str:
    return resume.plan_fingerprint(
        _plan(folder), settings or OUTPUT_SETTINGS, "v1", lake.committed_runs()
    )


def test_the_fingerprint_changes_with_inputs_settings_version_and_lake(tmp_path: Path) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    first = _fingerprint(folder, lake)
    assert _fingerprint(folder, lake) == first
    assert _fingerprint(folder, lake, {"near_threshold": 0.9}) != first
    assert resume.plan_fingerprint(_plan(folder), OUTPUT_SETTINGS, "v2", []) != first

    stat = os.stat(folder / "a.txt")
    os.utime(folder / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = _fingerprint(folder, lake)
    assert touched != first

    commit_tables(lake, run_context("other-run"), [])  # another run committed since
    assert _fingerprint(folder, lake) != touched


def _stage_dead_run(lake: Lake, folder: Path, fingerprint: str, run_id: str) -> list:
    """What a run killed after its shards were staged leaves behind."""
    ctx = run_context(run_id)
    writer = lake.start_run(run_id)
    resume.save_plan(writer, ctx, fingerprint)
    results = [process_shard(s, str(lake.root), ctx, SETTINGS) for s in _plan(folder)]
    for result in results:
        writer.adopt(result.files)
        resume.checkpoint(writer, result)
    return results


def test_a_dead_run_with_the_same_plan_is_taken_over_with_its_staged_shards(
    tmp_path: Path,
) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    fingerprint = _fingerprint(folder, lake)
    results = _stage_dead_run(lake, folder, fingerprint, "dead")

    assert lake.recover() == []  # kept for resuming, not discarded
    staged, actions = resume.take_over(lake, fingerprint, resume=True)
    assert actions == []
    assert staged is not None and staged.run_id == "dead"
    assert staged.started_at == run_context("dead").started_at
    assert sorted(staged.results) == [r.index for r in results]
    for result in results:
        again = staged.results[result.index]
        assert again.files == result.files and again.counts == result.counts
        assert again.articles.doc_ids == result.articles.doc_ids


def test_a_shard_whose_staged_file_is_torn_runs_again(tmp_path: Path) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    fingerprint = _fingerprint(folder, lake)
    first, second = _stage_dead_run(lake, folder, fingerprint, "dead")
    torn = Path(lake.root) / "_staging" / "dead" / second.files[0]
    torn.write_bytes(torn.read_bytes()[:100])  # killed while the file was written

    staged, _ = resume.take_over(lake, fingerprint, resume=True)
    assert staged is not None and sorted(staged.results) == [first.index]


def test_checkpoints_are_data_and_come_back_the_same(tmp_path: Path) -> None:
    folder = _inputs(tmp_path)
    ctx = run_context("r1")
    for settings in (SETTINGS, replace(SETTINGS, near=replace(SETTINGS.near, near_dedup=False))):
        result = process_shard(_plan(folder)[0], str(tmp_path / "lake"), ctx, settings)
        again = decode_shard(encode_shard(result))
        assert (again.index, again.files, again.counts) == (
            result.index,
            result.files,
            result.counts,
        )
        assert again.site_counts == result.site_counts
        for name in ("doc_ids", "content_hashes"):
            assert getattr(again.articles, name) == getattr(result.articles, name)
        for name in ("numbers", "published", "signatures"):
            mine, theirs = getattr(again.articles, name), getattr(result.articles, name)
            assert (mine is None and theirs is None) or (
                mine.dtype == theirs.dtype and np.array_equal(mine, theirs, equal_nan=True)
            )


class _Planted:
    """What a hostile lake writer would pickle: unpickling it creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "ran"))


def test_a_foreign_or_torn_checkpoint_is_discarded_never_run(tmp_path: Path) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    fingerprint = _fingerprint(folder, lake)
    first, second = _stage_dead_run(lake, folder, fingerprint, "dead")
    shards = Path(lake.root) / "_staging" / "dead" / "_shards"
    marker = tmp_path / "pwned"
    (shards / f"{second.index:06d}.arrow").write_bytes(pickle.dumps(_Planted(marker)))
    (shards / "999999.arrow").write_bytes(encode_shard(first)[:200])  # torn
    (Path(lake.root) / "_staging" / "dead" / "_CRAWL.json").write_text('{"format": "other/9"}')

    staged, actions = resume.take_over(lake, fingerprint, resume=True)
    assert staged is not None and sorted(staged.results) == [first.index]  # the rest run again
    assert staged.crawl is None
    assert not marker.exists()
    assert len(actions) == 3 and all(a.startswith("run dead: discarded ") for a in actions)
    assert any("'other/9'" in a for a in actions)
    with pytest.raises(CheckpointError):
        decode_shard(b"\x80\x04not arrow")


def test_dead_runs_with_another_plan_or_without_resume_are_discarded(tmp_path: Path) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    fingerprint = _fingerprint(folder, lake)
    _stage_dead_run(lake, folder, fingerprint, "dead")

    staged, actions = resume.take_over(lake, fingerprint, resume=False)
    assert staged is None
    assert actions == ["discarded the staged shards of run dead (--no-resume)"]
    assert lake.staged_runs() == []

    _stage_dead_run(lake, folder, fingerprint, "dead-2")
    staged, actions = resume.take_over(lake, "another plan", resume=True)
    assert staged is None
    assert actions == [
        "discarded the staged shards of run dead-2 (other sources, settings or lake state)"
    ]
    assert not (Path(lake.root) / "_staging" / "dead-2").exists()


def test_a_failed_shard_stages_one_reject_per_part_and_counts_them(tmp_path: Path) -> None:
    folder, lake = _inputs(tmp_path), Lake(tmp_path / "lake")
    [shard] = plan_shards(discover_sources([str(folder)]).files, 8 << 20, 10)
    result = failed_shard(shard, str(lake.root), run_context("r"), SETTINGS, "OSError: no disk")
    [file] = result.files
    rejects = pq.read_table(Path(lake.root) / "_staging" / "r" / file).to_pylist()
    assert [(r["source"], r["stage"], r["reason"]) for r in rejects] == [
        (str(folder / "a.txt"), "shard", "shard_failed"),
        (str(folder / "b.md"), "shard", "shard_failed"),
    ]
    assert all("failed on every try: OSError: no disk" in r["detail"] for r in rejects)
    assert result.counts["inputs.seen"] == result.counts["written.rejects"] == 2
    assert len(result.articles) == 0


def test_committed_runs_change_when_a_run_commits(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    assert lake.committed_runs() == []
    lake.start_run("r1").commit(runs_row("r1"))
    assert lake.committed_runs() == ["part-r1.parquet"]
