"""Shared fixtures. Tests never leave 127.0.0.1. Runs report to one Prefect server for the
whole session (started once, ~10 s), not to a temporary API of their own (~10 s each); the
tests of the embedded default use `ephemeral_env`. Most runs are the CLI's own `main()` in the
test process (`newsmill_here`); a run in a process of its own (`run_newsmill`) costs ~3 s of
CPU in imports and one-time loads, and is kept for what only a process shows."""

import contextlib
import fcntl
import functools
import io
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.websites import NewsSite

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SEED = SAMPLES / "seed_article.txt"
NEWSMILL = Path(sys.executable).with_name("newsmill")
PREFECT = NEWSMILL.with_name("prefect")
PREFECT_OFFLINE = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
SHARED_SERVER = "TESTS_SHARED_PREFECT_API_URL"  # set by the main test process for its workers
# a folder whose `prefect.db` is migrated once per session: fresh Prefect homes start from a
# copy (a first start migrates an empty database: ~6 s of CPU per home)
PREFECT_DB_TEMPLATE = "TESTS_PREFECT_DB_TEMPLATE"
SHARED_SERVER_KEY = pytest.StashKey["SharedServer"]()
STARTING_KEY = pytest.StashKey[threading.Thread]()


@pytest.fixture(scope="session")
def ephemeral_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `newsmill` subprocesses as `make run` has it: offline Prefect, no
    PREFECT_API_URL, so each run starts its local temporary API."""
    env = offline_env()
    if os.environ.get("PYTEST_XDIST_WORKER") or "PREFECT_HOME" not in env:
        # parallel test workers must not share one Prefect database: one home each
        env["PREFECT_HOME"] = str(fresh_prefect_home(tmp_path_factory.mktemp("prefect-home")))
    return env


def fresh_prefect_home(home: Path) -> Path:
    """`home` (created if missing) holding a copy of the session's migrated Prefect
    database, when there is one."""
    home.mkdir(parents=True, exist_ok=True)
    if template := migrated_template():
        copy_prefect_db(template, home)
    return home


def migrated_template() -> Path | None:
    """The session's migrated template home, once migrated (None without one)."""
    if not (template := os.environ.get(PREFECT_DB_TEMPLATE)):
        return None
    deadline = time.monotonic() + 180
    while not (Path(template) / "ready").exists():
        failed = Path(template) / "failed"
        assert not failed.exists(), failed.read_text()
        assert time.monotonic() < deadline, "the Prefect database was not migrated"
        time.sleep(0.2)
    return Path(template)


def copy_prefect_db(source_home: Path, home: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source_home / "prefect.db")) as source,
        contextlib.closing(sqlite3.connect(home / "prefect.db")) as copy,
    ):
        source.backup(copy)


def shared_api_url() -> str:
    """The session server's API URL, known before the server is up (see `prefect_server`)."""
    return os.environ[SHARED_SERVER]


def offline_env() -> dict[str, str]:
    """This process's environment with Prefect offline, and no API or newsmill settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "NEWSMILL_"))}
    return env | PREFECT_OFFLINE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict) -> Any:
    """The JSON a Prefect API answers (a filter: a list of objects). Retried while the
    server is busy (503: its SQLite database was locked), as Prefect's own client does."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    for attempt in range(6):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503) or attempt == 5:
                raise
            time.sleep(0.5 * 2**attempt)


FINAL_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


def task_runs_of(api: str, flow_run_id: str, expected: int) -> list[dict]:
    """The flow run's task runs once the server has recorded `expected` of them in a
    final state (or whatever it holds after 60 s). The server writes task runs from the
    events clients send, after the client has exited, so a read right after a run can
    come too early."""
    deadline = time.monotonic() + 60
    while True:
        task_runs = post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
        settled = all(t["state_type"] in FINAL_STATES for t in task_runs)
        if (len(task_runs) >= expected and settled) or time.monotonic() > deadline:
            return task_runs
        time.sleep(0.2)


def start_prefect_server(home: str, port: int) -> subprocess.Popen[bytes]:
    """`prefect server start` on 127.0.0.1:`port`, with its own database (not waited for:
    see `wait_until_healthy`)."""
    return subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=offline_env() | {"PREFECT_HOME": home, "PREFECT_UI_ENABLED": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class SharedServer:
    """The session's Prefect server: its database is migrated first, into the template
    that fresh homes copy, then the server starts on a copy."""

    template: str
    home: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    def migrate_then_start(self) -> None:
        migrated = subprocess.run(
            [str(PREFECT), "server", "database", "upgrade", "-y"],
            env=offline_env() | {"PREFECT_HOME": self.template},
            capture_output=True,
            text=True,
        )
        if migrated.returncode != 0:
            (Path(self.template) / "failed").write_text(migrated.stdout + migrated.stderr)
            return
        copy_prefect_db(Path(self.template), Path(self.home))
        (Path(self.template) / "ready").touch()
        self.process = start_prefect_server(self.home, self.port)


def wait_until_healthy(api: str, server: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2):
                return
        except OSError:
            assert server is None or server.poll() is None, "prefect server exited"
            assert time.monotonic() < deadline, "prefect server did not become healthy"
            time.sleep(0.5)


def pytest_configure(config: pytest.Config) -> None:
    """One Prefect server for the whole session: the main process starts it (in the
    background, while the tests are collected) and its test workers inherit its URL."""
    if hasattr(config, "workerinput") or "not e2e" in (config.option.markexpr or ""):
        return
    shared = SharedServer(
        template=tempfile.mkdtemp(prefix="newsmill-test-prefect-db-"),
        home=tempfile.mkdtemp(prefix="newsmill-test-prefect-"),
        port=free_port(),
    )
    starting = threading.Thread(target=shared.migrate_then_start, daemon=True)
    starting.start()
    config.stash[SHARED_SERVER_KEY] = shared
    config.stash[STARTING_KEY] = starting
    os.environ[SHARED_SERVER] = f"http://127.0.0.1:{shared.port}/api"
    os.environ[PREFECT_DB_TEMPLATE] = shared.template


def pytest_unconfigure(config: pytest.Config) -> None:
    if "prefect" in sys.modules:  # runs in this process: their logs reach the server first
        from prefect._internal.concurrency.services import QueueService

        QueueService.drain_all(timeout=30)
    if SHARED_SERVER_KEY in config.stash:
        config.stash[STARTING_KEY].join()
        shared = config.stash[SHARED_SERVER_KEY]
        if shared.process is not None:
            shared.process.terminate()
            shared.process.wait(timeout=30)
        for folder in (shared.home, shared.template):
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server on 127.0.0.1: the session's shared one, else one of our own."""
    if api := os.environ.get(SHARED_SERVER):
        migrated_template()  # the server starts once its database is migrated
        wait_until_healthy(api)
        yield api
        return
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server = start_prefect_server(str(tmp_path_factory.mktemp("prefect-server")), port)
    try:
        wait_until_healthy(api, server)
        yield api
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def prefect_env(ephemeral_env: dict[str, str], prefect_server: str) -> dict[str, str]:
    """Environment for `newsmill` subprocesses: offline Prefect, reporting to the server."""
    return {**ephemeral_env, "PREFECT_API_URL": prefect_server}


# how `local_samples_lake` runs the samples: a run compared with it uses the same
LOCAL_SAMPLES_OPTIONS = ("--shard-max-files", "3", "--quiet")


@pytest.fixture(scope="session")
def local_samples_lake(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, newsmill_here: "NewsmillHere"
) -> Path:
    """A local run of the samples (`LOCAL_SAMPLES_OPTIONS`), made once per session for the tests
    that compare a cluster's or an S3 lake's tables with it (read it, never write to it):
    the first test worker to ask makes it under a lock, the others wait or find it made."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the session's folder, above each test worker's own
    lake, made = shared / "local-samples-lake", shared / "local-samples-lake.made"
    with (shared / "local-samples-lake.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            result = newsmill_here("run", str(SAMPLES), "--lake", str(lake), *LOCAL_SAMPLES_OPTIONS)
            assert result.returncode == 0, result.stderr
            made.touch()
    return lake


def run_newsmill(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NEWSMILL), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


NewsmillHere = Callable[..., CliResult]


@pytest.fixture(scope="session")
def newsmill_here(prefect_server: str) -> NewsmillHere:
    """`newsmill ARGS` as the CLI's `main()` in this test process, from the project folder,
    reporting to the session's Prefect server, with `env` added to an environment free of
    NEWSMILL_* variables: what a subprocess would do, without its ~3 s of imports and loads.
    Prefect's own log lines do not reach its `stderr`: tests of the output a user sees in
    full (noise, `--quiet`, signals, a terminal) run a real process with `run_newsmill`."""
    return functools.partial(_main_here, prefect_server)


def _main_here(api: str, *args: object, env: dict[str, str | None] | None = None) -> CliResult:
    """The environment (`env` adds to it; None removes a name), Prefect's settings, the
    working folder and the signal handlers are put back afterwards."""
    from newsmill.flows.cli import main

    saved_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    saved_cwd = os.getcwd()
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        os.chdir(ROOT)
        with (
            prefect_environment(api, env),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit:  # argparse: --help, a bad flag
                code = exit.code if isinstance(exit.code, int) else 2
    finally:
        os.chdir(saved_cwd)
        for signum, handler in saved_handlers.items():
            if handler is not None:  # None: a handler set outside Python
                signal.signal(signum, handler)
    return CliResult(code, stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def prefect_environment(api: str, env: dict[str, str | None] | None = None) -> Iterator[None]:
    """This process's environment as `offline_env()` reporting to `api`, plus `env` (None
    removes a name), with Prefect's settings read from it; all put back afterwards. Prefect's
    background services (events, logs) read the global settings, not a `temporary_settings`
    context: with that alone their events went to a temporary server of their own."""
    from prefect.context import refresh_global_settings_context

    saved_environ = dict(os.environ)
    os.environ.clear()
    wanted = offline_env() | {"PREFECT_API_URL": api} | (env or {})
    os.environ.update({name: value for name, value in wanted.items() if value is not None})
    refresh_global_settings_context()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        refresh_global_settings_context()


# The longest end-to-end tests (clusters, served deployments, S3: 20-110 s each, much of it
# waiting) run in two lanes: a lane is one unit of work, so one test worker runs its tests
# one after the other while the other workers take the rest. All at once on 2 cores they
# starved each other (a Ray run took 147 s); in collection order they queued on one worker,
# which the suite then waited 230 s for. (xdist's own `loadgroup` does not group under
# pytest 9.)
LANES = {
    "tests/flows/test_prefect_server.py::test_a_run_on_a_dask_cluster_writes_the_same_tables": "a",
    "tests/flows/test_serve.py::test_served_deployments_run_by_hand_and_on_schedule": "a",
    "tests/flows/test_serve.py::test_deployments_on_a_work_pool_run_on_a_prefect_worker": "a",
    "tests/flows/test_prefect_server.py::"
    "test_without_an_api_one_temporary_api_serves_the_run_and_its_workers": "a",
    "tests/flows/test_ray.py::test_a_run_on_a_ray_cluster_writes_the_same_tables": "b",
    "tests/flows/test_s3.py::test_a_run_from_s3_sources_into_an_s3_lake_matches_a_local_run": "b",
}

# Modules whose module-scoped fixture is a whole run: each worker that runs one of their
# tests builds it again (the samples run cost 4 s of CPU per worker), so they stay on one.
ONE_WORKER_MODULES = frozenset(
    {
        "tests/flows/test_cli_samples.py",
        "tests/flows/test_workers.py",
        "tests/tasks/lake/test_catalog.py",
        "tests/test_golden.py",
    }
)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown under `-p no:xdist`
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LaneScheduling(LoadScopeScheduling):
        """`--dist load`, but the tests of a lane are one unit of work."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid in LANES:
                return f"lane {LANES[nodeid]}"
            module = nodeid.split("::")[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    # in collection order (lanes first), not xdist's default of the most tests first
    config.option.loadscopereorder = False
    return LaneScheduling(config, log)


# A test that needs any of these runs real processes (the CLI, a server, a cluster, a build,
# an S3 server): it is an end-to-end test, which `make test-fast` leaves out.
E2E_FIXTURES = frozenset(
    {"prefect_env", "ephemeral_env", "prefect_server", "s3_env", "dask_scheduler", "ray_cluster"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if renamed := [
        nodeid
        for nodeid in LANES
        if f"def {nodeid.split('::')[1]}(" not in (ROOT / nodeid.split("::")[0]).read_text()
    ]:
        raise pytest.UsageError(f"tests/conftest.py LANES names tests that do not exist: {renamed}")
    if gone := sorted(m for m in ONE_WORKER_MODULES if not (ROOT / m).is_file()):
        raise pytest.UsageError(f"tests/conftest.py ONE_WORKER_MODULES names no file: {gone}")
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
    # the lanes first (each on a worker of its own from the start), then the other
    # end-to-end tests, so that parallel workers end together on short ones
    items.sort(key=lambda item: (item.nodeid not in LANES, item.get_closest_marker("e2e") is None))


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


# A secret no output may contain: tests grep every output of a run on S3 for it.
S3_SECRET = "newsmill-test-secret-7f3a9c"


@pytest.fixture(scope="session")
def s3_env() -> Iterator[dict[str, str]]:
    """A real S3-compatible server (moto's standalone server) on 127.0.0.1, and the standard
    AWS variables that point clients at it; they are set in this process too."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "newsmill-test",
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    yield env
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


@pytest.fixture
def bucket(s3_env: dict[str, str]) -> str:
    """A new, empty bucket: s3://<name>."""
    import s3fs

    name = f"newsmill-{secrets.token_hex(4)}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)
    return f"s3://{name}"


@pytest.fixture(scope="session")
def spacy_pipeline(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny spaCy pipeline built here (no trained model can be downloaded): a blank
    English pipeline with an entity ruler, saved to disk like an installed one."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Yoon Suk Yeol"},
            {"label": "PERSON", "pattern": "Yoon"},
            {"label": "PERSON", "pattern": "Dmitry Peskov"},
            {"label": "GPE", "pattern": "DPRK"},
            {"label": "GPE", "pattern": "Seoul"},
            {"label": "ORG", "pattern": "Kremlin"},
            {"label": "NORP", "pattern": "Russian"},
        ]
    )
    path = tmp_path_factory.mktemp("spacy") / "tiny-en"
    nlp.to_disk(path)
    return f"spacy:{path}"


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    """A news site on 127.0.0.1 (see tests/websites.py), fresh per test."""
    site = NewsSite().start()
    yield site
    site.stop()
