"""Chaos: malformed inputs, kill -9 at random moments, and starters racing for one lake.

Part 1 (`--part malformed`): a seeded generator writes N inputs of every kind newsmill
reads — text, HTML, JSONL lines, gzip, WARC — most of them broken on purpose: bad and mixed
encodings, truncation, NUL bytes, lone surrogates, deep nesting, absurd dates, huge lines,
gzip bombs, empty files, binary data under a text name, odd file names. They are cut into
shards as a run cuts them and each shard goes through `process_shard`, the real
per-document stages (one core, no Prefect). Printed: crashes (a shard that raised; must be
0), and whether every input is accounted for exactly once (`inputs.seen` = articles +
document duplicates + rejects), with the rejects by reason.

Part 2 (`--part kills`): `newsmill run` on a make_corpus.py corpus of 20k documents, killed
with SIGKILL (its whole process group: the temporary Prefect API and the workers too) at
random moments, each kill followed by a start that resumes; after the last kill a run goes
to the end. After every kill the visible lake is checked (every Parquet file outside
`_staging` whole, no article twice, no run half visible unless its commit journal waits
for the next run); at the end the tables are compared with an uninterrupted run's.
Printed: kills, where they landed, differences (must be 0).

Part 3 (`--part starters`): 20 `newsmill run` processes started at the same moment on one
lake, repeated: exactly one may write (the others exit 2, the lake is in use) and the lake
holds each input once.

    .venv/bin/python benchmarks/chaos.py [--part all|malformed|kills|starters]
        [--inputs 10000] [--docs 20000] [--kills 50] [--trials 20] [--seed 1]
"""

import argparse
import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from common import NEWSMILL, WORK, build_corpus, count_lines, newsmill_env, prefect_server
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsmill.tasks.ingest.sources import discover_sources, number_lines, plan_shards
from newsmill.tasks.lake.lake import CHECKPOINT_DIR, JOURNAL_NAME, STAGING_DIR
from newsmill.tasks.lake.rows import RunContext
from newsmill.tasks.shard import ShardSettings, process_shard
from newsmill.tasks.versions import PIPELINE_VERSION

WORDS = [
    "harbour",
    "council",
    "ferry",
    "vote",
    "budget",
    "tram",
    "library",
    "frost",
    "storm",
    "school",
    "museum",
]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(3, 40))).capitalize() + "."


def text_body(rng: random.Random) -> bytes:
    text = "\n\n".join(sentence(rng) for _ in range(rng.randint(0, 6)))
    damage = rng.randrange(10)
    data = text.encode(rng.choice(["utf-8", "cp1252", "utf-16", "latin-1"]), "replace")
    if damage == 0:
        data = data[: rng.randint(0, len(data))]  # truncated, maybe mid-character
    elif damage == 1:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))  # binary
    elif damage == 2:
        data = data.replace(b" ", b"\x00")
    elif damage == 3:
        data = ("Ã©Ã¨ â€œmojibakeâ€ " * rng.randint(1, 50)).encode()
    elif damage == 4:
        data = b""
    elif damage == 5:
        data = b"# " + b"#" * rng.randint(1, 200_000) + b"\n\n" + data  # a hostile headline
    return data


def html_body(rng: random.Random) -> bytes:
    paragraphs = "".join(f"<p>{sentence(rng)}</p>" for _ in range(rng.randint(0, 8)))
    page = f"<html><body class='cookie-consent'><article>{paragraphs}</article></body></html>"
    damage = rng.randrange(6)
    if damage == 0:
        page = "<div>" * rng.randint(1_000, 50_000) + page  # deep nesting
    elif damage == 1:
        page = page[: rng.randint(0, len(page))]
    elif damage == 2:
        page = "<script>" + "x" * 10_000 + page
    return page.encode()


def jsonl_line(rng: random.Random) -> bytes:
    record: dict = {"id": str(rng.randrange(10**9)), "text": sentence(rng) * rng.randint(1, 5)}
    damage = rng.randrange(12)
    if damage == 0:
        record["published"] = rng.choice(
            ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "yesterday", "31/02/2024"]
        )
    elif damage == 1:
        return b'{"text": "lone \\ud800 surrogate ' + sentence(rng).encode() + b'"}'
    elif damage == 2:
        return b'{"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    elif damage == 3:
        return json.dumps(record).encode()[: rng.randint(1, 40)]  # truncated record
    elif damage == 4:
        return b"[1, 2, 3]"
    elif damage == 5:
        record["text"] = None
    elif damage == 6:
        record["html"] = html_body(rng).decode("utf-8", "replace")
        del record["text"]
    elif damage == 7:
        record["title"] = {"nested": ["odd"]}
    return json.dumps(record).encode()


def warc_file(rng: random.Random, path: Path, records: int) -> None:
    """A WARC of HTML responses, sometimes truncated (its records are counted by the run:
    a damaged archive's remainder is one reject)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for n in range(records):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"https://chaos.example/{n}",
            "response",
            payload=io.BytesIO(html_body(rng)),
            http_headers=headers,
        )
        writer.write_record(record)
    data = buffer.getvalue()
    if rng.random() < 0.3:
        data = data[: rng.randint(0, len(data))]
    path.write_bytes(data)


def generate(folder: Path, n: int, seed: int) -> int:
    """Write about n inputs under `folder`; the number of inputs that are not WARC records."""
    rng = random.Random(seed)
    count = 0
    names = ["plain", "caf\udce9", "line\nbreak", "space name", "x" * 100]
    while count < n:
        kind = rng.randrange(5)
        stem = f"{rng.choice(names)}-{count:06d}"
        if kind == 0:
            (folder / f"{stem}.txt").write_bytes(text_body(rng))
            count += 1
        elif kind == 1:
            (folder / f"{stem}.html").write_bytes(html_body(rng))
            count += 1
        elif kind == 2:
            lines = [jsonl_line(rng) for _ in range(rng.randint(1, 50))]
            (folder / f"{stem}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
            count += len(lines)
        elif kind == 3:
            lines = [jsonl_line(rng) for _ in range(rng.randint(1, 20))]
            data = gzip.compress(b"\n".join(lines) + b"\n")
            if rng.random() < 0.3:
                data = data[: rng.randint(10, len(data))]  # a damaged gzip stream
            (folder / f"{stem}.jsonl.gz").write_bytes(data)
            count += len(lines)
        else:
            warc_file(rng, folder / f"{stem}.warc.gz", rng.randint(1, 5))
    return count


def malformed(inputs: int, seed: int) -> None:
    root = WORK / "chaos"
    shutil.rmtree(root, ignore_errors=True)
    folder, lake = root / "inputs", root / "lake"
    folder.mkdir(parents=True)
    generated = generate(folder, inputs, seed)
    files = discover_sources([str(folder)]).files
    shards = plan_shards(files, 1 << 20, 50)
    settings = ShardSettings()
    counts: Counter[str] = Counter()
    crashes = 0
    started = time.perf_counter()
    for run, shard in enumerate(number_lines(shards)):
        ctx = RunContext(f"chaos-{run:05d}", _now(), PIPELINE_VERSION)
        try:
            counts.update(process_shard(shard, str(lake), ctx, settings).counts)
        except Exception:
            crashes += 1
            print(f"CRASH in shard {shard.index}:\n{traceback.format_exc(limit=4)}")
    seconds = time.perf_counter() - started
    seen = counts["inputs.seen"]
    duplicates = sum(v for k, v in counts.items() if k.startswith("duplicates.document."))
    accounted = counts["written.articles"] + duplicates + counts["written.rejects"]
    rejects = {k.removeprefix("rejects."): v for k, v in counts.items() if k.startswith("rejects.")}
    print(f"chaos part 1: {len(files)} files in {len(shards)} shards, {seconds:.1f} s")
    print(
        f"  inputs generated (without WARC records) {generated}, seen {seen} (a damaged gzip "
        "or WARC file ends in one reject for its unread rest)"
    )
    print(f"  crashes                                  {crashes}")
    print(
        f"  articles {counts['written.articles']}, document duplicates {duplicates}, "
        f"rejects {counts['written.rejects']}"
    )
    print(f"  unaccounted (seen - articles - duplicates - rejects): {seen - accounted}")
    for reason, n in sorted(rejects.items(), key=lambda item: -item[1]):
        print(f"    {reason:<32} {n}")


# what differs between two runs of the same inputs by design: who wrote a row, and when
RUN_COLUMNS = ("run_id", "ingested_at", "run_date", "fetched_at", "year")
COMPARED = (
    "articles",
    "paragraphs",
    "entities",
    "quotes",
    "duplicates",
    "rejects",
    "minhash",
    "input_keys",
)
RUN_SHARD_MB = "0.5"  # ~120 shards of the 20k corpus: kills land between checkpoints


def kills(docs: int, n_kills: int, seed: int, env: dict[str, str]) -> None:
    source = build_corpus(docs) / "articles.jsonl"
    root = WORK / "chaos-kills"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    reference = root / "reference"
    started = time.monotonic()
    _run_to_end(source, reference, env)
    full_s = time.monotonic() - started
    expected = _fingerprints(reference)
    print(
        f"chaos part 2: {count_lines(source)} documents ({source}), an uninterrupted run "
        f"takes {full_s:.0f} s; SIGKILL at uniform random moments of up to that"
    )
    landed: Counter[str] = Counter()
    campaigns, killed, differences, bad_states = 0, 0, 0, []
    while killed < n_kills:
        lake = root / f"lake-{campaigns:02d}"
        for _ in range(min(5, n_kills - killed)):  # a few kills, each resumed, then the end
            process = _start(source, lake, env=env)
            try:
                process.wait(timeout=rng.uniform(1.0, full_s))
                break  # it finished before its kill moment: the rest of this lake is done
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            killed += 1
            state = _visible_state(lake, expected["articles"][0])
            landed[state.landed] += 1
            if state.problem:
                bad_states.append(f"kill {killed}: {state.problem}")
        _run_to_end(source, lake, env)
        found = _fingerprints(lake)
        differing = [t for t in COMPARED if found[t] != expected[t]]
        differences += len(differing)
        if differing:
            print(f"  lake {lake.name}: differs in {', '.join(differing)}")
        campaigns += 1
    print(f"  kills {killed} over {campaigns} lakes, each followed by a resuming start")
    for where, n in landed.most_common():
        print(f"    landed {where:<44} {n}")
    print(f"  bad visible states after a kill (partial file, doubled article): {len(bad_states)}")
    for problem in bad_states[:10]:
        print(f"    {problem}")
    print(
        f"  tables differing from the uninterrupted run (of {len(COMPARED)} per lake): "
        f"{differences}"
    )


def _start(
    source: Path, lake: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    command = [
        NEWSMILL,
        "run",
        str(source),
        "--lake",
        str(lake),
        "--shard-mb",
        RUN_SHARD_MB,
        "--quiet",
        *extra,
    ]
    return subprocess.Popen(
        command,
        env=env or newsmill_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes the API and workers
    )


def _run_to_end(source: Path, lake: Path, env: dict[str, str]) -> None:
    process = _start(source, lake, env=env)
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"newsmill failed on {lake}:\n{stderr.decode()[-3000:]}")


class _State:
    def __init__(self, landed: str, problem: str = "") -> None:
        self.landed, self.problem = landed, problem


def _visible_state(lake: Path, articles_expected: int) -> _State:
    """Where a kill left the lake, and what is wrong with what a reader sees there."""
    staging = lake / STAGING_DIR
    journaled = any(staging.glob(f"*/{JOURNAL_NAME}"))
    checkpoints = len(list(staging.glob(f"*/{CHECKPOINT_DIR}/*")))
    visible = [p for p in lake.rglob("*.parquet") if STAGING_DIR not in p.parts]
    for path in visible:
        try:
            pq.read_metadata(path)
        except Exception as error:  # any unreadable file is the finding
            return _State("?", f"partial file {path}: {error}")
    articles = [p for p in visible if p.relative_to(lake).parts[0] == "articles"]
    rows, distinct = (0, 0)
    if articles:
        rows, distinct = duckdb.sql(
            f"select count(*), count(distinct doc_id) from read_parquet({[str(p) for p in articles]})"
        ).fetchall()[0]
    if rows != distinct:
        return _State("?", f"{rows - distinct} articles visible twice")
    if journaled:
        return _State("in the commit (journal left for the next start)")
    if rows == articles_expected:
        return _State("after the commit")
    if rows:
        return _State("?", f"{rows} of {articles_expected} articles visible, no journal")
    if checkpoints:
        return _State("in the shards (some staged)")
    return _State("before any shard was staged (start-up, planning)")


def _fingerprints(lake: Path) -> dict[str, tuple[int, int, int]]:
    """Per table: rows, distinct rows, and an order-free sum of row hashes, over the
    columns that do not name the run."""
    found = {}
    for table in COMPARED:
        files = [str(p) for p in (lake / table).rglob("*.parquet")]
        if not files:
            found[table] = (0, 0, 0)
            continue
        relation = duckdb.sql(
            f"select * from read_parquet({files}, hive_partitioning=true, union_by_name=true)"
        )
        kept = ", ".join(f'"{c}"' for c in relation.columns if c not in RUN_COLUMNS)
        found[table] = duckdb.sql(
            f"select count(*), count(distinct t), coalesce(sum(hash(t)::hugeint), 0)::varchar "
            f"from (select {kept} from relation) t"
        ).fetchall()[0]
    return found


def starters(trials: int, docs: int, env: dict[str, str]) -> None:
    """20 runs started at one moment on one lake."""
    source = build_corpus(docs) / "articles.jsonl"
    root = WORK / "chaos-starters"
    shutil.rmtree(root, ignore_errors=True)
    bad, exit_codes = 0, Counter[int]()
    for trial in range(trials):
        lake = root / f"lake-{trial:02d}"
        processes = [_start(source, lake, env=env) for _ in range(20)]
        errors = [p.communicate()[1].decode(errors="replace") for p in processes]
        codes = [p.returncode for p in processes]
        exit_codes.update(codes)
        for code, error in zip(codes, errors, strict=True):
            if code not in (0, 2):
                print(f"  trial {trial}: a start exited {code}: {error.strip().splitlines()[-1:]}")
        wrote, completed = duckdb.sql(
            f"select count(*) filter (where articles > 0), "
            f"count(*) filter (where status = 'completed') "
            f"from read_parquet('{lake}/runs/**/*.parquet', hive_partitioning=true)"
        ).fetchall()[0]
        rows, distinct = duckdb.sql(
            f"select count(*), count(distinct doc_id) "
            f"from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true)"
        ).fetchall()[0]
        ok = wrote == 1 and rows == distinct and completed == codes.count(0)
        bad += not ok
        if not ok:
            print(
                f"  trial {trial}: {wrote} runs wrote articles, {completed} completed, "
                f"exit codes {sorted(codes)}, {rows - distinct} articles twice"
            )
    print(f"chaos part 3: {trials} trials of 20 starters at once on one lake ({docs} documents)")
    print(
        f"  exit codes over all starts: {dict(sorted(exit_codes.items()))} "
        "(2: the lake was in use; 0: ran, first or after the writer had finished)"
    )
    print(f"  trials where other than exactly one run wrote, or an article is there twice: {bad}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["all", "malformed", "kills", "starters"], default="all")
    parser.add_argument("--inputs", type=int, default=10_000, help="part 1's inputs")
    parser.add_argument("--docs", type=int, default=20_000, help="part 2's corpus")
    parser.add_argument("--kills", type=int, default=50, help="part 2's kills")
    parser.add_argument("--trials", type=int, default=20, help="part 3's trials")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.part in ("all", "malformed"):
        malformed(args.inputs, args.seed)
    if args.part == "malformed":
        return
    with prefect_server(WORK / "chaos-prefect") as env:
        if args.part in ("all", "kills"):
            kills(args.docs, args.kills, args.seed, env)
        if args.part in ("all", "starters"):
            starters(args.trials, 500, env)


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    main()
