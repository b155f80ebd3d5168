"""Worker processes for `--workers N`: Prefect's process pool, forked from a forkserver.

Prefect's `ProcessPoolTaskRunner` spawns its workers, and each spawned worker imports
Prefect and the stages from scratch before its first shard (~1.5 s of CPU a worker, on
the run's critical path). Here the workers fork from a forkserver that imported them
once: a forkserver is a single-threaded process, so forking it is safe where forking the
flow's own process (its event loops and threads) is not. And each worker keeps one Prefect
client for all its task runs: Prefect otherwise makes two per task run (one to restore the
flow's context, one in the task engine), each with a TLS context loaded from certifi's CA
bundle (~15 ms) even for an http:// API, ~0.16 s a shard in all. Everything else (how tasks
are sent, how their events and logs come back) is Prefect's.
"""

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Self

from prefect.context import SettingsContext, SyncClientContext
from prefect.task_runners import (
    ProcessPoolTaskRunner,
    TaskRunner,
    _initialize_process_pool_worker,
)

from newsmill.flows.worker_forkserver import WORKER_PRELOAD
from newsmill.tasks.forkserver import forkserver_context


class ForkedProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """`ProcessPoolTaskRunner` whose workers fork from a preloaded forkserver."""

    def __enter__(self) -> Self:
        # Prefect's __enter__ (prefect 3.9.1, pinned) with two changes: the start method,
        # and the workers' initializer, which also gives each its one client
        TaskRunner.__enter__(self)
        context = forkserver_context(*WORKER_PRELOAD)
        self._subprocess_message_queue = context.Queue()
        self._message_forwarding_thread = threading.Thread(
            target=self._forward_subprocess_messages,
            name="ProcessPoolTaskRunnerMessageForwarder",
            daemon=True,
        )
        self._message_forwarding_thread.start()
        try:
            self._executor = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=context,
                initializer=_initialize_worker,
                initargs=(
                    self._subprocess_message_queue,
                    _current_settings(),
                    self._initializer,
                    self._initargs,
                ),
            )
            self._resolver_executor = ThreadPoolExecutor(max_workers=self._max_workers)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self


def _current_settings() -> dict[str, Any]:
    """The flow's settings (its API among them), as Prefect sends them with each task."""
    context = SettingsContext.get()
    return context.serialize() if context else {}


def _initialize_worker(
    message_queue: Any,
    settings: dict[str, Any],
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Prefect's set-up of a worker, then the one client its task runs share: a client
    context entered for the worker's life, which Prefect's `get_client` and the task
    engine take when one is active. Made under the flow's settings: the forkserver's
    environment predates the API a run reports to (the temporary API, a server found)."""
    _initialize_process_pool_worker(message_queue, initializer, initargs)
    with SettingsContext(**settings) if settings else contextlib.nullcontext():
        client_context = SyncClientContext()
    worker_client_context.append(client_context.__enter__())


# the worker's one client context, entered for the worker's life
worker_client_context: list[SyncClientContext] = []
