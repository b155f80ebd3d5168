"""The `newsmill` command's entry point. A `newsmill run` that will need Prefect's temporary
API starts it first, before the CLI imports its settings and stages (~0.7 s): the server's
own start-up (~3 s, importing Prefect's server) is what a small run waits for, so every
moment it starts earlier is a moment off the run. Then `cli.main` takes over."""

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from newsmill.flows.temporary_api import TemporaryApi, set_prefect_defaults


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    api = None
    if _runs_a_flow(arguments):
        # until `cli.main` installs its handlers, a SIGTERM still exits, not kills: the
        # API then stops with this process (its `atexit`) instead of outliving it
        signal.signal(signal.SIGTERM, _exit)
        set_prefect_defaults(quiet="--quiet" in arguments)
        api = TemporaryApi()
    from newsmill.flows.cli import main as cli_main

    return cli_main(arguments, started_api=api)


def console() -> int:
    """The `newsmill` console script: `main`, and a process that ends as soon as its exit
    handlers have run.

    The interpreter's own teardown then frees the run's objects one by one and collects
    them a last time: 0.35–0.45 s after every run (the samples, measured), for a process
    that is about to end. Everything an exit must do is an exit handler that runs before
    (Prefect's log and event drains, the worker pools' shutdown, the temporary API's stop,
    logging's flush), so the handler registered here, first and therefore run last, only
    flushes the standard streams and ends the process with `main`'s status. `main` that
    raised ends the ordinary way, its traceback printed."""
    ended: list[int] = []
    atexit.register(_end_now, ended)
    code = main()
    ended.append(code)
    return code


def _end_now(ended: list[int]) -> None:
    if not ended:
        return
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away, a closed stream: the status still stands
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(ended[0])


def _runs_a_flow(arguments: list[str]) -> bool:
    """`newsmill run …` with no API configured in the environment (a Prefect profile that
    names one is read later, with Prefect: the API started here then stops at once)."""
    return (
        arguments[:1] == ["run"]
        and not {"-h", "--help"}.intersection(arguments)
        and not os.environ.get("PREFECT_API_URL")
    )


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(console())
