"""What newsmill's dedup finds on the BBC News full-text set (2,225 real articles).

The set is known to hold 98 byte-identical pairs; this lists every exact and near
duplicate newsmill records, with the similarity, and prints the opening words of a
sample of near pairs so they can be checked by eye. The data is read in place
(../shared/benchmarks/bbc-news-fulltext, research-only licence), never copied.

    .venv/bin/python benchmarks/bbc_duplicates.py [--sample 8]
"""

import argparse
import shutil
import subprocess
from pathlib import Path

import duckdb
from common import NEWSMILL, ROOT, WORK, newsmill_env

BBC = ROOT.parent / "shared" / "benchmarks" / "bbc-news-fulltext" / "bbc"
LAKE = WORK / "lake-bbc"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sample", type=int, default=8, help="near pairs to print for checking by eye"
    )
    args = parser.parse_args()
    shutil.rmtree(LAKE, ignore_errors=True)
    command = [NEWSMILL, "run", str(BBC), "--lake", str(LAKE), "--quiet"]
    subprocess.run(command, env=newsmill_env(), check=True)

    table = lambda name: f"read_parquet('{LAKE}/{name}/**/*.parquet', hive_partitioning=true)"  # noqa: E731
    rows = duckdb.sql(
        f"""
        select d.method, d.similarity, d.source as copy, a.source as kept, d.content_hash = a.content_hash as same_text
        from {table("duplicates")} d join {table("articles")} a on a.doc_id = d.cluster_id
        where d.level = 'document' order by d.method, d.similarity desc, copy
        """
    ).fetchall()
    short = lambda path: str(Path(path).relative_to(BBC))  # noqa: E731
    exact = [r for r in rows if r[0] == "exact"]
    near = [r for r in rows if r[0] == "near"]
    identical = byte_identical_pairs()
    [(kept,)] = duckdb.sql(f"select count(*) from {table('articles')}").fetchall()
    print(f"articles kept: {kept}")
    print(
        f"exact duplicates: {len(exact)} (byte-identical pairs in the files: {len(identical)}; "
        f"all found: {identical <= {frozenset((short(r[2]), short(r[3]))) for r in exact}})"
    )
    print(f"near duplicates: {len(near)}")
    for _, similarity, copy, original, _ in near:
        print(f"  {similarity:.3f}  {short(copy)}  ~  {short(original)}")
    for _, similarity, copy, original, _ in near[: args.sample]:
        print(
            f"\n--- {similarity:.3f}\n  {short(copy)}: {opening(copy)}\n  {short(original)}: {opening(original)}"
        )


def byte_identical_pairs() -> set[frozenset[str]]:
    by_bytes: dict[bytes, list[str]] = {}
    for path in sorted(BBC.rglob("*.txt")):
        by_bytes.setdefault(path.read_bytes(), []).append(str(path.relative_to(BBC)))
    return {frozenset(paths) for paths in by_bytes.values() if len(paths) == 2}


def opening(path: str, words: int = 25) -> str:
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    return " ".join(text.split()[:words])


if __name__ == "__main__":
    main()
