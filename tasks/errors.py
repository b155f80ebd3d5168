"""newsmill's errors in one place. Two kinds matter to a run:

- what the user must fix before a run can start (`SettingsError`, `NerError`,
  `MissingExtraError`, `LakeError`): one line, exit 2, nothing written;
- what may pass when tried again (`is_transient`): a shard that fails with one is retried,
  anything else fails at once, since running the same code on the same input again
  gives the same error.

A fetch's own failures (`FetchError`) carry a reject reason and say themselves whether
they are transient.
"""

import errno

from newsmill.schemas.reasons import Reason


class NewsmillError(Exception):
    """Base of the errors newsmill raises on purpose."""


class SettingsError(NewsmillError, ValueError):
    """A setting has an unknown name or a value of the wrong type."""


class NerError(SettingsError):
    """The entity finder named in the settings cannot be used."""


class MissingExtraError(NewsmillError, ImportError):
    """An optional part of newsmill is needed but its extra is not installed."""


class LakeError(NewsmillError):
    """The run cannot proceed: the lake is not writable or another run holds it."""


class SchemaError(NewsmillError):
    """Rows that do not have exactly their table's declared columns: a bug, never input."""


class CheckpointError(NewsmillError, ValueError):
    """A resume checkpoint that is not one this newsmill wrote: discarded, never run."""


class TransientError(NewsmillError):
    """A failure that may pass if the same work is tried again."""


class FetchError(NewsmillError):
    """One attempt failed; `transient` ones are tried again."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        transient: bool = False,
        retry_after: float = 0.0,
        retry_now: bool = True,
    ) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail
        self.transient, self.retry_after = transient, retry_after
        self.retry_now = transient and retry_now  # else only a later run tries again


# errno values of a busy or briefly unreachable resource, not of a wrong path or a full disk
TRANSIENT_ERRNOS = frozenset(
    {
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ECONNREFUSED,
        errno.EPIPE,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
    }
)
# Lost workers, named by class so that checking needs none of the extras installed:
# Python's process pool, Dask's scheduler and comms, Ray's workers and nodes.
LOST_WORKER_ERRORS = frozenset(
    {
        "BrokenProcessPool",
        "KilledWorker",
        "CommClosedError",
        "WorkerCrashedError",
        "NodeDiedError",
        "RayActorError",
    }
)


def is_transient(error: BaseException) -> bool:
    """Whether trying the same work again may succeed."""
    if isinstance(error, FetchError):
        return error.transient
    if isinstance(error, TransientError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
        return True
    return type(error).__name__ in LOST_WORKER_ERRORS
