"""The README is documentation users act on: it names every reason code and leads to every
setting."""

from pathlib import Path

from newsmill.flows.deployments import load_deployments
from newsmill.flows.settings import Settings
from newsmill.schemas.reasons import Reason

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_explains_every_reject_reason() -> None:
    missing = [r.value for r in Reason if f"`{r.value}`" not in README]
    assert not missing


def test_readme_points_to_the_generated_settings_reference() -> None:
    # the reference itself is generated from the settings and sync-tested (test_settings.py)
    settings_section = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert "[docs/settings.md](docs/settings.md)" in settings_section
    reference = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in reference for name in Settings().as_flat_dict())


def test_readme_deployments_example_is_a_valid_deployments_file(tmp_path) -> None:
    schedule_section = README.split("## Run it on a schedule", 1)[1]
    example = schedule_section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "d.toml").write_text(example)
    specs = load_deployments(tmp_path / "d.toml")
    assert [s.schedule_text for s in specs] == [
        "cron '*/30 * * * *' (UTC)",
        "cron '0 2 * * *' (Europe/London)",
    ]
    assert specs[1].parameters["near_threshold"] == 0.7
    assert specs[0].parameters["lease_wait_s"] == 600
