"""The CLI's contract before and around a run: exit status 2 with one line for what the user
must fix, help that explains, and a busy lake refused or waited for."""

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from newsmill.flows.cli import main
from newsmill.tasks.lake.lake import STAGING_DIR
from tests.conftest import NEWSMILL, ROOT, SEED, NewsmillHere, run_newsmill
from tests.flows.test_cli_runs import count, table


def test_no_matching_source_exits_2_with_one_line(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    result = newsmill_here("run", str(tmp_path / "nothing-*.txt"), "--lake", str(tmp_path / "lake"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"newsmill: no sources matched: {tmp_path / 'nothing-*.txt'}"
    ]
    assert not (tmp_path / "lake").exists()


def test_unwritable_lake_exits_2_with_one_line(newsmill_here: NewsmillHere, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Some words of text.")
    (tmp_path / "blocker").write_text("a file where the lake folder should go")
    result = newsmill_here(
        "run", str(tmp_path / "a.txt"), "--lake", str(tmp_path / "blocker" / "lake")
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("newsmill: lake ") and "not writable" in line


def test_bad_setting_exits_2_before_any_work(newsmill_here: NewsmillHere, tmp_path: Path) -> None:
    result = newsmill_here(
        "run",
        str(ROOT / "data" / "samples"),
        "--lake",
        str(tmp_path / "lake"),
        env={"NEWSMILL_MAX_INPUT_MB": "-3"},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "newsmill: setting 'max_input_mb' must be positive, got -3.0"


def test_help_explains_every_command_and_option(newsmill_here: NewsmillHere) -> None:
    top = newsmill_here("--help")
    run = newsmill_here("run", "--help")
    serve = newsmill_here("serve", "--help")
    assert top.returncode == run.returncode == serve.returncode == 0
    for command in ("run", "query", "catalog", "serve", "NEWSMILL_"):
        assert command in top.stdout, command
    for text in ("--work-pool", "--check", "prefect server start", "prefect deployment run"):
        assert text in serve.stdout, text
    for flag in (
        "--lake",
        "--resume",
        "--lease-wait-s",
        "--shard-retries",
        "--config",
        "--quiet",
        "--max-input-mb",
        "--extract-timeout-s",
        "--extract-workers",
        "--shard-mb",
        "--shard-max-files",
        "--min-article-words",
        "--worker-max-pages",
        "--write-buffer-rows",
    ):
        assert flag in run.stdout, flag
    assert "Exit status" in run.stdout and "reject" in run.stdout


HOLD_THE_LAKE = """
import pathlib, sys, time
from newsmill.tasks.lake.lake import Lake
lake, release = Lake(sys.argv[1]), pathlib.Path(sys.argv[2])
lake.ensure_writable()
with lake.lock("holder-run"):
    print("held", flush=True)
    while not release.exists():
        time.sleep(0.05)
"""


def test_a_second_run_fails_fast_or_waits_for_the_lease(
    prefect_env, newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    lake, release = tmp_path / "lake", tmp_path / "release"
    (tmp_path / "a.txt").write_text("Some words of text for the lake, enough to be an article.")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LAKE, str(lake), str(release)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = newsmill_here("run", str(tmp_path / "a.txt"), "--lake", str(lake))
        assert refused.returncode == 2
        # one line, before any flow run: it took ~6 s, a traceback and a Failed flow run
        [line] = refused.stderr.splitlines()
        assert line.startswith("newsmill: lake ") and "in use by run holder-run" in line
        assert not (lake / "articles").exists()

        waiter = subprocess.Popen(
            [
                str(NEWSMILL),
                "run",
                str(tmp_path / "a.txt"),
                "--lake",
                str(lake),
                "--lease-wait-s",
                "300",
            ],
            env=prefect_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert waiter.stdout is not None
        for line in waiter.stdout:
            if "in use by run holder-run" in line:
                assert "waiting up to 300 s" in line
                break
        assert not (lake / "runs").exists()  # nothing written while the holder holds
        assert waiter.poll() is None
        release.touch()
        holder.wait(timeout=10)
        rest, _ = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, rest
        assert count(lake, f"select count(*) from {table(lake, 'articles')}") == 1
    finally:
        release.touch()
        holder.wait(timeout=10)


def test_query_on_a_missing_lake_is_a_one_line_error(
    newsmill_here: NewsmillHere, tmp_path: Path
) -> None:
    result = newsmill_here("query", "--lake", str(tmp_path / "none"), "select 1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"newsmill: no lake at {tmp_path / 'none'}: run `newsmill run SOURCE... --lake {tmp_path / 'none'}` first"
    ]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_run_and_its_temporary_prefect_api(
    ephemeral_env, tmp_path: Path, stop: signal.Signals
) -> None:
    """Killed politely (a scheduler, a container stopping), newsmill stopped but the
    temporary API it had started kept listening, and holding its output open; Ctrl-C
    ended in a traceback."""
    source = tmp_path / "export.jsonl"
    line = '{"text": "The harbour opens a new ferry line to the islands on Monday morning."}\n'
    source.write_text(line * 20_000)
    log = tmp_path / "out.log"
    with open(log, "w") as out:
        run = subprocess.Popen(
            [str(NEWSMILL), "run", str(source), "--lake", str(tmp_path / "lake")],
            env=ephemeral_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while not (port := _temporary_api_port(log.read_text())) and time.monotonic() < deadline:
            assert run.poll() is None, log.read_text()
            time.sleep(0.2)
        assert port, log.read_text()
        run.send_signal(stop)
        assert run.wait(timeout=60) == 128 + stop
    assert f"newsmill: stopped by {stop.name}" in log.read_text()
    assert "Traceback" not in log.read_text()
    deadline = time.monotonic() + 10
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(port), "the temporary API outlived newsmill"


def _temporary_api_port(output: str) -> int | None:
    found = re.search(r"temporary Prefect API on http://127\.0\.0\.1:(\d+)", output)
    return int(found.group(1)) if found else None


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


_STARTS_RECORDED = """
import sys
from newsmill.flows import temporary_api

start = temporary_api.TemporaryApi._start

def recorded(self):
    imported = "newsmill.flows.settings" in sys.modules
    print(f"API on {self.port}; the CLI's settings imported: {imported}", flush=True)
    return start(self)

temporary_api.TemporaryApi._start = recorded
from newsmill.flows.entry import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_starts_its_temporary_api_before_the_cli_imports_anything_heavy(
    ephemeral_env, tmp_path: Path
) -> None:
    """The API's start-up is what a small run waits for: it starts before the CLI imports
    its settings and stages, and stops with newsmill even when the run cannot start."""
    missing = str(tmp_path / "nothing-*.txt")
    command = [sys.executable, "-c", _STARTS_RECORDED, "run", missing, "--lake", str(tmp_path)]
    result = subprocess.run(command, env=ephemeral_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"newsmill: no sources matched: {missing}"]
    [(port, imported)] = re.findall(
        r"API on (\d+); the CLI's settings imported: (\w+)", result.stdout
    )
    assert imported == "False"
    assert not _listening(int(port)), "the temporary API outlived newsmill"

    help_only = subprocess.run(
        [*command[:3], "run", "--help"], env=ephemeral_env, capture_output=True, text=True
    )
    assert help_only.returncode == 0 and "API on" not in help_only.stdout


def test_sigterm_turned_into_an_ordinary_error_still_exits_143() -> None:
    """Prefect turns a SIGTERM that lands inside a flow run into a crashed flow and an
    ordinary exception; the exit status must still say "stopped", not "failed" (1)."""
    script = """
import os, signal, sys
from newsmill.flows import cli

def query_interrupted_inside_a_flow(args):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
    except BaseException as crash:
        raise RuntimeError("flow run crashed") from crash

cli._query = query_interrupted_inside_a_flow
sys.exit(cli.main(["query", "select 1"]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB tmpfs: a lake on a full disk, for real."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_lake_on_a_full_disk_fails_cleanly_and_the_next_run_succeeds(
    newsmill_here: NewsmillHere, tmp_path: Path, small_disk: Path
) -> None:
    source = tmp_path / "export.jsonl"
    words = "harbour council ferry vote budget tram library frost"
    with open(source, "w") as out:
        for n in range(2000):
            text = " ".join(f"{word}{n}x{k}" for k in range(12) for word in words.split())
            out.write(json.dumps({"id": str(n), "text": text}) + "\n")
    lake = small_disk / "lake"
    run = ["run", str(source), "--lake", str(lake), "--quiet"]
    failed = newsmill_here(*run)
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "No space left on device" in failed.stderr
    assert "newsmill: run failed, nothing was committed: OSError" in failed.stderr
    visible = [p for p in lake.rglob("*.parquet") if STAGING_DIR not in p.parts]
    assert not [p for p in visible if p.relative_to(lake).parts[0] != "runs"]
    for path in visible:  # at most the failed run's row, and whole
        assert pq.read_table(path).column("status").to_pylist() == ["failed"]

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    done = newsmill_here(*run)
    assert done.returncode == 0, done.stderr[-2000:]
    assert count(lake, f"select count(*) from {table(lake, 'articles')}") == 2000
    assert not list((lake / STAGING_DIR).iterdir())


def test_quiet_prints_only_the_summary(ephemeral_env, tmp_path: Path) -> None:
    """--quiet still printed Prefect's lines about its temporary API."""
    result = run_newsmill(ephemeral_env, "run", str(SEED), "--lake", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("newsmill run ") and "articles written   1" in result.stdout


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["run", "x", "--shard-mb", "abc"],
            "newsmill run: argument --shard-mb: invalid float value: 'abc' "
            "(see newsmill run --help)",
        ),
        (["run", "x", "--nope"], "newsmill: unrecognized arguments: --nope (see newsmill --help)"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole usage block (30 lines) came before the error."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_source_inside_the_lake_exits_2(newsmill_here: NewsmillHere, tmp_path: Path) -> None:
    """It exited 0, having quietly read nothing."""
    lake = tmp_path / "lake"
    (lake / "notes").mkdir(parents=True)
    (lake / "notes" / "a.txt").write_text("The ferry sails at dawn, said the harbour master.")
    result = newsmill_here("run", str(lake / "notes"), "--lake", str(lake))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"newsmill: source {lake / 'notes' / 'a.txt'} is inside the lake")
