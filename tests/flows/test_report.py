"""What a run shows of itself in the Prefect UI."""

from datetime import UTC, datetime

from newsmill.flows.report import render_summary_markdown
from newsmill.tasks.lake.runs import RunSummary


def test_the_prefect_artifact_is_markdown_tables() -> None:
    """It was the console summary in a code block, its long lines cut in the UI."""
    summary = RunSummary(
        "20261205T000000Z-abcdef", "f", "/srv/lake", datetime(2026, 12, 5, tzinfo=UTC)
    )
    summary.status, summary.catalog = "completed", "/srv/newsmill.duckdb"
    summary.counts.update(
        {
            "inputs.seen": 12_000,
            "written.articles": 9_000,
            "written.rejects": 3,
            "rejects.extract_no_article": 3,
            "duplicates.document.near": 7,
            "time_ms.read": 1_500,
            "time_ms.commit": 200,
        }
    )
    markdown = render_summary_markdown(summary, 61.0)
    lines = markdown.splitlines()
    assert lines[0] == "## newsmill run `20261205T000000Z-abcdef`: completed in 61.0 s"
    assert "| inputs seen | 12,000 |" in lines and "| articles written | 9,000 |" in lines
    assert "| rejects: `extract_no_article` | 3 |" in lines
    assert "| duplicates: document / near | 7 |" in lines
    assert lines.index("| read | 1.5 |") < lines.index("| commit | 0.2 |")
    assert lines[-1] == "Lake: `/srv/lake`; catalog: `/srv/newsmill.duckdb`"
    assert "```" not in markdown
