"""End to end: `newsmill run data/samples` as a user runs it, the lake read back with DuckDB."""

import datetime
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from newsmill.schemas.tables import ARTICLES, RUNS
from newsmill.tasks.lake.catalog import write_catalog
from newsmill.tasks.lake.lake import Lake
from tests.conftest import SAMPLES, NewsmillHere, run_newsmill

# What every sample input must become: "article", "duplicate", or its reject reason.
EXPECTED = {
    "seed_article.txt": "article",
    "html/tram-extension.html": "article",
    "html/vineyard-frost-cp1252.htm": "article",
    "text/saved-web-page.txt": "article",
    "text/budget-mojibake.txt": "article",
    "text/ferry-crossing-cp1252.txt": "article",
    "text/river-trees-bom.md": "article",
    "text/market-report.txt.gz": "article",
    "text/library-queues-follow-up.txt": "article",  # shares two paragraphs with saved-web-page
    "text/seed-republished.txt": "duplicate",
    "text/tram-extension-syndicated.txt": "duplicate",
    "exports/wire-and-web.jsonl:1": "article",
    "exports/wire-and-web.jsonl:2": "article",
    "exports/wire-and-web.jsonl:3": "parse_invalid_json",
    "exports/wire-and-web.jsonl:4": "parse_missing_text",
    "exports/wire-and-web.jsonl:5": "parse_not_object",
    "exports/wire-and-web.jsonl:6": "duplicate",
    "exports/wire-and-web.jsonl:8": "parse_invalid_json",
    "exports/archive-2022.ndjson.gz:1": "article",
    "exports/archive-2022.ndjson.gz:2": "article",
    "bad/empty.txt": "read_empty_file",
    "bad/whitespace-only.txt": "clean_empty_text",
    "bad/image-named-text.txt": "read_not_text",
    "bad/navigation-only.html": "extract_no_article",
    "bad/oversized-dump.txt.gz": "read_too_large",
    "bad/scanned-page.pdf": "read_unsupported_type",
}


def sample_inputs(root: Path) -> set[str]:
    """Every input under `root` as newsmill must account for it: files, and JSONL lines."""
    inputs = set()
    for path in root.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if re.search(r"\.(jsonl|ndjson)(\.gz)?$", path.name):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:
                inputs |= {f"{path}:{n}" for n, line in enumerate(handle, start=1) if line.strip()}
        else:
            inputs.add(str(path))
    return inputs


def relative(source: str) -> str:
    return source.removeprefix(str(SAMPLES) + "/")


def lake_sql(lake: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect()
    for table in (
        "articles",
        "paragraphs",
        "entities",
        "quotes",
        "duplicates",
        "rejects",
        "minhash",
        "runs",
    ):
        connection.execute(
            f"create view {table} as select * from read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning=true)"
        )
    return connection.sql(sql).fetchall()


@pytest.fixture(scope="module")
def sample_run(prefect_env, tmp_path_factory):
    lake = tmp_path_factory.mktemp("samples") / "lake"
    catalog = lake.parent / "newsmill.duckdb"  # as `make run` asks for it
    result = run_newsmill(
        prefect_env, "run", str(SAMPLES), "--lake", str(lake), "--catalog", str(catalog)
    )
    assert result.returncode == 0, result.stderr
    return lake, result


def outcomes(lake: Path) -> dict[str, list[str]]:
    rows = lake_sql(
        lake,
        """
        select source, 'article' from articles
        union all select source, 'duplicate' from duplicates where level = 'document'
        union all select source, reason from rejects
        """,
    )
    found: dict[str, list[str]] = {}
    for source, outcome in rows:
        found.setdefault(relative(source), []).append(outcome)
    return found


def test_every_input_ends_as_exactly_one_row_with_the_expected_outcome(sample_run) -> None:
    lake, _ = sample_run
    found = outcomes(lake)
    assert {relative(s) for s in sample_inputs(SAMPLES)} == set(EXPECTED)
    assert found == {source: [outcome] for source, outcome in EXPECTED.items()}


def test_runs_row_accounts_for_every_input(sample_run) -> None:
    lake, _ = sample_run
    [(status, seen, articles, dup_docs, dup_paras, rejects, known)] = lake_sql(
        lake,
        "select status, inputs_seen, articles, duplicates_document, duplicates_paragraph, rejects, already_ingested from runs",
    )
    assert status == "completed"
    assert seen == len(EXPECTED) == articles + dup_docs + rejects
    assert (articles, dup_docs, rejects, known) == (
        list(EXPECTED.values()).count("article"),
        list(EXPECTED.values()).count("duplicate"),
        sum(v not in ("article", "duplicate") for v in EXPECTED.values()),
        0,
    )
    assert dup_paras == 7  # the seed's repeated paragraphs
    # the near copy's entities and quotes were staged, then dropped with it: not counted
    [(counts,)] = lake_sql(lake, "select counts_json from runs")
    written = json.loads(counts)
    assert written["written.entities"] == lake_sql(lake, "select count(*) from entities")[0][0] > 0
    assert written["written.quotes"] == lake_sql(lake, "select count(*) from quotes")[0][0] > 0


def test_seed_keeps_eight_paragraphs_and_records_seven_duplicates(sample_run) -> None:
    lake, _ = sample_run
    [(doc_id, n_paragraphs, text)] = lake_sql(
        lake,
        "select doc_id, n_paragraphs, text from articles where source like '%seed_article.txt'",
    )
    assert n_paragraphs == 8
    paragraphs = lake_sql(
        lake, f"select position, text from paragraphs where doc_id = '{doc_id}' order by position"
    )
    assert [p for p, _ in paragraphs] == list(range(8))
    assert "\n\n".join(t for _, t in paragraphs) == text
    dups = lake_sql(
        lake,
        f"select position, duplicate_of_position, method from duplicates where level = 'paragraph' and doc_id = '{doc_id}' order by position",
    )
    assert dups == [(p, p - 7, "exact") for p in range(8, 15)]
    [(republished_of,)] = lake_sql(
        lake, "select duplicate_of from duplicates where source like '%seed-republished.txt'"
    )
    assert republished_of == doc_id


def test_the_seeds_people_places_organisations_and_quotes(sample_run) -> None:
    lake, _ = sample_run
    seed = "(select doc_id from articles where source like '%seed_article.txt')"
    found = lake_sql(
        lake, f"select label, canonical from entities where doc_id = {seed} group by all"
    )
    assert {
        ("PERSON", "Yoon Suk Yeol"),
        ("PERSON", "Dmitry Medvedev"),
        ("PERSON", "Dmitry Peskov"),
        ("LOC", "North Korea"),
        ("LOC", "South Korea"),
        ("LOC", "Russia"),
        ("LOC", "Ukraine"),
        ("LOC", "Kyiv"),
        ("LOC", "Seoul"),
        ("ORG", "Kremlin"),
        ("ORG", "White House"),
        ("ORG", "Reuters"),
    } <= set(found)
    persons = {c for label, c in found if label == "PERSON"}
    assert not persons & {"Yoon", "Medvedev", "Peskov", "Russian Deputy Security Council"}
    spelled = lake_sql(
        lake, f"select text from entities where doc_id = {seed} and canonical = 'North Korea'"
    )
    assert {"DPRK", "Democratic People's Republic of Korea", "North Korea"} <= {
        t for (t,) in spelled
    }

    [text] = lake_sql(lake, f"select text from articles where doc_id = {seed}")[0]
    quotes = lake_sql(
        lake,
        f'select quote, speaker, speaker_mention, verb, start, "end" from quotes where doc_id = {seed}',
    )
    for quote, _, _, _, start, end in quotes:
        assert text[start:end] == quote  # offsets index articles.text
    by_speaker = {
        (q.split()[0], speaker, mention, verb) for q, speaker, mention, verb, _, _ in quotes
    }
    assert ("It", "Yoon Suk Yeol", "the South Korean president", "stated") in by_speaker
    assert ("But", "Dmitry Peskov", "he", "said") in by_speaker


def test_text_is_repaired_and_metadata_extracted(sample_run) -> None:
    lake, _ = sample_run
    rows = {
        relative(r[0]): r[1:]
        for r in lake_sql(
            lake,
            "select source, title, author, url, published_at, text, encoding, mojibake_repaired from articles",
        )
    }
    _, _, _, _, budget, _, repaired = rows["text/budget-mojibake.txt"]
    assert (
        "The city’s new budget" in budget and "€4 million" in budget and "“long overdue”" in budget
    )
    assert "â€" not in budget and "Ã" not in budget and repaired
    ferry = rows["text/ferry-crossing-cp1252.txt"]
    assert "Søren Holm" in ferry[4] and ferry[5] == "cp1252"
    title, author, url, published, text, *_ = rows["html/tram-extension.html"]
    assert (title, author) == ("Harbour city votes to extend tram line", "Marta Kowalski")
    assert url == "https://www.aldercourier.example/city/2023/05/16/tram-extension-vote"
    assert (published.year, published.month, published.day) == (2023, 5, 16)
    assert "We use cookies" not in text and "Most read" not in text
    assert rows["text/river-trees-bom.md"][:2] == (
        "Volunteers plant 5,000 trees along the river",
        "Jane Doe",
    )
    assert rows["seed_article.txt"][:4] == (None, None, None, None)  # never invented for plain text


def test_partitions_follow_publication_date_or_flagged_ingest_date(sample_run) -> None:
    lake, _ = sample_run
    assert (lake / "articles" / "year=2023" / "month=5").is_dir()
    rows = lake_sql(
        lake, "select year, month, published_at, partition_from_ingest, ingested_at from articles"
    )
    for year, month, published, from_ingest, ingested in rows:
        when = ingested if from_ingest else published
        assert (year, month) == (when.year, when.month)
        assert from_ingest == (published is None)


def test_pandas_reads_the_tables_directly(sample_run) -> None:
    lake, _ = sample_run
    articles = pd.read_parquet(lake / "articles")
    assert len(articles) == list(EXPECTED.values()).count("article")
    assert {"doc_id", "text", "year", "month"} <= set(articles.columns)
    assert len(pd.read_parquet(lake / "rejects")) == 10


def test_pandas_gets_the_declared_partition_types(sample_run) -> None:
    """Read plainly, pandas makes partition columns categorical; the README's two ways give
    the declared types."""
    lake, _ = sample_run
    assert isinstance(pd.read_parquet(lake / "articles")["year"].dtype, pd.CategoricalDtype)
    typed = pd.read_parquet(lake / "articles", partitioning=ARTICLES.partitioning)
    assert (typed["year"].dtype, typed["month"].dtype) == ("int16", "int8")
    runs = pd.read_parquet(lake / "runs", partitioning=RUNS.partitioning)
    assert type(runs["run_date"].iloc[0]) is datetime.date  # a date32, not a category
    catalog = lake.parent / "pandas.duckdb"
    write_catalog(Lake(lake), catalog)
    with duckdb.connect(str(catalog), read_only=True) as connection:
        from_catalog = connection.sql("from articles").df()
    assert (from_catalog["year"].dtype, from_catalog["month"].dtype) == ("int16", "int8")


def test_summary_names_counts_and_a_duckdb_one_liner_that_works(sample_run) -> None:
    lake, result = sample_run
    out = result.stdout
    assert f"inputs seen        {len(EXPECTED)}" in out
    assert f"articles written   {list(EXPECTED.values()).count('article')}" in out
    assert re.search(r"entity mentions: [1-9]\d*, quotes: [1-9]", out)
    assert "document/exact: 2" in out and "document/near: 1" in out and "paragraph/exact: 7" in out
    assert "read_too_large: 1" in out and "extract_no_article: 1" in out
    [sql] = re.findall(r'duckdb -c "(.+)"', out)
    assert len(duckdb.sql(sql).fetchall()) == 10
    assert "shard 1/1" in result.stderr  # progress lines
    assert f"catalog            {lake.parent / 'newsmill.duckdb'} (open it in" in out
    with duckdb.connect(str(lake.parent / "newsmill.duckdb"), read_only=True) as catalog:
        [(n,)] = catalog.sql("select count(*) from latest_articles").fetchall()
    assert n == list(EXPECTED.values()).count("article")
    assert re.search(r"time per stage     read \d+\.\d s · extract \d+\.\d s · clean", out)
    [(times,)] = lake_sql(lake, "select counts_json from runs")
    stages = {k.removeprefix("time_ms.") for k in json.loads(times) if k.startswith("time_ms.")}
    assert {"read", "extract", "clean", "mentions", "write", "near", "finish"} <= stages


def test_a_run_ends_without_noise(sample_run) -> None:
    """DuckDB printed ~40 lines of `nanobind: leaked …` at the end of every run: a DuckDB
    type held by an annotation outlived the interpreter's teardown."""
    _, result = sample_run
    assert "leaked" not in result.stderr
    assert "Traceback" not in result.stderr


def test_rerun_adds_nothing_but_a_runs_row(
    sample_run, newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    lake, _ = sample_run
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    before = {
        t: lake_sql(copy, f"select count(*) from {t}")[0][0]
        for t in ("articles", "paragraphs", "duplicates", "rejects")
    }
    result = newsmill_here("run", str(SAMPLES), "--lake", str(copy), "--quiet")
    assert result.returncode == 0, result.stderr
    after = {t: lake_sql(copy, f"select count(*) from {t}")[0][0] for t in before}
    assert after == before
    runs = lake_sql(
        copy,
        "select inputs_seen, articles, rejects, already_ingested from runs order by started_at",
    )
    assert runs[-1] == (len(EXPECTED), 0, 0, len(EXPECTED))
    assert f"already ingested, skipped: {len(EXPECTED)}" in result.stdout


def test_paragraphs_rebuild_every_article_text(sample_run) -> None:
    lake, _ = sample_run
    mismatched = lake_sql(
        lake,
        """
        select a.doc_id from articles a join (
            select doc_id, string_agg(text, chr(10) || chr(10) order by position) as text, count(*) as n
            from paragraphs group by doc_id
        ) p using (doc_id)
        where p.text <> a.text or p.n <> a.n_paragraphs
        """,
    )
    assert mismatched == []
    assert lake_sql(lake, "select count(distinct doc_id) from paragraphs") == lake_sql(
        lake, "select count(*) from articles"
    )


def test_a_syndicated_rewrite_is_a_near_duplicate_of_the_dated_original(sample_run) -> None:
    lake, _ = sample_run
    [(original, method, similarity, cluster)] = lake_sql(
        lake,
        """
        select a.source, d.method, d.similarity, d.cluster_id
        from duplicates d join articles a on a.doc_id = d.duplicate_of
        where d.source like '%tram-extension-syndicated.txt'
        """,
    )
    assert relative(original) == "html/tram-extension.html"
    assert method == "near" and 0.5 <= similarity < 1.0
    assert (
        cluster == lake_sql(lake, f"select doc_id from articles where source = '{original}'")[0][0]
    )
    assert lake_sql(lake, "select count(*) from minhash") == lake_sql(
        lake, "select count(*) from articles"
    )


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
]


def test_the_run_report_renders_every_chart_in_headless_chromium(sample_run, tmp_path) -> None:
    """The report works offline (no CDN) and every chart draws, in a real browser."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    lake, result = sample_run
    [report] = (lake / "_reports").glob("*.html")
    assert f"report             {report}" in result.stdout
    page = report.read_text(encoding="utf-8")
    assert "https://" not in page.split("<body>")[0]  # nothing loaded from the network
    rendered = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    console = [line for line in rendered.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no script errors
    charts = page.count('class="plotly-graph-div"')
    assert charts == 9
    # each chart div now holds Plotly's drawn SVG, with marks in it
    drawn = re.findall(
        r'<div id="[^"]+" class="plotly-graph-div[^"]*"[^>]*>.*?</svg>', rendered.stdout, re.S
    )
    assert len(drawn) == charts
    assert all('class="main-svg"' in chart for chart in drawn)
