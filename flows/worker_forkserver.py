"""The shard workers' forkserver (`--workers N`): what it imports before it forks, and
starting it. Light to import (no Prefect), so that the command's entry point can start it
before the CLI imports anything heavy: its ~1.6 s of imports then run beside the CLI's own
instead of after them, and the workers are ready when the first shard is submitted."""

from multiprocessing import forkserver

from newsmill.tasks.forkserver import forkserver_context

# what a shard worker needs before its first shard (Prefect's task engine, the stages and
# their loaded state): one module, which holds the garbage collector off while it imports
WORKER_PRELOAD = ("newsmill.flows.worker_preload",)


def start_worker_forkserver() -> None:
    """Start the workers' forkserver now, without waiting for its imports (a server
    already running is left as it is)."""
    forkserver_context(*WORKER_PRELOAD)
    forkserver.ensure_running()
