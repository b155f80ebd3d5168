"""The process's one forkserver, and what it imports before it forks.

Child processes that run our code (HTML extraction, `--workers N` shard workers) fork from
a forkserver: forking the flow's own process (its threads and event loops) is unsafe, and
spawning costs each child a fresh import of what it needs. The forkserver starts once per
process, at the first child, and imports its preload list then; so every user adds its
modules here rather than replacing the list.
"""

import multiprocessing
from multiprocessing.context import ForkServerContext

_preloaded: set[str] = set()


def forkserver_context(*preload: str) -> ForkServerContext:
    """The forkserver context, with `preload` added to what the server imports when it
    starts (a server already running keeps its list: its children import the rest)."""
    context = multiprocessing.get_context("forkserver")
    if not _preloaded.issuperset(preload):
        _preloaded.update(preload)
        context.set_forkserver_preload(sorted(_preloaded))
    return context
