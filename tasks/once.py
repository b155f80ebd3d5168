"""Loaders of large read-only state (word lists, models) that run once per process."""

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def load_once(loader: Callable[[], T]) -> Callable[[], T]:
    """`functools.cache` for a loader without arguments that threads may call at once (a
    warm-up thread and a shard): the others wait for the first instead of loading again.
    Callers on the hot path after that pay one list check, no lock."""
    loaded: list[T] = []
    lock = threading.Lock()

    @functools.wraps(loader)
    def load() -> T:
        if not loaded:
            with lock:
                if not loaded:
                    loaded.append(loader())
        return loaded[0]

    return load
