"""Shared fixtures: temp-dir configs and stores, and a real core daemon in a subprocess."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.api import ApiClient
from hub.errors import ApiError
from hub.config import config_from_dict
from hub.store import Store

ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, **sections) -> Path:
    """Write a hub.toml for tests: state in tmp_path, no speech, short timers."""
    base = {
        "hub": {"state_dir": str(tmp_path / "state")},
        "sos": {"countdown": 3, "button_countdown": 0, "escalate_after": 10,
                "escalate_repeat": 5},
        "audio": {"speech_engine": "silent"},
    }
    for name, keys in sections.items():
        base.setdefault(name, {}).update(keys)
    lines = []
    for name, keys in base.items():
        lines.append(f"[{name}]")
        for key, value in keys.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            else:
                lines.append(f"{key} = {value}")
    path = tmp_path / "hub.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def config(tmp_path):
    """A validated Config whose state lives in tmp_path."""
    return config_from_dict({
        "hub": {"state_dir": str(tmp_path / "state")},
        "sos": {"countdown": 3, "button_countdown": 0, "escalate_after": 10,
                "escalate_repeat": 5},
        "audio": {"speech_engine": "silent"},
    }, source="test")


@pytest.fixture
def store(tmp_path):
    """A real SQLite store in tmp_path, closed after the test."""
    s = Store(tmp_path / "hub.db", reserve_bytes=1)
    yield s
    s.close()


class CoreProcess:
    """A `hub core` subprocess and how to reach, kill and restart it."""

    def __init__(self, config_path: Path, state_dir: Path, env: dict | None = None):
        self.config_path = config_path
        self.state_dir = state_dir
        self.socket = state_dir / "hub.sock"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = state_dir.parent / "core.log"

    def command(self) -> list[str]:
        """The command line that runs the core (subclasses run a variant)."""
        return [sys.executable, "-m", "hub", "-v", "--config", str(self.config_path), "core"]

    def start(self, timeout: float = 15.0) -> "CoreProcess":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=log, stderr=log,
                                     cwd=str(ROOT))
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"core exited with {self.proc.returncode}:\n{self.log()}")
            try:
                ApiClient(self.socket, timeout=2).connect().close()
            except Exception:
                time.sleep(0.02)
                continue
            self._wait_for_extensions(end)
            return self
        raise RuntimeError(f"core did not start within {timeout} s:\n{self.log()}")

    def _wait_for_extensions(self, end: float):
        """The socket opens before the core's parts (GPIO, care...) add their commands."""
        while time.monotonic() < end:
            try:
                with ApiClient(self.socket, timeout=2) as c:
                    c.request("reminder.list")  # the care part, started after GPIO and BLE
                return
            except ApiError as exc:
                if "unknown command" not in str(exc):
                    return  # e.g. forbidden: the parts are there
                time.sleep(0.02)

    def client(self, subscribe: bool = False) -> ApiClient:
        c = ApiClient(self.socket, timeout=10).connect()
        if subscribe:
            c.subscribe()
        return c

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout)
        return self.proc.returncode if self.proc else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def core_factory(tmp_path):
    """Start real core daemons; every one is killed at the end of the test."""
    started: list[CoreProcess] = []

    def make(**sections) -> CoreProcess:
        cfg_path = write_config(tmp_path, **sections)
        core = CoreProcess(cfg_path, tmp_path / "state")
        started.append(core)
        return core

    yield make
    for core in started:
        core.kill()


@pytest.fixture
def core(core_factory):
    """One running core daemon (simulation defaults, silent speech)."""
    return core_factory().start()
