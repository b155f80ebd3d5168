"""Deployments of the newsmill flow, read from a TOML file, for `newsmill serve`.

    [settings]                      # settings for every deployment (any `newsmill run` setting)
    lake = "/srv/news/lake"

    [[deployment]]
    name = "wires-every-30-min"     # run it by hand: prefect deployment run 'newsmill/<name>'
    sources = ["/srv/incoming/wires/*.jsonl.gz"]
    cron = "*/30 * * * *"           # or interval_s = 1800; neither: manual runs only
    timezone = "Europe/Berlin"      # for cron; default UTC
    [deployment.settings]           # this deployment's own settings, over the shared ones
    near_threshold = 0.6

Each deployment's parameters are the flow's: `sources` and every setting by its flat name, so
a manual run can change one (`--param near_threshold=0.7`) and keep the deployment's others.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from newsmill.flows.settings import Settings
from newsmill.tasks.errors import SettingsError

# a module path: workers import the flow from their installed newsmill
ENTRYPOINT = "newsmill.flows.pipeline.newsmill_flow"
DEPLOYMENT_KEYS = frozenset(
    {"name", "sources", "cron", "interval_s", "timezone", "description", "settings"}
)


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    name: str
    sources: list[str]
    schedule: Any  # a Prefect CronSchedule or IntervalSchedule, None for manual runs only
    description: str
    settings: dict[str, Any]  # flat names; the values that differ from the defaults

    @property
    def parameters(self) -> dict[str, Any]:
        return {"sources": self.sources, **self.settings}

    @property
    def schedule_text(self) -> str:
        if self.schedule is None:
            return "manual runs only"
        if hasattr(self.schedule, "cron"):
            return f"cron {self.schedule.cron!r} ({self.schedule.timezone or 'UTC'})"
        return f"every {self.schedule.interval.total_seconds():g} s"


def load_deployments(path: Path) -> list[DeploymentSpec]:
    """The deployments in a TOML file, each checked as `newsmill run` checks its settings."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read deployments file {path}: {error}") from error
    unknown = set(data) - {"settings", "deployment"}
    if unknown:
        raise SettingsError(f"{path}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    entries = data.get("deployment", [])
    if not isinstance(entries, list) or not entries:
        raise SettingsError(f"{path}: no [[deployment]] tables")
    shared = _table(data.get("settings", {}), f"{path}: [settings]")
    specs = [_spec(entry, shared, f"{path}: deployment {i + 1}") for i, entry in enumerate(entries)]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise SettingsError(f"{path}: deployment names must be unique, got {names}")
    return specs


def unmatched_sources(specs: list[DeploymentSpec]) -> list[str]:
    """`<deployment>: <source>` for each file source that matches nothing from here (a
    scheduled run of it would find nothing to do, every time)."""
    from newsmill.tasks.ingest.sources import discover_sources
    from newsmill.tasks.web.discover import split_sources

    return [
        f"{spec.name}: {source}"
        for spec in specs
        for source in discover_sources(split_sources(spec.sources)[0]).unmatched
    ]


def _spec(entry: Any, shared: Mapping[str, Any], where: str) -> DeploymentSpec:
    entry = _table(entry, where)
    unknown = set(entry) - DEPLOYMENT_KEYS
    if unknown:
        raise SettingsError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SettingsError(f"{where}: needs a name")
    where = f"{where} ({name})"
    sources = entry.get("sources")
    if not (isinstance(sources, list) and sources and all(isinstance(s, str) for s in sources)):
        raise SettingsError(f"{where}: sources must be a non-empty list of paths or globs")
    cron, interval = entry.get("cron"), entry.get("interval_s")
    if cron is not None and interval is not None:
        raise SettingsError(f"{where}: give cron or interval_s, not both")
    if interval is not None and (not isinstance(interval, (int, float)) or interval <= 0):
        raise SettingsError(f"{where}: interval_s must be a positive number of seconds")
    schedule = _schedule(cron, interval, entry.get("timezone"), where)
    own = _table(entry.get("settings", {}), f"{where}: settings")
    try:
        settings = Settings.from_flat({**shared, **own})
    except SettingsError as error:
        raise SettingsError(f"{where}: {error}") from error
    defaults = Settings().as_flat_dict()
    return DeploymentSpec(
        name=name,
        sources=list(sources),
        schedule=schedule,
        description=entry.get("description", ""),
        settings={k: v for k, v in settings.as_flat_dict().items() if v != defaults[k]},
    )


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be a table")
    return value


def _schedule(cron: Any, interval: Any, timezone: Any, where: str) -> Any:
    """Prefect's own schedule objects, so the file is checked as the server would."""
    import pydantic
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    try:
        if cron is not None:
            return CronSchedule(cron=cron, timezone=timezone)
        if timezone is not None:
            raise SettingsError(f"{where}: timezone goes with a cron schedule")
        if interval is not None:
            return IntervalSchedule(interval=timedelta(seconds=interval))
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        raise SettingsError(f"{where}: {problem['loc'][0]}: {problem['msg']}") from None
    return None


def to_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """Prefect runner deployments of the newsmill flow, parameters checked by the server
    (`enforce_parameter_schema`): a bad manual parameter is refused before the run exists."""
    from prefect.types.entrypoint import EntrypointType

    from newsmill.flows.pipeline import newsmill_flow

    return [
        newsmill_flow.to_deployment(
            name=spec.name,
            schedule=spec.schedule,
            parameters=spec.parameters,
            description=spec.description or f"newsmill: {', '.join(spec.sources)}",
            tags=["newsmill"],
            enforce_parameter_schema=True,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for spec in specs
    ]


def deploy_to_pool(specs: list[DeploymentSpec], work_pool: str, project: Path) -> list[str]:
    """Register the deployments on a work pool, for a team's `prefect worker`s to run; the
    workers import the flow from their installed newsmill and run in `project` (a folder
    they all reach). Returns the deployments' ids."""
    from prefect import Flow, flow

    # from_source is sync here (no running event loop); its annotation admits both
    newsmill = cast(Flow[..., Any], flow.from_source(source=str(project), entrypoint=ENTRYPOINT))
    return [
        str(
            newsmill.deploy(
                name=spec.name,
                work_pool_name=work_pool,
                schedule=spec.schedule,
                parameters=spec.parameters,
                description=spec.description or f"newsmill: {', '.join(spec.sources)}",
                tags=["newsmill"],
                enforce_parameter_schema=True,
                build=False,
                push=False,
                print_next_steps=False,
            )
        )
        for spec in specs
    ]
