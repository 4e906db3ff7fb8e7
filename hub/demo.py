"""``hub demo``: the whole hub on one laptop, in simulation.

Starts the local reference receiver (the care platform), enrolls the hub with it,
then runs the core with mock GPIO pins and simulated Bluetooth devices, and the kiosk
when there is a display. Every part is a separate process, as on a Pi, so the demo
runs the real code paths. Ctrl-C stops everything.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hub.api import ApiClient

__all__ = ["run_demo", "write_demo_config"]

DEMO_CODE = "DEMO-1234"


def write_demo_config(state_dir: Path, port: int) -> Path:
    """Write the demo's hub.toml (simulation, local receiver, a windowed kiosk)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "hub.toml"
    path.write_text(
        "# Written by `hub demo`.\n"
        "[hub]\n"
        f'state_dir = "{state_dir}"\n'
        "simulate = true\n"
        'elder_name = "Grandma Lee"\n'
        "[sos]\n"
        "countdown = 10\n"
        "button_countdown = 0\n"
        "escalate_after = 30\n"
        "[sync]\n"
        f'url = "http://127.0.0.1:{port}"\n'
        "inbox_interval = 5\n"
        "[kiosk]\n"
        "fullscreen = false\n"
    )
    return path


def _hub(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", *args]


def _wait_for(check, what: str, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_demo(*, state_dir: str | None = None, port: int = 8787, kiosk: bool = True,
             duration: float | None = None) -> int:
    """Run receiver, core and kiosk until Ctrl-C (or ``duration`` seconds).

    :returns: the exit code for the CLI.
    """
    from hub.config import load_config

    state = Path(state_dir or Path.cwd() / "var" / "demo").resolve()
    cfg_path = write_demo_config(state, port)
    cfg = load_config(cfg_path)
    procs: dict[str, subprocess.Popen] = {}
    logs = state / "logs"
    logs.mkdir(exist_ok=True)

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "ab")
        procs[name] = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        return procs[name]

    try:
        if _port_open(port):
            print(f"port {port} is busy: is another demo running? Use --port.", file=sys.stderr)
            return 1
        spawn("receiver", _hub("platform-dev", "--port", str(port),
                               "--db", str(state / "platform-dev.db"), "--code", DEMO_CODE))
        _wait_for(lambda: _port_open(port), "the local receiver")
        if not cfg.token_path.exists():
            from hub.sync.enroll import enroll

            enroll(cfg, f"http://127.0.0.1:{port}", DEMO_CODE, serial="demo-hub")
        spawn("core", _hub("-v", "--config", str(cfg_path), "core"))
        _wait_for(lambda: ApiClient(cfg.socket_path).connect().close() is None, "the core")
        has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if kiosk and has_display:
            spawn("kiosk", _hub("--config", str(cfg_path), "kiosk"))
        elif kiosk:
            print("no display found: running without the kiosk (set DISPLAY to show it)")
        hub = f"{sys.executable} -m hub"
        print(f"""
Home hub demo is running; logs in {logs}
  Hub status:                  {hub} --config {cfg_path} status
  Press the GPIO SOS button:   {hub} --config {cfg_path} sim button
  What the platform received:  {hub} platform-dev --port {port} events
  Open alarms on the platform: {hub} platform-dev --port {port} alarms
  Say help is coming:          {hub} platform-dev --port {port} ack SOS_ID --responder "Li Wei"
Ctrl-C stops everything.
""", flush=True)
        end = time.monotonic() + duration if duration else None
        while end is None or time.monotonic() < end:
            for name in ("receiver", "core"):
                if procs[name].poll() is not None:
                    print(f"the {name} exited with {procs[name].returncode}; see {logs}",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs.values()):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
