"""Worker processes for `--workers N`: Prefect's process pool, forked from a forkserver.

Prefect's `ProcessPoolTaskRunner` spawns its workers, and each spawned worker imports
Prefect and the stages from scratch before its first shard (~1.5 s of CPU a worker, on
the run's critical path). Here the workers fork from a forkserver that imported them
once: a forkserver is a single-threaded process, so forking it is safe where forking the
flow's own process (its event loops and threads) is not. Everything else (how tasks are
sent, how their events and logs come back) is Prefect's.
"""

import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Self

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
        # Prefect's __enter__ with the one change of start method (prefect 3.9.1, pinned)
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
                initializer=_initialize_process_pool_worker,
                initargs=(self._subprocess_message_queue, self._initializer, self._initargs),
            )
            self._resolver_executor = ThreadPoolExecutor(max_workers=self._max_workers)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self
