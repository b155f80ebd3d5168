"""`newsmill serve` against a real Prefect server: deployments from a TOML file, a manual
run with parameters, bad parameters refused before a run exists, a scheduled run."""

import re
import secrets
import subprocess
import time
import urllib.error
from pathlib import Path

import duckdb
import pytest

from newsmill.flows.deployments import load_deployments, unmatched_sources
from newsmill.tasks.errors import SettingsError
from tests.conftest import (
    FINAL_STATES,
    NEWSMILL,
    PREFECT,
    ROOT,
    SAMPLES,
    NewsmillHere,
    post,
    run_newsmill,
)


def _stop(process: subprocess.Popen) -> None:
    """Ask a server process to stop; kill it if it takes its time (Prefect's worker may
    wait for its polling loop)."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


def _wait_for(what: str, probe, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
    return found


def _flow_runs(api: str, deployment_id: str, *states: str) -> list[dict]:
    return post(
        f"{api}/flow_runs/filter",
        {
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": list(states)}}},
        },
    )


def _deployment_run(
    env: dict[str, str], name: str, *params: str
) -> subprocess.CompletedProcess[str]:
    arguments = [a for p in params for a in ("--param", p)]
    return subprocess.run(
        [str(PREFECT), "deployment", "run", f"newsmill/{name}", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture
def names() -> dict[str, str]:
    """Deployment names of this test run: a developer's Prefect database keeps older ones."""
    token = secrets.token_hex(3)
    return {"manual": f"by-hand-{token}", "scheduled": f"every-5-s-{token}"}


@pytest.fixture
def deployments_file(tmp_path: Path, names: dict[str, str]) -> Path:
    path = tmp_path / "deployments.toml"
    path.write_text(
        f"""
[settings]
lease_wait_s = 300
shard_max_files = 3

[[deployment]]
name = "{names["manual"]}"
sources = ["{SAMPLES / "text"}"]
[deployment.settings]
lake = "{tmp_path / "manual-lake"}"

[[deployment]]
name = "{names["scheduled"]}"
sources = ["{SAMPLES / "text"}"]
interval_s = 5
[deployment.settings]
lake = "{tmp_path / "scheduled-lake"}"
"""
    )
    return path


def test_served_deployments_run_by_hand_and_on_schedule(
    prefect_env, prefect_server: str, deployments_file: Path, names: dict[str, str], tmp_path: Path
) -> None:
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [str(NEWSMILL), "serve", str(deployments_file)],
        # polling every 10 s, it found three scheduled runs due at once and ran them all
        env=prefect_env | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wanted = {"deployments": {"name": {"any_": list(names.values())}}}
        deployments = _wait_for(
            "the deployments",
            lambda: (
                found
                if len(found := post(f"{prefect_server}/deployments/filter", wanted)) == 2
                else None
            ),
        )
        by_name = {d["name"]: d for d in deployments}
        scheduled, manual = by_name[names["scheduled"]], by_name[names["manual"]]
        assert [s["schedule"]["interval"] for s in scheduled["schedules"]] == [5.0]
        assert manual["schedules"] == []
        assert manual["enforce_parameter_schema"]
        assert manual["parameters"] == {
            "sources": [str(SAMPLES / "text")],
            "lake": str(tmp_path / "manual-lake"),
            "shard_max_files": 3,
            "lease_wait_s": 300.0,
        }
        schema = manual["parameter_openapi_schema"]["properties"]
        assert schema["near_threshold"]["maximum"] == 1
        assert schema["near_threshold"]["description"].startswith("Near dedup")

        # the schedule fires; paused once a run has started, so that it starts no more (one
        # every 5 s) while this test goes on: pausing drops the runs not yet started
        _wait_for(
            "a scheduled run to start",
            lambda: _flow_runs(prefect_server, scheduled["id"], "PENDING", "RUNNING", "COMPLETED"),
        )
        post(f"{prefect_server}/deployments/{scheduled['id']}/pause_deployment", {})
        _wait_for(
            "a scheduled run to complete",
            lambda: _flow_runs(prefect_server, scheduled["id"], "COMPLETED"),
        )
        assert (tmp_path / "scheduled-lake" / "articles").is_dir()

        # a manual run with a parameter: it keeps the deployment's other parameters
        triggered = _deployment_run(prefect_env, names["manual"], "near_threshold=0.9")
        assert triggered.returncode == 0, triggered.stdout + triggered.stderr
        [flow_run_id] = re.findall(r"UUID:\s+([0-9a-f-]{36})", triggered.stdout)
        _wait_for(
            "the manual run to complete",
            lambda: any(
                r["id"] == flow_run_id
                for r in _flow_runs(prefect_server, manual["id"], "COMPLETED")
            ),
        )
        lake = tmp_path / "manual-lake"
        [(settings_json, flow_run)] = duckdb.sql(
            f"select settings_json, flow_run_id from read_parquet('{lake}/runs/**/*.parquet')"
        ).fetchall()
        assert flow_run == flow_run_id
        assert '"near_threshold": 0.9' in settings_json and '"shard_max_files": 3' in settings_json
        [artifact] = post(
            f"{prefect_server}/artifacts/filter",
            {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
        )
        assert artifact["key"] == "newsmill-run-summary" and "completed" in artifact["data"]
        assert "| articles written |" in artifact["data"]  # Markdown tables, not a code block

        # bad parameters are refused by the server before any run exists (what `prefect
        # deployment run --param` sends, without a CLI process each)
        for bad in ({"near_threshold": 2}, {"workers": "many"}):
            with pytest.raises(urllib.error.HTTPError) as refused:
                post(
                    f"{prefect_server}/deployments/{manual['id']}/create_flow_run",
                    {"parameters": bad},
                )
            assert refused.value.code == 409 and next(iter(bad)) in refused.value.read().decode()
        states = (*FINAL_STATES, "SCHEDULED", "PENDING", "RUNNING")
        assert len(_flow_runs(prefect_server, manual["id"], *states)) == 1  # the one above

    finally:
        _stop(serve)
        log.close()


def test_serve_refuses_without_a_server_and_checks_the_file(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    # no PREFECT_API_URL, nor a profile naming one: serve must refuse to start
    no_api: dict[str, str | None] = {"PREFECT_API_URL": None, "PREFECT_HOME": str(tmp_path)}
    example = newsmill_here("serve", "--check", env=no_api)  # the committed example
    assert example.returncode == 0, example.stderr
    assert "samples-every-30-min: cron '*/30 * * * *' (UTC)" in example.stdout

    no_server = newsmill_here("serve", env=no_api)
    assert no_server.returncode == 2
    assert "serve needs a Prefect server" in no_server.stderr


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ('name = "x"\nsources = []', "sources must be a non-empty list"),
        ('name = "x"\nsources = ["a"]\ncron = "every day"', "Invalid cron string"),
        ('name = "x"\nsources = ["a"]\ncron = "0 2 * * *"\ntimezone = "Mars/Base"', "timezone"),
        ('name = "x"\nsources = ["a"]\ninterval_s = 5\ncron = "0 2 * * *"', "not both"),
        (
            'name = "x"\nsources = ["a"]\n[deployment.settings]\nnear_threshold = 3',
            "near_threshold",
        ),
        ('name = "x"\nsources = ["a"]\n[deployment.settings]\nlakes = "b"', "unknown setting"),
        ('sources = ["a"]', "needs a name"),
    ],
)
def test_a_bad_deployments_file_is_a_clear_error(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    path = tmp_path / "d.toml"
    path.write_text(f"[[deployment]]\n{entry}\n")
    with pytest.raises(SettingsError, match=complaint):
        load_deployments(path)


def test_check_names_deployment_sources_that_match_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped file pointed a nightly deployment at a folder that does not exist."""
    monkeypatch.chdir(ROOT)
    assert unmatched_sources(load_deployments(ROOT / "flows" / "deployments.toml")) == []
    path = tmp_path / "d.toml"
    path.write_text(
        '[[deployment]]\nname = "ok"\nsources = ["data/samples", "feed:https://example.org/rss"]\n'
        '[[deployment]]\nname = "gone"\nsources = ["data/samples/jsonl"]\n'
    )
    assert unmatched_sources(load_deployments(path)) == ["gone: data/samples/jsonl"]


def test_deployments_on_a_work_pool_run_on_a_prefect_worker(
    prefect_env, prefect_server: str, tmp_path: Path
) -> None:
    token = secrets.token_hex(3)
    pool, name, lake = f"newsmill-pool-{token}", f"team-{token}", tmp_path / "pool-lake"
    path = tmp_path / "team.toml"
    path.write_text(
        f'[[deployment]]\nname = "{name}"\nsources = ["{SAMPLES / "text"}"]\n'
        f'[deployment.settings]\nlake = "{lake}"\n'
    )
    created = subprocess.run(
        [str(PREFECT), "work-pool", "create", pool, "--type", "process"],
        env=prefect_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    registered = run_newsmill(prefect_env, "serve", str(path), "--work-pool", pool)
    assert registered.returncode == 0, registered.stderr
    assert f"registered 1 deployment(s) on work pool '{pool}'" in registered.stdout

    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", pool],
        env=prefect_env | {"PREFECT_WORKER_QUERY_SECONDS": "1"},  # 10 s by default
        cwd=tmp_path,  # the deployment brings its own working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        [deployment] = post(
            f"{prefect_server}/deployments/filter",
            {"deployments": {"name": {"any_": [name]}}},
        )
        assert deployment["work_pool_name"] == pool
        flow_run_id = post(f"{prefect_server}/deployments/{deployment['id']}/create_flow_run", {})[
            "id"
        ]
        _wait_for(
            "the worker to run it",
            lambda: any(
                r["id"] == flow_run_id
                for r in _flow_runs(prefect_server, deployment["id"], "COMPLETED")
            ),
        )
        [(flow_run,)] = duckdb.sql(
            f"select flow_run_id from read_parquet('{lake}/runs/**/*.parquet')"
        ).fetchall()
        assert flow_run == flow_run_id
    finally:
        _stop(worker)
