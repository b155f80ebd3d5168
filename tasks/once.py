"""Loaders of large read-only state (word lists, models) that run once per process."""

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """`functools.cache` for a loader without arguments that threads may call at once (a
    warm-up thread and a shard): the others wait for the first instead of loading again.
    Callers on the hot path after that pay one list check, no lock."""

    def __init__(self, loader: Callable[[], T]) -> None:
        functools.update_wrapper(self, loader)
        self._loader = loader
        self._loaded: list[T] = []
        self._lock = threading.Lock()

    def __call__(self) -> T:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._loaded.append(self._loader())
        return self._loaded[0]

    @property
    def loaded(self) -> bool:
        """Whether this process (or the one it forked from) has loaded it already."""
        return bool(self._loaded)


def load_once(loader: Callable[[], T]) -> Once[T]:
    """The decorator: `@load_once` on a loader makes it run once per process."""
    return Once(loader)
