"""Fault injection: real core subprocesses, a real reference receiver, real filesystems.

Each test starts ``hub core`` (simulated GPIO, so ``sim.button`` drives the real
button path) enrolled with a reference receiver on loopback, injects one fault a home
can throw at it, presses the button, and measures two things:

* **heard**: from the press to the moment the speaker starts the SOS phrase (the
  core's ``say`` push, sent by the speaker's ``on_said`` hook as it speaks);
* **delivered**: from the fault clearing to the alarm being in the receiver.

Filesystems are real: a tmpfs for a full disk, a loop-mounted ext4 image frozen with
``fsfreeze`` for a stalled card. Both need root and mount permission; a test that
cannot mount says why and is skipped.
"""

import contextlib
import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.api import ApiClient
from hub.config import load_config
from hub.phrases import phrase
from hub.sync.enroll import enroll
from hub.sync.receiver import Receiver
from tests.conftest import ROOT, CoreProcess, write_config

SOS_PHRASE = phrase("sos_raised", "en")


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """Mount a tmpfs of ``size`` at ``path`` (skip the test if not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    done = run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0750", "tmpfs", str(path)])
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): "
                    f"{done.stderr.strip()}")
    try:
        yield path
    finally:
        run(["umount", "-l", str(path)])


@contextlib.contextmanager
def ext4_loop(image: Path, path: Path, size_mb: int = 64):
    """Mount a fresh ext4 image on a loop device at ``path`` (skip if not allowed)."""
    run(["truncate", "-s", f"{size_mb}M", str(image)])
    made = run(["mkfs.ext4", "-q", "-F", str(image)])
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    path.mkdir(parents=True, exist_ok=True)
    done = run(["mount", "-o", "loop", str(image), str(path)])
    if done.returncode != 0:
        pytest.skip(f"cannot loop-mount an ext4 image here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        run(["fsfreeze", "-u", str(path)])  # never leave a frozen filesystem behind
        run(["umount", "-l", str(path)])


def fill_disk(directory: Path) -> Path:
    """Fill the filesystem holding ``directory`` to the last byte; return the filler."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


class PacedCoreProcess(CoreProcess):
    """The core with a speaker as slow as a real one (see paced_core.py)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.faults.paced_core", str(self.config_path)]


class Hub:
    """A core subprocess enrolled with a reference receiver, and the measurements."""

    def __init__(self, tmp_path: Path, receiver: Receiver, paced: bool = False, **sections):
        sync = {"url": receiver.url, "timeout": 2.0, "backoff_cap": 1.0, "sos_retry": 0.5,
                "inbox_interval": 1.0}
        self.config_path = write_config(tmp_path, hub={"simulate": True},
                                        store={"reserve_mb": 1}, sync=sync, **sections)
        self.state_dir = tmp_path / "state"
        self.receiver = receiver
        cls = PacedCoreProcess if paced else CoreProcess
        self.core = cls(self.config_path, self.state_dir)
        self.pressed_at = 0.0

    def enroll(self):
        cfg = load_config(self.config_path)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        enroll(cfg, self.receiver.url, self.receiver.create_code())
        return self

    def start(self):
        self.core.start()
        return self

    def client(self) -> ApiClient:
        """A subscribed client whose pushes are time-stamped as they arrive
        (in :attr:`ApiClient.pushes` as ``(topic, (monotonic, data))``)."""
        c = ApiClient(self.core.socket, timeout=10)
        c.on_push = lambda topic, data: c.pushes.put((topic, (time.monotonic(), data)))
        c.connect()
        c.subscribe()
        return c

    def press_and_hear(self, client, timeout: float = 5.0) -> tuple[str, float]:
        """Press the simulated GPIO button; (alarm id, seconds until the SOS phrase is heard).

        ``client`` comes from :meth:`client`. "Heard" is when the ``say`` push that the
        speaker's ``on_said`` hook sends as it starts the SOS phrase arrives here. The
        ``sos`` push naming the alarm is caught whether it comes before or after it.
        """
        t0 = self.pressed_at = time.monotonic()
        client.request("sim.button", action="press")
        heard = alarm = None
        end = t0 + timeout
        while heard is None or alarm is None:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"after {timeout} s: heard={heard} alarm={alarm}\n"
                                     f"--- core log ---\n{self.core.log()[-3000:]}")
            try:
                topic, (at, data) = client.pushes.get(timeout=left)
            except queue.Empty:
                continue
            if topic == "say" and data["text"] == SOS_PHRASE and heard is None:
                heard = at - t0
            elif topic == "sos" and data.get("alarm_id") and data["state"] != "countdown":
                alarm = data["alarm_id"]
        return alarm, heard

    def wait_until_received(self, predicate, timeout: float = 10.0):
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise AssertionError(f"the receiver did not get it within {timeout} s")
            time.sleep(0.05)

    def wait_delivered(self, alarm_id: str, since: float | None = None,
                       timeout: float = 20.0) -> float:
        """Seconds from ``since`` (default: the last press) until the receiver took the
        alarm's raise event, by the receiver's own monotonic clock (same process)."""
        since = self.pressed_at if since is None else since
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = [e for e in self.receiver.events(bodies=False) if e["id"] == alarm_id]
            if got:
                return got[0]["received_mono"] - since
            time.sleep(0.02)
        raise AssertionError(f"alarm {alarm_id} did not reach the receiver within {timeout} s"
                             f"\n--- core log ---\n{self.core.log()[-4000:]}")


@pytest.fixture
def receiver(tmp_path):
    """The reference platform receiver on 127.0.0.1."""
    rx = Receiver(tmp_path / "platform.db", seed=3).start()
    yield rx
    rx.close()


@pytest.fixture
def hubs(tmp_path, receiver):
    """Make Hub objects; every core is killed at the end."""
    made: list[Hub] = []

    def make(**kw) -> Hub:
        hub = Hub(tmp_path, receiver, **kw)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.core.kill()


FIGURES: list[dict] = []


@pytest.fixture
def record():
    """Keep a measured figure (benchmarks/bench_faults.py runs these tests and prints them)."""
    def add(fault: str, **values):
        FIGURES.append({"fault": fault, **values})
        out = os.environ.get("HUB_FAULT_FIGURES")
        if out:
            import json

            with open(out, "a") as fh:
                fh.write(json.dumps({"fault": fault, **values}) + "\n")
    return add


__all__ = ["ROOT", "SOS_PHRASE", "tmpfs", "ext4_loop", "fill_disk", "Hub"]
