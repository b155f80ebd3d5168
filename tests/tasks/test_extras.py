"""A run that needs an extra that is not installed says which, in one line."""

import sys

import pytest

from newsmill.flows.settings import Settings
from newsmill.tasks.errors import MissingExtraError, NerError, SettingsError
from newsmill.tasks.extras import EXTRAS, require
from newsmill.tasks.lake.store import url_to_fs
from newsmill.tasks.mentions.entities import check_finder


@pytest.fixture
def uninstalled(monkeypatch: pytest.MonkeyPatch):
    """Make a module unimportable, as if its extra were not installed."""

    def hide(module: str) -> None:
        monkeypatch.setitem(sys.modules, module, None)

    return hide


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_a_missing_extra_is_named_in_one_line(uninstalled, module: str) -> None:
    uninstalled(module)
    with pytest.raises(MissingExtraError) as raised:
        require(module, "this")
    message = str(raised.value)
    assert "\n" not in message
    assert f"pip install 'newsmill[{EXTRAS[module]}]'" in message


def test_an_installed_extra_is_imported() -> None:
    assert require("s3fs", "s3").__name__ == "s3fs"


@pytest.mark.parametrize(
    ("setting", "value", "module", "extra"),
    [
        ("dask_address", "tcp://127.0.0.1:8786", "prefect_dask", "dask"),
        ("ray_address", "127.0.0.1:6379", "prefect_ray", "ray"),
        ("lake", "s3://bucket/lake", "s3fs", "s3"),
    ],
)
def test_settings_that_need_an_extra_fail_before_the_run(
    uninstalled, setting: str, value: str, module: str, extra: str
) -> None:
    uninstalled(module)
    with pytest.raises(SettingsError, match=rf"pip install 'newsmill\[{extra}\]'"):
        Settings.from_flat({setting: value})


def test_s3_sources_without_the_extra(uninstalled) -> None:
    uninstalled("s3fs")
    with pytest.raises(MissingExtraError, match=r"newsmill\[s3\]"):
        url_to_fs("s3://bucket/inputs/a.jsonl")


def test_spacy_finder_without_the_extra(uninstalled) -> None:
    uninstalled("spacy")
    with pytest.raises(NerError, match=r"newsmill\[spacy\]"):
        check_finder("spacy:en_core_web_sm-not-cached")
