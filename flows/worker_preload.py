"""What the shard workers' forkserver loads before it forks (`worker_forkserver.WORKER_PRELOAD`).

Importing this module does the loading: a forkserver's preload list takes module names.
Each worker forked afterwards starts with Prefect's collections imported (Prefect imports
them at a worker's first task run: ~0.3 s with prefect-dask installed) and with the word
lists and the language model in memory (~0.1 s, the model mapped from its cache). Loaded here once, not once per worker,
and before the first shard rather than inside it. Nothing here starts a thread or a
process: the forkserver must stay single-threaded to fork safely.

What is loaded is then frozen out of the garbage collector's reach (`gc.freeze`, Python's
documented pattern for a process that forks workers): a worker's full collections no
longer walk the ~120k objects of the modules and word lists (a shard of 2,500 articles ran
three, ~60 ms each, ~10 ms frozen), and they leave the inherited pages unwritten, shared
with the forkserver. The forkserver's own exit unfreezes them first, so that they are
collected as usual (the workers end with `os._exit`, as multiprocessing's children do).
Each worker's collector is on: a failure to load here leaves it on too.
"""

import atexit
import gc

from newsmill.flows.collector import hold_off_garbage_collection, resume_garbage_collection

hold_off_garbage_collection()
try:
    from datetime import UTC, datetime

    import prefect.task_engine  # noqa: F401  # what runs each task
    from prefect.plugins import load_prefect_collections

    import newsmill.flows.stages  # noqa: F401
    from newsmill.flows.settings import Settings
    from newsmill.tasks.shard import load_stage_state

    load_prefect_collections()
    load_stage_state(Settings().shard_settings, datetime.now(UTC))
finally:
    resume_garbage_collection()
atexit.register(gc.unfreeze)
