"""The CLI across runs: versions of changed files, near copies across days, site boilerplate,
entities from spaCy, WARC archives, and a run killed mid-write that the next run resumes."""

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import duckdb

from tests.conftest import NEWSMILL, ROOT, NewsmillHere

WORDS = [
    "council",
    "harbour",
    "tram",
    "vote",
    "budget",
    "ferry",
    "frost",
    "library",
    "mayor",
    "river",
    "school",
    "bridge",
    "market",
    "storm",
    "police",
    "court",
    "minister",
    "election",
    "hospital",
    "museum",
    "festival",
    "station",
    "airport",
    "port",
]


def count(lake: Path, sql: str) -> int:
    return duckdb.sql(sql.replace("{lake}", str(lake))).fetchall()[0][0]


def table(lake: Path, name: str) -> str:
    return f"read_parquet('{lake}/{name}/**/*.parquet', hive_partitioning=true)"


def test_changed_files_become_new_versions_and_new_copies_duplicates(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    src, lake = tmp_path / "src", tmp_path / "lake"
    src.mkdir()
    (src / "a.txt").write_text("The ferry leaves at nine.\n\nIt returns at five.")
    (src / "b.txt").write_text("The museum opens a new wing on Friday.")
    assert newsmill_here("run", str(src), "--lake", str(lake), "--quiet").returncode == 0
    [(first_a,)] = duckdb.sql(
        f"select doc_id from {table(lake, 'articles')} where source like '%a.txt'"
    ).fetchall()

    (src / "a.txt").write_text("The ferry leaves at ten.\n\nIt returns at five.")
    (src / "c.txt").write_text("The museum opens a new wing on Friday.\n")
    result = newsmill_here("run", str(src), "--lake", str(lake), "--quiet")
    assert result.returncode == 0, result.stderr
    versions = duckdb.sql(
        f"select doc_id, supersedes, text from {table(lake, 'articles')} where source like '%a.txt' order by ingested_at"
    ).fetchall()
    assert [(v[1], v[2].split(".")[0]) for v in versions] == [
        (None, "The ferry leaves at nine"),
        (first_a, "The ferry leaves at ten"),
    ]
    [(dup_source, dup_of)] = duckdb.sql(
        f"select d.source, a.source from {table(lake, 'duplicates')} d join {table(lake, 'articles')} a on d.duplicate_of = a.doc_id"
    ).fetchall()
    assert (Path(dup_source).name, Path(dup_of).name) == ("c.txt", "b.txt")
    assert duckdb.sql(
        f"select already_ingested from {table(lake, 'runs')} order by started_at"
    ).fetchall() == [(0,), (1,)]


def _corpus(folder: Path, files: int, docs: int) -> int:
    """JSONL files of random articles, one in ten an exact copy of an earlier one."""
    rng = random.Random(11)
    folder.mkdir()
    texts: list[str] = []
    for f in range(files):
        with open(folder / f"part-{f:03d}.jsonl", "w") as handle:
            for d in range(docs):
                if texts and rng.random() < 0.1:
                    text = rng.choice(texts)
                else:
                    text = "\n\n".join(" ".join(rng.choices(WORDS, k=40)) + "." for _ in range(4))
                    texts.append(text)
                handle.write(
                    json.dumps(
                        {
                            "id": f"{f}-{d}",
                            "published": f"20{10 + f % 14}-0{1 + d % 9}-15",
                            "text": text,
                        }
                    )
                    + "\n"
                )
    return len(texts)


def test_a_run_killed_mid_write_leaves_nothing_and_the_next_run_resumes_it(
    prefect_env, newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    src, lake = tmp_path / "corpus", tmp_path / "lake"
    n_unique = _corpus(src, files=8, docs=120)
    args = [
        "run",
        str(src),
        "--lake",
        str(lake),
        "--shard-mb",
        "0.02",
        "--write-buffer-rows",
        "200",
    ]
    process = subprocess.Popen(
        [str(NEWSMILL), *args],
        env=prefect_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 240
    for line in process.stdout:
        progress = re.search(r"shard (\d+)/", line)
        if progress and int(progress.group(1)) >= 6:
            break
        assert time.monotonic() < deadline, "the run never got going"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    staged = list((lake / "_staging").rglob("*.parquet"))
    assert staged, "the kill should land while the run has staged files"
    assert (
        not list((lake / "articles").rglob("*.parquet")) if (lake / "articles").exists() else True
    )
    assert not (lake / "runs").exists()

    [dead_run] = [d.name for d in (lake / "_staging").iterdir()]
    checkpointed = len(list((lake / "_staging" / dead_run / "_shards").glob("*.arrow")))
    assert checkpointed >= 6

    result = newsmill_here(*args, "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"resumed run {dead_run}: {checkpointed} shard(s) already staged" in result.stdout
    [(run_id, counts_json)] = duckdb.sql(
        f"select run_id, counts_json from {table(lake, 'runs')}"
    ).fetchall()
    assert run_id == dead_run
    counts = json.loads(counts_json)
    assert counts["shards.resumed"] == checkpointed
    assert counts["shards.processed"] == counts["shards.planned"] - checkpointed  # none twice
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())
    assert count(lake, f"select count(*) from {table(lake, 'articles')}") == n_unique
    assert count(lake, f"select count(distinct doc_id) from {table(lake, 'articles')}") == n_unique
    assert count(lake, f"select count(*) from {table(lake, 'duplicates')}") == 8 * 120 - n_unique
    assert count(lake, f"select count(*) from {table(lake, 'runs')}") == 1
    assert count(lake, f"select count(*) from {table(lake, 'paragraphs')}") == 4 * n_unique


def _story(rng: random.Random, paragraphs: int = 6) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=35)).capitalize() + "." for _ in range(paragraphs)]


def test_yesterdays_story_republished_today_is_a_near_duplicate_of_yesterdays_article(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    rng = random.Random(5)
    story, other = _story(rng), _story(rng)
    rewrite = ["A new intro written by the partner site for its own readers today.", *story[1:]]
    corrected = [*story[:3], story[3].replace(".", " and 12 more."), *story[4:]]
    lake, yesterday, today = tmp_path / "lake", tmp_path / "yesterday", tmp_path / "today"
    yesterday.mkdir()
    today.mkdir()
    (yesterday / "feed.jsonl").write_text(
        json.dumps({"id": "A", "published": "2026-11-27T08:00:00Z", "text": "\n\n".join(story)})
        + "\n"
        + json.dumps({"id": "B", "published": "2026-11-27T09:00:00Z", "text": "\n\n".join(other)})
        + "\n"
    )
    # the corrected copy claims an earlier date: the article already in the lake stays canonical
    (today / "feed.jsonl").write_text(
        json.dumps(
            {"id": "A-rewrite", "published": "2026-11-28T07:00:00Z", "text": "\n\n".join(rewrite)}
        )
        + "\n"
        + json.dumps(
            {
                "id": "A-corrected",
                "published": "2026-11-26T07:00:00Z",
                "text": "\n\n".join(corrected),
            }
        )
        + "\n"
    )
    for folder in (yesterday, today, today):
        result = newsmill_here("run", str(folder), "--lake", str(lake), "--quiet")
        assert result.returncode == 0, result.stderr

    rows = duckdb.sql(
        f"""
        select split_part(d.source, ':', -1) as line, a.external_id, d.method, d.similarity, d.cluster_id = a.doc_id
        from {table(lake, "duplicates")} d join {table(lake, "articles")} a on a.doc_id = d.duplicate_of
        where d.level = 'document' order by line
        """
    ).fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("1", "A", "near", True),
        ("2", "A", "near", True),
    ]
    assert all(0.5 <= r[3] < 1 for r in rows)
    assert count(lake, f"select count(*) from {table(lake, 'articles')}") == 2
    assert count(lake, f"select count(*) from {table(lake, 'minhash')}") == 2
    runs = duckdb.sql(
        f"select articles, duplicates_document, already_ingested from {table(lake, 'runs')} order by started_at"
    ).fetchall()
    assert runs == [(2, 0, 0), (0, 2, 0), (0, 0, 2)]


def test_shared_paragraphs_view_lists_wire_copy_shared_between_articles(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    rng = random.Random(9)
    wire = _story(rng, 2)
    src, lake = tmp_path / "src", tmp_path / "lake"
    src.mkdir()
    (src / "a.txt").write_text("\n\n".join([*wire, *_story(rng, 5)]))
    (src / "b.txt").write_text("\n\n".join([_story(rng, 1)[0], *wire, *_story(rng, 4)]))
    (src / "c.txt").write_text("\n\n".join(_story(rng, 6)))
    assert newsmill_here("run", str(src), "--lake", str(lake), "--quiet").returncode == 0

    from newsmill.flows.report import connect_lake

    rows = (
        connect_lake(lake)
        .sql(
            """
        select a.source, b.source, s.n_shared, s.positions
        from shared_paragraphs s join articles a on a.doc_id = s.doc_id join articles b on b.doc_id = s.shares_with
        order by a.source
        """
        )
        .fetchall()
    )
    assert [(Path(a).name, Path(b).name, n, positions) for a, b, n, positions in rows] == [
        ("a.txt", "b.txt", 2, [0, 1]),
        ("b.txt", "a.txt", 2, [1, 2]),
    ]
    # two shared paragraphs of seven: syndication, not a copy; no duplicates at all
    assert not (lake / "duplicates").exists()


def test_site_boilerplate_is_removed_after_enough_articles_and_across_runs(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    rng = random.Random(21)
    footer = "Photo: Alder Courier staff. Subscribe for the morning briefing."
    lake, first, second = tmp_path / "lake", tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    def record(i: int) -> str:
        text = "\n\n".join([*_story(rng, 4), footer])
        return (
            json.dumps({"id": f"n{i}", "url": f"https://www.courier.example/{i}", "text": text})
            + "\n"
        )

    (first / "site.jsonl").write_text("".join(record(i) for i in range(7)))
    (second / "site.jsonl").write_text(record(7))
    for folder in (first, second):
        result = newsmill_here(
            "run",
            str(folder),
            "--lake",
            str(lake),
            "--quiet",
            "--boilerplate-min-articles",
            "5",
        )
        assert result.returncode == 0, result.stderr

    rows = duckdb.sql(
        f"""
        select a.external_id, a.n_paragraphs, a.text like '%Subscribe for the morning briefing.%',
               count(d.doc_id) filter (where d.method = 'boilerplate')
        from {table(lake, "articles")} a left join {table(lake, "duplicates")} d using (doc_id)
        group by all order by a.external_id
        """
    ).fetchall()
    assert rows == [
        *[(f"n{i}", 5, True, 0) for i in range(5)],
        *[(f"n{i}", 4, False, 1) for i in range(5, 8)],
    ]
    [(position, level)] = duckdb.sql(
        f"select distinct position, level from {table(lake, 'duplicates')} where method = 'boilerplate'"
    ).fetchall()
    assert (position, level) == (4, "paragraph")


def test_entities_from_a_spacy_pipeline_and_a_bad_one_refused(
    newsmill_here: NewsmillHere, spacy_pipeline: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    seed = str(ROOT / "data" / "samples" / "seed_article.txt")
    refused = newsmill_here("run", seed, "--lake", str(lake), "--ner", "spacy:/nope")
    assert refused.returncode == 2
    assert "cannot load the spaCy pipeline" in refused.stderr and not lake.exists()

    result = newsmill_here("run", seed, "--lake", str(lake), "--ner", spacy_pipeline, "--quiet")
    assert result.returncode == 0, result.stderr
    found = duckdb.sql(
        f"select label, canonical from {table(lake, 'entities')} group by all"
    ).fetchall()
    assert {("PERSON", "Yoon Suk Yeol"), ("LOC", "North Korea"), ("ORG", "Kremlin")} <= set(found)
    [(speaker,)] = duckdb.sql(
        f"select speaker from {table(lake, 'quotes')} where quote like 'It might be%'"
    ).fetchall()
    assert speaker == "Yoon Suk Yeol"


def test_a_warc_archive_becomes_articles_and_counted_skips(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    from tests.tasks.ingest.test_warc import write_warc

    archive, lake = tmp_path / "crawl.warc.gz", tmp_path / "lake"
    write_warc(archive)
    result = newsmill_here("run", str(archive), "--lake", str(lake), "--quiet")
    assert result.returncode == 0, result.stderr
    [(url, title)] = duckdb.sql(f"select url, title from {table(lake, 'articles')}").fetchall()
    assert (url, title) == ("https://example.org/a", "Harbour reopens")
    [(source, reason)] = duckdb.sql(
        f"select source, reason from {table(lake, 'rejects')}"
    ).fetchall()
    assert source.startswith(f"{archive}@") and reason == "extract_no_article"  # the 3-word page
    [(counts,)] = duckdb.sql(f"select counts_json from {table(lake, 'runs')}").fetchall()
    skipped = {k: v for k, v in json.loads(counts).items() if k.startswith("read.skipped.")}
    assert skipped == {
        "read.skipped.warcinfo": 1,
        "read.skipped.request": 1,
        "read.skipped.not_html": 1,
        "read.skipped.http_404": 1,
    }


def test_on_a_terminal_progress_is_a_bar_with_rate_and_eta(prefect_env, tmp_path: Path) -> None:
    """stderr a terminal: a bar over the shards with inputs, rate and ETA, and none of the
    plain per-shard lines that a pipe or a log file gets."""
    import pty

    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(4):
        (folder / f"story-{n}.txt").write_text(f"Story {n}\n\n" + f"Paragraph {n} " * 40)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [NEWSMILL, "run", folder, "--lake", tmp_path / "lake", "--shard-max-files", "1"],
        env={**prefect_env, "TERM": "xterm", "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=terminal,
        cwd=ROOT,
    )
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's last writer closed it
            break
        if not chunk:
            break
        screen += chunk
    stdout, _ = process.communicate(timeout=300)
    os.close(controller)
    shown = screen.decode("utf-8", "replace")
    assert process.returncode == 0, shown
    assert re.search(r"100%\S* \S*4/4\S* shards 4 inputs · [\d,]+ inputs/s · ETA 0:00", shown)
    assert "━" in shown  # the bar itself
    assert not re.search(r"shard \d/4 \(", shown)  # no plain progress line on a terminal
    assert b"inputs seen        4" in stdout


def test_a_runs_report_reads_only_the_files_that_run_committed(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    """The report read every file of every table, whichever run wrote it: each run's report
    cost more as the lake grew, and one damaged file of an old run cost every later run
    its report."""
    rng = random.Random(3)
    lake = tmp_path / "lake"
    for day in ("first", "second"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "story.txt").write_text("\n\n".join(_story(rng)))
        result = newsmill_here("run", str(tmp_path / day), "--lake", str(lake))
        assert result.returncode == 0, result.stderr
        if day == "first":
            [damaged] = (lake / "articles").glob("**/*.parquet")
            damaged.write_bytes(b"not Parquet any more")
    # the second run's own report (two runs in one second: their ids do not sort by time)
    second_run = re.search(r"newsmill run (\S+) completed", result.stdout)[1]
    assert len(list((lake / "_reports").glob("*.html"))) == 2
    assert f"report             {lake / '_reports' / second_run}.html" in result.stdout
