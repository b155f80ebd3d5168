from pathlib import Path

import pytest

from newsmill.flows.settings import SettingsError, load_settings


def test_precedence_is_defaults_toml_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "newsmill.toml"
    config.write_text(
        'lake = "from-toml"\nshard_mb = 2\n[read]\nmax_input_mb = 5\n[extract]\nextract_timeout_s = 3\n'
    )
    env = {"NEWSMILL_MAX_INPUT_MB": "7", "NEWSMILL_SHARD_MB": "4"}
    settings = load_settings(config, env, {"shard_mb": 6.0, "lake": None})
    assert settings.lake == "from-toml"
    assert settings.read.max_input_mb == 7.0
    assert settings.shard_mb == 6.0
    assert settings.extract.extract_timeout_s == 3.0
    assert settings.extract.extract_workers == 0


def test_config_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("extract_workers = 1\n")
    assert load_settings(None, {"NEWSMILL_CONFIG": str(config)}).extract.extract_workers == 1


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("nonsense_setting = 1\n", {}, "unknown setting"),
        ("", {"NEWSMILL_SHARD_MB": "lots"}, "must be float"),
        ("", {"NEWSMILL_MAX_INPUT_MB": "0"}, "must be positive"),
        ("lake = [", {}, "cannot read config"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, toml: str, env: dict, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=message):
        load_settings(config, env)
