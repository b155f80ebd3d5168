"""A real Prefect server on 127.0.0.1, shared by the tests that need one."""

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import NEWSMILL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def prefect_server(prefect_env):
    port = free_port()
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
