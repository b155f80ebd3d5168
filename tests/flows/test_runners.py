"""`--workers N`: shard workers fork from the forkserver, and Prefect still runs them."""

import os
from multiprocessing import forkserver
from pathlib import Path

from prefect import flow, task

from newsmill.flows.pipeline import task_runner
from newsmill.flows.runners import ForkedProcessPoolTaskRunner
from newsmill.flows.settings import Settings
from tests.conftest import prefect_environment


@task
def where_am_i() -> tuple[int, int, str]:
    parent = os.getppid()
    return os.getpid(), parent, Path(f"/proc/{parent}/cmdline").read_text().replace("\0", " ")


@task
def language_model_was_loaded() -> bool:
    from newsmill.tasks.text.fields import _language_identifier

    return _language_identifier.loaded


@flow(task_runner=ForkedProcessPoolTaskRunner(max_workers=2))
def probe_workers() -> list[tuple[int, int, str]]:
    return [future.result() for future in [where_am_i.submit() for _ in range(4)]]


@flow(task_runner=ForkedProcessPoolTaskRunner(max_workers=2))
def probe_loaded() -> list[bool]:
    return [future.result() for future in [language_model_was_loaded.submit() for _ in range(2)]]


def test_several_workers_are_forked_processes_of_the_forkserver(prefect_server: str) -> None:
    assert isinstance(task_runner(Settings(workers=2)), ForkedProcessPoolTaskRunner)
    with prefect_environment(prefect_server):
        places = probe_workers()
    pids = {pid for pid, _, _ in places}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # the workers' parent is the forkserver (spawned workers would be this process's children)
    assert all(parent != os.getpid() and "forkserver" in cmd for _, parent, cmd in places)


def test_workers_fork_with_the_language_model_loaded(prefect_server: str) -> None:
    """The forkserver loads it once (`flows/worker_preload.py`); each worker would load it
    again otherwise, before its first shard."""
    # as in a new `newsmill run`: a forkserver this process started for other children (HTML
    # extraction) would keep their preload list
    forkserver._forkserver._stop()
    with prefect_environment(prefect_server):
        loaded = probe_loaded()
    assert loaded == [True, True]
