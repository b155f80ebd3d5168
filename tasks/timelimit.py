"""A time limit on a block of Python code, in any thread.

Shards run in the main thread, in a pool's threads or in Dask/Ray workers, so SIGALRM
(main thread only) cannot stop a document that takes too long. A watchdog thread instead
raises `TimeLimitExceeded` in the late thread (CPython's `PyThreadState_SetAsyncExc`): the
exception lands at the thread's next Python instruction, so it stops pure-Python loops,
not one long call into C; our regular expressions are linear, so no single C call runs
long. It derives from BaseException so that a library's `except Exception` does not
swallow it.
"""

import contextlib
import ctypes
import heapq
import itertools
import threading
import time
from collections.abc import Iterator


class TimeLimitExceeded(BaseException):
    pass


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class _Watchdog:
    """One thread per process that wakes at the earliest deadline of the blocks running."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._deadlines: list[tuple[float, int, int]] = []  # (when, block number, thread)
        self._running: set[int] = set()
        self._fired: set[int] = set()
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None

    def start(self, when: float) -> int:
        number = next(self._numbers)
        with self._lock:
            self._running.add(number)
            heapq.heappush(self._deadlines, (when, number, threading.get_ident()))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="newsmill-time-limit", daemon=True
                )
                self._thread.start()
            if self._deadlines[0][1] == number:  # the watchdog sleeps till a later deadline
                self._lock.notify()
        return number

    def stop(self, number: int) -> bool:
        """End a block; True when its limit fired. A raise still pending (the block ended
        between the watchdog's decision and the thread's next instruction) is withdrawn."""
        with self._lock:
            self._running.discard(number)
            fired = number in self._fired
            if fired:
                self._fired.discard(number)
                _set_async_exc(threading.get_ident(), ctypes.py_object())
            return fired

    def _watch(self) -> None:
        with self._lock:
            while True:
                while self._deadlines and self._deadlines[0][1] not in self._running:
                    heapq.heappop(self._deadlines)
                if not self._deadlines:
                    self._lock.wait()
                    continue
                when, number, thread = self._deadlines[0]
                if time.monotonic() < when:
                    self._lock.wait(when - time.monotonic())
                    continue
                heapq.heappop(self._deadlines)
                self._fired.add(number)
                _set_async_exc(thread, ctypes.py_object(TimeLimitExceeded))


_WATCHDOG = _Watchdog()


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in this block once it has run `seconds` (or at its end,
    if it ended late before the watchdog had its turn)."""
    when = time.monotonic() + seconds
    number = _WATCHDOG.start(when)
    try:
        yield
    except TimeLimitExceeded:
        _WATCHDOG.stop(number)
        raise
    if _WATCHDOG.stop(number) or time.monotonic() >= when:
        raise TimeLimitExceeded
