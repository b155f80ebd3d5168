"""The `newsmill` command's entry point. A `newsmill run` starts what it will wait for first,
before the CLI imports its settings and stages (~0.7 s): Prefect's temporary API when no API
is configured and no Prefect server runs for this Prefect home (its ~3 s start-up is what a
small run waits for), and the shard workers' forkserver when the flags ask for worker
processes (its ~1.6 s of imports, what the first shard waits for). Then `cli.main` takes over."""

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence

from newsmill.flows.collector import hold_off_garbage_collection

# `console`'s status, once `main` returned it: the process then ends at its last exit handler
_ended: list[int] = []


def _end_now() -> None:
    if not _ended:
        return
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away, a closed stream: the status still stands
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(_ended[0])


# registered before this module imports anything that registers its own (multiprocessing,
# Prefect, the temporary API): exit handlers run last registered first, so this one runs last
atexit.register(_end_now)


def main(argv: Sequence[str] | None = None) -> int:
    from newsmill.flows.temporary_api import TemporaryApi, find_local_server, set_prefect_defaults
    from newsmill.flows.worker_forkserver import start_worker_forkserver

    arguments = list(sys.argv[1:] if argv is None else argv)
    api = None
    if _runs_a_flow(arguments):
        # until `cli.main` installs its handlers, a SIGTERM still exits, not kills: the
        # API then stops with this process (its `atexit`) instead of outliving it
        signal.signal(signal.SIGTERM, _exit)
        set_prefect_defaults(quiet="--quiet" in arguments)
        if not os.environ.get("PREFECT_API_URL"):
            api = find_local_server(os.environ) or TemporaryApi()
        if asks_for_worker_processes(arguments, os.environ):
            start_worker_forkserver()
    from newsmill.flows.cli import main as cli_main

    return cli_main(arguments, started_api=api)


def console() -> int:
    """The `newsmill` console script: `main`, and a process that ends as soon as its exit
    handlers have run.

    The interpreter's own teardown then frees the run's objects one by one and collects
    them a last time: 0.35–0.45 s after every run (the samples, measured), for a process
    that is about to end. Everything an exit must do is an exit handler that runs before
    (Prefect's log and event drains, the worker pools' shutdown, the temporary API's stop,
    logging's flush), so the handler this module registered first, and which therefore
    runs last, only flushes the standard streams and ends the process with `main`'s status.
    `main` that raised ends the ordinary way, its traceback printed; one whose reader went
    away (a closed pipe) ends quietly with status 141."""
    if _runs_a_flow(sys.argv[1:]):
        # resumed once the flow is called (`cli._run`)
        hold_off_garbage_collection()
    try:
        code = main()
    except BrokenPipeError:
        # the reader of the output went away (`newsmill query … | head`): it read what it
        # wanted; no traceback, and the status a shell gives a command stopped by SIGPIPE
        code = 128 + signal.SIGPIPE
    _ended.append(code)
    return code


def _runs_a_flow(arguments: list[str]) -> bool:
    """`newsmill run …`, not its help. With no API in the environment it will need the
    temporary API (a Prefect profile that names one is read later, with Prefect: the API
    started here then stops at once)."""
    return arguments[:1] == ["run"] and not {"-h", "--help"}.intersection(arguments)


def asks_for_worker_processes(arguments: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether the flags (or NEWSMILL_* variables) ask for shard worker processes: more than
    one worker, or 0 (one per core) on several cores, and no Dask or Ray cluster. A guess
    made before the settings are read: the CLI starts the forkserver itself, later, where
    the settings ask for workers this misses (a TOML file's `workers`, an abbreviated flag),
    and one started for nothing costs only its imports."""
    workers = environ.get("NEWSMILL_WORKERS")
    cluster = bool(environ.get("NEWSMILL_DASK_ADDRESS") or environ.get("NEWSMILL_RAY_ADDRESS"))
    for argument, following in zip(arguments, [*arguments[1:], None], strict=True):
        name, equals, value = argument.partition("=")
        if name in ("--dask-address", "--ray-address"):
            cluster = True
        elif name == "--workers":
            workers = value if equals else following
    try:
        count = int(workers or "1")
    except ValueError:
        return False  # the CLI says what is wrong with it
    return not cluster and (count > 1 or (count == 0 and (os.cpu_count() or 1) > 1))


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(console())
