"""Run the golden inputs through the flow's steps as plain functions (no Prefect) into a
lake, and read its tables back as rows that do not depend on where or when they ran."""

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from newsmill.flows import stages
from newsmill.flows.settings import Settings
from newsmill.schemas.tables import ARTICLES, DUPLICATES, ENTITIES, PARAGRAPHS, QUOTES, REJECTS
from newsmill.tasks.dedup.exact import ExactAcrossShards
from newsmill.tasks.dedup.near import RunSignatures
from newsmill.tasks.ingest.sources import discover_sources, number_lines, plan_shards
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.shard import process_shard
from newsmill.tasks.versions import RULE_VERSIONS
from tests.tasks.lake_runs import run_context, runs_row

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INPUTS = (ROOT / "data" / "samples", HERE / "inputs")
EXPECTED = HERE / "expected"
VERSIONS = EXPECTED / "versions.json"
CORPUS_DIGESTS = EXPECTED / "corpus.json"
TABLES = (ARTICLES, PARAGRAPHS, ENTITIES, QUOTES, DUPLICATES, REJECTS)
# what says where and when a row was made, not what it holds
VOLATILE = {"run_id", "ingested_at", "run_date", "pipeline_version"}


def golden_tables(
    lake_root: Path, inputs: Sequence[Path] = INPUTS, **overrides: Any
) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows for the inputs (the golden ones by default), run with the default
    settings but `overrides`, in a stable order, with doc ids and paths named by the input
    they came from."""
    settings = Settings(lake=str(lake_root), **overrides)
    lake = Lake(settings.lake)
    ctx = run_context("golden")
    files = discover_sources([str(p) for p in inputs]).files
    shards = plan_shards(files, settings.shard_bytes, settings.shard_max_files)
    writer = lake.start_run(ctx.run_id)
    exact, signatures, site_counts = (
        ExactAcrossShards(),
        RunSignatures(settings.shard.near),
        Counter[int](),
    )
    for shard in number_lines(shards):
        result = process_shard(shard, lake.root, ctx, settings.shard)
        writer.adopt(result.files)
        kept, _ = exact.admit(result.articles)
        signatures.add_chunk(kept)
        site_counts.update(result.site_counts)
    near = stages.find_near_duplicates.fn(signatures, lake)
    stages.stage_document_duplicates.fn(writer, ctx, exact.copies, near, signatures)
    stages.stage_dedup_state.fn(writer, ctx, site_counts)
    writer.commit(runs_row(ctx.run_id, ctx.started_at))
    return _readable(lake, inputs)


def _readable(lake: Lake, inputs: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    connection = duckdb.connect()
    try:
        tables = {
            spec.name: connection.sql(f"select * from {lake.scan(spec)}")
            .to_arrow_table()
            .to_pylist()
            for spec in TABLES
        }
    finally:
        connection.close()
    roots = [f"{root.parent}/" for root in inputs]
    names = _input_names(tables, roots)
    return {
        name: sorted(
            (_named(row, names, roots) for row in rows),
            key=lambda r: json.dumps(r, sort_keys=True),
        )
        for name, rows in tables.items()
    }


def _input_names(tables: dict[str, list[dict[str, Any]]], roots: list[str]) -> dict[str, str]:
    """doc_id → `doc:<source>`: ids hash the absolute path, which differs per checkout."""
    names = {}
    for row in tables["articles"] + tables["duplicates"]:
        if row.get("level", "document") == "document":
            names[row["doc_id"]] = f"doc:{_relative(row['source'], roots)}"
    return names


def _relative(source: str, roots: list[str]) -> str:
    for root in roots:
        source = source.replace(root, "")
    return source


def _named(row: dict[str, Any], names: dict[str, str], roots: list[str]) -> dict[str, Any]:
    readable = {}
    for column, value in row.items():
        if column in VOLATILE:
            continue
        if isinstance(value, str):
            value = names.get(value, _relative(value, roots))
        elif not isinstance(value, int | float | bool | type(None)):
            value = str(value)
        readable[column] = value
    return readable


def write_expected(tables: dict[str, list[dict[str, Any]]]) -> None:
    EXPECTED.mkdir(exist_ok=True)
    for name, rows in tables.items():
        lines = (json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows)
        (EXPECTED / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    VERSIONS.write_text(json.dumps(RULE_VERSIONS, indent=2) + "\n")


def read_expected() -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    versions = json.loads(VERSIONS.read_text())
    tables = {
        spec.name: [json.loads(line) for line in (EXPECTED / f"{spec.name}.jsonl").open()]
        for spec in TABLES
    }
    return versions, tables


def digests(tables: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each table's row count and the sha256 of its rows as `write_expected` records them."""
    return {
        name: {
            "rows": len(rows),
            "sha256": hashlib.sha256(
                "".join(
                    f"{json.dumps(row, ensure_ascii=False, sort_keys=True)}\n" for row in rows
                ).encode()
            ).hexdigest(),
        }
        for name, rows in tables.items()
    }


def corpus_tables(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The generated corpus (`corpus.py`) run into a lake beside it, one shard per file."""
    from tests.golden.corpus import write_corpus

    write_corpus(folder / "corpus")
    return golden_tables(folder / "lake", [folder / "corpus"], shard_max_files=1)


def write_corpus_digests(tables: dict[str, list[dict[str, Any]]]) -> None:
    CORPUS_DIGESTS.write_text(json.dumps(digests(tables), indent=2) + "\n")
