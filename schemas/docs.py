"""Render the data dictionary from the declared schemas: Markdown for people
(`docs/tables.md`), JSON for programs (`docs/tables.json`) and a dbt sources file
(`docs/sources.yml`, for dbt-duckdb).

Run `python -m newsmill.schemas.docs [--format md|json|dbt]` (`make docs` writes all three);
a test keeps the committed files in sync.
"""

import argparse
import json

from newsmill.schemas.reasons import REASONS
from newsmill.schemas.tables import TABLES
from newsmill.schemas.views import VIEWS


def render_data_dictionary() -> str:
    lines = [
        "# newsmill tables",
        "",
        "Generated from `schemas/` by `python -m newsmill.schemas.docs`; do not edit by hand.",
        "",
        "Each table is a folder of Hive-partitioned Parquet files under the lake",
        "(`data/lake/<table>/<key>=<value>/…/*.parquet`).",
        "",
    ]
    for spec in TABLES.values():
        lines += [
            f"## `{spec.name}`",
            "",
            spec.description,
            "",
            f"Partitioned by: {', '.join(f'`{p}`' for p in spec.partition_by)}.",
            "",
            "| column | type | nullable | description |",
            "| --- | --- | --- | --- |",
        ]
        for col in spec.columns:
            nullable = "yes" if col.nullable else "no"
            lines.append(f"| `{col.name}` | `{col.type}` | {nullable} | {col.description} |")
        lines.append("")
    lines += [
        "## Views",
        "",
        "`newsmill query` and `newsmill catalog` define these over the tables above.",
        "",
    ]
    for name, (description, _) in VIEWS.items():
        lines += [f"- `{name}`: {description}"]
    lines.append("")
    lines += ["## Reject reasons", "", "| stage | reason | meaning |", "| --- | --- | --- |"]
    for reason, meaning in REASONS.items():
        lines.append(f"| {reason.stage} | `{reason.value}` | {meaning} |")
    lines.append("")
    return "\n".join(lines)


def render_json() -> str:
    dictionary = {
        "generated_by": "python -m newsmill.schemas.docs --format json",
        "tables": [
            {
                "name": spec.name,
                "description": spec.description,
                "partition_by": list(spec.partition_by),
                "columns": [
                    {
                        "name": col.name,
                        "type": str(col.type),
                        "nullable": col.nullable,
                        "description": col.description,
                    }
                    for col in spec.columns
                ],
            }
            for spec in TABLES.values()
        ],
        "views": [
            {"name": name, "description": description, "sql": sql}
            for name, (description, sql) in VIEWS.items()
        ],
        "reject_reasons": [
            {"stage": reason.stage, "reason": reason.value, "meaning": meaning}
            for reason, meaning in REASONS.items()
        ],
    }
    return json.dumps(dictionary, indent=2, ensure_ascii=False) + "\n"


def render_dbt_sources() -> str:
    """dbt's sources file; dbt-duckdb reads each table through `external_location`. Every
    string is written as JSON, which YAML reads as the same string."""
    location = (
        "read_parquet('data/lake/{name}/**/*.parquet', hive_partitioning = true, "
        "union_by_name = true)"
    )
    lines = [
        "# Generated from `schemas/` by `python -m newsmill.schemas.docs --format dbt`.",
        "# For dbt-duckdb: change data/lake in external_location to your lake.",
        "version: 2",
        "sources:",
        "  - name: newsmill",
        f"    description: {json.dumps('Tables of a newsmill lake (Hive-partitioned Parquet).')}",
        "    meta:",
        f"      external_location: {json.dumps(location)}",
        "    tables:",
    ]
    for spec in TABLES.values():
        lines += [
            f"      - name: {spec.name}",
            f"        description: {json.dumps(spec.description, ensure_ascii=False)}",
            "        columns:",
        ]
        for col in spec.columns:
            lines += [
                f"          - name: {col.name}",
                f"            description: {json.dumps(col.description, ensure_ascii=False)}",
                f"            meta: {{arrow_type: {json.dumps(str(col.type))}}}",
            ]
            if not col.nullable:
                lines.append("            data_tests: [not_null]")
    return "\n".join(lines) + "\n"


RENDERERS = {"md": render_data_dictionary, "json": render_json, "dbt": render_dbt_sources}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=sorted(RENDERERS), default="md")
    print(RENDERERS[parser.parse_args().format](), end="")
