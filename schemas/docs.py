"""Render the data dictionary (`docs/tables.md`) from the declared schemas.

Run `python -m newsmill.schemas.docs > docs/tables.md`; a test keeps the committed file in sync.
"""

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
    lines += ["## Views", "", "`newsmill query` defines these over the tables above.", ""]
    for name, (description, _) in VIEWS.items():
        lines += [f"- `{name}`: {description}"]
    lines.append("")
    lines += ["## Reject reasons", "", "| stage | reason | meaning |", "| --- | --- | --- |"]
    for reason, meaning in REASONS.items():
        lines.append(f"| {reason.stage} | `{reason.value}` | {meaning} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_data_dictionary(), end="")
