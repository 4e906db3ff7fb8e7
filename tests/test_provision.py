"""Provisioning from hub-provision.toml: config validated before it replaces the old one,
PIN stored hashed, Wi-Fi saved for NetworkManager, enrollment against a real receiver,
and the file's secrets scrubbed."""

import configparser
import os
import stat
import tomllib

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.config import config_from_dict, load_config
from hub.provision import (ProvisionError, check_pin, hash_pin, provision,
                           read_provision_file, weak_pin_reason)
from hub.sync.enroll import read_credentials
from hub.sync.receiver import Receiver

TRICKY_NAME = 'Kim "Young-ja" & Lee | O\'Brien \\ 김영자'


@pytest.fixture
def receiver(tmp_path):
    rx = Receiver(tmp_path / "platform.db", seed=3).start()
    yield rx
    rx.close()


def hub_root(tmp_path, state_dir=None):
    """A root filesystem with an existing config, as an image or an installed hub has."""
    root = tmp_path / "root"
    (root / "etc/hub").mkdir(parents=True)
    (root / "usr/share").mkdir(parents=True)
    (root / "usr/share/zoneinfo").symlink_to("/usr/share/zoneinfo")  # tzdata, as on a Pi
    state = state_dir or tmp_path / "state"
    (root / "etc/hub/hub.toml").write_text(
        f'[hub]\nstate_dir = "{state}"\nlanguage = "en"\n\n[sos]\ncountdown = 10\n')
    return root


def write_file(tmp_path, text, name="hub-provision.toml"):
    path = tmp_path / "boot" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path




def sample(url="", code="", pin="482913", name=TRICKY_NAME):
    import tomli_w

    doc = {"home": {"elder_name": name, "language": "ko", "timezone": "Asia/Seoul",
                    "family_pin": pin},
           "wifi": {"ssid": "Home; net #1", "password": "pa ss\\word \"x\"", "country": "KR"}}
    if url:
        doc["platform"] = {"url": url, "enrollment_code": code}
    return tomli_w.dumps(doc)


def test_pin_hash_round_trip_and_no_plain_pin():
    stored = hash_pin("482913")
    assert "482913" not in stored
    cfg = config_from_dict({"kiosk": {"setup_pin_hash": stored}})
    assert check_pin(cfg, "482913") and not check_pin(cfg, "482914")
    assert not check_pin(cfg, "1234")  # the default no longer opens Setup
    assert hash_pin("482913") != stored  # salted
    assert check_pin(config_from_dict({}), "1234")  # an unprovisioned hub


@pytest.mark.parametrize("pin", ["1234", "0000", "2345", "98765", "12a4", "123"])
def test_weak_or_malformed_pins_are_refused(pin):
    assert weak_pin_reason(pin)


def test_provisioning_applies_everything_then_scrubs_secrets(tmp_path, receiver):
    root = hub_root(tmp_path)
    code = receiver.create_code()
    path = write_file(tmp_path, sample(receiver.url, code))
    result = provision(path, root=root, enroll=True)
    assert result.ok, result.steps

    config_file = root / "etc/hub/hub.toml"
    cfg = load_config(config_file)
    assert cfg.hub.elder_name == TRICKY_NAME and cfg.hub.language == "ko"
    assert cfg.sos.countdown == 10  # settings not in the file are kept
    assert cfg.sync.url == receiver.url
    assert check_pin(cfg, "482913") and "482913" not in config_file.read_text()
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    assert os.readlink(root / "etc/localtime") == "../usr/share/zoneinfo/Asia/Seoul"

    keyfile = root / "etc/NetworkManager/system-connections/hub-wifi.nmconnection"
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    nm = configparser.ConfigParser(interpolation=None)
    nm.read(keyfile)
    assert nm["wifi"]["ssid"] == "Home; net #1"
    assert nm["wifi-security"]["psk"] == 'pa ss\\\\word "x"'  # GKeyFile escapes the backslash

    creds = read_credentials(cfg.token_path)
    assert creds and receiver.platform.hub_for(creds.token) == creds.hub_id

    assert not path.exists()
    done = path.with_name("hub-provision.done.toml")
    left = done.read_text()
    for secret in ("482913", "pa ss", code):
        assert secret not in left
    assert tomllib.loads(left)["home"]["elder_name"] == TRICKY_NAME


def test_unreachable_platform_keeps_the_code_for_the_next_boot(tmp_path):
    root = hub_root(tmp_path)
    path = write_file(tmp_path, sample("http://127.0.0.1:9", "CODE-1"))  # nothing listens
    result = provision(path, root=root, enroll=True)
    assert not result.ok and result.pending
    left = tomllib.loads(path.read_text())
    assert left["platform"]["enrollment_code"] == "CODE-1"
    assert "family_pin" not in left["home"] and "password" not in left["wifi"]
    assert check_pin(load_config(root / "etc/hub/hub.toml"), "482913")


def test_a_bad_file_changes_nothing(tmp_path):
    root = hub_root(tmp_path)
    before = (root / "etc/hub/hub.toml").read_bytes()
    bad = {
        "language": sample().replace('"ko"', '"fr"'),
        "pin": sample(pin="1234"),
        "toml": 'elder_name = "unterminated\n',
        "key": sample() + "\n[home2]\nx = 1\n",
        "tz": sample().replace("Asia/Seoul", "Mars/Olympus"),
    }
    for what, text in bad.items():
        path = write_file(tmp_path, text)
        with pytest.raises(ProvisionError) as err:
            provision(path, root=root, enroll=False)
        assert "\n" not in str(err.value), what
        assert (root / "etc/hub/hub.toml").read_bytes() == before, what
        assert path.read_text() == text, what  # nothing scrubbed from a refused file


def test_a_pin_is_required_once_per_home(tmp_path):
    root = hub_root(tmp_path)
    with pytest.raises(ProvisionError, match="family PIN is needed"):
        provision(write_file(tmp_path, '[home]\nlanguage = "en"\n'), root=root, enroll=False)
    provision(write_file(tmp_path, sample()), root=root, enroll=False)
    # Later files may leave the PIN out: the stored hash stays.
    provision(write_file(tmp_path, '[home]\nlanguage = "zh_CN"\n'), root=root, enroll=False)
    cfg = load_config(root / "etc/hub/hub.toml")
    assert cfg.hub.language == "zh_CN" and check_pin(cfg, "482913")


def test_a_broken_old_config_is_replaced_by_a_valid_one(tmp_path):
    root = hub_root(tmp_path)
    (root / "etc/hub/hub.toml").write_text('[hub]\nelder_name = "x" & "y"\n')  # the old bug
    provision(write_file(tmp_path, sample()), root=root, enroll=False)
    assert load_config(root / "etc/hub/hub.toml").hub.elder_name == TRICKY_NAME


def test_hub_provision_command(tmp_path, receiver):
    root = hub_root(tmp_path)
    config = root / "etc/hub/hub.toml"
    path = write_file(tmp_path, sample(receiver.url, receiver.create_code()))
    # --root keeps the test off this machine's own /etc (time zone, Wi-Fi)
    result = CliRunner().invoke(cli, ["--config", str(config), "provision", "--root", str(root),
                                      "--enroll", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK    enrollment" in result.output and "482913" not in result.output
    bad = write_file(tmp_path, "[home]\nfamily_pin = 1234\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "provision", "--root", str(root),
                                      str(bad)])
    assert result.exit_code == 1
    assert "[home] family_pin must be a text" in result.output


def test_first_boot_switches_on_the_read_only_root_when_done(tmp_path):
    root = hub_root(tmp_path)
    path = write_file(tmp_path, sample("https://care.example", "CODE-2"))
    cmdline = path.with_name("cmdline.txt")
    cmdline.write_text("console=tty1 root=LABEL=rootfs overlayroot=disabled rootwait\n")
    provision(path, root=root, enroll=False, first_boot=True)  # enrollment pending
    assert "overlayroot=disabled" in cmdline.read_text()
    path = write_file(tmp_path, '[home]\nlanguage = "en"\n')
    provision(path, root=root, enroll=False, first_boot=True)
    assert cmdline.read_text().split() == ["console=tty1", "root=LABEL=rootfs", "rootwait"]


def test_read_provision_file_names_unknown_keys(tmp_path):
    with pytest.raises(ProvisionError, match=r"unknown key \[wifi\] psk"):
        read_provision_file(write_file(tmp_path, '[wifi]\nssid = "a"\npsk = "b"\n'))
