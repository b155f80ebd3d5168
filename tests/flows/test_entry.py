"""The console script's end: the process ends once its exit handlers ran, skipping the
interpreter's teardown, and loses neither output nor status on the way."""

import os
import subprocess
import sys

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
