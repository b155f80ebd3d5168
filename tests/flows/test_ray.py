"""The same flow on a running Ray cluster (prefect-ray) writes the same tables as a local run.
Apart from the other cluster tests: starting Ray is the slowest set-up of the suite."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import NEWSMILL, free_port, offline_env
from tests.flows.test_prefect_server import assert_cluster_run_matches_local


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A running Ray cluster, as a team would run one; its workers learn the Prefect API from
    each run (prefect-ray's runtime environment), so it starts while the session's Prefect
    server may still be starting. One CPU: the run's shards go through one Ray worker in
    turn (two remote workers writing at once is the Dask test's). Nor does it start a
    worker for the job's first driver: the run's runtime environment needs workers of its
    own, and that one (~3.5 s of CPU) would only idle."""
    ray = NEWSMILL.with_name("ray")
    port = free_port()
    options = ["--num-cpus", "1", "--include-dashboard=false", "--disable-usage-stats"]
    options += ["--temp-dir", str(tmp_path_factory.mktemp("ray"))]
    started = subprocess.run(
        [str(ray), "start", "--head", "--port", str(port), *options],
        env=offline_env() | {"RAY_prestart_worker_first_driver": "0"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert started.returncode == 0, started.stderr
    yield f"127.0.0.1:{port}"
    subprocess.run(
        [str(ray), "stop", "--force"], env=offline_env(), capture_output=True, timeout=120
    )


def test_a_run_on_a_ray_cluster_writes_the_same_tables(
    ray_cluster: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert_cluster_run_matches_local(request, "ray", ray_cluster, tmp_path)
