"""The `newsmill` command: `run` ingests sources into the lake, `query` reads it with DuckDB."""

import argparse
import atexit
import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from newsmill.flows.collector import resume_garbage_collection
from newsmill.flows.settings import DEFAULT_LAKE, SETTINGS, Settings, load_settings
from newsmill.flows.temporary_api import (
    LocalServer,
    TemporaryApi,
    TemporaryApiError,
    find_local_server,
    set_prefect_defaults,
)
from newsmill.schemas.views import VIEWS
from newsmill.tasks import __version__
from newsmill.tasks.errors import SettingsError

EXIT_CANNOT_RUN = 2
EXIT_RUN_FAILED = 1
_WARM_UP_WAIT_AT_EXIT_S = 10.0

DESCRIPTION = """\
newsmill turns raw news text into cleaned, deduplicated, partitioned Parquet tables.

  newsmill run data/samples            ingest files, folders or globs into data/lake
  newsmill query "select count(*) from articles"
                                        ask the lake a question with DuckDB SQL
  newsmill catalog                     write data/newsmill.duckdb, the lake's views for BI tools
  newsmill serve flows/deployments.toml
                                        serve scheduled and manual runs (Prefect)

Settings come from flags, NEWSMILL_<NAME> environment variables, or a TOML file
(--config, else NEWSMILL_CONFIG, else ./newsmill.toml), in that order of precedence.
"""

RUN_EPILOG = """\
Every input ends as exactly one row: an article, a duplicate (with what it duplicates),
or a reject (with the stage and a reason code). Re-running on the same inputs adds
nothing. Exit status: 0 when the run completed (even with rejects); 2 when it cannot
start (no source matched, lake not writable, lake in use); 1 when it failed midway
(nothing of it is visible in the lake).

Runs with Prefect: without an API configured (PREFECT_API_URL, or the Prefect profile) the
run reports to a Prefect server running for the same Prefect home (`prefect server start
--background`), else a temporary local API is started for the run (a few seconds; ~25 s
on a fresh Prefect home); with a server, the run shows in its UI.
"""


SERVE_EPILOG = """\
Schedules need a real Prefect server (the temporary API started for `newsmill run` never
fires them):

  prefect server start &                            # API and UI on http://127.0.0.1:4200
  export PREFECT_API_URL=http://127.0.0.1:4200/api
  newsmill serve flows/deployments.toml
  prefect deployment run 'newsmill/samples-by-hand' --param near_threshold=0.7

For a team: one server, a process work pool, workers on any machine that has newsmill
installed and reaches this folder and the lake's path; register the deployments once instead of serving them:

  prefect work-pool create newsmill --type process
  prefect worker start --pool newsmill &            # on each machine that runs flows
  newsmill serve flows/deployments.toml --work-pool newsmill

Each deployment's parameters are `sources` and every setting by name; a manual run's
--param values are checked against their types and bounds before the run is created.
Relative paths in the file are relative to the folder `newsmill serve` runs in.
"""

DEFAULT_DEPLOYMENTS = Path("flows/deployments.toml")


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, kind, default in _setting_leaves():
        if name == "lake":
            continue
        if kind is bool:
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                action=argparse.BooleanOptionalAction,
                help=f"{SETTINGS[name].help} (default: {'on' if default else 'off'})",
            )
            continue
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            metavar=kind.__name__.upper(),
            help=f"{SETTINGS[name].help} (default: {default})",
        )


def _setting_leaves() -> list[tuple[str, type, object]]:
    from newsmill.flows.settings import _leaves

    return list(_leaves(Settings()))


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming what is wrong, not the whole usage block first."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CANNOT_RUN, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="newsmill",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsmill {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="ingest sources into the lake",
        description="Read SOURCEs, clean, deduplicate, extract fields and write the Parquet lake.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a file, a folder (read recursively; hidden files skipped) or a glob such as "
        "'exports/*.jsonl.gz', local or an fsspec URL (s3://…). Reads .txt/.md, .html/.htm, "
        ".jsonl/.ndjson, gzip of each, and .warc/.warc.gz archives (HTML responses). "
        "An http(s):// URL is an article to fetch.",
    )
    web = run.add_argument_group(
        "web sources",
        "Fetched politely (robots.txt, per-host delay and concurrency, retries); every "
        "response is kept in the lake's raw zone (<lake>/raw, WARC). URLs the lake already "
        "has are not fetched again unless --refresh. Each can be given several times.",
    )
    web.add_argument(
        "--urls", action="append", default=[], metavar="FILE", help="a file of URLs, one a line"
    )
    web.add_argument(
        "--feed", action="append", default=[], metavar="URL", help="an RSS, Atom or JSON feed"
    )
    web.add_argument(
        "--sitemap",
        action="append",
        default=[],
        metavar="URL",
        help="an XML or TXT sitemap, or a sitemap index",
    )
    run.add_argument(
        "--lake", metavar="DIR", help=f"{SETTINGS['lake'].help} (default: {DEFAULT_LAKE})"
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="TOML file of settings (default: ./newsmill.toml, if there is one)",
    )
    run.add_argument(
        "--quiet",
        action="store_true",
        help="only the summary: no progress bar (on a terminal) or progress lines (otherwise)",
    )
    _add_setting_flags(run)

    serve = commands.add_parser(
        "serve",
        help="serve scheduled and manual deployments of the flow",
        description="Create the deployments a TOML file describes on the Prefect server named "
        "by PREFECT_API_URL, then run their scheduled and manual runs until stopped (Ctrl-C).",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "deployments",
        nargs="?",
        type=Path,
        default=DEFAULT_DEPLOYMENTS,
        metavar="FILE",
        help=f"TOML file of deployments (default: {DEFAULT_DEPLOYMENTS})",
    )
    serve.add_argument(
        "--check", action="store_true", help="check the file and list the deployments; serve none"
    )
    serve.add_argument(
        "--work-pool",
        metavar="POOL",
        help="register the deployments on this Prefect work pool (type process) for "
        "`prefect worker start --pool POOL` to run, instead of serving them from this process",
    )

    catalog = commands.add_parser(
        "catalog",
        help="write a DuckDB catalog of the lake for BI tools",
        description="Write a DuckDB database file with a view per lake table (empty tables "
        "included, with their declared columns and types) and the ready views: "
        f"{', '.join(VIEWS)}. Open it in the DuckDB UI, the duckdb CLI (1.5 and later), "
        "Superset, Metabase or Evidence; every later `newsmill run` on this lake refreshes it. "
        "The views read the lake's files where they are: move the lake, write the catalog again.",
    )
    catalog.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="the catalog file (default: newsmill.duckdb beside the lake's folder; runs refresh "
        "only that one)",
    )
    catalog.add_argument(
        "--lake", metavar="DIR", default=None, help=f"lake folder (default: {DEFAULT_LAKE})"
    )

    query = commands.add_parser(
        "query",
        help="run DuckDB SQL on the lake",
        description="Run SQL against the lake. Tables are views: articles, paragraphs, "
        "duplicates, rejects, runs.",
    )
    query.add_argument("sql", help='e.g. "select reason, count(*) from rejects group by 1"')
    query.add_argument(
        "--lake", metavar="DIR", default=None, help=f"lake folder (default: {DEFAULT_LAKE})"
    )
    query.add_argument(
        "--format",
        choices=("table", "csv", "json", "parquet"),
        default="table",
        help="table (for people, the default), csv, json (one object per line) or parquet "
        "(needs --output)",
    )
    query.add_argument(
        "--output", metavar="FILE", type=Path, help="write the result here, not to stdout"
    )
    query.add_argument(
        "--allow-writes",
        action="store_true",
        help="also run statements that write or reach outside the lake (COPY ... TO, ATTACH, "
        "INSTALL, reading other files); by default a query only reads the lake",
    )
    return parser


def _configured_prefect_api() -> str | None:
    """The API Prefect itself would report to: PREFECT_API_URL from the environment, its
    profile, a `prefect.toml` or `.env` here (importing Prefect, ~0.7 s, is needed anyway)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


@contextlib.contextmanager
def _reporting_to(api: TemporaryApi | LocalServer | None) -> Iterator[None]:
    """Prefect, in this process and its workers, reports to the temporary API once it
    answers, or to the server running for this Prefect home (Prefect read its settings
    when imported: they are read again here).

    The flow run sends heartbeats only to a running server, and only when
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set (environment or profile): their one use is an
    automation that marks a run crashed when its beats stop, which a user who wrote one asks
    for; Prefect's heartbeat thread otherwise holds the end of every run for up to 1 s (it
    sleeps in 1 s steps). A temporary API stops with the run: it never has a use for them."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    asked = "heartbeat_frequency" in get_current_settings().flows.model_fields_set
    if isinstance(api, TemporaryApi):
        # what calling the flow imports (~0.15 s; FastAPI's encoder serializes the flow's
        # parameters), done while the API is still starting rather than once it answers
        importlib.import_module("prefect.flow_engine")
        importlib.import_module("fastapi.encoders")
        api.wait_until_healthy(
            float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
        )
        reporting = {"PREFECT_API_URL": api.url, "PREFECT_UI_URL": ""}  # it serves no UI
    else:
        reporting = {"PREFECT_API_URL": api.url} if api else {}
    beats = (
        contextlib.nullcontext()
        if asked and not isinstance(api, TemporaryApi)
        else temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    )
    saved = {name: os.environ.get(name) for name in reporting}
    os.environ.update(reporting)
    if reporting:
        refresh_global_settings_context()
    try:
        with beats:
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
        if reporting:
            refresh_global_settings_context()


def _prefect_api(
    quiet: bool, started: TemporaryApi | LocalServer | None = None
) -> TemporaryApi | LocalServer | None:
    """With no Prefect API configured, the one for this run, its worker processes included:
    the server running for this Prefect home, else a temporary API; `started` (found or
    started by the entry point before the CLI's imports), or found or started now. The
    temporary API comes up while this process imports the flow; it starts even before
    Prefect is imported to read its profile (~0.7 s), and stops at once if the profile
    names an API."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    api = started or find_local_server(os.environ) or TemporaryApi()
    if _configured_prefect_api():
        if isinstance(api, TemporaryApi):
            api.stop()
        return None
    if quiet:
        return api
    if isinstance(api, LocalServer):
        print(
            f"newsmill: reporting to the Prefect server running for this Prefect home, "
            f"{api.url} (export PREFECT_API_URL to report elsewhere)",
            file=sys.stderr,
        )
    else:
        print(
            f"newsmill: starting a temporary Prefect API on http://127.0.0.1:{api.port} for "
            "this run (export PREFECT_API_URL to report to a running server, or start one "
            "for this Prefect home: `prefect server start --background`)",
            file=sys.stderr,
        )
    return api


def _fail(message: str, code: int = EXIT_CANNOT_RUN) -> int:
    print(f"newsmill: {message}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace, started_api: TemporaryApi | LocalServer | None = None) -> int:
    overrides = {name: getattr(args, name, None) for name, _, _ in _setting_leaves()}
    try:
        settings = load_settings(args.config, os.environ, overrides, Path("newsmill.toml"))
    except SettingsError as error:
        return _fail(str(error))
    if settings.dask_address and not os.environ.get("PREFECT_API_URL"):
        return _fail(
            "--dask-address needs a Prefect API that the cluster's workers reach too: "
            "run `prefect server start`, and export PREFECT_API_URL for the Dask workers "
            "and for newsmill (see README, Run it on a cluster)"
        )
    if settings.ray_address and not os.environ.get("PREFECT_API_URL"):
        return _fail(
            "--ray-address needs a Prefect API that the cluster's workers reach too: "
            "run `prefect server start` and export PREFECT_API_URL (see README, Run it on "
            "a cluster)"
        )

    from newsmill.tasks.errors import LakeError
    from newsmill.tasks.ingest.sources import discover_sources
    from newsmill.tasks.lake.lake import Lake
    from newsmill.tasks.web.discover import (
        FEED_PREFIX,
        SITEMAP_PREFIX,
        URL_LIST_PREFIX,
        split_sources,
    )

    sources = [
        *args.sources,
        *(URL_LIST_PREFIX + f for f in args.urls),
        *(FEED_PREFIX + u for u in args.feed),
        *(SITEMAP_PREFIX + u for u in args.sitemap),
    ]
    if not sources:
        return _fail("nothing to ingest: name a SOURCE, or --urls, --feed or --sitemap")
    file_sources, web = split_sources(sources)
    missing = [path for path in web.url_lists if not discover_sources([path]).files]
    if missing:
        return _fail(f"URL list not found: {' '.join(missing)}")
    files = discover_sources(file_sources).files
    if not web and not files:
        return _fail(f"no sources matched: {' '.join(file_sources)}")
    try:
        lake = Lake(settings.lake)
        inside = lake.sources_inside(files)
        if inside:
            return _fail(
                f"source {inside[0]} is inside the lake {lake.root}: the lake's own files are "
                "never inputs; name the folder the inputs are in"
            )
        lake.ensure_writable()
        if not settings.lease_wait_s:
            lake.refuse_if_held()  # one line and exit 2 before Prefect starts
    except LakeError as error:
        return _fail(str(error))

    set_prefect_defaults(args.quiet)
    started = time.monotonic()
    if settings.n_workers > 1 and not (settings.dask_address or settings.ray_address):
        from newsmill.flows.worker_forkserver import start_worker_forkserver

        start_worker_forkserver()
    api = _prefect_api(args.quiet, started_api)
    from newsmill.flows.pipeline import newsmill_flow
    from newsmill.flows.progress import want_bar

    want_bar(not args.quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb")
    _warm_up_while_prefect_starts(settings)
    try:
        with _reporting_to(api):
            resume_garbage_collection()
            summary = newsmill_flow(sources=sources, **settings.as_flat_dict())
    except (TemporaryApiError, LakeError) as error:
        return _fail(str(error))
    except Exception as error:  # the flow already logged the traceback
        return _fail(
            f"run failed, nothing was committed: {type(error).__name__}: {error}", EXIT_RUN_FAILED
        )
    from newsmill.flows.report import render_summary

    print(render_summary(summary, settings, time.monotonic() - started))
    return 0


def _warm_up_while_prefect_starts(settings: Settings) -> None:
    """While Prefect starts (the temporary API ~3.5 s; against a running server, importing
    the flow and creating its run ~1 s), in the background: where the shards run in this
    process, start the extraction processes and load the word lists and the language model;
    then import the run report's plotting. A failure is left for the real step to meet and
    report."""
    in_process = settings.n_workers <= 1 and not (settings.dask_address or settings.ray_address)

    def quietly() -> None:
        with contextlib.suppress(Exception):
            if in_process:
                from newsmill.tasks.shard import warm_up

                warm_up(settings.shard_settings, datetime.now(UTC))
            import newsmill.flows.html_report  # noqa: F401

    warm_up = threading.Thread(target=quietly, name="newsmill-warm-up", daemon=True)
    warm_up.start()
    # newsmill stopped meanwhile (a signal) waits for it: an extraction process still
    # starting when this one exits finds its pool's semaphores gone, and prints a traceback
    atexit.register(warm_up.join, _WARM_UP_WAIT_AT_EXIT_S)


def _serve(args: argparse.Namespace) -> int:
    from newsmill.flows.deployments import load_deployments, unmatched_sources

    try:
        specs = load_deployments(args.deployments)
    except SettingsError as error:
        return _fail(str(error))
    unmatched = unmatched_sources(specs)
    if unmatched:
        return _fail(f"{args.deployments}: sources that match no file: {'; '.join(unmatched)}")
    for spec in specs:
        print(f"{spec.name}: {spec.schedule_text}; sources {' '.join(spec.sources)}")
    if args.check:
        return 0
    if not _configured_prefect_api():
        return _fail(
            "serve needs a Prefect server that keeps running: its schedules never fire on the "
            "temporary API. Run `prefect server start`, then export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (see newsmill serve --help)"
        )
    set_prefect_defaults(quiet=False)
    if args.work_pool:
        from newsmill.flows.deployments import deploy_to_pool

        # workers start in this folder, so the file's relative paths mean the same there
        deploy_to_pool(specs, args.work_pool, Path.cwd())
        print(f"registered {len(specs)} deployment(s) on work pool {args.work_pool!r}")
        return 0
    from prefect import serve

    from newsmill.flows.deployments import to_deployments

    serve(*to_deployments(specs))
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from newsmill.tasks.errors import LakeError
    from newsmill.tasks.lake.catalog import default_catalog_path, write_catalog
    from newsmill.tasks.lake.lake import Lake

    lake = Lake(args.lake or os.environ.get("NEWSMILL_LAKE", DEFAULT_LAKE))
    try:
        lake.ensure_exists()
        path = args.file or default_catalog_path(lake)
        write_catalog(lake, path)
    except (LakeError, OSError) as error:
        return _fail(str(error))
    print(f"catalog written: {path} (the lake's tables and {len(VIEWS)} ready views)")
    return 0


def _query(args: argparse.Namespace) -> int:
    from newsmill.flows.report import query_lake

    lake = args.lake or os.environ.get("NEWSMILL_LAKE", DEFAULT_LAKE)
    if args.format == "parquet" and args.output is None:
        return _fail("--format parquet needs --output FILE")
    try:
        with contextlib.ExitStack() as stack:
            output = stack.enter_context(open(args.output, "wb")) if args.output else None
            query_lake(lake, args.sql, args.allow_writes, args.format, output)
    # DuckDB errors are the user's SQL: its message and hints, no traceback
    except Exception as error:
        return _fail(str(error).strip() or type(error).__name__)
    return 0


class _StopSignals:
    """SIGTERM (a scheduler, `kill`, a container stopping) and SIGINT (Ctrl-C) unwind as an
    exit does, not as a kill: context managers close, the lake lock is released, and
    Prefect's temporary API and the run's worker processes stop instead of outliving
    newsmill. The exit status is 128 + the signal, with one line instead of a traceback.

    The signal is remembered as well as raised: one that lands inside a flow run is turned
    by Prefect into a crashed flow and an ordinary exception, and the exit status must
    still say the run was stopped, not that it failed."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self)
            signal.signal(signal.SIGINT, self)

    def __call__(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        raise SystemExit(128 + signum)

    def exit_code(self, code: int) -> int:
        if self.signum is None:
            return code
        name = signal.Signals(self.signum).name
        print(
            f"newsmill: stopped by {name}; a run stopped midway resumes when the same "
            "command runs again",
            file=sys.stderr,
        )
        return 128 + self.signum


def main(
    argv: Sequence[str] | None = None, started_api: TemporaryApi | LocalServer | None = None
) -> int:
    """`started_api`: the server `entry.main` found running for this Prefect home, or the
    temporary API it started for a run (which stops when this process exits, whatever the
    run does)."""
    args = build_parser().parse_args(argv)
    stop = _StopSignals()
    stop.install()
    try:
        if args.command == "run":
            code = _run(args, started_api)
        elif args.command == "catalog":
            code = _catalog(args)
        elif args.command == "serve":
            code = _serve(args)
        else:
            code = _query(args)
    except (Exception, SystemExit):
        if stop.signum is None:
            raise
        code = EXIT_RUN_FAILED
    return stop.exit_code(code)


if __name__ == "__main__":
    sys.exit(main())
