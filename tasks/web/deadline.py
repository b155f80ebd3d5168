"""A total deadline per HTTP attempt that holds while the response headers arrive.

httpx's timeouts are per operation: a server that sends one header line a second never
trips the read timeout, and `total_timeout_s` was checked only once the body streamed (an
attempt ran ~300 s). Here every socket read and write of the thread's current attempt is
given at most the time left before its deadline, so an attempt ends on time whatever the
server does. The deadline is per thread: each fetch thread makes one attempt at a time,
and pooled connections serve whichever thread uses them next.
"""

import contextlib
import ssl
import threading
import time
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx

_current = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block, this thread's socket I/O ends `seconds` from now."""
    _current.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.at = None


def passed() -> bool:
    at = getattr(_current, "at", None)
    return at is not None and time.monotonic() >= at


def _clamped(timeout: float | None, error: type[Exception]) -> float | None:
    at = getattr(_current, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the attempt's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            super().connect_tcp(host, port, timeout, local_address, socket_options)
        )


def transport(**options: typing.Any) -> httpx.HTTPTransport:
    """An httpx transport whose connections keep the thread's deadline (httpx takes no
    network backend, so its pool's is swapped: httpx 0.28, httpcore 1.0)."""
    made = httpx.HTTPTransport(**options)
    made._pool._network_backend = _DeadlineBackend()
    return made
