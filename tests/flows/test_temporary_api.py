"""The temporary API's environment: Prefect's ephemeral server, without automations."""

import pytest
from prefect.settings import Settings

from newsmill.flows.temporary_api import listening_address, server_environment


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
