"""The command's entry point: what a run starts before the CLI imports anything heavy, and
the console script's end (once its exit handlers ran, skipping the interpreter's teardown,
losing neither output nor status)."""

import os
import re
import subprocess
import sys

import pytest

from newsmill.flows.entry import asks_for_worker_processes

_CONSOLE = """
import atexit, sys
from newsmill.flows import entry

def main(argv=None):
    atexit.register(print, "a handler registered during the run ran")
    print("x" * 200_000, end="")  # more than a pipe's buffer: still in sys.stdout at exit
    {ending}

entry.main = main
sys.exit(entry.console())
"""


def _console(ending: str) -> subprocess.CompletedProcess[str]:
    script = _CONSOLE.format(ending=ending)
    # buffered, as a pipe's reader normally gets it: the last write then waits in sys.stdout
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )


def test_the_console_script_ends_after_every_exit_handler_with_its_output_and_status() -> None:
    result = _console("return 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("x" * 200_000)
    assert result.stdout.endswith("a handler registered during the run ran\n")


def test_a_console_script_that_raised_ends_the_ordinary_way() -> None:
    result = _console("raise RuntimeError('broken')")
    assert result.returncode == 1
    assert "RuntimeError: broken" in result.stderr
    assert "a handler registered during the run ran" in result.stdout


def test_a_reader_that_goes_away_ends_the_command_quietly_with_sigpipes_status() -> None:
    """`newsmill query … | head` printed a BrokenPipeError traceback."""
    script = _CONSOLE.format(ending="print('line\\n' * 1_000_000); return 0")
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.read(10)
    child.stdout.close()  # the reader is gone
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize(
    ("arguments", "environ", "asks"),
    [
        (["run", "in", "--workers", "2"], {}, True),
        (["run", "in", "--workers=3"], {}, True),
        (["run", "in"], {"NEWSMILL_WORKERS": "2"}, True),
        (["run", "in", "--workers", "1"], {"NEWSMILL_WORKERS": "2"}, False),  # the flag wins
        (["run", "in"], {}, False),  # the default: the flow's own process
        (["run", "in", "--workers", "2", "--dask-address", "tcp://h:8786"], {}, False),
        (["run", "in", "--workers", "2"], {"NEWSMILL_RAY_ADDRESS": "h:6379"}, False),
        (["run", "in", "--workers", "many"], {}, False),  # the CLI reports it
        (["run", "in", "--workers"], {}, False),
    ],
)
def test_the_entry_point_guesses_worker_processes_from_the_flags_alone(
    arguments: list[str], environ: dict[str, str], asks: bool
) -> None:
    assert asks_for_worker_processes(arguments, environ) is asks


_FORKSERVER_START_RECORDED = """
import sys
from newsmill.flows import worker_forkserver

def recorded():
    imported = "newsmill.flows.settings" in sys.modules
    print(f"forkserver started; the CLI's settings imported: {imported}", flush=True)

worker_forkserver.start_worker_forkserver = recorded
from newsmill.flows.entry import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(("workers", "started_early"), [("2", True), ("1", False)])
def test_a_run_asking_for_workers_starts_their_forkserver_before_the_cli_imports(
    ephemeral_env: dict[str, str], tmp_path, workers: str, started_early: bool
) -> None:
    missing = str(tmp_path / "nothing-*.txt")
    command = [sys.executable, "-c", _FORKSERVER_START_RECORDED, "run", missing]
    command += ["--lake", str(tmp_path), "--workers", workers]
    env = {**ephemeral_env, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # none started
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr  # no sources: the CLI stops before its own start
    early = "forkserver started; the CLI's settings imported: False" in result.stdout
    assert early is started_early


_GARBAGE_COLLECTOR_AT_EXIT = """
import atexit, gc, sys
from newsmill.flows import entry

atexit.register(lambda: print("collector", gc.isenabled(), gc.get_freeze_count(), flush=True))
sys.argv = ["newsmill", *sys.argv[1:]]
sys.exit(entry.console())
"""


def test_a_run_turns_the_garbage_collector_off_for_its_start_up_only(
    prefect_env: dict[str, str], tmp_path
) -> None:
    """Off while the run imports and loads, on (what it loaded frozen) once the flow runs;
    any other command keeps it on throughout."""
    source = tmp_path / "note.txt"
    source.write_text("The harbour opens a new ferry line to the islands on Monday morning.\n")
    lake = tmp_path / "lake"
    run = [sys.executable, "-c", _GARBAGE_COLLECTOR_AT_EXIT, "run", str(source)]
    result = subprocess.run(
        [*run, "--lake", str(lake), "--quiet"], env=prefect_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    [(enabled, frozen)] = re.findall(r"collector (\w+) (\d+)", result.stdout)
    assert enabled == "True" and int(frozen) > 100_000  # Prefect and the stages, frozen

    query = [sys.executable, "-c", _GARBAGE_COLLECTOR_AT_EXIT, "query", "--lake", str(lake)]
    result = subprocess.run(
        [*query, "select count(*) from articles"], env=prefect_env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert re.findall(r"collector (\w+) (\d+)", result.stdout) == [("True", "0")]
