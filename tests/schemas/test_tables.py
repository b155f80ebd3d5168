import json
from pathlib import Path

import pytest
import yaml

from newsmill.schemas.docs import render_data_dictionary, render_dbt_sources, render_json
from newsmill.schemas.reasons import REASONS, Reason
from newsmill.schemas.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("file", "render"),
    [
        ("tables.md", render_data_dictionary),
        ("tables.json", render_json),
        ("sources.yml", render_dbt_sources),
    ],
)
def test_the_data_dictionary_files_are_generated_from_the_schemas(file: str, render) -> None:
    committed = (ROOT / "docs" / file).read_text(encoding="utf-8")
    assert committed == render(), f"run `make docs` and commit docs/{file}"


def test_the_dbt_sources_file_names_every_table_and_column() -> None:
    [source] = yaml.safe_load(render_dbt_sources())["sources"]
    assert "{name}" in source["meta"]["external_location"]
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(TABLES)
    for name, spec in TABLES.items():
        columns = {c["name"]: c for c in tables[name]["columns"]}
        assert list(columns) == [c.name for c in spec.columns]
        required = {n for n, c in columns.items() if c.get("data_tests") == ["not_null"]}
        assert required == {c.name for c in spec.columns if not c.nullable}
    assert json.loads(render_json())["tables"][0]["columns"][0]["name"] == "doc_id"


@pytest.mark.parametrize("spec", TABLES.values(), ids=list(TABLES))
def test_every_column_is_described_and_partitions_are_columns(spec) -> None:
    assert all(c.description.strip() for c in spec.columns)
    assert set(spec.partition_by) <= set(spec.schema.names)
    assert not set(spec.partition_by) & set(spec.file_schema.names)
    assert len(set(spec.schema.names)) == len(spec.schema.names)


def test_every_reason_is_described_with_a_stage_prefix() -> None:
    assert set(REASONS) == set(Reason)
    for reason in Reason:
        assert reason.value == reason.value.lower() and reason.stage in {
            "discover",
            "fetch",
            "read",
            "parse",
            "extract",
            "clean",
            "dedup",
            "fields",
            "boilerplate",
            "mentions",
            "shard",
        }
