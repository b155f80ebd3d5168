"""Worker processes for `--workers N`: Prefect's process pool, forked from a forkserver.

Prefect's `ProcessPoolTaskRunner` spawns its workers, and each spawned worker imports
Prefect and the stages from scratch before its first shard (~1.5 s of CPU a worker, on
the run's critical path). Here the workers fork from a forkserver that imported them
once: a forkserver is a single-threaded process, so forking it is safe where forking the
flow's own process (its event loops and threads) is not. And each worker keeps one Prefect
client for all its task runs: Prefect otherwise makes two per task run (one to restore the
flow's context, one in the task engine), each with a TLS context loaded from certifi's CA
bundle (~15 ms) even for an http:// API, ~0.16 s a shard in all. The worker also keeps the
flow's settings for its life: Prefect sends them with each task and rebuilds them in the
worker (~25 ms a task), which is skipped for a task sent with the settings the worker already
has. Everything else (how tasks are sent, how their events and logs come back) is Prefect's.
"""

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Self

from prefect.client.schemas.objects import RunInput
from prefect.context import SettingsContext, SyncClientContext
from prefect.futures import PrefectConcurrentFuture, PrefectFuture
from prefect.task_runners import (
    ProcessPoolTaskRunner,
    TaskRunner,
    _initialize_process_pool_worker,
)
from prefect.tasks import Task

from newsmill.flows.worker_forkserver import WORKER_PRELOAD
from newsmill.tasks.forkserver import forkserver_context


class ForkedProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """`ProcessPoolTaskRunner` whose workers fork from a preloaded forkserver."""

    _worker_settings: SettingsContext | None = None  # what the workers start with

    def __enter__(self) -> Self:
        # Prefect's __enter__ (prefect 3.9.1, pinned) with two changes: the start method,
        # and the workers' initializer, which also gives each its one client and the flow's
        # settings (see `submit`)
        TaskRunner.__enter__(self)
        context = forkserver_context(*WORKER_PRELOAD)
        self._subprocess_message_queue = context.Queue()
        self._message_forwarding_thread = threading.Thread(
            target=self._forward_subprocess_messages,
            name="ProcessPoolTaskRunnerMessageForwarder",
            daemon=True,
        )
        self._message_forwarding_thread.start()
        self._worker_settings = SettingsContext.get()
        try:
            self._executor = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=context,
                initializer=_initialize_worker,
                initargs=(
                    self._subprocess_message_queue,
                    _serialized(self._worker_settings),
                    self._initializer,
                    self._initargs,
                ),
            )
            self._resolver_executor = ThreadPoolExecutor(max_workers=self._max_workers)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def submit(  # type: ignore[override]  # Prefect's overloads, one signature
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[RunInput]] | None = None,
    ) -> PrefectConcurrentFuture[Any]:
        current, workers = SettingsContext.get(), self._worker_settings
        if current is None or workers is None or current.settings is not workers.settings:
            return super().submit(task, parameters, wait_for, dependencies)
        # sent as nothing: each worker has these settings (entered at its start)
        with _SettingsWorkersHave.model_construct(
            profile=current.profile, settings=current.settings
        ):
            return super().submit(task, parameters, wait_for, dependencies)


class _SettingsWorkersHave(SettingsContext):
    """The settings the workers were started with, which a task therefore need not carry:
    Prefect serializes the settings for each task (~14 ms) and the worker rebuilds them
    from that (~25 ms); a task sent with none runs under the worker's own."""

    def serialize(self, include_secrets: bool = True) -> dict[str, Any]:
        return {}


def _serialized(settings: SettingsContext | None) -> dict[str, Any]:
    """The flow's settings (its API among them), as Prefect would send them with a task."""
    return settings.serialize() if settings else {}


def _initialize_worker(
    message_queue: Any,
    settings: dict[str, Any],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Prefect's set-up of a worker, then the flow's settings and the one client its task
    runs share, as contexts entered for the worker's life: Prefect's `get_client`, its
    task engine and `get_current_settings` take the active ones. The flow's settings, as
    the forkserver's environment predates the API a run reports to (the temporary API, a
    server found)."""
    _initialize_process_pool_worker(message_queue, initializer, initargs)
    if settings:
        worker_contexts.append(SettingsContext(**settings).__enter__())
    worker_contexts.append(SyncClientContext().__enter__())


# the worker's settings and client contexts, entered for the worker's life
worker_contexts: list[SettingsContext | SyncClientContext] = []
