"""The `newsmill` command's entry point. A `newsmill run` that will need Prefect's temporary
API starts it first, before the CLI imports its settings and stages (~0.7 s): the server's
own start-up (~3 s, importing Prefect's server) is what a small run waits for, so every
moment it starts earlier is a moment off the run. Then `cli.main` takes over."""

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
    sys.exit(main())
