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


@pytest.mark.parametrize("text, words", [
    ("[sync]\ntimeout = nan\n", ["[sync] timeout = nan", "finite number from 1.0 to 120.0"]),
    ("[sync]\nsos_retry = inf\n", ["[sync] sos_retry = inf", "finite"]),
    ("[thresholds]\nspo2_low = -nan\n", ["[thresholds] spo2_low", "finite"]),
    ("[gpio]\nhold_cancel_s = -inf\n", ["[gpio] hold_cancel_s", "finite"]),
    ('[sync]\nca_bundle = "/nonexistent/ca.pem"\n', ["[sync] ca_bundle", "no such file"]),
    ('[hub]\nstate_dir = ""\n', ["[hub] state_dir must not be empty"]),
    ('[hub]\nstate_dir = "var/hub"\n', ["[hub] state_dir", "absolute path"]),
    ('[hub]\nsocket_path = "hub.sock"\n', ["[hub] socket_path", "absolute path"]),
    ('[sync]\ntoken_file = "token"\n', ["[sync] token_file", "absolute path"]),
])
def test_unusable_values_are_one_line_errors_naming_the_key(tmp_path, text, words):
    path = tmp_path / "hub.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_every_float_key_refuses_nan(tmp_path):
    import dataclasses

    from hub.config import _SECTIONS

    floats = [(name, f.name) for name, cls in _SECTIONS.items()
              for f in dataclasses.fields(cls) if f.type is float]
    assert len(floats) > 10
    for section, key in floats:
        with pytest.raises(ConfigError, match=rf"\[{section}\] {key} = nan"):
            config_from_dict({section: {key: float("nan")}})


def test_an_existing_ca_bundle_is_accepted(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert config_from_dict({"sync": {"ca_bundle": str(bundle)}}).sync.ca_bundle == str(bundle)


@pytest.mark.parametrize("make, words", [
    (lambda p: (p.write_bytes(b'[hub]\nelder_name = "\xff\xfe"\n'), p)[1], ["not UTF-8", "hub.toml"]),
    (lambda p: p.parent, ["cannot be read", "Is a directory"]),
    (lambda p: __import__("pathlib").Path("/proc/nope"), ["/proc/nope does not exist"]),
])
def test_unreadable_config_files_are_one_line_errors_on_the_cli(tmp_path, make, words):
    path = make(tmp_path / "hub.toml")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)
    result = CliRunner().invoke(cli, ["--config", str(path), "version"]
                                if path.is_dir() else ["--config", str(path), "status"])
    if not path.is_dir():  # click itself refuses a directory before the loader runs
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert words[0] in result.output
