"""Shared fixtures. Tests never leave 127.0.0.1; Prefect runs its local temporary API."""

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.websites import NewsSite

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SEED = SAMPLES / "seed_article.txt"
NEWSMILL = Path(sys.executable).with_name("newsmill")


@pytest.fixture(scope="session")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `newsmill` subprocesses: offline Prefect, local temporary API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "NEWSMILL_"))}
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # parallel test workers must not share one Prefect database: one home each
        env["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    else:
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
