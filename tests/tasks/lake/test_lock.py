"""One writer per lake: the lock appears whole or not at all, only its owner deletes it, and
only a provably dead holder loses it."""

import json
import multiprocessing
import os
import socket
import time
from pathlib import Path

import pytest

from newsmill.tasks.errors import LakeError
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.lock import LOCK_NAME, _remove_if_still_gone, process_started
from newsmill.tasks.lake.store import Store


def test_a_lock_newsmill_cannot_read_is_left_alone_and_named(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("")  # e.g. written by hand, or by another tool
    with pytest.raises(LakeError, match="cannot read"), Lake(tmp_path).lock("run"):
        pass
    assert (tmp_path / LOCK_NAME).read_text() == ""


def test_a_reused_pid_is_not_its_old_holder(tmp_path: Path) -> None:
    started = process_started(os.getpid())
    assert started is not None  # Linux: /proc tells
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": "old", "token": "t"}
    lock = tmp_path / LOCK_NAME
    # the same PID, started when this process did: alive, so the lake is in use
    lock.write_text(json.dumps(holder | {"pid_started": started}))
    with pytest.raises(LakeError, match="in use by run old"), Lake(tmp_path).lock("new"):
        pass
    # the same PID, started at another time: another process now, the holder is gone
    lock.write_text(json.dumps(holder | {"pid_started": started - 1}))
    with Lake(tmp_path).lock("new"):
        assert json.loads(lock.read_text())["run_id"] == "new"


def test_a_run_deletes_only_its_own_lock(tmp_path: Path) -> None:
    lock = tmp_path / LOCK_NAME
    with Lake(tmp_path).lock("mine"):
        mine = json.loads(lock.read_text())
        assert len(mine["token"]) == 32
        # someone replaced the lock meanwhile (by hand, or a second run that judged us dead)
        lock.write_text(json.dumps(mine | {"run_id": "theirs", "token": "another"}))
    assert json.loads(lock.read_text())["run_id"] == "theirs"


def _start(lake: str, run_id: str, barrier, holders: str) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    try:
        with Lake(lake).lock(run_id):
            with open(holders, "a") as log:
                log.write(run_id + "\n")
            barrier.wait()  # hold until every other starter has tried and given up
    except LakeError:
        barrier.wait()


@pytest.mark.parametrize("stale", [False, True], ids=["free", "stale-lock"])
# 10 trials each here; `benchmarks/chaos.py --part starters` runs 20 starters 20 times more
@pytest.mark.parametrize("trial", range(10))
def test_of_twenty_processes_starting_at_once_exactly_one_holds_the_lake(
    tmp_path: Path, trial: int, stale: bool
) -> None:
    """Also when they all find a dead run's lock and race to take it over: reading the
    stale lock and deleting it is one step, so no starter deletes the winner's new lock."""
    if stale:
        dead = {"pid": 1, "host": "gone", "run_id": "dead", "token": "t", "lease_s": 1.0}
        (tmp_path / LOCK_NAME).write_text(json.dumps(dead | {"renewed_at": time.time() - 9}))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(20)
    holders = tmp_path / "holders.log"
    holders.touch()
    starters = [
        context.Process(target=_start, args=(str(tmp_path), f"run-{n}", barrier, str(holders)))
        for n in range(20)
    ]
    for process in starters:
        process.start()
    for process in starters:
        process.join(timeout=60)
    assert [p.exitcode for p in starters] == [0] * 20
    assert len(holders.read_text().split()) == 1
    assert not (tmp_path / LOCK_NAME).exists()  # let go


def test_a_lease_that_ran_out_is_taken_over_from_any_host(tmp_path: Path) -> None:
    elsewhere = {"pid": 1, "host": "another-host", "run_id": "far", "token": "t", "lease_s": 60.0}
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps(elsewhere | {"renewed_at": time.time()}))
    with pytest.raises(LakeError, match="in use by run far"), Lake(tmp_path).lock("near"):
        pass
    lock.write_text(json.dumps(elsewhere | {"renewed_at": time.time() - 61}))
    with Lake(tmp_path).lock("near"):
        assert json.loads(lock.read_text())["run_id"] == "near"


def test_the_holder_renews_its_lease_while_it_runs(tmp_path: Path) -> None:
    lock = tmp_path / LOCK_NAME
    with Lake(tmp_path).lock("long", lease_s=0.3):
        first = json.loads(lock.read_text())["renewed_at"]
        time.sleep(0.5)  # more than the lease: only renewal keeps it
        renewed = json.loads(lock.read_text())
        assert renewed["renewed_at"] > first and renewed["run_id"] == "long"
        with pytest.raises(LakeError, match="in use by run long"), Lake(tmp_path).lock("other"):
            pass
    assert not lock.exists()


def test_a_holder_that_renewed_after_it_looked_dead_keeps_its_lock(tmp_path: Path) -> None:
    """A starter read a stalled holder's lock with its lease run out; before the starter
    deleted it, the holder woke and renewed. The takeover re-reads under the guard."""
    holder = {"pid": 1, "host": "far", "run_id": "stalled", "token": "t", "lease_s": 1.0}
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps(holder | {"renewed_at": time.time() - 9}))
    store = Store(tmp_path)
    seen = json.loads(lock.read_text())  # what the starter judged dead
    lock.write_text(json.dumps(holder | {"renewed_at": time.time()}))  # the holder renews
    _remove_if_still_gone(store, str(lock), seen["token"])
    assert json.loads(lock.read_text())["run_id"] == "stalled"
    lock.write_text(json.dumps(holder | {"renewed_at": time.time() - 9}))  # stalled for good
    _remove_if_still_gone(store, str(lock), seen["token"])
    assert not lock.exists()
