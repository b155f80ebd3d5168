"""One typed settings object, read once at the entry point.

Precedence, lowest first: the defaults below, a TOML file (`--config` or `NEWSMILL_CONFIG`),
environment variables `NEWSMILL_<NAME>`, command-line flags `--<name>`. Every setting has a
unique name, so the same name works in all four places (TOML may group names in tables,
e.g. `[extract]`, for readability; the table name is ignored).
"""

import dataclasses
import difflib
import inspect
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pydantic

from newsmill.tasks.errors import MissingExtraError, SettingsError
from newsmill.tasks.extras import require
from newsmill.tasks.lake.store import is_url, url_to_fs
from newsmill.tasks.mentions.entities import check_finder
from newsmill.tasks.setting import SettingInfo, setting, setting_info
from newsmill.tasks.shard import ShardSettings
from newsmill.tasks.web.fetch import FetchSettings

ENV_PREFIX = "NEWSMILL_"
DEFAULT_LAKE = "data/lake"


@dataclass(frozen=True)
class Settings:
    lake: str = setting(
        DEFAULT_LAKE,
        "Folder of the Parquet lake to write (created if missing), or an fsspec URL such as s3://bucket/prefix.",
        shapes_output=False,
    )
    catalog: str = setting(
        "",
        "DuckDB catalog file for BI tools that the run writes when it ends (created if missing). Empty: the run refreshes the default one beside the lake's folder only if `newsmill catalog` made it.",
        shapes_output=False,
    )
    shard_mb: float = setting(
        8.0,
        "Work unit size: small files are grouped to about this many MB, and large JSONL files cut into equal parts of at most about this many MB.",
        unit="MB",
    )
    shard_max_files: int = setting(500, "At most this many files in one work unit.", unit="files")
    workers: int = setting(
        1,
        "Processes that run the per-shard stages at once (1: in the flow's own process; 0: one per core).",
        unit="processes",
        zero="one per core",
        shapes_output=False,
    )
    dask_address: str = setting(
        "",
        "Run the shards on this running Dask cluster (tcp://host:8786) through prefect-dask; its workers need this project installed, the lake's path, and the same PREFECT_API_URL.",
        shapes_output=False,
    )
    ray_address: str = setting(
        "",
        "Run the shards on this running Ray cluster (host:6379, or ray://host:10001) through prefect-ray; its workers need this project installed and the lake's path, and get this run's PREFECT_API_URL.",
        shapes_output=False,
    )
    shard_retries: int = setting(
        2,
        "A shard that fails with a transient error (a lost worker, a timeout, a network or storage hiccup) is tried again this many times, with exponential backoff; a shard that still fails has its inputs become shard_failed rejects, and the run goes on. Any other error is a bug and fails the run.",
        zero="no retries",
        shapes_output=False,
    )
    shard_retry_delay_s: float = setting(
        5.0,
        "Delay before a shard's first retry; it doubles at each further retry (with jitter).",
        unit="s",
        shapes_output=False,
    )
    lease_wait_s: float = setting(
        0.0,
        "When another run holds the lake: 0 stops at once with exit status 2; otherwise wait up to this many seconds for it to finish.",
        unit="s",
        zero="stop at once",
        shapes_output=False,
    )
    lease_s: float = setting(
        60.0,
        "A run renews its hold on the lake every third of this; a lock not renewed for this long is taken over from any host (on this host, a lock whose process is gone is taken over at once).",
        unit="s",
        shapes_output=False,
    )
    resume: bool = setting(
        True,
        "A run on the same sources and settings as a run that died goes on from that run's staged shards (--no-resume discards them and starts over).",
        shapes_output=False,
    )
    fetch: FetchSettings = field(default_factory=FetchSettings)
    shard: ShardSettings = field(default_factory=ShardSettings)  # what every shard's stages use

    @property
    def shard_bytes(self) -> int:
        return int(self.shard_mb * 1024 * 1024)

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def shard_settings(self) -> ShardSettings:
        """What a worker needs; with several workers, HTML extraction pools share the cores."""
        extract = self.shard.extract
        if self.n_workers > 1 and not extract.extract_workers:
            cores = os.cpu_count() or 1
            extract = dataclasses.replace(extract, extract_workers=max(1, cores // self.n_workers))
        return dataclasses.replace(self.shard, extract=extract)

    def as_record(self) -> dict[str, Any]:
        """The settings as `runs.settings_json` records them: by stage, the shard's stages
        at the top level beside the run's own settings and `fetch`."""
        record = dataclasses.asdict(self)
        shard = record.pop("shard")
        return {**record, **shard}

    def as_flat_dict(self) -> dict[str, Any]:
        return {name: value for name, _, value in _leaves(self)}

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> "Settings":
        """Defaults overlaid with `values` by flat name, checked like any settings."""
        known = {name for name, _, _ in _leaves(cls())}
        unknown = set(values) - known
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings: Settings = _with_values(cls(), values)
        _validate(settings)
        return settings

    def output_settings(self) -> dict[str, Any]:
        """The settings that shape what a run writes (`SettingInfo.shapes_output`)."""
        return {k: v for k, v in self.as_flat_dict().items() if SETTINGS[k].shapes_output}


def _setting_fields(
    obj: Any, group: str = "run"
) -> Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """(group, field, value) of every leaf setting; a group is the stage whose settings
    hold it."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _setting_fields(value, f.name if group == "run" else f"{group}.{f.name}")
        else:
            yield group, f, value


# every leaf setting by its flat name: help, unit, what 0 means, whether it shapes output
SETTINGS: dict[str, SettingInfo] = {
    f.name: setting_info(f) for _, f, _ in _setting_fields(Settings())
}


def _leaves(obj: Any) -> Iterator[tuple[str, type, Any]]:
    """(name, type, value) of every leaf setting, nested stage settings flattened."""
    for _, f, value in _setting_fields(obj):
        yield f.name, type(value), value


def _coerce(name: str, kind: type, value: Any) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is bool and isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
    elif kind in (int, float, str) and isinstance(value, (str, int, float)):
        try:
            return kind(value)
        except ValueError:
            pass
    raise SettingsError(f"setting {name!r} must be {kind.__name__}, got {value!r}")


def _with_values(obj: Any, values: Mapping[str, Any]) -> Any:
    changes = {}
    for f in dataclasses.fields(obj):
        current = getattr(obj, f.name)
        if dataclasses.is_dataclass(current):
            changes[f.name] = _with_values(current, values)
        elif f.name in values:
            changes[f.name] = _coerce(f.name, type(current), values[f.name])
    return dataclasses.replace(obj, **changes)


def _flatten_toml(data: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten_toml(value))
        else:
            flat[key] = value
    return flat


def load_settings(
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    local_config: Path | None = None,
) -> Settings:
    """Defaults < TOML < NEWSMILL_* environment < explicit overrides (CLI flags). The TOML
    file is `config`, else NEWSMILL_CONFIG, else `local_config` (the CLI passes
    ./newsmill.toml) if it exists."""
    defaults = Settings()
    known = {name for name, _, _ in _leaves(defaults)}
    env = env or {}
    _refuse_unknown_variables(env, known)
    config = config or (Path(env[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in env else None)
    if config is None and local_config is not None and local_config.is_file():
        config = local_config
    values: dict[str, Any] = {}
    if config is not None:
        try:
            values.update(_flatten_toml(tomllib.loads(config.read_text(encoding="utf-8"))))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"cannot read config {config}: {error}") from error
        unknown = set(values) - known
        if unknown:
            raise SettingsError(f"unknown setting(s) in {config}: {', '.join(sorted(unknown))}")
    values.update(
        {
            name: env[f"{ENV_PREFIX}{name.upper()}"]
            for name in known
            if f"{ENV_PREFIX}{name.upper()}" in env
        }
    )
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = _with_values(defaults, values)
    _validate(settings)
    return settings


def _refuse_unknown_variables(env: Mapping[str, str], known: set[str]) -> None:
    """A misspelt NEWSMILL_* variable was ignored in silence; now it names the setting
    meant."""
    names = {f"{ENV_PREFIX}{name.upper()}" for name in known} | {f"{ENV_PREFIX}CONFIG"}
    for variable in sorted(v for v in env if v.startswith(ENV_PREFIX) and v not in names):
        closest = difflib.get_close_matches(variable, names, n=1)
        hint = f"; did you mean {closest[0]}?" if closest else " (docs/settings.md lists them)"
        raise SettingsError(f"unknown setting variable {variable}{hint}")


def _validate(settings: Settings) -> None:
    """Every number must be positive, but where 0 means one per core or off."""
    for name, value in settings.as_flat_dict().items():
        if isinstance(value, (str, bool)):
            continue
        info = SETTINGS[name]
        if value < 0 or (value == 0 and not info.zero):
            raise SettingsError(f"setting {name!r} must be positive, got {value!r}")
        if info.maximum is not None and value > info.maximum:
            raise SettingsError(f"setting {name!r} must be at most {info.maximum:g}, got {value!r}")
    if settings.dask_address and "://" not in settings.dask_address:
        raise SettingsError(
            f"dask_address must be a scheduler address like tcp://127.0.0.1:8786, got {settings.dask_address!r}"
        )
    check_finder(settings.shard.mentions.ner)  # a NerError is a SettingsError
    if not settings.lake.strip():
        raise SettingsError("lake must name a folder or a URL (it was empty)")
    if not settings.fetch.user_agent.strip():
        raise SettingsError("user_agent must name newsmill to the sites it fetches from")
    if settings.dask_address and settings.ray_address:
        raise SettingsError("give dask_address or ray_address, not both")
    try:
        if settings.dask_address:
            require("prefect_dask", "dask_address")
        if settings.ray_address:
            require("prefect_ray", "ray_address")
        if is_url(settings.lake):
            url_to_fs(settings.lake)
    except MissingExtraError as error:
        raise SettingsError(str(error)) from error
    near = settings.shard.near
    if near.num_perm % near.bands:
        raise SettingsError(
            f"num_perm ({near.num_perm}) must be a multiple of bands ({near.bands})"
        )


def _constraints(name: str, kind: type) -> dict[str, float]:
    """`_validate`'s bounds, for the flow's parameter schema."""
    if kind not in (int, float):
        return {}
    info = SETTINGS[name]
    bounds: dict[str, float] = {"ge": 0} if info.zero else {"gt": 0}
    if info.maximum is not None:
        bounds["le"] = info.maximum
    return bounds


def flow_signature() -> inspect.Signature:
    """The newsmill flow's parameters: `sources`, then every setting by its flat name,
    typed, with its default and bounds (Prefect builds the deployment schema from it)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("sources", keyword, annotation=list[str])]
    for name, kind, default in _leaves(Settings()):
        annotation = Annotated[kind, pydantic.Field(**_constraints(name, kind))]  # type: ignore[valid-type]
        parameters.append(inspect.Parameter(name, keyword, default=default, annotation=annotation))
    return inspect.Signature(parameters, return_annotation=Any)


def flow_parameter_docs() -> str:
    """An `Args:` section Prefect reads into the parameters' descriptions."""
    lines = [
        "Args:",
        "    sources: Files, folders (read recursively) or globs to ingest; http(s) URLs of "
        "articles; feed:URL, sitemap:URL and urls:FILE (one URL a line) to discover them.",
    ]
    lines += [f"    {name}: {info.help}" for name, info in SETTINGS.items()]
    return "\n".join(lines)


def settings_markdown() -> str:
    """`docs/settings.md`: every setting with its flag, variable, default and meaning."""
    lines = [
        "# newsmill settings",
        "",
        "Generated from the settings' fields by `python -m newsmill.flows.settings`; do not edit",
        "by hand. Precedence, lowest first: the default, a TOML file (`--config FILE` or",
        "`NEWSMILL_CONFIG`), the environment variable, the command-line flag. A deployment or a",
        "manual flow run takes the same names as parameters.",
        "",
        "Numbers must be positive, but where *0 means* says what 0 does. Settings that do not",
        "*shape output* change how a run goes, not what it writes: a run may resume another's",
        "staged shards whatever their values.",
        "",
    ]
    groups: dict[str, list[str]] = {}
    for group, f, default in _setting_fields(Settings()):
        info = SETTINGS[f.name]
        flag = f"`--{f.name.replace('_', '-')}`"
        if isinstance(default, bool):
            flag += f" / `--no-{f.name.replace('_', '-')}`"
        unit = f" {info.unit}" if info.unit else ""
        shown = repr(default) if isinstance(default, str) else default
        groups.setdefault(group, []).append(
            f"| `{f.name}` | {flag}<br>`{ENV_PREFIX}{f.name.upper()}` | `{shown}`{unit} "
            f"| {info.zero or '—'} | {'yes' if info.shapes_output else 'no'} | {info.help} |"
        )
    for group, rows in groups.items():
        lines += [
            f"## {group}",
            "",
            "| setting | flag / variable | default | 0 means | shapes output | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown(), end="")
