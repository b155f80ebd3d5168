"""One typed settings object, read once at the entry point.

Precedence, lowest first: the defaults below, a TOML file (`--config` or `NEWSMILL_CONFIG`),
environment variables `NEWSMILL_<NAME>`, command-line flags `--<name>`. Every setting has a
unique name, so the same name works in all four places (TOML may group names in tables,
e.g. `[extract]`, for readability; the table name is ignored).
"""

import dataclasses
import inspect
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pydantic

from newsmill.tasks.dedup.near import NearDupSettings
from newsmill.tasks.extras import MissingExtraError, require
from newsmill.tasks.ingest.extract import ExtractSettings
from newsmill.tasks.ingest.read import ReadSettings
from newsmill.tasks.lake.store import is_url, url_to_fs
from newsmill.tasks.mentions.entities import NerError, check_finder
from newsmill.tasks.mentions.speakers import MentionSettings
from newsmill.tasks.shard import ShardSettings
from newsmill.tasks.text.boilerplate import BoilerplateSettings
from newsmill.tasks.text.fields import FieldSettings
from newsmill.tasks.web.fetch import FetchSettings

ENV_PREFIX = "NEWSMILL_"
DEFAULT_LAKE = "data/lake"


class SettingsError(ValueError):
    """A setting has an unknown name or a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    lake: str = DEFAULT_LAKE
    shard_mb: float = 8.0
    shard_max_files: int = 500
    workers: int = 1
    dask_address: str = ""
    ray_address: str = ""
    shard_retries: int = 2
    shard_retry_delay_s: float = 5.0
    lease_wait_s: float = 0.0
    resume: bool = True
    write_buffer_rows: int = 20_000
    fetch: FetchSettings = field(default_factory=FetchSettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    fields: FieldSettings = field(default_factory=FieldSettings)
    boilerplate: BoilerplateSettings = field(default_factory=BoilerplateSettings)
    near: NearDupSettings = field(default_factory=NearDupSettings)
    mentions: MentionSettings = field(default_factory=MentionSettings)

    @property
    def shard_bytes(self) -> int:
        return int(self.shard_mb * 1024 * 1024)

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def shard_settings(self) -> ShardSettings:
        """What a worker needs; with several workers, HTML extraction pools share the cores."""
        extract = self.extract
        if self.n_workers > 1 and not extract.extract_workers:
            cores = os.cpu_count() or 1
            extract = dataclasses.replace(extract, extract_workers=max(1, cores // self.n_workers))
        return ShardSettings(
            self.read,
            extract,
            self.fields,
            self.boilerplate,
            self.near,
            self.mentions,
            self.write_buffer_rows,
        )

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
        """The settings that shape what a run writes (see `OPERATIONAL`)."""
        return {k: v for k, v in self.as_flat_dict().items() if k not in OPERATIONAL}


HELP: dict[str, str] = {
    "lake": "Folder of the Parquet lake to write (created if missing), or an fsspec URL such as s3://bucket/prefix.",
    "shard_mb": "Work unit size: small files are grouped and large JSONL files split to about this many MB.",
    "shard_max_files": "At most this many files in one work unit.",
    "workers": "Processes that run the per-shard stages at once (1: in the flow's own process; 0: one per core).",
    "dask_address": "Run the shards on this running Dask cluster (tcp://host:8786) through prefect-dask; its workers need this project installed, the lake's path, and the same PREFECT_API_URL.",
    "shard_retries": "A shard that fails (an error outside the per-input checks, a lost worker) is tried again this many times, with exponential backoff; then its inputs become shard_failed rejects and the run goes on.",
    "shard_retry_delay_s": "Delay before a shard's first retry; it doubles at each further retry (with jitter).",
    "lease_wait_s": "When another run holds the lake: 0 stops at once with exit status 2; otherwise wait up to this many seconds for it to finish.",
    "resume": "A run on the same sources and settings as a run that died goes on from that run's staged shards (--no-resume discards them and starts over).",
    "ray_address": "Run the shards on this running Ray cluster (host:6379, or ray://host:10001) through prefect-ray; its workers need this project installed and the lake's path, and get this run's PREFECT_API_URL.",
    "write_buffer_rows": "Rows buffered in memory before they are written to the run's staging files.",
    "user_agent": "User-Agent sent with every request, and matched against robots.txt rules.",
    "fetch_concurrency": "Requests in flight at once over all hosts.",
    "host_concurrency": "Requests in flight at once to one host.",
    "host_delay_s": "Seconds between the starts of two requests to one host (a longer robots.txt Crawl-delay wins, up to 60 s).",
    "obey_robots": "Fetch only what each site's robots.txt allows our user agent (--no-obey-robots ignores it).",
    "connect_timeout_s": "Time limit to connect to a host.",
    "read_timeout_s": "Time limit between two reads of a response.",
    "total_timeout_s": "Time limit for a whole response.",
    "max_body_mb": "Responses larger than this are cut off there and rejected as fetch_too_large.",
    "max_redirects": "Redirects followed per URL (0: none); more is fetch_too_many_redirects.",
    "fetch_retries": "Retries of a URL after a transient failure (connection error, timeout, 429, 5xx), with exponential backoff and jitter.",
    "fetch_backoff_s": "Delay before a URL's first retry; it doubles at each further retry (a 429's Retry-After wins when longer).",
    "max_retry_after_s": "A 429 whose Retry-After asks for longer than this is not waited for: fetch_rate_limited, tried in a later run.",
    "allow_private_hosts": "Fetch from private, loopback and link-local addresses too (off by default: URLs from feeds could reach internal services).",
    "refresh": "Fetch again URLs the lake already has, asking with their ETag/Last-Modified; a 304 adds nothing.",
    "max_urls": "At most this many article URLs fetched per run; the rest are left for later runs (they are not in the lake yet).",
    "max_input_mb": "Inputs (files, decompressed files, JSONL lines) larger than this are rejected as read_too_large.",
    "extract_timeout_s": "Time limit per HTML page; a page over it is rejected as extract_timeout.",
    "extract_workers": "Processes for HTML extraction (0: one per core).",
    "min_article_words": "HTML whose extracted prose (lines of 6+ words) is shorter than this is rejected as extract_no_article.",
    "fields": "Extract fields (language); --no-fields skips them, dates and domains are still read.",
    "entities": "Find people, organisations and places, and quotes with their speakers, in English articles (needs --fields for the language); --no-entities skips them.",
    "ner": "Entity finder: rules (offline, built in) or spacy:<model>, a spaCy pipeline you installed (package name or path).",
    "boilerplate_min_articles": "A short paragraph seen in this many earlier articles of the same site is boilerplate and removed (0: off).",
    "boilerplate_max_words": "Only paragraphs of at most this many words are counted as possible boilerplate.",
    "near_dedup": "Find near-duplicate articles (MinHash + LSH); --no-near-dedup keeps exact dedup only.",
    "shingle_words": "Near dedup: words per shingle.",
    "num_perm": "Near dedup: MinHash permutations (signature length); a multiple of --bands.",
    "bands": "Near dedup: LSH bands; more bands find lower similarities and more candidates.",
    "near_threshold": "Near dedup: estimated Jaccard similarity at or above which two articles are copies.",
    "minhash_seed": "Near dedup: MinHash seed (changing it makes earlier signatures incomparable).",
    "worker_max_pages": "An extraction process is replaced after this many pages (bounds memory growth).",
}


def _leaves(obj: Any) -> Iterator[tuple[str, type, Any]]:
    """(name, type, value) of every leaf setting, nested stage settings flattened."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value)
        else:
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
) -> Settings:
    """Defaults < TOML < NEWSMILL_* environment < explicit overrides (CLI flags)."""
    defaults = Settings()
    known = {name for name, _, _ in _leaves(defaults)}
    env = env or {}
    config = config or (Path(env[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in env else None)
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


# where 0 means one per core, off, or no waiting
ZERO_ALLOWED = frozenset(
    {
        "workers",
        "extract_workers",
        "boilerplate_min_articles",
        "shard_retries",
        "lease_wait_s",
        "host_delay_s",
        "max_redirects",
        "fetch_retries",
        "fetch_backoff_s",
        "max_retry_after_s",
    }
)

# Settings that change how a run goes, not what it writes: a run may resume another's
# staged shards whatever their values.
OPERATIONAL = frozenset(
    {
        "lake",
        "workers",
        "dask_address",
        "ray_address",
        "shard_retries",
        "shard_retry_delay_s",
        "lease_wait_s",
        "resume",
        "write_buffer_rows",
        "extract_workers",
        # how politely and patiently pages are fetched, not which
        "user_agent",
        "fetch_concurrency",
        "host_concurrency",
        "host_delay_s",
        "connect_timeout_s",
        "read_timeout_s",
        "total_timeout_s",
        "fetch_retries",
        "fetch_backoff_s",
        "max_retry_after_s",
    }
)


def _validate(settings: Settings) -> None:
    """Every number must be positive, but where 0 means one per core or off."""
    for name, value in settings.as_flat_dict().items():
        if isinstance(value, (str, bool)):
            continue
        if value < 0 or (value == 0 and name not in ZERO_ALLOWED):
            raise SettingsError(f"setting {name!r} must be positive, got {value!r}")
    if settings.dask_address and "://" not in settings.dask_address:
        raise SettingsError(
            f"dask_address must be a scheduler address like tcp://127.0.0.1:8786, got {settings.dask_address!r}"
        )
    try:
        check_finder(settings.mentions.ner)
    except NerError as error:
        raise SettingsError(str(error)) from error
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
    near = settings.near
    if near.num_perm % near.bands:
        raise SettingsError(
            f"num_perm ({near.num_perm}) must be a multiple of bands ({near.bands})"
        )
    if not 0 < near.near_threshold <= 1:
        raise SettingsError(f"near_threshold must be in (0, 1], got {near.near_threshold}")


def _constraints(name: str, kind: type) -> dict[str, float]:
    """`_validate`'s bounds, for the flow's parameter schema."""
    if kind not in (int, float):
        return {}
    bounds: dict[str, float] = {"ge": 0} if name in ZERO_ALLOWED else {"gt": 0}
    if name == "near_threshold":
        bounds["le"] = 1
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
    lines += [f"    {name}: {text}" for name, text in HELP.items()]
    return "\n".join(lines)
