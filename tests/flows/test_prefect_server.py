"""With PREFECT_API_URL set, a run is a real flow run with task runs on that server."""

import contextlib
import json
import re
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from newsmill.flows.settings import Settings
from newsmill.flows.temporary_api import find_local_server, schema_is_latest
from newsmill.tasks.ingest.sources import discover_sources, plan_shards
from tests.conftest import (
    LOCAL_SAMPLES_OPTIONS,
    NEWSMILL,
    PREFECT,
    SAMPLES,
    NewsmillHere,
    free_port,
    fresh_prefect_home,
    offline_env,
    post,
    run_newsmill,
    shared_api_url,
    task_runs_of,
    wait_until_healthy,
)


def test_run_shows_on_the_server_with_its_task_runs(
    prefect_env, prefect_server, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    # worker processes report to the same server: none starts a temporary one
    result = run_newsmill(
        prefect_env,
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
    assert "temporary" not in result.stderr.lower()  # no temporary API of its own
    # the workers' forkserver ends after the command, its objects frozen (worker_preload):
    # unfrozen first, DuckDB has nothing to call leaked
    assert "leaked" not in result.stderr
    flow_run_id = _completed_flow_run(lake, prefect_server)
    files = discover_sources([str(SAMPLES / "text")]).files
    shards = len(plan_shards(files, Settings().shard_bytes, 2))
    assert shards > 2
    task_runs = task_runs_of(prefect_server, flow_run_id, shards + len(RUN_LEVEL_TASKS))
    # shard tasks are named for what they read: `shard 2/4 · ferry-crossing-cp1252.txt +1 files`
    shard_runs = {t["name"].split(" · ")[0]: t for t in task_runs if t["name"].startswith("shard ")}
    assert set(shard_runs) == {f"shard {n}/{shards}" for n in range(1, shards + 1)}
    names = {Path(f.path).name for f in files}
    assert all(t["name"].split(" · ")[1].split(" ")[0] in names for t in shard_runs.values())
    others = Counter(t["name"].rsplit("-", 1)[0] for t in task_runs if t not in shard_runs.values())
    assert others == dict.fromkeys(RUN_LEVEL_TASKS, 1)
    assert all(t["state_type"] == "COMPLETED" for t in task_runs)
    # each shard's outcome is in its task's log, for the UI (not on the console)
    ids = [t["id"] for t in shard_runs.values()]
    logs = post(f"{prefect_server}/logs/filter", {"logs": {"task_run_id": {"any_": ids}}})
    logged = {log["task_run_id"] for log in logs if " inputs → " in log["message"]}
    assert logged == set(ids)
    assert all(
        "time per stage: read " in log["message"] for log in logs if " inputs → " in log["message"]
    )
    assert "inputs → " not in result.stderr
    # and the flow's log says when the run committed and where its time went
    flow_logs = post(
        f"{prefect_server}/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}}
    )
    assert any(
        log["message"].startswith("committed in ") and "time per stage: read " in log["message"]
        for log in flow_logs
    )


# the tasks the flow itself runs once per run, around the shards
RUN_LEVEL_TASKS = (
    "near-dedup",
    "stage-duplicates",
    "stage-dedup-state",
    "refresh-catalog",
    "write-report",
)


def _completed_flow_run(lake: Path, prefect_server: str) -> str:
    """The id of the lake's one run's flow run, which the server holds as completed."""
    [(flow_run_id,)] = duckdb.sql(
        f"select flow_run_id from read_parquet('{lake}/runs/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    [flow_run] = post(
        f"{prefect_server}/flow_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    )
    assert flow_run["state_type"] == "COMPLETED"
    return str(flow_run_id)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory):
    """A running Dask cluster (scheduler + 2 single-threaded worker processes) whose
    workers report to the same Prefect server, as a team would run one. It starts while
    that server may still be starting: the workers only need its address."""
    from distributed import Client

    env = offline_env() | {
        "PREFECT_API_URL": shared_api_url(),
        "PREFECT_HOME": str(tmp_path_factory.mktemp("dask-prefect-home")),
        # non-daemonic workers may start processes: HTML extraction runs pages in a pool
        "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
    }
    dask = NEWSMILL.with_name("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen(
        [
            str(dask),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--dashboard-address",
            ":0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = subprocess.Popen(
        [
            str(dask),
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--local-directory",
            str(tmp_path_factory.mktemp("dask")),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    yield address
    for process in (workers, scheduler):
        process.terminate()
        process.wait(timeout=60)


def test_a_run_on_a_dask_cluster_writes_the_same_tables(
    dask_scheduler: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert_cluster_run_matches_local(request, "dask", dask_scheduler, tmp_path)


def assert_cluster_run_matches_local(
    request: pytest.FixtureRequest, engine: str, address: str, tmp_path: Path
) -> None:
    """A run on the cluster writes the tables a local run writes, one task run a shard.
    The Prefect fixtures are asked for here, after the cluster's: pytest would set up these
    session fixtures first, and the cluster would wait for the server to start."""
    env: dict[str, str] = request.getfixturevalue("prefect_env")
    prefect_server: str = request.getfixturevalue("prefect_server")
    cluster = tmp_path / "cluster"
    on_cluster = run_newsmill(
        env,
        *("run", str(SAMPLES), *LOCAL_SAMPLES_OPTIONS),
        *("--lake", str(cluster), f"--{engine}-address", address),
    )
    assert on_cluster.returncode == 0, on_cluster.stderr
    local: Path = request.getfixturevalue("local_samples_lake")
    for table, columns in {
        "articles": "doc_id, content_hash, text",
        "duplicates": "doc_id, duplicate_of, level, method, similarity",
        "rejects": "source, stage, reason",
    }.items():
        rows = [
            duckdb.sql(
                f"select {columns} from read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning=true) order by all"
            ).fetchall()
            for lake in (cluster, local)
        ]
        assert rows[0] == rows[1] and rows[0]
    flow_run_id = _completed_flow_run(cluster, prefect_server)
    shards = len(plan_shards(discover_sources([str(SAMPLES)]).files, Settings().shard_bytes, 3))
    task_runs = task_runs_of(prefect_server, flow_run_id, shards + len(RUN_LEVEL_TASKS))
    assert (
        sum(t["name"].startswith("shard ") and f"/{shards} · " in t["name"] for t in task_runs)
        == shards
    )
    assert all(t["state_type"] == "COMPLETED" for t in task_runs)


@pytest.mark.parametrize(
    "cluster", [("--dask-address", "tcp://127.0.0.1:9"), ("--ray-address", "127.0.0.1:9")]
)
def test_a_cluster_run_without_a_shared_prefect_api_is_refused_before_any_work(
    newsmill_here: NewsmillHere, cluster: tuple[str, str], tmp_path: Path
) -> None:
    lake = str(tmp_path / "lake")
    no_api: dict[str, str | None] = {"PREFECT_API_URL": None}  # as `make run` has it
    result = newsmill_here("run", str(SAMPLES / "text"), "--lake", lake, *cluster, env=no_api)
    assert result.returncode == 2
    assert "PREFECT_API_URL" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "lake").exists()


def test_without_an_api_one_temporary_api_serves_the_run_and_its_workers(
    ephemeral_env, tmp_path: Path
) -> None:
    """The CLI starts the temporary API itself, early; Prefect in the flow's process and in
    the worker processes must report to it, not start one more each."""
    result = run_newsmill(
        ephemeral_env,
        *("run", str(SAMPLES / "text"), "--lake", str(tmp_path / "lake")),
        *("--workers", "2", "--shard-max-files", "3"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("temporary Prefect API on http://127.0.0.1:") == 1
    assert "Starting temporary server" not in result.stderr  # Prefect's own, none
    assert "View at" not in result.stderr  # it serves no UI to link to
    [port] = re.findall(r"temporary Prefect API on http://127\.0\.0\.1:(\d+)", result.stderr)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(port))) != 0  # stopped with the run
    # what it recorded of the run (in the home's database): no heartbeats, which only serve
    # a server that outlives the run
    [(flow_run_id,)] = duckdb.sql(
        f"select flow_run_id from read_parquet('{tmp_path}/lake/runs/**/*.parquet')"
    ).fetchall()
    with contextlib.closing(
        sqlite3.connect(Path(ephemeral_env["PREFECT_HOME"], "prefect.db"))
    ) as db:
        events = dict(
            db.execute(
                "select event, count(*) from events where resource_id = ? group by event",
                (f"prefect.flow-run.{flow_run_id}",),
            ).fetchall()
        )
    assert events.get("prefect.flow-run.Completed") == 1
    assert "prefect.flow-run.heartbeat" not in events


def test_a_temporary_api_on_a_new_prefect_home_creates_its_database_at_the_latest_schema(
    ephemeral_env, tmp_path: Path
) -> None:
    """The temporary API skips Prefect's migration check for a database already at the
    latest schema; a home with no database yet (a first run on a machine) is migrated."""
    home = tmp_path / "new-home"
    env = ephemeral_env | {"PREFECT_HOME": str(home)}
    lake = tmp_path / "lake"
    result = run_newsmill(env, "run", str(SAMPLES / "text"), "--lake", str(lake), "--quiet")
    assert result.returncode == 0, result.stderr
    assert schema_is_latest(f"sqlite+aiosqlite:///{home / 'prefect.db'}")
    [(flow_run_id,)] = duckdb.sql(
        f"select flow_run_id from read_parquet('{lake}/runs/**/*.parquet')"
    ).fetchall()
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as db:
        [(state,)] = db.execute("select state_type from flow_run where id = ?", (flow_run_id,))
    assert state == "COMPLETED"


def test_without_an_api_a_run_reports_to_the_server_running_in_the_background_for_its_home(
    ephemeral_env, tmp_path: Path
) -> None:
    """`prefect server start --background` keeps the runs in the database a temporary API of
    the same home would use: a run reports to it rather than start one, whatever port it
    was given (read from the process it recorded in the home)."""
    home = fresh_prefect_home(tmp_path / "prefect-home")
    env = ephemeral_env | {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false"}
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    started = subprocess.run(
        [str(PREFECT), "server", "start", "--background", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    try:
        wait_until_healthy(api)
        # as a server that has been running: its routes set up (its first answers are slow)
        urllib.request.urlopen(f"{api}/admin/settings", timeout=60).close()
        lake = tmp_path / "lake"
        result = run_newsmill(env, "run", str(SAMPLES / "text"), "--lake", str(lake))
        assert result.returncode == 0, result.stderr
        assert f"reporting to the Prefect server running for this Prefect home, {api}" in (
            result.stderr
        )
        assert "temporary" not in result.stderr.lower()
        _completed_flow_run(lake, api)
    finally:
        subprocess.run([str(PREFECT), "server", "stop"], env=env, capture_output=True)


def test_only_a_server_of_the_runs_own_prefect_home_is_reported_to(
    prefect_server: str, tmp_path: Path
) -> None:
    port = prefect_server.rsplit(":", 1)[1].removesuffix("/api")
    with urllib.request.urlopen(f"{prefect_server}/admin/settings", timeout=30) as response:
        its_home = json.load(response)["home"]
    found = find_local_server({"PREFECT_HOME": its_home, "PREFECT_SERVER_API_PORT": port})
    assert found is not None and found.url == prefect_server
    # another home's server keeps its runs in another database: a temporary API instead
    other_home = {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_API_PORT": port}
    assert find_local_server(other_home) is None
    nothing_there = {"PREFECT_HOME": its_home, "PREFECT_SERVER_API_PORT": str(free_port())}
    assert find_local_server(nothing_there) is None


def _flow_run_events(api: str, flow_run_id: str) -> Counter[str]:
    """The events the server holds of a flow run, once its completion is among them: the
    server stores the events clients send in batches, after the run may have ended."""
    body = {"filter": {"resource": {"id": [f"prefect.flow-run.{flow_run_id}"]}}, "limit": 50}
    deadline = time.monotonic() + 60
    while True:
        events = Counter(e["event"] for e in post(f"{api}/events/filter", body)["events"])
        if events["prefect.flow-run.Completed"] or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


@pytest.mark.parametrize("frequency", [None, "30"])
def test_a_run_beats_to_a_running_server_only_when_heartbeats_are_asked_for(
    newsmill_here: NewsmillHere, prefect_server: str, frequency: str | None, tmp_path: Path
) -> None:
    """Heartbeats serve only an automation that tells crashed runs (Prefect's heartbeat
    thread holds a run's end for up to 1 s): sent where PREFECT_FLOWS_HEARTBEAT_FREQUENCY
    is set, not by default."""
    lake = tmp_path / "lake"
    env = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": frequency}
    result = newsmill_here("run", str(SAMPLES / "text"), "--lake", str(lake), env=env)
    assert result.returncode == 0, result.stderr
    events = _flow_run_events(prefect_server, _completed_flow_run(lake, prefect_server))
    assert events["prefect.flow-run.Completed"] == 1
    assert bool(events["prefect.flow-run.heartbeat"]) == (frequency is not None)


def test_an_api_set_in_the_prefect_profile_is_used_not_a_temporary_one(
    newsmill_here: NewsmillHere, prefect_server, tmp_path: Path
) -> None:
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "team"\n\n[profiles.team]\nPREFECT_API_URL = "{prefect_server}"\n'
    )
    lake = tmp_path / "lake"
    env: dict[str, str | None] = {"PREFECT_HOME": str(home), "PREFECT_API_URL": None}
    result = newsmill_here("run", str(SAMPLES / "text"), "--lake", str(lake), env=env)
    assert result.returncode == 0, result.stderr
    assert "temporary" not in result.stderr.lower()
    _completed_flow_run(lake, prefect_server)
