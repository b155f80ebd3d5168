"""`--workers N`: shard workers fork from the forkserver, and Prefect still runs them."""

import os
import subprocess
import sys
from pathlib import Path

from prefect import flow, task
from prefect.context import SettingsContext, SyncClientContext
from prefect.settings import PREFECT_TASK_DEFAULT_RETRIES, temporary_settings

from newsmill.flows.pipeline import task_runner
from newsmill.flows.runners import ForkedProcessPoolTaskRunner
from newsmill.flows.settings import Settings
from newsmill.flows.worker_forkserver import WORKER_PRELOAD
from tests.conftest import offline_env, prefect_environment


@task
def where_am_i() -> tuple[int, int, str]:
    parent = os.getppid()
    return os.getpid(), parent, Path(f"/proc/{parent}/cmdline").read_text().replace("\0", " ")


@flow(task_runner=ForkedProcessPoolTaskRunner(max_workers=2))
def probe_workers() -> list[tuple[int, int, str]]:
    return [future.result() for future in [where_am_i.submit() for _ in range(4)]]


def test_several_workers_are_forked_processes_of_the_forkserver(prefect_server: str) -> None:
    assert isinstance(task_runner(Settings(workers=2)), ForkedProcessPoolTaskRunner)
    with prefect_environment(prefect_server):
        places = probe_workers()
    pids = {pid for pid, _, _ in places}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # the workers' parent is the forkserver (spawned workers would be this process's children)
    assert all(parent != os.getpid() and "forkserver" in cmd for _, parent, cmd in places)


@task
def client_in_use() -> tuple[int, bool, int]:
    from newsmill.flows.runners import worker_contexts

    context = SyncClientContext.get()
    return os.getpid(), context in worker_contexts, id(context.client if context else None)


@flow(task_runner=ForkedProcessPoolTaskRunner(max_workers=1))
def probe_clients() -> list[tuple[int, bool, int]]:
    return [future.result() for future in [client_in_use.submit() for _ in range(3)]]


def test_a_worker_keeps_one_prefect_client_for_all_its_task_runs(prefect_server: str) -> None:
    """Prefect made two clients per task run, each loading a TLS context (~15 ms)."""
    with prefect_environment(prefect_server):
        seen = probe_clients()
    [pid] = {pid for pid, _, _ in seen}  # one worker
    assert pid != os.getpid()
    # the task runs took the client context the worker entered for its life: one client
    assert [kept for _, kept, _ in seen] == [True, True, True]
    assert len({client for _, _, client in seen}) == 1


@task
def settings_in_use() -> tuple[int, bool, str | None]:
    from newsmill.flows.runners import worker_contexts

    context = SettingsContext.get()
    assert context is not None
    settings = context.settings
    return settings.tasks.default_retries, context in worker_contexts, settings.api.url


@flow(task_runner=ForkedProcessPoolTaskRunner(max_workers=1))
def probe_settings() -> list[tuple[int, bool, str | None]]:
    seen = [settings_in_use.submit().result()]
    with temporary_settings(updates={PREFECT_TASK_DEFAULT_RETRIES: 7}):
        seen.append(settings_in_use.submit().result())
    return [*seen, settings_in_use.submit().result()]


def test_a_worker_keeps_the_flows_settings_and_takes_any_a_task_is_sent_with(
    prefect_server: str,
) -> None:
    """Tasks under the settings the workers started with are sent without them (Prefect
    sent and rebuilt them for each, ~40 ms); a task under others still runs with those."""
    with prefect_environment(prefect_server):
        same, changed, same_again = probe_settings()
    assert same == same_again == (0, True, prefect_server)  # the worker's own settings
    assert changed == (7, False, prefect_server)  # rebuilt from the settings sent


def test_the_forkserver_loads_and_freezes_the_stages_state_and_stays_single_threaded() -> None:
    """What each worker would load again before its first shard is loaded before they fork;
    a fresh interpreter, as a forkserver is (this process has loaded it all already)."""
    assert "newsmill.flows.worker_preload" in WORKER_PRELOAD
    probe = """
import gc, sys, threading
import newsmill.flows.worker_preload
from prefect._internal.plugins import collections
from newsmill.tasks.mentions.lexicon import plain_words
from newsmill.tasks.text.fields import _registered_domain
from newsmill.tasks.text.language import language_model
print(language_model.loaded, plain_words.loaded, _registered_domain.cache_info().currsize > 0,
      "pyarrow.acero" in sys.modules, collections._collections is not None,
      threading.active_count(), gc.get_freeze_count() > 100_000, gc.isenabled())
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], env=offline_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # and all of it out of the workers' garbage collections (`gc.freeze`)
    assert result.stdout.split() == ["True"] * 5 + ["1", "True", "True"]
