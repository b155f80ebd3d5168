"""A run's life around its stages, in process: the lake is held while the run is open; an
error drops what the run staged and records the run as failed; an interrupt leaves it to
resume; a commit makes it visible."""

import logging
from pathlib import Path

import pytest

from newsmill.flows.lifecycle import open_run
from newsmill.flows.settings import Settings
from newsmill.schemas.tables import RUNS
from newsmill.tasks.errors import LakeError, SettingsError
from newsmill.tasks.lake.lake import STAGING_DIR, Lake

LOG = logging.getLogger("test-lifecycle")


@pytest.fixture
def sources(tmp_path: Path) -> list[str]:
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.txt").write_text(f"Story number {n} about the harbour and its ferries.")
    return [str(folder)]


def runs(lake: Path) -> list[dict]:
    return Lake(lake).read_table(RUNS, ["run_id", "status", "error"]).to_pylist()


def test_an_error_drops_the_staged_files_and_records_a_failed_run(
    tmp_path: Path, sources: list[str]
) -> None:
    settings = Settings.from_flat({"lake": str(tmp_path / "lake")})
    with pytest.raises(RuntimeError, match="boom"), open_run(sources, settings, "v", LOG) as run:
        assert len(run.shards) == 1 and run.staged is None
        assert (tmp_path / "lake" / STAGING_DIR / run.summary.run_id).is_dir()
        # held while open
        with pytest.raises(LakeError, match="in use"), run.lake.lock("another"):
            pass
        raise RuntimeError("boom")
    assert runs(tmp_path / "lake") == [
        {"run_id": run.summary.run_id, "status": "failed", "error": "RuntimeError: boom"}
    ]
    assert not any((tmp_path / "lake" / STAGING_DIR).iterdir())
    with run.lake.lock("next"):  # let go
        pass


def test_an_interrupt_leaves_the_run_to_resume_and_a_commit_makes_it_visible(
    tmp_path: Path, sources: list[str]
) -> None:
    settings = Settings.from_flat({"lake": str(tmp_path / "lake")})
    with pytest.raises(KeyboardInterrupt), open_run(sources, settings, "v", LOG) as first:
        raise KeyboardInterrupt
    assert runs(tmp_path / "lake") == []
    with open_run(sources, settings, "v", LOG) as second:
        assert second.staged is not None  # the same plan: the dead run is taken over
        assert second.summary.run_id == first.summary.run_id
        second.commit()
    assert runs(tmp_path / "lake") == [
        {"run_id": first.summary.run_id, "status": "completed", "error": None}
    ]


def test_a_run_whose_sources_match_nothing_fails_and_holds_nothing(tmp_path: Path) -> None:
    """A scheduled run of a folder that is not there finished 'Completed' with 0 shards."""
    settings = Settings.from_flat({"lake": str(tmp_path / "lake")})
    missing = [str(tmp_path / "not-there")]
    with (
        pytest.raises(SettingsError, match="no sources matched"),
        open_run(missing, settings, "v", LOG),
    ):
        pass
    with Lake(tmp_path / "lake").lock("next"):  # let go
        pass
