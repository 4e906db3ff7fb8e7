"""Throughput of the BLE health characteristic parsers (payloads per second).

Prints, per characteristic, the median over several runs of: parse only, parse +
``to_reading()``, and parse + ``to_reading()`` + the plausibility screen
(:func:`hub.plausibility.screen`, what the hub does per notification before storing);
then the per-payload latency (median and p99) of that whole step. Payloads are built with
the module's own encoders, with every optional field present (the slowest case), plus a
glucose meter's HI (+INF) record.

Run from the repository root::

    python benchmarks/bench_ble_parsers.py [--runs 7] [--number 20000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.plausibility import screen  # noqa: E402
from hub.sensors.ble import parsers as p  # noqa: E402
from hub.sensors.ble import racp  # noqa: E402
from hub.sensors.ble.sfloat import Special  # noqa: E402

WHEN = p.DeviceTime(2024, 3, 15, 14, 30, 5)

CASES = [
    ("Blood Pressure 0x2A35 (kPa)", p.parse_blood_pressure, p.encode_blood_pressure(
        p.BloodPressureMeasurement(D("16.0"), D("10.7"), D("12.5"), "kPa", WHEN, D("72"), 1,
                                   0x0001))),
    ("Temperature 0x2A1C (°F)", p.parse_temperature, p.encode_temperature(
        p.TemperatureMeasurement(D("98.6"), "[degF]", WHEN, 6))),
    ("Glucose 0x2A18 (kg/L)", p.parse_glucose, p.encode_glucose(
        p.GlucoseMeasurement(1, WHEN, D("0.00095"), "kg/L", 1, 1, 5, 0x0001, True))),
    ("Glucose 0x2A18 HI (+INF)", p.parse_glucose, p.encode_glucose(
        p.GlucoseMeasurement(2, WHEN, Special.PLUS_INFINITY, "kg/L", 1, 1, 5, 0x0020))),
    ("Weight 0x2A9D (lb)", p.parse_weight, p.encode_weight(
        p.WeightMeasurement(D("155.40"), "[lb_av]", WHEN, 3, D("22.9"), D("69.0")))),
    ("Weight service data 0x181D", p.parse_weight_scale_service_data, p.encode_weight(
        p.WeightMeasurement(D("70.500"), "kg", WHEN, 3, D("23.0"), D("1.750")))),
    ("PLX Spot-check 0x2A5E", p.parse_plx_spot_check, p.encode_plx_spot_check(
        p.PlxSpotCheckMeasurement(D(97), D(64), WHEN, 0x0080, 0x20, D("2.5")))),
    ("PLX Continuous 0x2A5F", p.parse_plx_continuous, p.encode_plx_continuous(
        p.PlxContinuousMeasurement(D(96), D(70), D(95), D(71), D(97), D(69), 0x0100, 0, D("1.2")))),
    ("Heart Rate 0x2A37 (4 RR)", p.parse_heart_rate, p.encode_heart_rate(
        p.HeartRateMeasurement(72, "detected", 1000,
                               tuple(D(r) / 1024 for r in (1024, 870, 900, 1000))))),
]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
    except OSError:
        fields = {}
    fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
    # x86 says "model name"; a Raspberry Pi says "Model" (the board) and "Hardware".
    for key in ("model name", "model", "hardware"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or "unknown CPU"


def rate(func, number: int, runs: int) -> float:
    """Median calls per second of ``func()`` over ``runs`` runs of ``number`` calls."""
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(number):
            func()
        results.append(number / (time.perf_counter() - start))
    return statistics.median(results)


def latency(func, number: int) -> tuple[float, float]:
    """Median and p99 of one call of ``func()``, in µs, over ``number`` timed calls."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(number):
        start = clock()
        func()
        samples.append(clock() - start)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    """Print the machine and a table of payloads per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per case; the median is shown")
    parser.add_argument("--number", type=int, default=20000, help="payloads per run")
    args = parser.parse_args()

    print(f"date: {datetime.date.today().isoformat()}")
    print(f"machine: {platform.platform()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{cpu_model()}")
    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    print(f"median of {args.runs} runs x {args.number} payloads, single thread\n")
    print(f"{'characteristic':<30} {'bytes':>5} {'parse/s':>12} {'parse+reading/s':>16} "
          f"{'+screen/s':>12} {'median µs':>10} {'p99 µs':>8}")
    for name, parse, payload in CASES:
        parse_only = rate(lambda: parse(payload), args.number, args.runs)
        with_reading = rate(lambda: parse(payload).to_reading(), args.number, args.runs)
        screened = rate(lambda: screen(parse(payload).to_reading()), args.number, args.runs)
        median, p99 = latency(lambda: screen(parse(payload).to_reading()),
                              args.number * args.runs)
        print(f"{name:<30} {len(payload):>5} {parse_only:>12,.0f} {with_reading:>16,.0f} "
              f"{screened:>12,.0f} {median:>10.1f} {p99:>8.1f}")
    response = bytes.fromhex("06 00 01 01")
    print(f"{'RACP response 0x2A52':<30} {len(response):>5} "
          f"{rate(lambda: racp.parse_racp_response(response), args.number, args.runs):>12,.0f}")


if __name__ == "__main__":
    main()
