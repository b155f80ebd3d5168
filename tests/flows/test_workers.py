"""`--workers`: shards run in worker processes, and the tables do not depend on how many."""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from newsmill.schemas.tables import TABLES
from tests.conftest import SAMPLES, NewsmillHere

# Columns that name the run, not the content: they differ between any two runs.
RUN_COLUMNS = {"run_id", "run_date", "ingested_at", "flow_run_id"}


def _table(lake: Path, name: str) -> pd.DataFrame:
    frame = duckdb.sql(
        f"select * from read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning=true)"
    ).df()
    frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS])
    # list columns (signatures) compare as tuples; sort rows, ordering aside
    frame = frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples, plus exact copies of two articles placed so they fall in later shards."""
    root = tmp_path_factory.mktemp("inputs") / "samples"
    shutil.copytree(SAMPLES, root)
    shutil.copy(root / "seed_article.txt", root / "zz-copy-of-seed.txt")
    shutil.copy(root / "text" / "river-trees-bom.md", root / "zz-copy-of-river.md")
    return root


@pytest.fixture(scope="module")
def lakes(
    inputs: Path, newsmill_here: NewsmillHere, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, Path]:
    lakes = {}
    for workers in (1, 2):
        lake = tmp_path_factory.mktemp(f"lake-{workers}")
        result = newsmill_here(
            "run",
            str(inputs),
            "--lake",
            str(lake),
            "--workers",
            str(workers),
            "--shard-max-files",
            "2",
            "--quiet",
        )
        assert result.returncode == 0, result.stderr
        lakes[workers] = lake
    return lakes


# runs differ by nature; the samples are files, so nothing is fetched
@pytest.mark.parametrize("table", [t for t in TABLES if t not in ("runs", "fetches")])
def test_tables_are_the_same_with_one_worker_and_two(lakes, table: str) -> None:
    one, two = _table(lakes[1], table), _table(lakes[2], table)
    assert len(one) > 0
    pd.testing.assert_frame_equal(one, two)


def test_exact_copies_in_different_shards_are_duplicates_of_the_first(lakes, inputs) -> None:
    for lake in lakes.values():
        rows = duckdb.sql(
            f"""
            select d.source, a.source as original, d.method, d.similarity
            from read_parquet('{lake}/duplicates/**/*.parquet', hive_partitioning=true) d
            join read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true) a
              on a.doc_id = d.duplicate_of
            where d.level = 'document' and d.source like '%zz-copy-of-%'
            order by d.source
            """
        ).fetchall()
        assert rows == [
            (
                str(inputs / "zz-copy-of-river.md"),
                str(inputs / "text/river-trees-bom.md"),
                "exact",
                1.0,
            ),
            (str(inputs / "zz-copy-of-seed.txt"), str(inputs / "seed_article.txt"), "exact", 1.0),
        ]


def test_runs_rows_account_for_the_copies_the_same_way(lakes) -> None:
    counts = [
        duckdb.sql(
            f"""select inputs_seen, articles, duplicates_document, duplicates_paragraph, rejects
            from read_parquet('{lake}/runs/**/*.parquet', hive_partitioning=true)"""
        ).fetchall()
        for lake in lakes.values()
    ]
    assert counts[0] == counts[1]
    [(inputs_seen, articles, documents, _, rejects)] = counts[0]
    assert inputs_seen == articles + documents + rejects


def test_every_duplicate_names_a_document_and_the_article_kept(lakes) -> None:
    for lake in lakes.values():
        duplicates = f"read_parquet('{lake}/duplicates/**/*.parquet', hive_partitioning=true)"
        articles = f"read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true)"
        [(unkept_clusters,)] = duckdb.sql(
            f"""select count(*) from {duplicates} d anti join {articles} a on a.doc_id = d.cluster_id
            where d.level = 'document'"""
        ).fetchall()
        [(unknown_originals,)] = duckdb.sql(
            f"""select count(*) from {duplicates} d
            where d.duplicate_of not in (select doc_id from {articles})
              and d.duplicate_of not in (select doc_id from {duplicates} where level = 'document')"""
        ).fetchall()
        assert (unkept_clusters, unknown_originals) == (0, 0)
