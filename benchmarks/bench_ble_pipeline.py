"""Notification → reading stored latency through the core (median, p99).

Runs a real :class:`hub.core.Core` in this process (store thread with fsync, pushes) with
the BLE extension on the simulated backend: a paired cuff holds one connection open and
sends Blood Pressure Measurement notifications (encoder-built bytes, each with its own
time stamp so none is a duplicate). The clock starts just before the device sends the
bytes and stops in a core listener on the ``reading`` push, which the core sends only
after the reading is committed (``synchronous=FULL``). Parse, de-dup id, store, threshold
check: the whole path a real notification takes after bleak hands it over.

Run from the repository root::

    python benchmarks/bench_ble_pipeline.py [--count 500] [--gap 0.01] [--dir DIR]

``--dir`` chooses where the database lives (fsync cost depends on the disk).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.config import config_from_dict  # noqa: E402
from hub.core import Core  # noqa: E402
from hub.sensors.ble import parsers as p  # noqa: E402
from hub.sensors.ble.service import run_ble  # noqa: E402
from hub.sensors.ble.simulated import SimulatedBackend, SimulatedDevice  # noqa: E402
from hub.voice.speech import Speaker  # noqa: E402

CUFF = "5A:11:00:00:00:01"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what platform knows."""
    try:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
    except OSError:
        fields = {}
    fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
    for key in ("model name", "hardware", "model"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or platform.machine()


def filesystem(path: Path) -> str:
    try:
        out = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, IndexError):
        return "unknown"


def payload(i: int) -> bytes:
    when = datetime.datetime(2025, 1, 1) + datetime.timedelta(minutes=i)
    return p.encode_blood_pressure(p.BloodPressureMeasurement(
        Decimal(110 + i % 40), Decimal(70 + i % 20), None,
        time_stamp=p.DeviceTime.from_datetime(when), pulse_rate=Decimal(60 + i % 30)))


async def bench(state_dir: Path, count: int, gap: float) -> list[float]:
    config = config_from_dict({"hub": {"state_dir": str(state_dir), "simulate": True},
                               "audio": {"speech_engine": "silent"}}, source="bench")
    backend = SimulatedBackend([SimulatedDevice(CUFF, "SIM-BP1", 0x1810)],
                               advertise_every=0.05, latency=0.0)
    core = Core(config, speaker=Speaker("en", engine="silent"), start_sync=False)
    core.extensions = [functools.partial(run_ble, backend=backend)]
    runner = asyncio.create_task(core.run())
    while getattr(core, "ble", None) is None or not core.ble.scanner.scanning:
        await asyncio.sleep(0.01)
    service = core.ble
    while CUFF not in service.nearby:
        await asyncio.sleep(0.01)
    await service.pair(CUFF)
    service.settings = type(service.settings)(**{**service.settings.__dict__,
                                                 "first_wait_s": 30.0})
    stored: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_reading(reading):
        stored.setdefault(reading["device_time"], time.perf_counter())
        arrived.set()

    core.add_listener("reading", on_reading)
    backend.measure(CUFF, raw=payload(0))  # wake the cuff: the hub connects and subscribes
    while not backend.live.get(CUFF) or 0x2A35 not in backend.live[CUFF].subscribed:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.2)
    conn = backend.live[CUFF]
    latencies = []
    for i in range(1, count + 1):
        data = payload(i)
        key = p.parse_blood_pressure(data).time_stamp.isoformat()
        arrived.clear()
        started = time.perf_counter()
        conn.push(0x2A35, data)
        while key not in stored:
            await arrived.wait()
            arrived.clear()
        latencies.append(stored[key] - started)
        await asyncio.sleep(gap)
    core.request_stop()
    await runner
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between notifications")
    parser.add_argument("--dir", help="directory for the database (default: system temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        latencies = asyncio.run(bench(Path(tmp) / "state", args.count, args.gap))
        fs = filesystem(Path(tmp))
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * len(ms))) - 1)]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"database on {fs} (synchronous=FULL), {args.count} notifications, "
          f"{args.gap * 1000:.0f} ms apart, {datetime.date.today()}")
    print(f"notification → reading stored and pushed: median {statistics.median(ms):.2f} ms, "
          f"p99 {p99:.2f} ms, max {ms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
