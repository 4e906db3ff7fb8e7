"""`hub demo` end to end: receiver + core in simulation; a simulated GPIO press reaches the
platform, the platform's acknowledgement comes back, and Ctrl-C stops every process."""

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from hub.api import ApiClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          timeout=timeout)


def wait_until(check, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_demo_press_reaches_platform_and_ack_comes_back(tmp_path):
    port = free_port()
    state = tmp_path / "demo"
    demo = subprocess.Popen([sys.executable, "-m", "hub", "--state-dir", str(state), "demo",
                             "--no-kiosk", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        sock = state / "hub.sock"
        wait_until(lambda: sock.exists(), what="the demo core")
        cfg = str(state / "hub.toml")
        out = hub("--config", cfg, "sim", "button", "action=press")
        assert out.returncode == 0, out.stderr

        def platform_alarms():
            out = hub("platform-dev", "--port", str(port), "events", "--json")
            events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
            return [e for e in events if e.get("type") == "sos_raised"]

        raised = wait_until(platform_alarms, what="the SOS at the receiver")
        sos_id = raised[0].get("id")
        with ApiClient(sock) as c:
            wait_until(lambda: c.request("sos.state")["state"] == "delivered",
                       what="delivered state")
        out = hub("platform-dev", "--port", str(port), "ack", sos_id, "--responder", "Li Wei")
        assert out.returncode == 0, out.stderr
        with ApiClient(sock) as c:
            snap = wait_until(lambda: (s := c.request("sos.state"))["state"] == "acknowledged"
                              and s, what="acknowledged state")
        assert snap["responder"] == "Li Wei"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the receiver is still running"
    assert not (state / "hub.sock").exists(), "the core did not shut down cleanly"
