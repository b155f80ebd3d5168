"""Seconds to run the bundled samples end to end: `newsmill run data/samples` into a new
lake, as `make run` does, timed from the command's start to its exit.

Three ways: the embedded default (no PREFECT_API_URL: the run starts its temporary API);
no PREFECT_API_URL either, but a server running for the Prefect home (`prefect server start
--background`), which the run finds and reports to; and against a running Prefect server
named by PREFECT_API_URL. Each is run `--repeats` times after one untimed run that
warms the machine's file cache and the project's Prefect database; the median and the
range are printed, with the run's own split from its summary (time in the flow, the
stages' sum).

    .venv/bin/python benchmarks/startup.py [--repeats 5]
"""

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from common import NEWSMILL, ROOT, WORK, free_port, newsmill_env, prefect_server, wait_until_healthy

SAMPLES = ROOT / "data" / "samples"


def run_once(env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds of the whole command, seconds the summary says the run took)."""
    lake = WORK / "startup-lake"
    shutil.rmtree(lake, ignore_errors=True)
    started = time.monotonic()
    result = subprocess.run(
        [NEWSMILL, "run", str(SAMPLES), "--lake", str(lake), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    [reported] = re.findall(r"completed in ([\d.]+) s", result.stdout)
    return wall, float(reported)


def measure(name: str, env: dict[str, str], repeats: int) -> None:
    run_once(env)
    runs = [run_once(env) for _ in range(repeats)]
    walls = [wall for wall, _ in runs]
    inside = statistics.median(reported for _, reported in runs)
    print(
        f"{name:<28} median {statistics.median(walls):5.2f} s "
        f"(range {min(walls):.2f}-{max(walls):.2f}; the CLI's own count {inside:.2f} s)"
    )


@contextlib.contextmanager
def background_server(home: Path) -> Iterator[dict[str, str]]:
    """`prefect server start --background` for `home`: the environment of runs that find it
    (no PREFECT_API_URL)."""
    home.mkdir(parents=True, exist_ok=True)
    env = newsmill_env() | {"PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    prefect = str(Path(NEWSMILL).with_name("prefect"))
    port = free_port()
    command = [prefect, "server", "start", "--background", "--port", str(port)]
    subprocess.run(command, env=env, check=True, capture_output=True)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/api")
        yield env
    finally:
        subprocess.run([prefect, "server", "stop"], env=env, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    env = newsmill_env()
    env.pop("PREFECT_API_URL", None)
    measure("temporary API (default)", env, args.repeats)
    with background_server(WORK / "startup-background-prefect") as background_env:
        measure("server running for the home", background_env, args.repeats)
    with prefect_server(WORK / "startup-prefect") as server_env:
        measure("running Prefect server", server_env, args.repeats)
    print(f"target: ≤ 4 s end to end on a warm machine; {Path(NEWSMILL).name} on {SAMPLES}")


if __name__ == "__main__":
    main()
