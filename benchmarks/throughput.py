"""Throughput of `newsmill run` on a labelled corpus from ../shared/tools/make_corpus.py.

Prints documents per second (end to end, including Prefect's start-up, and inside the
flow, from the `runs` table) and the peak RSS of the pipeline process. Also checks the
exact-duplicate accounting against the corpus labels, and times the mentions stage (entities
and quotes) alone on one core over the corpus's first articles.

    .venv/bin/python benchmarks/throughput.py --docs 20000
    .venv/bin/python benchmarks/throughput.py --docs 20000 -- --no-entities   # without it
"""

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import duckdb
from common import NEWSMILL, WORK, build_corpus, newsmill_env, timed


def check_labels(corpus: Path, lake: Path) -> dict[str, float]:
    """Recall of the injected exact copies among the document duplicates newsmill flagged."""
    with open(corpus / "labels.jsonl", encoding="utf-8") as handle:
        labels = [json.loads(line) for line in handle]
    exact = {str(label["id"]) for label in labels if label["kind"] == "exact"}
    found = _found_duplicate_ids(corpus, lake)
    return {
        "exact_injected": len(exact),
        "exact_recall": len(exact & found) / len(exact) if exact else 1.0,
        "duplicates_flagged": len(found),
    }


def _found_duplicate_ids(corpus: Path, lake: Path) -> set[str]:
    ids_by_line = {}
    with open(corpus / "articles.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            ids_by_line[number] = str(json.loads(line)["id"])
    sources = duckdb.sql(
        f"select source from read_parquet('{lake}/duplicates/**/*.parquet', hive_partitioning=true) where level = 'document'"
    ).fetchall()
    return {ids_by_line[int(source.rsplit(":", 1)[1])] for (source,) in sources}


def time_mentions(corpus: Path, articles: int, words: int = 600) -> tuple[float, float]:
    """Articles per second of the mentions stage on one core, and their mean word count.

    The corpus's articles are joined in order, each next one onto the last, until an article
    has `words` words: the issue's target is for 600-word articles."""
    from newsmill.tasks.mentions.speakers import add_mentions
    from newsmill.tasks.records import Document

    docs: list[Document] = []
    parts: list[str] = []
    counted = 0
    with open(corpus / "articles.jsonl", encoding="utf-8") as handle:
        for line in handle:
            parts.append(json.loads(line).get("text") or "")
            counted += len(parts[-1].split())
            if counted < words:
                continue
            text, parts, counted = "\n".join(parts), [], 0
            paragraphs = [p for p in text.split("\n") if p.strip()]
            docs.append(Document("b", "0", "jsonl", text, paragraphs=paragraphs, language="en"))
            if len(docs) == articles:
                break
    add_mentions(docs[0])  # the gazetteer loads once per process
    started = time.perf_counter()
    for doc in docs:
        add_mentions(doc)
    seconds = time.perf_counter() - started
    return len(docs) / seconds, sum(len(d.text.split()) for d in docs) / len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--mentions-sample", type=int, default=2000, help="articles to time the mentions stage on"
    )
    parser.add_argument("newsmill_args", nargs="*", help="extra `newsmill run` flags, after --")
    args = parser.parse_args()

    corpus = build_corpus(args.docs, args.seed)
    lake = WORK / "lake-throughput"
    shutil.rmtree(lake, ignore_errors=True)
    command = [NEWSMILL, "run", str(corpus / "articles.jsonl"), "--lake", str(lake), "--quiet"]
    wall, peak_mib = timed([*command, *args.newsmill_args], newsmill_env())
    [(seen, articles, seconds)] = duckdb.sql(
        f"select inputs_seen, articles, epoch(finished_at) - epoch(started_at) "
        f"from read_parquet('{lake}/runs/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    labels = check_labels(corpus, lake)
    print(
        f"corpus            {corpus.name} ({(corpus / 'articles.jsonl').stat().st_size / 2**20:.1f} MiB), {os.cpu_count()} cores"
    )
    print(f"inputs / articles {seen} / {articles}")
    print(
        f"end to end        {wall:.1f} s  ->  {seen / wall:,.0f} docs/s (includes Prefect start-up)"
    )
    print(f"inside the flow   {seconds:.1f} s  ->  {seen / seconds:,.0f} docs/s")
    print(f"peak RSS          {peak_mib:,.0f} MiB (newsmill process)")
    print(
        f"exact duplicates  {labels['exact_injected']} injected, recall {labels['exact_recall']:.3f}, {labels['duplicates_flagged']} flagged in all"
    )
    per_second, words = time_mentions(corpus, args.mentions_sample)
    print(
        f"mentions stage    {per_second:,.0f} articles/s on one core "
        f"(entities + quotes; {args.mentions_sample} articles of {words:,.0f} words on average)"
    )


if __name__ == "__main__":
    main()
