"""A loader shared by a warm-up thread and a shard runs once, whoever asks first."""

import threading
import time

import pytest

from newsmill.tasks.once import load_once


def test_threads_asking_at_once_wait_for_one_load() -> None:
    calls = []

    @load_once
    def slow_list() -> list[int]:
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to ask while it loads
        return [1, 2, 3]

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow_list())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(result is results[0] for result in results) and results[0] == [1, 2, 3]
    assert slow_list() is results[0]


def test_a_failed_load_is_tried_again() -> None:
    attempts = []

    @load_once
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "loaded"

    with pytest.raises(OSError, match="disk hiccup"):
        flaky()
    assert flaky() == "loaded" and len(attempts) == 2
