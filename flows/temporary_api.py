"""The Prefect API a run with no PREFECT_API_URL reports to: a server already running for
this Prefect home, else a temporary API started as soon as the command knows it will run a
flow.

A server for this home (`prefect server start`, in the background or in another terminal)
keeps its runs in the same database a temporary API would use, and has long finished its
own start-up: reporting to it saves a run the temporary API's ~3 s start.

Prefect starts the same server (uvicorn serving `prefect.server.api.server:create_app`, as
its `SubprocessASGIServer` does) only once the flow is called, after this process has
imported the flow; and importing `SubprocessASGIServer` alone costs ~2 s. Started here, the
server's start-up runs on the other core while this process imports the flow and warms up
its stages. Its app (`create_app` below) is Prefect's, made ~0.9 s sooner (2.9 s → 2.1 s
to its first answer): without registering block types, without a migration check when the
database is already at the latest schema, and without the garbage collector during the
imports.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import importlib.util
import itertools
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsmill.flows.collector import hold_off_garbage_collection, resume_garbage_collection

if TYPE_CHECKING:
    from fastapi import FastAPI

_PORT_IN_USE = 3  # uvicorn's exit status when its port was taken meanwhile
# where `prefect server start --background` records its process (prefect 3.9.1, pinned)
_BACKGROUND_PID_FILE = "server.pid"

# Prefect reads its settings at import, and the temporary API inherits them when it
# starts: these must be in the environment before either. Each is a default only; a value
# the user exported wins.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # else the local server tries the internet
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # a fresh home migrates first (~5 s)
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",  # one line per task is noise
}


def set_prefect_defaults(quiet: bool) -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if quiet:  # Prefect's own lines too (the temporary API starting and stopping)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "WARNING")


# Each default of the temporary API, with the names Prefect also reads for that setting: a
# value exported under any of them wins.
_SERVER_DEFAULTS: dict[tuple[str, ...], str] = {
    # automations (triggers and their actions) need a server that outlives the run;
    # starting them held the temporary API's first answer back by ~0.25 s
    ("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED",): "false",
    # block types are for deployments' storage and credentials, which a run of its own
    # flow never reads from the API; the check that they are registered imports every
    # installed Prefect collection (prefect-dask, prefect-ray: ~0.45 s) before the first
    # answer. A `prefect server start` for this home registers them as it starts.
    ("PREFECT_SERVER_REGISTER_BLOCKS_ON_START", "PREFECT_API_BLOCKS_REGISTER_ON_START"): "false",
    (
        "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION",
        "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION",
    ): "false",
}


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The temporary API's environment: this process's, with its defaults, as the server
    Prefect's ephemeral mode starts (no UI)."""
    defaults = {
        names[0]: value
        for names, value in _SERVER_DEFAULTS.items()
        if not any(name in environ for name in names)
    }
    return (
        defaults
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
        command += [f"{__name__}:create_app", "--host", "127.0.0.1"]
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
            time.sleep(0.05)  # a refused connection costs ~1 ms; each step waited is lost
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


_MIGRATE_ON_START = (
    "PREFECT_SERVER_DATABASE_MIGRATE_ON_START",
    "PREFECT_API_DATABASE_MIGRATE_ON_START",
)


def create_app() -> FastAPI:
    """The temporary API's app, made in its process (uvicorn's factory): Prefect's
    (`prefect.server.api.server:create_app`, as its ephemeral server serves), without the
    check that migrates the database when its schema is already the installed Prefect's
    latest. Finding there is nothing to do costs that check ~0.2 s of every start: alembic
    imports all of Prefect's migration scripts. A value exported for the setting wins.
    The garbage collector is held off while Prefect's server is imported and its app made
    (`collector`)."""
    hold_off_garbage_collection()
    from prefect.context import refresh_global_settings_context
    from prefect.server.api.server import create_app as create_prefect_app
    from prefect.settings import get_current_settings

    database = get_current_settings().server.database.connection_url
    exported = any(name in os.environ for name in _MIGRATE_ON_START)
    if not exported and database and schema_is_latest(database.get_secret_value()):
        os.environ[_MIGRATE_ON_START[0]] = "false"
        refresh_global_settings_context()
    app = create_prefect_app()
    resume_garbage_collection()
    return app


def schema_is_latest(database_url: str) -> bool:
    """Whether the SQLite database at `database_url` has the schema of the installed
    Prefect's latest migration (a linear chain of alembic revisions). Anything else, or
    anything unexpected (another database, no file yet, a chain that forks), is a no: the
    server then checks and migrates as usual."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    try:
        with contextlib.closing(
            sqlite3.connect(f"{Path(url.database).as_uri()}?mode=ro", uri=True)
        ) as connection:
            versions = connection.execute("select version_num from alembic_version").fetchall()
    except (sqlite3.Error, ValueError):  # no file, no table yet, not a database
        return False
    return len(versions) == 1 and versions[0][0] == _latest_sqlite_revision()


def _latest_sqlite_revision() -> str | None:
    spec = importlib.util.find_spec("prefect.server.database")
    assert spec is not None and spec.submodule_search_locations
    scripts = Path(next(iter(spec.submodule_search_locations))) / "_migrations/versions/sqlite"
    revisions: set[str] = set()
    superseded: set[str] = set()
    for script in scripts.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        for line in _DOWN_REVISION.findall(text):
            superseded.update(re.findall(r"[\"'](\w+)[\"']", line))
    heads = revisions - superseded
    return heads.pop() if len(heads) == 1 else None


_REVISION = re.compile(r"^revision\s*=\s*[\"'](\w+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=(.*)$", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
