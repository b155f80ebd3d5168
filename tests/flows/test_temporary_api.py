"""The temporary API: Prefect's ephemeral server, without automations or block registration,
and without the migration check when its database is already at the latest schema."""

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.settings import Settings

from newsmill.flows.temporary_api import listening_address, schema_is_latest, server_environment
from tests.conftest import fresh_prefect_home


def test_the_temporary_api_runs_no_automations_unless_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = server_environment({"PATH": "/usr/bin"})
    assert env["PATH"] == "/usr/bin"
    assert env["PREFECT__SERVER_EPHEMERAL"] == "1" and env["PREFECT_UI_ENABLED"] == "0"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # the name is one Prefect reads: its triggers and their actions stay off
    assert Settings().server.services.triggers.enabled is False

    asked = server_environment({"PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "true"})
    assert asked["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"] == "true"


def test_the_temporary_api_registers_no_block_types_unless_asked_under_any_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in server_environment({}).items():
        monkeypatch.setenv(name, value)
    settings = Settings().server
    assert settings.register_blocks_on_start is False
    # the check behind it would still import every installed collection
    assert settings.memoize_block_auto_registration is False

    # the older name Prefect still reads: exported, it is not overridden by the newer one
    asked = server_environment({"PREFECT_API_BLOCKS_REGISTER_ON_START": "true"})
    assert "PREFECT_SERVER_REGISTER_BLOCKS_ON_START" not in asked
    monkeypatch.delenv("PREFECT_SERVER_REGISTER_BLOCKS_ON_START")
    monkeypatch.setenv("PREFECT_API_BLOCKS_REGISTER_ON_START", "true")
    assert Settings().server.register_blocks_on_start is True


def test_only_a_database_at_prefects_latest_migration_skips_the_migration_check(
    ephemeral_env: dict[str, str], tmp_path: Path
) -> None:
    """The session's template was migrated by `prefect server database upgrade`: the
    revision it records is the one this module finds as the latest."""
    database = fresh_prefect_home(tmp_path / "home") / "prefect.db"
    assert schema_is_latest(f"sqlite+aiosqlite:///{database}")

    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("update alembic_version set version_num = '0123456789ab'")
    assert not schema_is_latest(f"sqlite+aiosqlite:///{database}")  # an older Prefect's
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("drop table alembic_version")
    assert not schema_is_latest(f"sqlite+aiosqlite:///{database}")  # never migrated

    (tmp_path / "notes.db").write_text("not a database")
    for other in (
        f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",  # a new home: created by migrating
        f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}",
        "sqlite+aiosqlite:///:memory:",
        "postgresql+asyncpg://prefect@127.0.0.1:5432/prefect",  # checked by the server itself
    ):
        assert not schema_is_latest(other), other
    assert not (tmp_path / "none.db").exists()  # looking did not create it


@pytest.mark.parametrize(
    ("command", "address"),
    [
        # what `prefect server start --background --port 4311` runs (prefect 3.9.1)
        (
            [
                "python3",
                "-m",
                "uvicorn",
                "--factory",
                "app",
                "--host",
                "127.0.0.1",
                "--port",
                "4311",
            ],
            "127.0.0.1:4311",
        ),
        (["python3", "-m", "uvicorn", "--host", "0.0.0.0", "--port", "4200"], "127.0.0.1:4200"),
        (["python3", "-m", "uvicorn", "--host", "::1", "--port", "4200"], "[::1]:4200"),
        (["python3", "-m", "uvicorn", "--port", "4200"], "127.0.0.1:4200"),
        (["python3", "-m", "uvicorn", "--host", "127.0.0.1"], None),  # no port: not guessed
        (["python3", "serve.py", "--port", "4200"], None),  # not a uvicorn server
        ([], None),  # no such process any more
    ],
)
def test_a_background_servers_address_is_read_from_its_command_line(
    command: list[str], address: str | None
) -> None:
    assert listening_address(command) == address


_APP_MADE = """
import gc, os
from newsmill.flows.temporary_api import create_app
app = create_app()
print(os.environ.get("PREFECT_SERVER_DATABASE_MIGRATE_ON_START"), gc.isenabled(),
      gc.get_freeze_count() > 100_000, type(app).__name__)
"""


def test_the_temporary_apis_app_checks_migrations_only_when_needed_and_collects_garbage(
    ephemeral_env: dict[str, str], tmp_path: Path
) -> None:
    """Made as uvicorn makes it in the server's process: for a home at the latest schema
    the migration check is off; for a new home it stays on (the database is created).
    Either way the collector, held off while Prefect's server is imported, is back on with
    the import's objects frozen."""
    latest = fresh_prefect_home(tmp_path / "latest")
    new = tmp_path / "new"
    for home, migrate in ((latest, "false"), (new, "None")):
        result = subprocess.run(
            [sys.executable, "-c", _APP_MADE],
            env=ephemeral_env | {"PREFECT_HOME": str(home)},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [migrate, "True", "True", "FastAPI"], home
