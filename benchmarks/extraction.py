"""Article extraction against the ScrapingHub benchmark's ground truth (181 real article
pages, MIT; read in place from ../shared/benchmarks, never copied): newsmill's lake next to
bare `trafilatura.extract` on the same pages, scored by the same scorer, in one script run.

- found: pages that end as an article (or as a duplicate of one) in the lake; the rest are
  listed with their reject reason.
- body P / R / F1: per page, the overlap of the 4-word shingles (as multisets; each character
  of a script without spaces is a word) of the extracted body with the ground truth's, then
  averaged over all 181 pages. A page with no text scores 0 on all three.
- pages/s: newsmill's extraction (trafilatura with newsmill's settings, pruning and checks,
  then cleaning) and bare trafilatura, both in this process on one core; and the whole
  `newsmill run` (read, extract in a process pool, clean, dedup, fields, lake; with the
  Prefect start-up), end to end.

    .venv/bin/python benchmarks/extraction.py [--data ../shared/benchmarks]
"""

import argparse
import gzip
import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import duckdb
import trafilatura
from common import NEWSMILL, ROOT, WORK, newsmill_env

from newsmill.tasks.ingest.extract import apply_extraction, extract_html
from newsmill.tasks.records import Document, Reject
from newsmill.tasks.text.clean import clean_text
from newsmill.tasks.text.words import words

SHINGLE = 4


def pages(data: Path) -> dict[str, tuple[str, str, str]]:
    """id → (url, html, ground-truth body)."""
    folder = data / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return {
        page_id: (
            item["url"],
            gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode(
                "utf-8", "replace"
            ),
            item["articleBody"],
        )
        for page_id, item in sorted(truth.items())
    }


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = words(text.casefold())
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def score(predicted: str | None, truth: str) -> tuple[float, float, float]:
    if not predicted:
        return 0.0, 0.0, 0.0
    found, wanted = shingles(predicted), shingles(truth)
    overlap = sum((found & wanted).values())
    precision = overlap / max(1, sum(found.values()))
    recall = overlap / max(1, sum(wanted.values()))
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def mean_scores(scores: Iterable[tuple[float, float, float]]) -> tuple[float, float, float]:
    rows = list(scores)
    return tuple(sum(column) / len(rows) for column in zip(*rows, strict=True))  # type: ignore[return-value]


def newsmill_lake(items: dict[str, tuple[str, str, str]]) -> tuple[dict[str, str], dict, float]:
    """Run newsmill on the pages as one JSONL export: each page's body in the lake, the
    rejects by page, and the run's wall time."""
    WORK.mkdir(parents=True, exist_ok=True)
    export, lake = WORK / "extraction-pages.jsonl", WORK / "lake-extraction"
    with open(export, "w", encoding="utf-8") as handle:
        for page_id, (url, html, _) in items.items():
            handle.write(json.dumps({"id": page_id, "url": url, "html": html}) + "\n")
    shutil.rmtree(lake, ignore_errors=True)
    started = time.perf_counter()
    command = [NEWSMILL, "run", str(export), "--lake", str(lake), "--quiet"]
    subprocess.run(command, env=newsmill_env(), check=True, cwd=ROOT)
    wall = time.perf_counter() - started

    def table(name: str) -> str:
        return f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning=true)"

    bodies = dict(duckdb.sql(f"select external_id, text from {table('articles')}").fetchall())
    line_ids = list(items)
    for source, kept in duckdb.sql(
        f"""select d.source, a.text from {table("duplicates")} d
        join {table("articles")} a on a.doc_id = d.cluster_id where d.level = 'document'"""
    ).fetchall():
        bodies[line_ids[int(source.rsplit(":", 1)[1]) - 1]] = kept
    found = (
        duckdb.sql(f"select source, reason, detail from {table('rejects')}").fetchall()
        if (lake / "rejects").exists()
        else []
    )
    rejects = {
        line_ids[int(source.rsplit(":", 1)[1]) - 1]: (reason, detail)
        for source, reason, detail in found
    }
    return bodies, rejects, wall


def newsmill_in_process(items: dict[str, tuple[str, str, str]]) -> float:
    """Pages per second of newsmill's extraction and cleaning, one core, no pool."""
    started = time.perf_counter()
    for page_id, (url, html, _) in items.items():
        doc = Document(page_id, "h", "html", html, url=url)
        result = apply_extraction(doc, extract_html(html, url), min_article_words=25)
        if not isinstance(result, Reject):
            clean_text(result.body)
    return len(items) / (time.perf_counter() - started)


def bare_trafilatura(items: dict[str, tuple[str, str, str]]) -> tuple[dict[str, str], float]:
    bodies = {}
    started = time.perf_counter()
    for page_id, (url, html, _) in items.items():
        bodies[page_id] = trafilatura.extract(html, url=url) or ""
    return bodies, len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    args = parser.parse_args()
    items = pages(args.data)
    truth = {page_id: body for page_id, (_, _, body) in items.items()}

    lake_bodies, rejects, wall = newsmill_lake(items)
    newsmill_rate = newsmill_in_process(items)
    bare_bodies, bare_rate = bare_trafilatura(items)

    print(f"article-extraction-benchmark: {len(items)} real article pages")
    for name, bodies, rate in (
        ("newsmill (lake)", lake_bodies, newsmill_rate),
        ("bare trafilatura", bare_bodies, bare_rate),
    ):
        found = sum(1 for page_id in items if bodies.get(page_id))
        precision, recall, f1 = mean_scores(score(bodies.get(p), truth[p]) for p in items)
        print(
            f"  {name:18} found {found:3d}/{len(items)}   body P {precision:.3f}  R {recall:.3f}"
            f"  F1 {f1:.3f}   {rate:5.1f} pages/s (one core, in process)"
        )
    print(f"  newsmill run end to end: {wall:.1f} s, {len(items) / wall:.1f} pages/s")
    for page_id, (reason, detail) in sorted(rejects.items()):
        print(f"  rejected {page_id[:12]} {items[page_id][0][:60]}: {reason}: {detail}")


if __name__ == "__main__":
    main()
