import gzip
import json
import os
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from newsmill.tasks.dedup.exact import ExactAcrossShards
from newsmill.tasks.dedup.near import NearDupSettings
from newsmill.tasks.ingest.read import ReadSettings
from newsmill.tasks.ingest.sources import discover_sources, plan_shards
from newsmill.tasks.lake.checkpoints import encode_shard
from newsmill.tasks.lake.lake import STAGING_DIR
from newsmill.tasks.shard import ShardSettings, process_shard
from tests.conftest import SAMPLES
from tests.tasks.lake_runs import run_context

SETTINGS = ShardSettings(near=NearDupSettings(num_perm=32, bands=8))


def _shards(*paths: Path, max_files: int = 1) -> list:
    files = discover_sources([str(p) for p in paths]).files
    return plan_shards(files, 8 * 1024 * 1024, max_files)


def test_a_shard_stages_its_rows_under_its_own_name_and_returns_no_text(tmp_path: Path) -> None:
    ctx = run_context("r1")
    [shard] = _shards(
        SAMPLES / "seed_article.txt", SAMPLES / "text" / "seed-republished.txt", max_files=2
    )
    result = process_shard(shard, str(tmp_path), ctx, SETTINGS)
    assert result.files and all(
        f.endswith(f"part-r1-{shard.index:06d}.parquet") for f in result.files
    )
    staging = tmp_path / STAGING_DIR / "r1"
    articles = [pq.read_table(staging / f) for f in result.files if f.startswith("articles/")]
    assert sum(t.num_rows for t in articles) == len(result.articles) == 1
    assert result.counts["inputs.seen"] == 2
    assert result.counts["duplicates.document.exact"] == 1  # the republished seed, same shard
    assert result.articles.signatures is not None and result.articles.signatures.shape == (1, 32)
    # what goes back to the flow (and into its checkpoint) holds keys and numbers, not text
    assert b"Yoon" not in pickle.dumps(result) and b"Yoon" not in encode_shard(result)


def test_exact_copies_between_shards_keep_the_first_shard(tmp_path: Path) -> None:
    ctx = run_context("r1")
    shards = _shards(SAMPLES / "seed_article.txt", SAMPLES / "text" / "seed-republished.txt")
    results = [process_shard(shard, str(tmp_path), ctx, SETTINGS) for shard in shards]
    assert [len(r.articles) for r in results] == [1, 1]  # each shard alone keeps its copy
    exact = ExactAcrossShards()
    first, no_copies = exact.admit(results[0].articles)
    second, copies = exact.admit(results[1].articles)
    assert (len(first), no_copies, len(second)) == (1, [], 0)
    [copy] = copies
    assert copy.duplicate_of == first.doc_ids[0] == results[0].articles.doc_ids[0]
    assert copy.article.doc_id == results[1].articles.doc_ids[0]
    assert copy.article.n_paragraphs == 8  # its staged paragraphs, taken back from the counts
    assert second.signatures is not None and second.signatures.shape == (0, 32)
    assert exact.copies == copies
    np.testing.assert_array_equal(first.signatures, results[0].articles.signatures)


def test_poison_records_cost_only_themselves(tmp_path: Path) -> None:
    """A lone surrogate, dates past the calendar's ends once in UTC and 100k-deep nesting
    each failed the whole shard; now the first three are articles, the last one reject."""
    fine = "The harbour opens a new ferry line to the islands on Monday morning, officials said."
    lines = [
        json.dumps({"id": "ok", "text": fine}),
        '{"id": "surrogate", "text": "A lone \\ud800 half of a pair. ' + fine + '"}',
        json.dumps({"id": "late", "published": "9999-12-31T23:00:00-05:00", "text": fine + " 2"}),
        json.dumps({"id": "early", "published": "0001-01-01T00:00:00+05:00", "text": fine + " 3"}),
        '{"id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ]
    source = tmp_path / "src" / "poison.jsonl"
    source.parent.mkdir()
    source.write_text("\n".join(lines) + "\n")
    [shard] = plan_shards(discover_sources([str(source.parent)]).files, 8 << 20, 10)
    result = process_shard(shard, str(tmp_path / "lake"), run_context("r1"), SETTINGS)
    staging = tmp_path / "lake" / STAGING_DIR / "r1"
    articles = pq.read_table(staging / "articles").to_pylist()
    rejects = pq.read_table(staging / "rejects").to_pylist()
    assert sorted(a["external_id"] for a in articles) == ["early", "late", "ok", "surrogate"]
    assert [(r["line_number"], r["reason"]) for r in rejects] == [(5, "parse_invalid_json")]
    surrogate = next(a for a in articles if a["external_id"] == "surrogate")
    assert "A lone \ufffd half" in surrogate["text"]
    assert result.counts["inputs.seen"] == 5


def test_file_names_that_are_not_utf8_or_hold_a_newline_are_carried(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    text = b"The harbour opens a new ferry line to the islands on Monday morning, officials said."
    for name in (b"caf\xe9.txt", b"caf\xe8.txt", b"line\nbreak.txt"):  # Latin-1 bytes, a newline
        with open(os.fsencode(folder) + b"/" + name, "wb") as handle:
            handle.write(text + name)
    [shard] = plan_shards(discover_sources([str(folder)]).files, 8 << 20, 10)
    result = process_shard(shard, str(tmp_path / "lake"), run_context("r1"), SETTINGS)
    staged = pq.read_table(tmp_path / "lake" / STAGING_DIR / "r1" / "articles")
    assert sorted(Path(s).name for s in staged["source"].to_pylist()) == [
        "caf\\xe8.txt",  # two names stay two names
        "caf\\xe9.txt",
        "line\nbreak.txt",
    ]
    assert result.counts["inputs.seen"] == 3


def test_a_shard_read_in_batches_stages_what_it_stages_read_whole(tmp_path: Path) -> None:
    """Exact copies across batch boundaries are still copies: the batches share one index."""
    texts = [
        f"The council votes on the {topic} budget for the harbour district on Monday, said "
        f"the mayor, who expects {n} objections."
        for n, topic in enumerate(["tram", "ferry", "library", "school", "bridge"] * 6)
    ]
    source = tmp_path / "src" / "export.jsonl.gz"
    source.parent.mkdir()
    lines = [json.dumps({"id": str(i), "text": texts[i % 40 % 30]}) for i in range(90)]
    source.write_bytes(gzip.compress("\n".join(lines).encode()))
    [shard] = plan_shards(discover_sources([str(source.parent)]).files, 8 << 20, 10)
    tables = {}
    for batch_inputs in (7, 5_000):
        settings = replace(SETTINGS, read=ReadSettings(read_batch_inputs=batch_inputs))
        lake = tmp_path / f"lake-{batch_inputs}"
        result = process_shard(shard, str(lake), run_context("r1"), settings)
        assert result.counts["inputs.seen"] == 90
        assert result.counts["duplicates.document.exact"] == 60
        staged = lake / STAGING_DIR / "r1"
        tables[batch_inputs] = [
            sorted(pq.read_table(staged / name).column(column).to_pylist())
            for name, column in [("articles", "external_id"), ("duplicates", "duplicate_of")]
        ] + [result.articles.doc_ids]
    assert tables[7] == tables[5_000]


def test_the_document_time_limit_reaches_the_stages(tmp_path: Path) -> None:
    """A limit of a nanosecond: no document gets through clean."""
    settings = replace(SETTINGS, document_timeout_s=1e-9)
    [shard] = _shards(SAMPLES / "seed_article.txt")
    result = process_shard(shard, str(tmp_path), run_context("r1"), settings)
    rejects = pq.read_table(tmp_path / STAGING_DIR / "r1" / "rejects").to_pylist()
    assert [r["reason"] for r in rejects] == ["clean_timeout"]
    assert result.counts["rejects.clean_timeout"] == 1 and not len(result.articles)
