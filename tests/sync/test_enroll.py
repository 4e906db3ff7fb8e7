"""Enrollment: the token file is 0600, written atomically, and the token never reaches a log."""

import json
import logging
import os
import stat

import pytest
from click.testing import CliRunner

from hub.sync.cli import enroll_command
from hub.sync.client import EnrollmentError
from hub.sync.enroll import Credentials, enroll, read_credentials, write_credentials

from .sync_helpers import add_readings, make_config, raise_sos, wait_for


def test_enrollment_writes_a_0600_token_file(tmp_path, receiver):
    cfg = make_config(tmp_path)
    hub_id = enroll(cfg, receiver.url, receiver.create_code(), serial="PI-1")
    mode = stat.S_IMODE(os.stat(cfg.token_path).st_mode)
    assert mode == 0o600
    data = json.loads(cfg.token_path.read_text())
    assert data["hub_id"] == hub_id and data["url"] == receiver.url and data["token"]
    assert receiver.platform.hub_for(data["token"]) == hub_id
    # nothing left behind by the atomic write
    assert [p.name for p in cfg.token_path.parent.iterdir() if p.name.startswith(".")] == []


def test_token_file_is_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        write_credentials(tmp_path / "token", Credentials(token="s3cret", hub_id="h"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "token").st_mode) == 0o600


def test_a_plain_token_file_is_read_too(tmp_path):
    (tmp_path / "token").write_text("abc123\n")
    creds = read_credentials(tmp_path / "token")
    assert creds.token == "abc123" and creds.hub_id is None
    assert "abc123" not in repr(creds) and "abc123" not in json.dumps(creds.public())


def test_token_never_in_logs(tmp_path, receiver, caplog, workers):
    caplog.set_level(logging.DEBUG)  # even debug output of requests/urllib3
    cfg = make_config(tmp_path)
    enroll(cfg, receiver.url, receiver.create_code())
    token = read_credentials(cfg.token_path).token
    from hub.store import Store

    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    add_readings(st, 50)
    raise_sos(st)
    w = workers(cfg)
    wait_for(lambda: st.outbox_stats()["depth"] == 0, what="drain")
    receiver.revoke(read_credentials(cfg.token_path).hub_id)
    add_readings(st, 1)
    w.wake()
    wait_for(lambda: w.status()["state"] == "unauthorized", what="401")
    st.close()
    text = caplog.text + json.dumps(w.status())
    assert "enrolled as hub" in caplog.text
    assert token not in text


def test_wrong_code_says_what_to_do_and_writes_nothing(tmp_path, receiver):
    cfg = make_config(tmp_path)
    with pytest.raises(EnrollmentError, match="service centre"):
        enroll(cfg, receiver.url, "99999999")
    assert not cfg.token_path.exists()


def test_unreachable_platform(tmp_path, receiver):
    cfg = make_config(tmp_path)
    receiver.stop()
    with pytest.raises(EnrollmentError, match="cannot reach"):
        enroll(cfg, receiver.url, "1234")


def test_plain_http_to_another_machine_is_refused(tmp_path):
    with pytest.raises(EnrollmentError, match="https://"):
        enroll(make_config(tmp_path), "http://care.example", "1234")


def test_enroll_command(tmp_path, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\n[store]\nreserve_mb = 1\n')
    result = CliRunner().invoke(enroll_command, ["--config", str(cfg_file), "--url",
                                                 receiver.url, "--code", receiver.create_code()])
    assert result.exit_code == 0, result.output
    assert "Enrolled as hub" in result.output
    token = read_credentials(tmp_path / "state" / "token").token
    assert token not in result.output and token not in caplog.text
    bad = CliRunner().invoke(enroll_command, ["--config", str(cfg_file), "--url", receiver.url,
                                              "--code", "nope"])
    assert bad.exit_code == 1 and "refused the enrollment code" in bad.output
