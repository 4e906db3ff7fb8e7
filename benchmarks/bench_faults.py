"""Fault-injection figures: press → SOS heard, and fault cleared → SOS at the platform.

Runs the fault suite (``tests/faults``: real core processes, a real reference receiver,
a real full tmpfs, a real frozen ext4, real damaged files, a speech flood) ``--runs``
times and prints, per fault, the median and worst of:

* **heard**: press of the (simulated) GPIO button → the speaker starts the SOS phrase
  (the core's ``say`` push, sent by the speaker's ``on_said`` hook);
* **delivered**: the fault cleared (space freed, filesystem thawed) → the alarm is in
  the receiver; for faults that need no clearing (damaged database, flood, the SOS
  reserve on a full disk) it is measured from the press.

Also times the start-up ``PRAGMA quick_check`` the core now runs to find a damaged
database, on a store holding 20,000 readings.

Needs root (mount, fsfreeze). Run: ``sudo .venv/bin/python benchmarks/bench_faults.py``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.store import Store  # noqa: E402


def quick_check_cost(n_readings: int = 20_000, runs: int = 5) -> tuple[float, float, float]:
    """(database MB, median s, worst s) to open a store with ``check=True``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.db"
        st = Store(path, reserve_bytes=1)
        bp = {"kind": "blood_pressure", "values": {"systolic": 128, "diastolic": 82},
              "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]"}}
        for start in range(0, n_readings, 5000):
            st.add_readings([{**bp, "id": str(uuid.uuid4())} for _ in range(5000)])
        st.close()
        size_mb = path.stat().st_size / 1e6
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            Store(path, reserve_bytes=1, check=True).close()
            times.append(time.perf_counter() - t0)
    return size_mb, statistics.median(times), max(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="times to run the fault suite")
    ap.add_argument("-k", default="", help="pytest -k selection inside tests/faults")
    args = ap.parse_args()
    figures: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.jsonl"
        for run in range(args.runs):
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   str(ROOT / "tests" / "faults"), "--basetemp", str(Path(tmp) / f"r{run}")]
            if args.k:
                cmd += ["-k", args.k]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                  env={**os.environ, "HUB_FAULT_FIGURES": str(out)})
            last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            print(f"run {run + 1}/{args.runs}: {last}", flush=True)
        for line in out.read_text().splitlines() if out.exists() else []:
            row = json.loads(line)
            per = figures.setdefault(row.pop("fault"), {})
            for key, value in row.items():
                per.setdefault(key, []).append(value)
    print(f"\n{platform.machine()} · {platform.processor() or platform.platform()} · "
          f"Python {platform.python_version()} · {os.cpu_count()} CPUs\n")
    print("| fault | n | press → heard (median / worst) | → delivered (median / worst) |")
    print("|---|---|---|---|")
    for fault, per in figures.items():
        heard = per.get("heard_s", [])
        key = next((k for k in per if k.startswith("delivered")), None)
        deliv = per.get(key, []) if key else []
        what = {"delivered_after_clear_s": "after the fault cleared",
                "delivered_after_press_s": "after the press"}.get(key, "")

        def fmt(v):
            return (f"{statistics.median(v) * 1000:.0f} / {max(v) * 1000:.0f} ms"
                    if v else "-")
        print(f"| {fault} | {len(heard)} | {fmt(heard)} | {fmt(deliv)} {what} |")
    size, med, worst = quick_check_cost()
    print(f"\nstart-up quick_check on a {size:.1f} MB store (20,000 readings): "
          f"median {med * 1000:.0f} ms, worst {worst * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
