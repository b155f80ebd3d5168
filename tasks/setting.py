"""A setting is declared once, on its stage's settings dataclass, with everything the rest
of newsmill says about it: its help text, its unit, what 0 means when 0 is allowed, and
whether it shapes what a run writes. CLI flags, environment variables, TOML keys, the
flow's parameters and `docs/settings.md` are all made from these fields."""

import dataclasses
from dataclasses import dataclass
from typing import Any

METADATA_KEY = "newsmill"


@dataclass(frozen=True, slots=True)
class SettingInfo:
    help: str
    unit: str = ""  # "s", "MB", …: shown in the docs; the name says it too
    zero: str = ""  # what 0 means, where 0 is allowed ("one per core", "off"); else 0 is refused
    maximum: float | None = None  # numbers are > 0 (or >= 0 with `zero`) and at most this
    shapes_output: bool = True  # False: changes how a run goes, not what it writes


def setting(
    default: Any,
    help: str,
    *,
    unit: str = "",
    zero: str = "",
    maximum: float | None = None,
    shapes_output: bool = True,
) -> Any:
    """A settings dataclass field with its `SettingInfo`."""
    info = SettingInfo(help, unit, zero, maximum, shapes_output)
    return dataclasses.field(default=default, metadata={METADATA_KEY: info})


def setting_info(field: dataclasses.Field[Any]) -> SettingInfo:
    try:
        info: SettingInfo = field.metadata[METADATA_KEY]
    except KeyError:
        raise TypeError(f"setting {field.name!r} is declared without setting(...)") from None
    return info
