"""What the benchmark scripts share: paths, the labelled corpora, the newsmill command."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"  # corpora, lakes, the datatrove venv (git-ignored)
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
NEWSMILL = str(Path(sys.executable).with_name("newsmill"))


def newsmill_env() -> dict[str, str]:
    """The environment `make run` gives newsmill: project Prefect home, no telemetry."""
    return {
        **os.environ,
        "PREFECT_HOME": str(ROOT / ".prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def build_corpus(docs: int, seed: int = 7) -> Path:
    """A make_corpus.py corpus (articles.jsonl + labels.jsonl), made once and reused."""
    out = WORK / f"corpus-{docs}-{seed}"
    if not (out / "labels.jsonl").exists():
        command = [
            sys.executable,
            str(MAKE_CORPUS),
            str(out),
            "--docs",
            str(docs),
            "--seed",
            str(seed),
        ]
        subprocess.run(command, check=True)
    return out


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the largest process) of a command, via GNU time."""
    stats = WORK / "time.txt"
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(stats), *command],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{result.stderr[-4000:]}")
    return wall, int(stats.read_text().split()[-1]) / 1024
