"""What the benchmark scripts share: paths, the labelled corpora, the newsmill command."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"  # corpora, lakes, the datatrove venv (git-ignored)
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
NEWSMILL = str(Path(sys.executable).with_name("newsmill"))


def newsmill_env() -> dict[str, str]:
    """The environment `make run` gives newsmill: project Prefect home, no telemetry."""
    return {
        **os.environ,
        "PREFECT_HOME": str(ROOT / ".prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def build_corpus(docs: int, seed: int = 7) -> Path:
    """A make_corpus.py corpus (articles.jsonl + labels.jsonl), made once and reused."""
    out = WORK / f"corpus-{docs}-{seed}"
    if not (out / "labels.jsonl").exists():
        command = [
            sys.executable,
            str(MAKE_CORPUS),
            str(out),
            "--docs",
            str(docs),
            "--seed",
            str(seed),
        ]
        subprocess.run(command, check=True)
    return out


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the largest process) of a command, via GNU time."""
    stats = WORK / "time.txt"
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(stats), *command],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{result.stderr[-4000:]}")
    return wall, int(stats.read_text().split()[-1]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def prefect_server(home: Path | None = None) -> Iterator[dict[str, str]]:
    """A running Prefect server (its own database under `home`, else the project's): the
    environment for newsmill runs and cluster workers, which then start no temporary API."""
    env = newsmill_env()
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        env["PREFECT_HOME"] = str(home)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(NEWSMILL).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_healthy(api, server)
        env = {**env, "PREFECT_API_URL": api}
        _warm_up(env)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_until_healthy(api: str, server: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 120
    while not _healthy(api):
        if time.monotonic() > deadline or (server and server.poll() is not None):
            raise SystemExit("the Prefect server did not start in 120 s")
        time.sleep(0.5)


def _warm_up(env: dict[str, str]) -> None:
    """One small run first: a server builds its routes' models at their first requests (~1 s
    of its time, FastAPI's lazy set-up), once per start; a server that has been running
    has done it long ago, and no measured run should pay it."""
    with tempfile.TemporaryDirectory() as lake:
        command = [NEWSMILL, "run", str(ROOT / "data" / "samples" / "text"), "--lake", lake]
        subprocess.run([*command, "--quiet"], env=env, check=True, capture_output=True)


def _healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
