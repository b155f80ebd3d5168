from pathlib import Path

import pytest

from newsmill.flows.cli import build_parser
from newsmill.flows.settings import (
    SETTINGS,
    Settings,
    flow_parameter_docs,
    flow_signature,
    load_settings,
    settings_markdown,
)
from newsmill.tasks.errors import SettingsError
from tests.conftest import ROOT


def test_precedence_is_defaults_toml_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "newsmill.toml"
    config.write_text(
        'lake = "from-toml"\nshard_mb = 2\n[read]\nmax_input_mb = 5\n[extract]\nextract_timeout_s = 3\n'
    )
    env = {"NEWSMILL_MAX_INPUT_MB": "7", "NEWSMILL_SHARD_MB": "4"}
    settings = load_settings(config, env, {"shard_mb": 6.0, "lake": None})
    assert settings.lake == "from-toml"
    assert settings.shard.read.max_input_mb == 7.0
    assert settings.shard_mb == 6.0
    assert settings.shard.extract.extract_timeout_s == 3.0
    assert settings.shard.extract.extract_workers == 0


def test_config_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("extract_workers = 1\n")
    assert load_settings(None, {"NEWSMILL_CONFIG": str(config)}).shard.extract.extract_workers == 1


def test_newsmill_toml_in_the_working_folder_is_found_and_yields_to_the_rest(
    tmp_path: Path,
) -> None:
    """The README's example is headed `# newsmill.toml`; that file was ignored."""
    local = tmp_path / "newsmill.toml"
    local.write_text("extract_workers = 1\nshard_mb = 3\n")
    assert load_settings(local_config=local).shard.extract.extract_workers == 1
    named = tmp_path / "c.toml"
    named.write_text("shard_mb = 5\n")
    assert load_settings(named, local_config=local).shard_mb == 5  # --config wins
    env = {"NEWSMILL_CONFIG": str(named)}
    assert load_settings(None, env, local_config=local).shard_mb == 5
    assert load_settings(local_config=tmp_path / "absent.toml").shard_mb == 8  # the default


def test_a_misspelt_variable_is_an_error_naming_the_setting_meant() -> None:
    with pytest.raises(
        SettingsError, match="NEWSMILL_NEAR_TRESHOLD; did you mean NEWSMILL_NEAR_THRESHOLD"
    ):
        load_settings(None, {"NEWSMILL_NEAR_TRESHOLD": "0.9"})
    with pytest.raises(SettingsError, match="unknown setting variable NEWSMILL_ZZZ"):
        load_settings(None, {"NEWSMILL_ZZZ": "1"})


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("nonsense_setting = 1\n", {}, "unknown setting"),
        ("", {"NEWSMILL_SHARD_MB": "lots"}, "must be float"),
        ("", {"NEWSMILL_MAX_INPUT_MB": "0"}, "must be positive"),
        ("lake = [", {}, "cannot read config"),
        ("", {"NEWSMILL_LAKE": ""}, "lake must name a folder"),  # wrote into the working folder
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, toml: str, env: dict, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=message):
        load_settings(config, env)


def test_docs_settings_md_is_generated_from_the_settings() -> None:
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_markdown(), "run `make docs` and commit docs/settings.md"


def test_every_setting_is_documented_everywhere_from_its_field() -> None:
    docs, usage = settings_markdown(), build_parser().parse_args(["run", "x"])
    flow_docs = flow_parameter_docs()
    names = set(Settings().as_flat_dict())
    assert names == set(SETTINGS) == set(vars(usage)) & names
    for name, info in SETTINGS.items():
        assert info.help and f"`NEWSMILL_{name.upper()}`" in docs
        assert f"    {name}: {info.help}" in flow_docs
    assert [p.name for p in flow_signature().parameters.values()] == ["sources", *SETTINGS]


def test_what_a_setting_declares_is_what_is_checked() -> None:
    zero_allowed = {name for name, info in SETTINGS.items() if info.zero}
    for name, value in Settings().as_flat_dict().items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if name in zero_allowed:
            assert load_settings(None, {}, {name: 0}).as_flat_dict()[name] == 0
        else:
            with pytest.raises(SettingsError, match="must be positive"):
                load_settings(None, {}, {name: 0})
    with pytest.raises(SettingsError, match="at most 1"):
        load_settings(None, {}, {"near_threshold": 1.5})
    bounds = {p.name: p.annotation for p in flow_signature().parameters.values()}
    assert "le=1.0" in repr(bounds["near_threshold"]) and "gt=0" in repr(bounds["num_perm"])
    assert "ge=0" in repr(bounds["workers"])


def test_only_settings_that_shape_output_identify_a_run() -> None:
    shaping = set(Settings().output_settings())
    assert shaping == {name for name, info in SETTINGS.items() if info.shapes_output}
    assert {"near_threshold", "min_article_words", "ner"} <= shaping
    assert not {"workers", "lake", "fetch_retries", "write_buffer_rows"} & shaping


def test_runs_record_settings_by_stage_as_before_the_nesting() -> None:
    # settings_json keeps its shape: analysts query it by path ($.near.near_threshold)
    record = load_settings(None, {}, {"near_threshold": 0.7, "workers": 2}).as_record()
    assert record["near"]["near_threshold"] == 0.7 and record["workers"] == 2
    assert {"fetch", "read", "extract", "fields", "boilerplate", "near", "mentions"} <= set(record)
    assert "shard" not in record and record["write_buffer_rows"] == 20_000
