"""The run's progress on the console: a bar with the rate and the ETA when stderr is a
terminal (`newsmill run` asks for it), else one plain line per shard.

The line goes to the Prefect UI either way. While the bar is shown, Prefect's own console
lines print above it through the bar's console, so the two never garble each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prefect import get_run_logger
from prefect.logging.handlers import APILogHandler, PrefectConsoleHandler
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
)

from newsmill.tasks.lake.runs import RunSummary

ShowProgress = Callable[[RunSummary, int, int, float], None]

_bar_wanted = False  # set by the CLI when stderr is a terminal; deployments never show one


def want_bar(on: bool) -> None:
    global _bar_wanted
    _bar_wanted = on


@contextmanager
def shard_progress(shards: int) -> Iterator[ShowProgress]:
    """`show(summary, shards_done, shards, seconds)` after each shard, for as long as the
    shards run. A bar that cannot be drawn falls back to the lines: it never fails a run."""
    logger = get_run_logger()

    def line(summary: RunSummary, done: int, total: int, seconds: float) -> None:
        logger.info(summary.progress_line(done, total, seconds))

    if not _bar_wanted:
        yield line
        return
    handlers = _prefect_console_handlers()
    console = handlers[0].console if handlers else Console(stderr=True)
    bar = _progress_bar(console)
    task = bar.add_task("shards", total=shards, detail="")
    try:
        bar.start()
    except Exception as error:  # cosmetic: a run goes on without its bar
        logger.warning("progress bar off (%s: %s)", type(error).__name__, error)
        yield line
        return

    def show(summary: RunSummary, done: int, total: int, seconds: float) -> None:
        rate, eta = summary.rate_and_eta(done, total, seconds)
        inputs = summary.counts["inputs.seen"]
        bar.update(task, completed=done, detail=f"{inputs:,} inputs · {rate} · ETA {eta}")
        ui_logger().info(summary.progress_line(done, total, seconds))

    own_consoles = [handler.console for handler in handlers]
    for handler in handlers:  # Prefect's lines print above the bar, not through it
        handler.console = console
    try:
        yield show
    finally:
        bar.stop()
        for handler, own in zip(handlers, own_consoles, strict=True):
            handler.console = own


def _progress_bar(console: Console) -> Progress:
    """Styles named outright: Prefect's console theme holds none of rich's progress styles."""
    return Progress(
        BarColumn(bar_width=30, style="grey37", complete_style="cyan", finished_style="green"),
        TaskProgressColumn(style="bold"),
        MofNCompleteColumn(),
        TextColumn("shards"),
        TextColumn("{task.fields[detail]}"),
        console=console,
    )


def _prefect_console_handlers() -> list[PrefectConsoleHandler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    found: dict[int, PrefectConsoleHandler] = {}
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                found[id(handler)] = handler
    return list(found.values())


def ui_logger() -> logging.LoggerAdapter[logging.Logger]:
    """The current flow or task run's log for the Prefect UI only, not the console."""
    logger = logging.getLogger("newsmill.ui")
    if not logger.handlers:  # once per process: workers too
        logger.addHandler(APILogHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    run_logger = get_run_logger()
    extra = run_logger.extra if isinstance(run_logger, logging.LoggerAdapter) else {}
    return logging.LoggerAdapter(logger, extra)
