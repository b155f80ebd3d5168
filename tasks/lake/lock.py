"""The lake's lock: one run writes a lake at a time. The lock is a small JSON file naming
its holder, created only if absent (O_EXCL locally, a conditional PUT on object stores)."""

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from newsmill.tasks.errors import LakeError
from newsmill.tasks.lake.store import Store

LOCK_NAME = "_lock"
LOCK_POLL_S = 0.5


@contextlib.contextmanager
def hold(
    store: Store,
    run_id: str,
    wait_s: float = 0.0,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[None]:
    """Hold the lake for one run. A live holder makes this fail at once, or after waiting
    up to `wait_s` seconds for it to let go (`on_wait` hears who it waits for, once); a
    lock left by a dead process on this host is taken over."""
    path = store.path(LOCK_NAME)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id}
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        if not store.create_exclusive(path, json.dumps(owner).encode()):
            holder = _holder(store, path)
            if holder is None:
                store.remove(path)
                continue
            if time.monotonic() >= deadline:
                waited = f"; waited {wait_s:g} s" if wait_s else ""
                raise LakeError(
                    f"lake {store.url} is in use by run {holder.get('run_id')} "
                    f"(pid {holder.get('pid')} on {holder.get('host')}){waited}; try again "
                    "when it ends, or wait for it with --lease-wait-s"
                ) from None
            if not waiting and on_wait is not None:
                on_wait(holder)
            waiting = True
            time.sleep(min(LOCK_POLL_S, max(deadline - time.monotonic(), 0)))
            continue
        break
    try:
        yield
    finally:
        store.remove(path)


def _holder(store: Store, path: str) -> dict[str, Any] | None:
    """The live holder of the lock, or None when the lock is stale."""
    try:
        holder: dict[str, Any] = json.loads(store.read_bytes(path))
    except FileNotFoundError:
        return None  # let go of meanwhile
    except (OSError, ValueError):
        return None  # half-written by a process killed while taking it
    if holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", 0))):
        return None
    return holder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
