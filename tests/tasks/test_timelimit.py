"""A time limit that stops pure-Python work in any thread, and leaves nothing pending."""

import threading
import time

import pytest

from newsmill.tasks.timelimit import TimeLimitExceeded, time_limit


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_work_over_the_limit_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), time_limit(0.1):
        _spin(30)
    assert time.monotonic() - started < 10  # stopped, not run out


def test_work_within_the_limit_is_left_alone_and_nothing_fires_later() -> None:
    with time_limit(0.2):
        _spin(0.05)
    _spin(0.4)  # past the old deadline: no stray exception lands here


def test_blocks_in_other_threads_are_stopped_each_on_its_own_time() -> None:
    outcomes: dict[str, str] = {}

    def work(name: str, limit: float, seconds: float) -> None:
        try:
            with time_limit(limit):
                _spin(seconds)
            outcomes[name] = "finished"
        except TimeLimitExceeded:
            outcomes[name] = "stopped"

    threads = [
        threading.Thread(target=work, args=("quick", 5.0, 0.05)),
        threading.Thread(target=work, args=("endless", 0.1, 30)),
        threading.Thread(target=work, args=("late", 0.3, 30)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert outcomes == {"quick": "finished", "endless": "stopped", "late": "stopped"}
