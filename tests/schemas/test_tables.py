from pathlib import Path

import pytest

from newsmill.schemas.docs import render_data_dictionary
from newsmill.schemas.reasons import REASONS, Reason
from newsmill.schemas.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]


def test_docs_tables_md_is_generated_from_the_schemas() -> None:
    committed = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert committed == render_data_dictionary(), "run `make docs` and commit docs/tables.md"


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
