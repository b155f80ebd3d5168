"""The lake's lock: one run writes a lake at a time.

The lock is a small JSON file naming its holder and a random token. It is created whole or
not at all (`Store.create_exclusive`: a hard link locally, a conditional PUT on object
stores), so no reader ever sees it empty or half-written, and a run only ever deletes a
lock that carries its own token. While it runs, the holder renews the lock's lease (every
third of `lease_s`). A lock is taken over only when its holder is provably gone: it ran on
this host and its process is gone, or the process with its PID started at another time (the
PID was reused); or, from any host, its lease ran out. Reading the lock and then
replacing or deleting it (renewal, takeover, release) is one step among this host's
processes (`Store.serialised`), so a starter never deletes the lock another has just
taken. A lock that cannot be read was not
written by newsmill: it is left alone, and the run stops saying so.
"""

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from newsmill.tasks.errors import LakeError
from newsmill.tasks.lake.store import Store

LOCK_NAME = "_lock"
LOCK_POLL_S = 0.5
DEFAULT_LEASE_S = 60.0


@contextlib.contextmanager
def hold(
    store: Store,
    run_id: str,
    wait_s: float = 0.0,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> Iterator[None]:
    """Hold the lake for one run. A live holder makes this fail at once, or after waiting
    up to `wait_s` seconds for it to let go (`on_wait` hears who it waits for, once); a
    lock whose holder is provably gone is taken over."""
    path = store.path(LOCK_NAME)
    owner: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "token": secrets.token_hex(16),
        "pid_started": process_started(os.getpid()),
        "lease_s": lease_s,
        "renewed_at": time.time(),
    }
    deadline = time.monotonic() + wait_s
    waiting = False
    while not store.create_exclusive(path, json.dumps(owner).encode()):
        holder = _holder(store, path)
        if holder is None:
            continue  # let go of meanwhile
        if _provably_gone(holder):
            _remove_if_still_gone(store, path, holder.get("token"))
            continue
        if time.monotonic() >= deadline:
            raise _in_use(store, holder, wait_s)
        if not waiting and on_wait is not None:
            on_wait(holder)
        waiting = True
        time.sleep(min(LOCK_POLL_S, max(deadline - time.monotonic(), 0)))
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(store, path, owner, stop), name="newsmill-lease", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        _remove_if_held_by(store, path, owner["token"])


def refuse_if_held(store: Store) -> None:
    """Fail at once when a live run holds the lake: spares a start that would only be
    refused (the run still takes the lock properly when it begins)."""
    holder = _holder(store, store.path(LOCK_NAME))
    if holder is not None and not _provably_gone(holder):
        raise _in_use(store, holder, 0)


def _in_use(store: Store, holder: dict[str, Any], wait_s: float) -> LakeError:
    waited = f"; waited {wait_s:g} s" if wait_s else ""
    return LakeError(
        f"lake {store.url} is in use by run {holder.get('run_id')} "
        f"(pid {holder.get('pid')} on {holder.get('host')}){waited}; try again "
        "when it ends, or wait for it with --lease-wait-s"
    )


def process_started(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (Linux's /proc); None where the
    system does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name, in parentheses, may hold spaces: count fields after its end
    return int(stat.rsplit(")", 1)[1].split()[19])


def _holder(store: Store, path: str) -> dict[str, Any] | None:
    """The lock's holder, or None when the lock is gone."""
    try:
        holder = json.loads(store.read_bytes(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise _foreign_lock(store, path, str(error)) from error
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        raise _foreign_lock(store, path, "it names no holder")
    return holder


def _foreign_lock(store: Store, path: str, why: str) -> LakeError:
    return LakeError(
        f"lake {store.url} has a lock newsmill cannot read ({store.uri(path)}: {why}); "
        "if no run is using the lake, delete that file"
    )


def _renew(store: Store, path: str, owner: dict[str, Any], stop: threading.Event) -> None:
    """Renew the lease while the run holds the lock (and it is still ours)."""
    while not stop.wait(owner["lease_s"] / 3):
        with contextlib.suppress(LakeError, OSError), store.serialised(path):
            holder = _holder(store, path)
            if holder is None or holder.get("token") != owner["token"]:
                return  # taken over: our lease had run out
            renewed = owner | {"renewed_at": time.time()}
            store.write_atomic(path, json.dumps(renewed).encode())


def _provably_gone(holder: dict[str, Any]) -> bool:
    """The holder's lease ran out, or it ran on this host and its process is gone or is
    another process now."""
    renewed_at, lease_s = holder.get("renewed_at"), holder.get("lease_s")
    leased = isinstance(renewed_at, float | int) and isinstance(lease_s, float | int)
    if leased and time.time() > renewed_at + lease_s:  # type: ignore[operator]
        return True
    if holder.get("host") != socket.gethostname():
        return False
    pid = int(holder.get("pid", 0))
    if pid <= 0 or not _pid_alive(pid):
        return True
    started = holder.get("pid_started")
    return started is not None and process_started(pid) not in (None, started)


def _remove_if_held_by(store: Store, path: str, token: str | None) -> None:
    """Delete the lock if it is still the one with this token (newsmill 0.1's locks have
    none)."""
    with contextlib.suppress(LakeError), store.serialised(path):
        holder = _holder(store, path)
        if holder is not None and holder.get("token") == token:
            store.remove(path)


def _remove_if_still_gone(store: Store, path: str, token: str | None) -> None:
    """Take over: delete the lock if it is still the dead holder's and it has not renewed
    its lease meanwhile (a stalled holder that woke up keeps its lock)."""
    with contextlib.suppress(LakeError), store.serialised(path):
        holder = _holder(store, path)
        if holder is not None and holder.get("token") == token and _provably_gone(holder):
            store.remove(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
