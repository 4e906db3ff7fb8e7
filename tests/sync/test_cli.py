"""``hub enroll`` / ``hub platform-dev`` / ``hub export``: help text, and the receiver's commands."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from hub.sync.cli import commands, platform_dev

from .sync_helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _walk(command, path=()):
    yield path + (command.name,), command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub, path + (command.name,))


@pytest.mark.parametrize("path, command", [p for c in commands for p in _walk(c)],
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_and_option_has_help(path, command):
    assert command.help and command.help.strip(), f"{' '.join(path)} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_commands_register_into_a_group():
    group = click.Group("hub")
    for command in commands:
        group.add_command(command)
    result = CliRunner().invoke(group, ["--help"])
    for name in ("enroll", "platform-dev", "export"):
        assert name in result.output


def run(args, receiver):
    result = CliRunner().invoke(platform_dev, [*args[:1], "--url", receiver.url, *args[1:]])
    return result


def test_ack_message_faults_and_listing_through_the_cli(receiver):
    code = run(["code", "424242"], receiver)
    assert code.exit_code == 0 and code.output.strip() == "424242"
    from hub.sync.client import PlatformClient

    answer = PlatformClient(receiver.url).enroll("CLI-1", "424242")
    client = PlatformClient(receiver.url, answer["token"])
    sos_id = str(uuid.uuid4())
    client.send_events([{"id": str(uuid.uuid4()), "type": "sos_raised", "sos_id": sos_id,
                         "occurred_at": "2026-11-25T08:00:00.000Z", "clock_synced": True,
                         "source": "button", "data": {}}])
    listing = run(["events"], receiver)
    assert listing.exit_code == 0 and "sos_raised" in listing.output and sos_id in listing.output
    assert "NOT acknowledged" in run(["alarms"], receiver).output
    ack = run(["ack", sos_id, "--responder", "Li Wei, service centre", "--eta", "10 minutes"],
              receiver)
    assert ack.exit_code == 0, ack.output
    assert "acknowledged by Li Wei" in run(["alarms"], receiver).output
    [msg] = client.fetch_inbox(None)["messages"]
    assert msg["kind"] == "sos_ack" and msg["data"]["responder"] == "Li Wei, service centre"
    assert run(["message", "--kind", "reminder", "--text", "Pills at 9"], receiver).exit_code == 0
    assert run(["ack", str(uuid.uuid4()), "--responder", "X"], receiver).exit_code == 1
    faults = run(["faults", "--error-rate", "0.5", "--offline"], receiver)
    assert "error_rate 0.5" in faults.output and "offline True" in faults.output
    assert receiver.faults.offline is True
    run(["faults", "--online"], receiver)
    faults = run(["faults", "--black-hole", "--refuse-sos", "422"], receiver)
    assert "black_hole True" in faults.output and "refuse_sos 422" in faults.output
    assert receiver.faults.refuse_sos == "422"
    run(["faults", "--no-black-hole", "--refuse-sos", ""], receiver)
    assert (receiver.faults.black_hole, receiver.faults.refuse_sos) == (False, "")
    assert "CLI-1" in run(["hubs"], receiver).output
    assert run(["revoke", answer["hub_id"]], receiver).exit_code == 0
    assert "REVOKED" in run(["hubs"], receiver).output


def test_no_receiver_running_says_how_to_start_one():
    result = CliRunner().invoke(platform_dev, ["--port", "9", "events"])
    assert result.exit_code == 1 and "hub platform-dev --port" in result.output


def test_platform_dev_serves_with_a_code_and_a_page(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.sync.receiver", "--port", "0", "--db",
         str(tmp_path / "p.db"), "--code", "13572468"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = proc.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", first).group(1))
        url = f"http://127.0.0.1:{port}"
        s = requests.Session()
        s.trust_env = False
        r = s.post(url + "/v1/enroll", json={"serial": "S", "code": "13572468"}, timeout=5)
        assert r.status_code == 201 and r.json()["hub_id"]
        page = s.get(url + "/", timeout=5)
        assert page.status_code == 200 and "Reference care platform" in page.text
        result = CliRunner().invoke(platform_dev, ["--port", str(port), "hubs"])
        assert "serial S" in result.output
    finally:
        proc.terminate()
        proc.wait(5)


def test_html_ack_form(receiver):
    from hub.sync.client import PlatformClient

    answer = PlatformClient(receiver.url).enroll("F", receiver.create_code())
    sos_id = str(uuid.uuid4())
    PlatformClient(receiver.url, answer["token"]).send_events([
        {"id": str(uuid.uuid4()), "type": "sos_raised", "sos_id": sos_id,
         "occurred_at": "2026-11-25T08:00:00.000Z", "data": {}}])
    s = requests.Session()
    s.trust_env = False
    assert f"/dev/sos/{sos_id}/ack" in s.get(receiver.url + "/", timeout=5).text
    r = s.post(receiver.url + f"/dev/sos/{sos_id}/ack", data={"responder": "Volunteer Kim"},
               timeout=5)
    assert r.status_code == 200 and "acknowledged by Volunteer Kim" in r.text
    wait_for(lambda: receiver.platform.open_sos()[0]["responder"] == "Volunteer Kim")


def test_commands_take_the_main_groups_config(tmp_path, receiver):
    from hub.cli import cli

    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text("[store]\nreserve_mb = 1\n")
    state = tmp_path / "elsewhere"
    result = CliRunner().invoke(cli, ["--config", str(cfg_file), "--state-dir", str(state),
                                      "enroll", "--url", receiver.url, "--code",
                                      receiver.create_code()])
    assert result.exit_code == 0, result.output
    assert (state / "token").exists()
