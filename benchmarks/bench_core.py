"""Core benchmarks: SOS press → durable, readings written per second, idle RSS.

Run: ``.venv/bin/python benchmarks/bench_core.py`` (``make bench`` runs all benchmarks).
Prints medians and p99 over many runs; the machine is shared and noisy, so compare
ratios, not single figures. Results go into BENCHMARKS.md by hand, with the machine.
"""

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.api import ApiClient  # noqa: E402
from hub.store import Store  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def start_core(tmp: Path) -> subprocess.Popen:
    cfg = tmp / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{tmp / "state"}"\n[sos]\nbutton_countdown = 0\n'
                   '[audio]\nspeech_engine = "silent"\n[gpio]\nenabled = false\n')
    proc = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(cfg), "core"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stderr=subprocess.DEVNULL)
    sock = tmp / "state" / "hub.sock"
    for _ in range(500):
        try:
            ApiClient(sock).connect().close()
            return proc
        except Exception:
            time.sleep(0.02)
    raise RuntimeError("core did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_sos(tmp: Path, runs: int = 400):
    proc = start_core(tmp)
    try:
        time.sleep(2)
        idle = rss_mb(proc.pid)
        lat = []
        with ApiClient(tmp / "state" / "hub.sock") as c:
            for _ in range(runs):
                t0 = time.perf_counter()
                # A socket client cannot press as the GPIO button: a touch press is the
                # same durable write (the countdown event), then it is cancelled.
                result = c.request("sos.press")
                lat.append((time.perf_counter() - t0) * 1000)
                assert result["state"] == "countdown"
                c.request("sos.cancel")
            api_lat = []
            for _ in range(runs):
                t0 = time.perf_counter()
                c.request("reading.add", reading={"kind": "spo2", "values": {"spo2": 97},
                                                  "units": {"spo2": "%"}})
                api_lat.append((time.perf_counter() - t0) * 1000)
        return idle, lat, api_lat
    finally:
        proc.terminate()
        proc.wait(10)


def bench_store_readings(tmp: Path, total: int = 20000, batch: int = 100):
    store = Store(tmp / "r.db")
    reading = {"kind": "blood_pressure", "values": {"systolic": 120, "diastolic": 80, "pulse": 70},
               "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]", "pulse": "/min"}}
    t0 = time.perf_counter()
    for _ in range(total // batch):
        store.add_readings([dict(reading) for _ in range(batch)])
    elapsed = time.perf_counter() - t0
    store.close()
    return total / elapsed


def main():
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python={platform.python_version()} {platform.platform()}")
    with tempfile.TemporaryDirectory() as d:
        idle, lat, api_lat = bench_sos(Path(d))
    print(f"SOS press -> durable (API round trip, countdown written with fsync), n={len(lat)}: "
          f"median {statistics.median(lat):.2f} ms, p99 {pct(lat, 99):.2f} ms")
    print(f"reading via API (one per request, fsync each), n={len(api_lat)}: "
          f"median {statistics.median(api_lat):.2f} ms, p99 {pct(api_lat, 99):.2f} ms "
          f"= {1000 / statistics.median(api_lat):.0f}/s")
    rates = []
    for _ in range(5):
        with tempfile.TemporaryDirectory() as d:
            rates.append(bench_store_readings(Path(d)))
    print(f"readings inserted (store, batches of 100, 5 runs of 20000): "
          f"median {statistics.median(rates):.0f}/s, min {min(rates):.0f}/s")
    print(f"core RSS at idle: {idle:.1f} MB")


if __name__ == "__main__":
    main()
