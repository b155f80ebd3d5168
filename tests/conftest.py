"""Shared fixtures. Tests never leave 127.0.0.1; Prefect runs its local temporary API."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SEED = SAMPLES / "seed_article.txt"
NEWSMILL = Path(sys.executable).with_name("newsmill")


@pytest.fixture(scope="session")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `newsmill` subprocesses: offline Prefect, local temporary API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "NEWSMILL_"))}
    env.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    env.update(
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    )
    return env


def run_newsmill(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NEWSMILL), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")
