"""Arrow's memory pool: jemalloc in every newsmill process, unless the environment names one."""

import subprocess
import sys

import pytest

from tests.conftest import offline_env

POOL_OF = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def pool_in_fresh_interpreter(imports: str, **env: str) -> str:
    base = {k: v for k, v in offline_env().items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}\n{POOL_OF}"],
        env=base | env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="jemalloc is preferred on Linux only")
def test_the_command_and_the_workers_forkserver_allocate_arrow_memory_with_jemalloc() -> None:
    # the command's own imports, then what a `newsmill run` imports; the forkserver's preload
    assert (
        pool_in_fresh_interpreter("import newsmill.flows.entry, newsmill.flows.cli") == "jemalloc"
    )
    assert pool_in_fresh_interpreter("import newsmill.flows.worker_preload") == "jemalloc"
    # a deployment's run imports the flow's module
    assert pool_in_fresh_interpreter("import newsmill.flows.pipeline") == "jemalloc"


def test_a_pool_the_environment_names_or_an_earlier_pyarrow_import_is_left_alone() -> None:
    named = pool_in_fresh_interpreter(
        "import newsmill.flows.cli", ARROW_DEFAULT_MEMORY_POOL="system"
    )
    assert named == "system"
    # Arrow fixed its pool when pyarrow was imported: naming one afterwards would be a lie
    imported_first = (
        "import os, pyarrow, newsmill.flows.cli\nprint(os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))"
    )
    assert pool_in_fresh_interpreter(imported_first).split() == ["None", "mimalloc"]
