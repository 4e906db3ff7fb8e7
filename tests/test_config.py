"""Configuration: defaults, and errors that name the key and what is allowed."""

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.config import config_from_dict, load_config
from hub.errors import ConfigError


def test_defaults_work_without_a_file(monkeypatch):
    monkeypatch.setattr("hub.config.DEFAULT_CONFIG_PATH", __import__("pathlib").Path("/nonexist"))
    cfg = load_config()
    assert cfg.sos.countdown == 10
    assert cfg.sos.escalate_after == 60
    assert cfg.hub.state_dir == "/var/lib/hub"
    assert str(cfg.socket_path) == "/var/lib/hub/hub.sock"


def test_file_values_are_typed(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[sos]\ncountdown = 5\n[sync]\ntimeout = 3\n[hub]\nlanguage = "ko"\n')
    cfg = load_config(path)
    assert cfg.sos.countdown == 5
    assert cfg.sync.timeout == 3.0 and isinstance(cfg.sync.timeout, float)
    assert cfg.hub.language == "ko"


@pytest.mark.parametrize("doc, words", [
    ({"sos": {"countdwn": 5}}, ["unknown key [sos] countdwn", "countdown"]),
    ({"alarm": {}}, ["unknown section [alarm]", "[sos]"]),
    ({"sos": {"countdown": "ten"}}, ["[sos] countdown", "whole number"]),
    ({"sos": {"countdown": True}}, ["[sos] countdown", "whole number"]),
    ({"sos": {"countdown": 0}}, ["[sos] countdown", "allowed 3 to 60"]),
    ({"hub": {"language": "fr"}}, ["[hub] language", "'en', 'zh_CN', 'ko'"]),
    ({"hub": {"simulate": "yes"}}, ["[hub] simulate", "true or false"]),
    ({"sync": {"url": "http://example.org"}}, ["[sync] url", "https://"]),
    ({"sos": 3}, ["sos must be a [section] table"]),
])
def test_bad_values_name_the_key_and_the_allowed_values(doc, words):
    with pytest.raises(ConfigError) as err:
        config_from_dict(doc)
    for word in words:
        assert word in str(err.value)


def test_plain_http_is_allowed_only_to_this_machine():
    assert config_from_dict({"sync": {"url": "http://127.0.0.1:8787"}}).sync.url
    assert config_from_dict({"sync": {"url": "https://care.example"}}).sync.url


def test_broken_toml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sos\ncountdown = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_cli_reports_config_error_without_traceback(tmp_path):
    bad = tmp_path / "hub.toml"
    bad.write_text("[sos]\nescalate_after = 1\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "status"])
    assert result.exit_code != 0
    assert "configuration error: [sos] escalate_after = 1 is out of range" in result.output
    assert "Traceback" not in result.output
