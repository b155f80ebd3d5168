"""The Prefect API a run with no PREFECT_API_URL reports to: a server already running for
this Prefect home, else a temporary API started as soon as the command knows it will run a
flow.

A server for this home (`prefect server start`, in the background or in another terminal)
keeps its runs in the same database a temporary API would use, and has long finished its
own start-up: reporting to it saves a run the temporary API's ~3 s start.

Prefect starts the same server (uvicorn serving `prefect.server.api.server:create_app`, as
its `SubprocessASGIServer` does) only once the flow is called, after this process has
imported the flow; and importing `SubprocessASGIServer` alone costs ~2 s. Started here, the
server's ~3.5 s start-up runs on the other core while this process imports the flow and
warms up its stages.
"""

from __future__ import annotations

import atexit
import http.client
import importlib.util
import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_PORT_IN_USE = 3  # uvicorn's exit status when its port was taken meanwhile
# where `prefect server start --background` records its process (prefect 3.9.1, pinned)
_BACKGROUND_PID_FILE = "server.pid"

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


@dataclass(frozen=True)
class LocalServer:
    """A Prefect server already running for this Prefect home."""

    url: str


def find_local_server(environ: Mapping[str, str]) -> LocalServer | None:
    """The Prefect server running for this Prefect home, if one answers: the one
    `prefect server start --background` recorded in the home (its address read from its
    command line), else one on PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT (Prefect's
    defaults 127.0.0.1:4200). A server counts only when it says its home is this one: a
    server of another home keeps its runs in another database. Nothing listening costs
    ~1 ms, a server that has answered before ~15 ms."""
    home = Path(environ.get("PREFECT_HOME") or "~/.prefect").expanduser().resolve()
    for address in dict.fromkeys(_server_addresses(home, environ)):
        url = f"http://{address}/api"
        if _serves_home(url, home):
            return LocalServer(url)
    return None


def _server_addresses(home: Path, environ: Mapping[str, str]) -> Iterator[str]:
    try:
        pid = int((home / _BACKGROUND_PID_FILE).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        command = []
    if listening := listening_address([part.decode(errors="replace") for part in command]):
        yield listening
    host = environ.get("PREFECT_SERVER_API_HOST") or "127.0.0.1"
    yield _connectable(host, environ.get("PREFECT_SERVER_API_PORT") or "4200")


def listening_address(command: list[str]) -> str | None:
    """host:port a uvicorn command line (the server `prefect server start` runs) listens on."""
    options = dict(itertools.pairwise(command))
    if "uvicorn" not in command or "--port" not in options:
        return None
    return _connectable(options.get("--host", "127.0.0.1"), options["--port"])


def _connectable(host: str, port: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # listening everywhere: loopback reaches it
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serves_home(url: str, home: Path) -> bool:
    try:
        # a server's first answers take ~0.4 s (FastAPI sets its routes up); a busy one longer
        with urllib.request.urlopen(f"{url}/admin/settings", timeout=3) as response:
            served = json.load(response).get("home")
    # not listening, not HTTP, not Prefect's JSON
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    return isinstance(served, str) and Path(served).expanduser().resolve() == home


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
