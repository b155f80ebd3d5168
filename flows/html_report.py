"""The run report: one HTML page per run beside the lake (`<lake>/_reports/<run_id>.html`)
with what the run did, in charts an analyst can read without SQL.

Charts are Plotly figures, written as the JSON plotly.js reads (traces and a layout, per
Plotly's figure reference) rather than through plotly's Python classes, whose validation
took ~0.6 s a report. Plotly's JavaScript is written once into the reports folder and each
page loads it from there: the reports work offline (no CDN), and a run adds ~100 KB rather
than the 4.8 MB the library would weigh inside every page.
"""

from __future__ import annotations

import datetime
import html
import importlib.resources
import json
from typing import Any

import plotly

from newsmill.flows.report import connect_lake
from newsmill.schemas.tables import ARTICLES, DUPLICATES, ENTITIES, QUOTES, REJECTS
from newsmill.tasks.lake.lake import Lake
from newsmill.tasks.lake.runs import RunSummary

REPORTS_DIR = "_reports"
PLOTLY_JS = f"plotly-{plotly.__version__}.min.js"
TOP = 15  # entities, speakers, sites shown
REPORTED_TABLES = (ARTICLES, DUPLICATES, ENTITIES, QUOTES, REJECTS)  # what the sections read

Trace = dict[str, Any]
Figure = tuple[list[Trace], dict[str, Any]]  # plotly.js's data and layout
_AXES = {"gridcolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True}


def write_run_report(lake: Lake, summary: RunSummary, seconds: float) -> str:
    """Write the run's report and return where it is."""
    store = lake.store
    script = store.path(REPORTS_DIR, PLOTLY_JS)
    if not store.exists(script):
        bundle = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
        store.write_atomic(script, bundle.read_bytes())
    path = store.path(REPORTS_DIR, f"{summary.run_id}.html")
    store.write_atomic(path, render_run_report(lake, summary, seconds).encode())
    return store.uri(path)


def render_run_report(lake: Lake, summary: RunSummary, seconds: float) -> str:
    # the run's own files of the tables it reads: a report costs what its run wrote, not
    # what the lake holds (a view of every table took ~0.08 s of a 0.14 s report)
    with connect_lake(lake.root, summary.run_id, REPORTED_TABLES) as connection:
        found = _Queries(connection, summary.run_id)
        sections = [
            ("What became of the inputs", _outcomes(summary)),
            ("Duplicates by level and method", _duplicates(summary)),
            ("Similarity of near duplicates", _similarities(found)),
            ("Throughput per shard", _throughput(summary)),
            ("Time per stage", _stage_times(summary)),
            ("Languages", _languages(found)),
            ("Most mentioned people, organisations and places", _entities(found)),
            ("Most quoted speakers", _speakers(found)),
            ("Articles per site and day", _sites(found)),
        ]
        rejects = found.rows(
            """select reason, count(*), min(source), arg_min(detail, source)
            from rejects where run_id = ? group by reason order by 2 desc, 1"""
        )
    return _page(summary, seconds, sections, rejects)


class _Queries:
    def __init__(self, connection: Any, run_id: str) -> None:
        self._connection, self._run_id = connection, run_id

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._connection.execute(sql, [self._run_id]).fetchall()
        return rows


def _figure(traces: Trace | list[Trace], **layout: Any) -> Figure:
    """Traces and a layout with the look of plotly's `plotly_white` template; axis titles
    as `xaxis_title="…"` or in `xaxis`, as plotly's Python API takes them."""
    for axis in ("xaxis", "yaxis"):
        settings = {**_AXES, **layout.get(axis, {})}
        title = layout.pop(f"{axis}_title", None) or settings.pop("title", None)
        if title:
            settings["title"] = {"text": title}  # plotly.js 3 takes no bare string
        layout[axis] = settings
    return (
        [traces] if isinstance(traces, dict) else traces,
        {
            "height": layout.pop("height", 360),
            "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            **layout,
        },
    )


def _outcomes(summary: RunSummary) -> Figure:
    c = summary.counts
    duplicates = sum(summary.count("duplicates.document.").values())
    parts = [
        ("articles", c["written.articles"]),
        ("document duplicates", duplicates),
        ("rejects", c["written.rejects"]),
        ("already ingested", c["read.already_ingested"]),
    ]
    bars = [
        {
            "type": "bar",
            "name": name,
            "y": ["inputs"],
            "x": [n],
            "orientation": "h",
            "text": [f"{n:,}"],
        }
        for name, n in parts
    ]
    return _figure(bars, barmode="stack", height=220, xaxis_title="inputs")


def _duplicates(summary: RunSummary) -> Figure:
    kinds = summary.count("duplicates.")
    names = [k.replace(".", " / ") for k in kinds]
    return _figure({"type": "bar", "x": names, "y": list(kinds.values())}, yaxis_title="duplicates")


def _similarities(found: _Queries) -> Figure:
    values = [
        row[0]
        for row in found.rows(
            "select similarity from duplicates where run_id = ? and method = 'near'"
        )
    ]
    histogram = {
        "type": "histogram",
        "x": values,
        "xbins": {"start": 0.0, "end": 1.0, "size": 0.02},
    }
    return _figure(
        histogram,
        xaxis={"title": "estimated Jaccard similarity", "range": [0, 1]},
        yaxis_title="copies",
    )


def _throughput(summary: RunSummary) -> Figure:
    shards = summary.timeline
    return _figure(
        {
            "type": "scatter",
            "x": [s for _, s, _ in shards],
            "y": [i for _, _, i in shards],
            "mode": "lines+markers",
            "text": [f"shard {n}" for n, _, _ in shards],
        },
        xaxis_title="seconds since the shards started",
        yaxis_title="inputs in the shard",
    )


def _stage_times(summary: RunSummary) -> Figure:
    times = summary.count("time_ms.")
    stages = summary.ordered_stages()
    return _figure(
        {"type": "bar", "x": stages, "y": [times[s] / 1000 for s in stages]},
        yaxis_title="seconds (summed over shards and workers)",
    )


def _languages(found: _Queries) -> Figure:
    rows = found.rows(
        """select coalesce(language, 'unknown'), count(*) from articles where run_id = ?
        group by 1 order by 2 desc"""
    )
    pie = {"type": "pie", "labels": [r[0] for r in rows], "values": [r[1] for r in rows]}
    return _figure({**pie, "hole": 0.4})


def _entities(found: _Queries) -> Figure:
    rows = found.rows(
        f"""select canonical, label, count(*) from entities where run_id = ?
        group by all order by 3 desc, 1 limit {TOP}"""
    )
    bars = [
        {
            "type": "bar",
            "name": label,
            "y": [r[0] for r in rows if r[1] == label],
            "x": [r[2] for r in rows if r[1] == label],
            "orientation": "h",
        }
        for label in ("PERSON", "ORG", "LOC")
    ]
    return _figure(
        bars,
        height=120 + 24 * max(len(rows), 1),
        xaxis_title="mentions",
        yaxis={"autorange": "reversed"},
    )


def _speakers(found: _Queries) -> Figure:
    rows = found.rows(
        f"""select speaker, count(*) from quotes where run_id = ? and speaker is not null
        group by 1 order by 2 desc, 1 limit {TOP}"""
    )
    return _figure(
        {"type": "bar", "y": [r[0] for r in rows], "x": [r[1] for r in rows], "orientation": "h"},
        height=120 + 24 * max(len(rows), 1),
        xaxis_title="quotes",
        yaxis={"autorange": "reversed"},
    )


def _sites(found: _Queries) -> Figure:
    rows = found.rows(
        f"""with counted as (
            select coalesce(site, domain, '(no url)') as site,
                   cast(coalesce(published_at, ingested_at) as date) as day, count(*) as n
            from articles where run_id = ? group by all
        ), top as (select site from counted group by site order by sum(n) desc limit {TOP})
        select site, day, n from counted semi join top using (site) order by day, site"""
    )
    sites = sorted({r[0] for r in rows})
    bars = [
        {
            "type": "bar",
            "name": site,
            "x": [r[1] for r in rows if r[0] == site],
            "y": [r[2] for r in rows if r[0] == site],
        }
        for site in sites
    ]
    return _figure(bars, barmode="stack", yaxis_title="articles", xaxis_title="publication day")


def _chart(number: int, figure: Figure) -> str:
    """A chart's div and the call that draws it, as plotly's `to_html` writes them."""
    data, layout = (_script_json(part) for part in figure)
    div = f"chart-{number}"
    return (
        f'<div id="{div}" class="plotly-graph-div" style="height:{figure[1]["height"]}px; '
        f'width:100%;"></div><script type="text/javascript">'
        f'Plotly.newPlot("{div}", {data}, {layout}, {{"responsive": true}});</script>'
    )


def _script_json(value: object) -> str:
    """JSON safe inside a script element: a "</" in a string would end the element."""
    return json.dumps(value, default=_json_value).replace("</", "<\\/")


def _json_value(value: object) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a chart")


def _page(
    summary: RunSummary,
    seconds: float,
    sections: list[tuple[str, Figure]],
    rejects: list[tuple[Any, ...]],
) -> str:
    charts = "\n".join(
        f'<section class="chart"><h2>{html.escape(title)}</h2>{_chart(n, figure)}</section>'
        for n, (title, figure) in enumerate(sections)
    )
    reject_rows = (
        "".join(
            f"<tr><td><code>{html.escape(reason)}</code></td><td>{n:,}</td>"
            f"<td>{html.escape(source)}</td><td>{html.escape(detail or '')}</td></tr>"
            for reason, n, source, detail in rejects
        )
        or '<tr><td colspan="4">no rejects</td></tr>'
    )
    c = summary.counts
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>newsmill run {html.escape(summary.run_id)}</title>
<script src="{PLOTLY_JS}"></script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
section.chart {{ margin: 1.5rem 0; }} h2 {{ font-size: 1.1rem; margin-bottom: .3rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
</style></head>
<body>
<h1>newsmill run <code>{html.escape(summary.run_id)}</code></h1>
<p>{html.escape(summary.status)} in {seconds:.1f} s · {c["inputs.seen"]:,} inputs ·
{c["written.articles"]:,} articles · lake <code>{html.escape(summary.lake)}</code></p>
{charts}
<section><h2>Rejects by reason, with an example each</h2>
<table><tr><th>reason</th><th>rejects</th><th>example</th><th>why</th></tr>{reject_rows}</table>
</section>
</body></html>
"""
