"""Prefect's temporary API for a run with no PREFECT_API_URL, started by the CLI as soon as
it knows it will run a flow.

Prefect starts the same server (uvicorn serving `prefect.server.api.server:create_app`, as
its `SubprocessASGIServer` does) only once the flow is called, after this process has
imported the flow; and importing `SubprocessASGIServer` alone costs ~2 s. Started here, the
server's ~3.5 s start-up runs on the other core while this process imports the flow and
warms up its stages.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

_PORT_IN_USE = 3  # uvicorn's exit status when its port was taken meanwhile

# Prefect reads its settings at import, and the temporary API inherits them when it
# starts: these must be in the environment before either. Each is a default only; a value
# the user exported wins.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # else the local server tries the internet
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # a fresh home needs ~25 s
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",  # one line per task is noise
}


def set_prefect_defaults(quiet: bool) -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if quiet:  # Prefect's own lines too (the temporary API starting and stopping)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "WARNING")


# Automations (triggers and their actions) need a server that outlives the run; starting
# them held the temporary API's first answer back by ~0.25 s. A value exported wins.
_SERVER_DEFAULTS = {"PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false"}


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The temporary API's environment: this process's, with its defaults, as the server
    Prefect's ephemeral mode starts (no UI)."""
    return (
        _SERVER_DEFAULTS
        | dict(environ)
        | {
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
    )


class TemporaryApiError(RuntimeError):
    pass


class TemporaryApi:
    """One temporary API server, stopped when this process exits (after Prefect has sent
    its last logs and events: this stop is registered before any of Prefect's)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._process = self._start()
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _start(self) -> subprocess.Popen[bytes]:
        spec = importlib.util.find_spec("prefect")  # without importing it (~1 s)
        assert spec is not None and spec.submodule_search_locations
        app_dir = Path(next(iter(spec.submodule_search_locations))).parent
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory"]
        command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        return subprocess.Popen(command, env=server_environment(os.environ))

    def wait_until_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() == _PORT_IN_USE:
                self.port = _free_port()
                self._process = self._start()
            elif self._process.poll() is not None:
                raise TemporaryApiError(
                    f"the temporary Prefect API exited with status {self._process.returncode}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:  # not listening yet (URLError is an OSError)
                pass
            time.sleep(0.1)
        raise TemporaryApiError(
            f"the temporary Prefect API did not answer within {timeout_s:.0f} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
