"""The README is documentation users act on: it must name every reason code and setting."""

from pathlib import Path

from flows.settings import Settings
from schemas.reasons import Reason

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_explains_every_reject_reason() -> None:
    missing = [r.value for r in Reason if f"`{r.value}`" not in README]
    assert not missing


def test_readme_documents_every_setting_with_its_default() -> None:
    for name, value in Settings().as_flat_dict().items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, name
        assert str(value).rstrip("0").rstrip(".") in row.replace(" ", ""), (name, value)
