"""The core daemon and its local API, through a real Unix socket to a real subprocess."""

import json
import os
import socket
import stat
import time

import pytest
from click.testing import CliRunner

from hub.api import ApiClient
from hub.cli import cli
from hub.errors import ApiError
from hub.store import Store

CHECKIN_ID = "5b1d3c1e-8f43-4a43-9d0a-3f1d2e9c7a11"
PRESS_ID = "0c0ffee0-1234-4abc-8def-0123456789ab"


@pytest.fixture
def sim_core(core_factory):
    """A core with simulated GPIO: `sim.button` is the real button path (no countdown here)."""
    return core_factory(hub={"simulate": True}).start()


def raise_alarm(c: ApiClient) -> str:
    """Press the simulated GPIO button and wait until the alarm is raised; its id.

    No socket client may press as the button itself (source "button" is the core's own).
    """
    c.request("sim.button", action="press")
    end = time.monotonic() + 10
    while time.monotonic() < end:
        state = c.request("sos.state")
        if state["state"] in ("raised", "delivered", "acknowledged"):
            return state["alarm_id"]
        time.sleep(0.05)
    raise AssertionError(f"the simulated button did not raise an alarm: {state}")


def raw_exchange(path, payload: bytes) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(payload)
        return json.loads(s.makefile("rb").readline())


def test_hello_and_socket_permissions(core):
    with core.client() as c:
        hello = c.request("hello")
    assert hello["sos"]["state"] == "idle" and hello["version"]
    mode = stat.S_IMODE(os.stat(core.socket).st_mode)
    assert mode == 0o660


def test_touch_press_pushes_countdown_then_raised(core):
    with core.client(subscribe=True) as c:
        c.wait_push("sos", lambda d: d["state"] == "idle")
        result = c.request("sos.press", source="touch")
        assert result["state"] == "countdown" and result["seconds_left"] == 3
        c.wait_push("say", lambda d: "Calling for help in 3 seconds" in d["text"])
        raised = c.wait_push("sos", lambda d: d["state"] == "raised", timeout=8)
        assert raised["alarm_id"] == result["alarm_id"]
        status = c.request("status")
        # The countdown and the raised alarm both wait in the urgent lane (no platform here).
        assert status["outbox"]["urgent"] == 2 and status["sos"]["state"] == "raised"


def test_cancel_over_the_socket(core):
    with core.client(subscribe=True) as c:
        c.request("sos.press", source="voice")
        assert c.request("sos.cancel", source="voice")["cancelled"] is True
        c.wait_push("sos", lambda d: d["state"] == "idle" and d["last"])
        time.sleep(3.5)
        assert c.request("sos.state")["state"] == "idle"


def test_bad_requests_get_clear_errors_and_the_connection_survives(core):
    assert raw_exchange(core.socket, b"not json\n")["code"] == "bad_request"
    assert raw_exchange(core.socket, b'{"id":1,"cmd":"launch"}\n')["code"] == "unknown_command"
    reply = raw_exchange(core.socket, b'{"id":2,"cmd":"sos.press","args":{"source":"toaster"}}\n')
    assert reply["code"] == "bad_request" and "toaster" in reply["error"]
    reply = raw_exchange(core.socket, b'{"id":3,"cmd":"sos.press","args":{"colour":1}}\n')
    assert reply["code"] == "bad_request"
    reply = raw_exchange(core.socket, b'{"id":4,"cmd":"sos.press","args":{"id":"press-1"}}\n')
    assert reply["code"] == "bad_request" and "not a UUID" in reply["error"]
    with core.client() as c:
        with pytest.raises(ApiError, match="unknown setting"):
            c.request("settings.set", key="shell", value="rm")
        assert c.request("ping") == {}


def test_checkin_reading_settings_roundtrip(core):
    with core.client(subscribe=True) as c:
        ev = c.request("checkin", id=CHECKIN_ID)
        assert ev["kind"] == "checkin" and ev["id"] == CHECKIN_ID
        assert c.request("checkin", id=CHECKIN_ID)["duplicate"] is True
        reading = {"kind": "body_temperature", "values": {"temperature": 36.7},
                   "units": {"temperature": "Cel"}}
        stored = c.request("reading.add", reading=reading)
        pushed = c.wait_push("reading", lambda d: d["id"] == stored["id"])
        assert pushed["values"] == {"temperature": 36.7}
        assert c.request("readings.latest")["body_temperature"]["id"] == stored["id"]
        c.request("settings.set", key="language", value="ko")
        c.wait_push("settings", lambda d: d == {"language": "ko"})
        assert c.request("settings.get")["language"] == "ko"
        c.request("sos.press")
        c.wait_push("say", lambda d: d["text"] == "지금 도움을 요청하고 있습니다.", timeout=8)


def test_sigterm_shuts_down_cleanly_and_keeps_everything(core):
    with core.client() as c:
        c.request("sos.press", id=PRESS_ID)
    assert core.terminate() == 0
    assert not core.socket.exists()
    store = Store(core.state_dir / "hub.db")
    try:
        assert store.get_event(PRESS_ID)["kind"] == "sos_countdown"
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def test_kill_during_countdown_then_restart_raises_once(core):
    with core.client() as c:
        alarm = c.request("sos.press", source="touch")["alarm_id"]
    core.kill()
    time.sleep(0.2)
    core.start()
    with core.client(subscribe=True) as c:
        c.wait_push("sos", lambda d: d["state"] == "raised", timeout=8)
        assert c.request("sos.state")["alarm_id"] == alarm
    core.kill()
    core.start()
    with core.client() as c:
        assert c.request("sos.state")["state"] == "raised"
    store = Store(core.state_dir / "hub.db")
    try:
        assert [e["kind"] for e in store.events(sos_id=alarm)] == ["sos_countdown", "sos_raised"]
    finally:
        store.close()


def test_second_core_on_the_same_socket_refuses_to_start(core, core_factory):
    second = core_factory()
    second.start()  # returns at once: the socket answers (it is the first core's)
    assert second.proc.wait(15) == 1
    assert "another hub core is already serving" in second.log()
    with core.client() as c:
        assert c.request("ping") == {}


def test_status_cli_with_and_without_the_core(sim_core):
    core = sim_core
    runner = CliRunner()
    args = ["--config", str(core.config_path), "status"]
    with core.client() as c:
        raise_alarm(c)
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "SOS:        RAISED" in result.output and "running (pid" in result.output
    data = json.loads(runner.invoke(cli, args + ["--json"]).output)
    assert data["outbox"]["depth"] == 1 and data["sos"]["state"] == "raised"
    assert "token" not in json.dumps(data).lower().replace("token_", "")
    core.terminate()
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert "NOT RUNNING" in result.output and "RAISED" in result.output


def test_status_without_any_database_says_what_to_do(tmp_path):
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "none"), "status"])
    assert result.exit_code == 1
    assert "core is not running" in result.output


@pytest.mark.slow
def test_undelivered_alarm_escalates_with_speech_and_status_words(core_factory):
    core = core_factory(sos={"escalate_after": 10, "escalate_repeat": 5},
                        hub={"simulate": True}).start()
    with core.client(subscribe=True) as c:
        raise_alarm(c)
        snap = c.wait_push("sos", lambda d: d.get("escalated"), timeout=15)
        assert snap["state"] == "raised"
        c.wait_push("say", lambda d: "has not been received yet" in d["text"], timeout=5)
        c.wait_push("say", lambda d: "has not been received yet" in d["text"], timeout=8)
    out = CliRunner().invoke(cli, ["--config", str(core.config_path), "status"]).output
    assert "not yet delivered, still trying" in out


def test_enroll_through_the_core_then_an_sos_is_delivered(sim_core, tmp_path):
    core = sim_core
    from hub.sync.receiver import Receiver

    receiver = Receiver(str(tmp_path / "platform.db")).start()
    try:
        code = receiver.create_code()
        with core.client(subscribe=True) as c:
            with pytest.raises(ApiError, match="(?i)code"):
                c.request("sync.enroll", url=receiver.url, code="wrong-code")
            hub_id = c.request("sync.enroll", url=receiver.url, code=code)["hub_id"]
            assert hub_id
            token = core.state_dir / "token"
            assert stat.S_IMODE(os.stat(token).st_mode) == 0o600
            assert "token" not in json.dumps(c.request("status")).replace('"token_', "")
            alarm = raise_alarm(c)
            c.wait_push("sos", lambda d: d["state"] == "delivered", timeout=15)
        assert alarm in receiver.event_ids()
    finally:
        receiver.close()


def test_status_says_so_when_the_platform_refused_the_alarm(sim_core):
    core = sim_core
    with core.client() as c:
        alarm = raise_alarm(c)
    store = Store(core.state_dir / "hub.db")
    try:
        store.mark_dead(alarm, "rejected: unknown event type")  # what sync does on a 422
    finally:
        store.close()
    out = CliRunner().invoke(cli, ["--config", str(core.config_path), "status"]).output
    assert "REFUSED by the platform (rejected: unknown event type)" in out
    assert "phone the service centre" in out
