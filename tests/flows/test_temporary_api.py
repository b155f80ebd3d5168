"""The temporary API's environment: Prefect's ephemeral server, without automations."""

import pytest
from prefect.settings import Settings

from newsmill.flows.temporary_api import server_environment


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
