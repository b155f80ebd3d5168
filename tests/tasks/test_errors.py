"""Which failures a shard is retried for: only those that may pass when tried again."""

import errno
from concurrent.futures.process import BrokenProcessPool

import pytest

from newsmill.schemas.reasons import Reason
from newsmill.tasks.errors import (
    FetchError,
    LakeError,
    NerError,
    SettingsError,
    TransientError,
    is_transient,
)


class KilledWorker(Exception):
    """Named like Dask's: lost workers are recognised by class name, no extra needed."""


@pytest.mark.parametrize(
    "error",
    [
        TransientError("try later"),
        TimeoutError("read timed out"),
        ConnectionResetError("reset by peer"),
        OSError(errno.ETIMEDOUT, "timed out"),
        OSError(errno.EBUSY, "device busy"),
        BrokenProcessPool("a worker died"),
        KilledWorker("lost"),
        FetchError(Reason.FETCH_TIMEOUT, "slow host", transient=True),
    ],
)
def test_transient_failures(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        KeyError("doc_id"),
        ValueError("bad value"),
        TypeError("wrong type"),
        OSError("no errno: nothing says it would pass"),
        OSError(errno.ENOSPC, "no space left"),
        FileNotFoundError(errno.ENOENT, "gone"),
        PermissionError(errno.EACCES, "denied"),
        FetchError(Reason.FETCH_BAD_URL, "no host", transient=False),
        LakeError("not writable"),
        SettingsError("bad setting"),
    ],
)
def test_lasting_failures(error: BaseException) -> None:
    assert not is_transient(error)


def test_a_finder_error_is_a_settings_error() -> None:
    # the CLI's one-line handling of settings covers the entity finder too
    assert issubclass(NerError, SettingsError)
