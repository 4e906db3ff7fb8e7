"""Fixtures for the Bluetooth I/O tests.

* ``bluez``: a private D-Bus daemon serving python-dbusmock's ``bluez5`` template, extended
  with GATT health devices (``bluez_health_template.py``), so bleak's *real* BlueZ backend
  runs against it. The daemon and the mock are always stopped at teardown.
* ``fake_core``: a stand-in for :class:`hub.core.Core` with a real SQLite store on its own
  thread, for in-process tests of the BLE service with the simulated backend.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.config import config_from_dict
from hub.store import Store

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "bluez_health_template.py"


def _have_dbusmock() -> str | None:
    if shutil.which("dbus-daemon") is None:
        return "dbus-daemon is not installed (Debian package dbus)"
    try:
        import dbus  # noqa: F401
        import dbusmock  # noqa: F401
    except ImportError as exc:
        return f"python-dbusmock is not installed ({exc})"
    return None


class MockBluez:
    """Controls for the mocked bluetoothd (org.bluez.Mock on ``/``)."""

    def __init__(self, address: str):
        import dbus

        self.dbus = dbus
        self.address = address
        self.bus = dbus.bus.BusConnection(address)
        self.mock = self.bus.get_object("org.bluez", "/")

    def call(self, method: str, *args, iface: str = "org.bluez.Mock"):
        return getattr(self.mock, method)(*args, dbus_interface=iface, timeout=30)

    def add_adapter(self, name: str = "hci0") -> str:
        return str(self.call("AddAdapter", name, "hub-test"))

    def add_device(self, address: str, name: str, service: int, *, passkey: int = 0,
                   adapter: str = "hci0") -> str:
        return str(self.call("AddHealthDevice", adapter, address, name,
                             self.dbus.UInt16(service), self.dbus.UInt32(passkey)))

    def advertise(self, path: str, rssi: int = -60, service_data: dict | None = None):
        data = self.dbus.Dictionary({k: self.dbus.ByteArray(v) for k, v in
                                     (service_data or {}).items()}, signature="sv")
        self.call("Advertise", self.dbus.ObjectPath(path), self.dbus.Int16(rssi), data)

    def queue(self, path: str, char: int, value: bytes):
        self.call("QueueMeasurement", self.dbus.ObjectPath(path), self.dbus.UInt16(char),
                  self.dbus.ByteArray(value))

    def add_record(self, path: str, sequence: int, value: bytes):
        self.call("AddRecord", self.dbus.ObjectPath(path), self.dbus.UInt16(sequence),
                  self.dbus.ByteArray(value))

    def fail_next(self, path: str, method: str, error: str, count: int = 1):
        self.call("FailNext", self.dbus.ObjectPath(path), method, error,
                  self.dbus.UInt32(count))

    def drop_after(self, path: str, count: int):
        self.call("DropAfter", self.dbus.ObjectPath(path), self.dbus.UInt32(count))

    def calls(self, path: str) -> list[str]:
        return [str(c) for c in self.call("DeviceCalls", self.dbus.ObjectPath(path))]

    def adapter_calls(self, method: str, adapter: str = "hci0") -> list:
        obj = self.bus.get_object("org.bluez", f"/org/bluez/{adapter}")
        return list(obj.GetMethodCalls(method, dbus_interface="org.freedesktop.DBus.Mock"))

    def property(self, path: str, name: str, iface: str = "org.bluez.Device1"):
        obj = self.bus.get_object("org.bluez", path)
        return obj.Get(iface, name, dbus_interface="org.freedesktop.DBus.Properties")

    def close(self):
        self.bus.close()


@pytest.fixture
def bluez(tmp_path):
    """A mocked bluetoothd on a private bus; ``DBUS_SYSTEM_BUS_ADDRESS`` is in ``.env``."""
    missing = _have_dbusmock()
    if missing:
        pytest.skip(missing)
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1",
         f"--address=unix:path={tmp_path / 'system_bus'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mock = None
    helper = None
    try:
        address = daemon.stdout.readline().strip()
        assert address, f"dbus-daemon did not start: {daemon.stderr.read()}"
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        log = open(tmp_path / "dbusmock.log", "wb")
        mock = subprocess.Popen([sys.executable, "-m", "dbusmock", "--system", "--template",
                                 str(TEMPLATE)], env=env, stdout=log, stderr=log)
        log.close()
        import dbus

        bus = dbus.bus.BusConnection(address)
        end = time.monotonic() + 15
        while not bus.name_has_owner("org.bluez"):
            if mock.poll() is not None or time.monotonic() > end:
                raise RuntimeError("dbusmock did not start:\n" +
                                   (tmp_path / "dbusmock.log").read_text(errors="replace"))
            time.sleep(0.02)
        bus.close()
        helper = MockBluez(address)
        helper.env = {"DBUS_SYSTEM_BUS_ADDRESS": address}
        helper.log_path = tmp_path / "dbusmock.log"
        yield helper
    finally:
        if helper is not None:
            helper.close()
        for proc in (mock, daemon):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if daemon.stdout:
            daemon.stdout.close()
        if daemon.stderr:
            daemon.stderr.close()


class FakeSpeaker:
    """Records what would be said."""

    def __init__(self):
        self.said: list[str] = []

    def say(self, text: str):
        self.said.append(text)


class FakeCore:
    """The parts of :class:`hub.core.Core` the BLE service uses, with a real store."""

    def __init__(self, tmp_path: Path, **sections):
        base = {"hub": {"state_dir": str(tmp_path / "state"), "simulate": True},
                "audio": {"speech_engine": "silent"}}
        for name, keys in sections.items():
            base.setdefault(name, {}).update(keys)
        self.config = config_from_dict(base, source="test")
        self.language = "en"
        self.speaker = FakeSpeaker()
        self.commands: dict = {}
        self.pushed: list[tuple[str, dict]] = []
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store")
        self.store = self._thread.submit(Store, tmp_path / "hub.db", reserve_bytes=1).result()
        self.readings: list[dict] = []
        self.events: list[dict] = []

    async def db(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, lambda: fn(*args, **kwargs))

    async def add_reading(self, reading: dict):
        stored = await self.db(self.store.add_reading, reading)
        if stored:
            self.readings.append(stored)
            self.push("reading", stored)
        return stored

    async def record_event(self, kind, data=None, *, event_id=None, source="hub", priority=5):
        event = await self.db(self.store.record_event, kind, data or {}, event_id=event_id,
                              source=source, priority=priority)
        self.events.append(event)
        return event

    def register_command(self, name, handler, help):
        self.commands[name] = handler

    def push(self, topic, data):
        self.pushed.append((topic, data))

    def close(self):
        self._thread.submit(self.store.close).result()
        self._thread.shutdown()


@pytest.fixture
def fake_core(tmp_path):
    """A FakeCore with a real store in tmp_path, closed after the test."""
    core = FakeCore(tmp_path)
    yield core
    core.close()


def _root_conftest():
    """tests/conftest.py loaded under its own name (``conftest`` is ambiguous here)."""
    import importlib.util

    name = "hub_tests_root_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@pytest.fixture
def hub_core(tmp_path):
    """Start real ``hub core`` subprocesses: ``hub_core(env=..., hub={...})``; all are killed
    at the end. GPIO is off so only Bluetooth runs beside the core."""
    root = _root_conftest()
    started = []

    def start(*, env: dict | None = None, **sections):
        sections.setdefault("gpio", {}).setdefault("enabled", False)
        path = root.write_config(tmp_path, **sections)
        core = root.CoreProcess(path, tmp_path / "state", env=env)
        started.append(core)
        return core.start()

    yield start
    for core in started:
        core.kill()


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; return it."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
