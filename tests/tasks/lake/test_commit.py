"""A commit that fails part-way (a full disk, a file where a folder must go) once its
journal is written is finished by the next run, never half-undone. The faults are real: a
plain file placed where the commit must create a partition folder."""

from pathlib import Path

import duckdb
import pytest

from newsmill.schemas.reasons import Reason
from newsmill.schemas.tables import TABLES
from newsmill.tasks.lake import rows
from newsmill.tasks.lake.lake import JOURNAL_NAME, STAGING_DIR, Lake, RunWriter
from newsmill.tasks.records import Reject
from tests.tasks.lake.test_rows import article
from tests.tasks.lake_runs import run_context, runs_row

CTX = run_context("20261202T010000Z-commit")


def _staged(lake: Lake) -> RunWriter:
    writer = lake.start_run(CTX.run_id)
    reject = Reject("b.txt", Reason.READ_EMPTY_FILE, "empty file", "h2")
    doc = article()
    doc.mentions_version = "test rules"
    for table, these in rows.batch_rows(CTX, [doc], [], [reject], {}).items():
        writer.write(TABLES[table], these)
    return writer


def _contents(lake: Lake) -> dict[str, int]:
    return {
        name: duckdb.sql(f"select count(*) from {lake.scan(spec)}").fetchall()[0][0]
        for name, spec in TABLES.items()
        if lake.store.has_files(lake.table_path(spec), "*.parquet")
    }


def _files_to_move(tmp_path: Path) -> list[str]:
    writer = _staged(Lake(tmp_path / "probe"))
    writer.commit(runs_row(CTX.run_id, CTX.started_at))
    lake = Path(tmp_path / "probe")
    return sorted(
        str(p.relative_to(lake)) for p in lake.rglob("*.parquet") if STAGING_DIR not in p.parts
    )


def test_a_rename_that_fails_at_any_file_leaves_a_commit_the_next_run_finishes(
    tmp_path: Path,
) -> None:
    files = _files_to_move(tmp_path)
    whole = _contents(Lake(tmp_path / "probe"))
    assert len(files) >= 6 and whole["runs"] == 1
    for n, relative in enumerate(files):
        lake = Lake(tmp_path / f"lake-{n}")
        blocker = Path(lake.root) / Path(relative).parent  # a file where a folder must go
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_text("in the way")
        writer = _staged(lake)
        with pytest.raises(OSError):
            writer.commit(runs_row(CTX.run_id, CTX.started_at))
        writer.abort()  # what a failing run does: it must not undo a journaled commit
        journal = Path(lake.root) / STAGING_DIR / CTX.run_id / JOURNAL_NAME
        assert journal.exists(), relative
        # the runs row is the last file moved: until it is, no run claims the rows
        assert "runs" not in _contents(lake) or relative.startswith("runs/")

        blocker.unlink()  # the disk has room again
        assert Lake(lake.root).recover() == [
            f"completed the interrupted commit of run {CTX.run_id}"
        ]
        assert _contents(lake) == whole, relative
        assert not (Path(lake.root) / STAGING_DIR / CTX.run_id).exists()
