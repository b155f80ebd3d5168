"""With PREFECT_API_URL set, a run is a real flow run with task runs on that server."""

import json
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from flows.settings import Settings
from tasks.sources import discover_sources, plan_shards
from tests.conftest import NEWSMILL, SAMPLES, run_newsmill


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def prefect_server(prefect_env):
    port = _free_port()
    prefect = NEWSMILL.with_name("prefect")
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=prefect_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2):
                break
        except OSError:
            assert server.poll() is None, "prefect server exited"
            assert time.monotonic() < deadline, "prefect server did not become healthy"
            time.sleep(0.5)
    yield api
    server.terminate()
    server.wait(timeout=30)


def test_run_shows_on_the_server_with_its_task_runs(
    prefect_env, prefect_server, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    env = {**prefect_env, "PREFECT_API_URL": prefect_server}
    # worker processes report to the same server: none starts a temporary one
    result = run_newsmill(
        env,
        "run",
        str(SAMPLES / "text"),
        "--lake",
        str(lake),
        "--workers",
        "2",
        "--shard-max-files",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "Starting temporary server" not in result.stderr
    [(flow_run_id,)] = duckdb.sql(
        f"select flow_run_id from read_parquet('{lake}/runs/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    [flow_run] = _post(
        f"{prefect_server}/flow_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    )
    assert flow_run["state_type"] == "COMPLETED"
    task_runs = _post(
        f"{prefect_server}/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    )
    names = Counter(t["name"].rsplit("-", 1)[0] for t in task_runs)
    files = discover_sources([str(SAMPLES / "text")]).files
    shards = len(plan_shards(files, Settings().shard_bytes, 2))
    assert shards > 2
    assert names == {
        "process-shard": shards,
        "near-dedup": 1,
        "stage-duplicates": 1,
        "stage-dedup-state": 1,
    }
    assert all(t["state_type"] == "COMPLETED" for t in task_runs)
