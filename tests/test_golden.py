"""Output changes only with a rule version: the golden inputs must make exactly the rows
recorded in tests/golden/expected while every version in `RULE_VERSIONS` is the one
recorded with them. Changed rules: bump their version, then `python -m tests.golden --update`."""

import json
from pathlib import Path

import pytest

from newsmill.tasks.versions import RULE_VERSIONS
from tests.golden.run import golden_tables, read_expected

UPDATE = "python -m tests.golden --update"


def test_output_changes_only_with_a_rule_version(tmp_path: Path) -> None:
    recorded_versions, expected = read_expected()
    actual = golden_tables(tmp_path / "lake")
    changed = {name: _first_difference(expected[name], rows) for name, rows in actual.items()}
    changed = {name: diff for name, diff in changed.items() if diff}
    bumped = {s: v for s, v in RULE_VERSIONS.items() if recorded_versions.get(s) != v}
    if bumped:
        pytest.fail(f"rule versions changed {bumped}: review the new output, then run {UPDATE}")
    assert not changed, (
        "output changed while every rule version stayed the same: bump the version of the "
        f"rules you changed (tasks/versions.py lists them), then run {UPDATE}\n"
        + "\n".join(f"{name}: {diff}" for name, diff in changed.items())
    )


def test_every_rule_set_is_in_the_pipeline_version() -> None:
    from newsmill.tasks.versions import PIPELINE_VERSION

    assert all(version in PIPELINE_VERSION.split("; ") for version in RULE_VERSIONS.values())
    assert len(set(RULE_VERSIONS.values())) == len(RULE_VERSIONS)


def _first_difference(expected: list[dict], actual: list[dict]) -> str:
    if expected == actual:
        return ""
    if len(expected) != len(actual):
        return f"{len(expected)} rows expected, {len(actual)} made"
    row = next(i for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if e != a)
    columns = [c for c in expected[row] if expected[row][c] != actual[row].get(c)]
    return f"row {row}: expected {json.dumps({c: expected[row][c] for c in columns}, ensure_ascii=False)}, made {json.dumps({c: actual[row].get(c) for c in columns}, ensure_ascii=False)}"
