"""Local API under abuse: core RSS under pipelining clients, SIGTERM time and SOS latency
with 1000 connections open.

Run: ``.venv/bin/python benchmarks/bench_api_abuse.py [runs]`` (default 5 runs). Each run
starts a fresh core (silent speech, no GPIO) on a database of 2000 readings, then:

1. four clients pipeline ``readings.list`` (≈0.6 MB replies) for 8 s and never read:
   the core's peak RSS growth is recorded;
2. 1000 connections are opened (``[hub] max_clients = 1000``), 100 of them pipelining
   without reading; SOS press → durable latency is measured over 20 presses;
3. SIGTERM: time until the process has exited.

Prints median and worst over the runs, and the machine.
"""

import os
import platform
import resource
import socket
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

LINE = b'{"id":1,"cmd":"readings.list","args":{"limit":5000}}\n'


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_core(tmp: Path) -> tuple[subprocess.Popen, Path]:
    state = tmp / "state"
    store = Store(state / "hub.db", reserve_bytes=1)
    store.add_readings([{"kind": "spo2", "values": {"spo2": 97, "pulse": 60 + i % 30},
                         "units": {"spo2": "%", "pulse": "/min"}, "extra": {"n": "x" * 200}}
                        for i in range(2000)])
    store.close()
    cfg = tmp / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{state}"\nmax_clients = 1000\n'
                   'max_clients_per_user = 1000\n[audio]\nspeech_engine = "silent"\n'
                   '[gpio]\nenabled = false\n[ble]\nenabled = false\n')
    proc = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(cfg), "core"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stderr=subprocess.DEVNULL, preexec_fn=_more_files)
    sock = state / "hub.sock"
    for _ in range(1000):
        try:
            ApiClient(sock).connect().close()
            return proc, sock
        except Exception:
            time.sleep(0.02)
    raise RuntimeError("core did not start")


def _more_files():
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))


def hogs(path: Path, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        s.setblocking(False)
        out.append(s)
    return out


def pump(socks, seconds: float, sample=None) -> float:
    """Send pipelined requests on every socket for a while; the peak of ``sample()``."""
    peak, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        for s in socks:
            try:
                s.send(LINE * 32)
            except (BlockingIOError, OSError):
                pass
        if sample:
            peak = max(peak, sample())
        time.sleep(0.05)
    return peak


def one_run() -> dict:
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    with tempfile.TemporaryDirectory() as d:
        proc, path = start_core(Path(d))
        try:
            time.sleep(1)
            base = rss_mb(proc.pid)
            four = hogs(path, 4)
            peak = pump(four, 8, lambda: rss_mb(proc.pid))
            idle = hogs(path, 896)
            busy = hogs(path, 100)
            pump(busy, 2)
            lat = []
            with ApiClient(path, timeout=30) as c:
                for _ in range(20):
                    t0 = time.perf_counter()
                    assert c.request("sos.press")["state"] == "countdown"
                    lat.append((time.perf_counter() - t0) * 1000)
                    c.request("sos.cancel")
            t0 = time.perf_counter()
            proc.terminate()
            proc.wait(60)
            stop_s = time.perf_counter() - t0
            for s in four + idle + busy:
                s.close()
            return {"rss_growth": peak - base, "base": base, "press_ms": lat, "stop_s": stop_s}
        finally:
            if proc.poll() is None:
                proc.kill()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} "
          f"python={platform.python_version()} {platform.platform()}")
    results = [one_run() for _ in range(runs)]
    growth = [r["rss_growth"] for r in results]
    stops = [r["stop_s"] for r in results]
    presses = sorted(x for r in results for x in r["press_ms"])
    print(f"core RSS at start: median {statistics.median(r['base'] for r in results):.1f} MB")
    print(f"RSS growth, 4 clients pipelining readings.list for 8 s without reading, "
          f"{runs} runs: median {statistics.median(growth):.1f} MB, worst {max(growth):.1f} MB")
    print(f"SOS press -> durable with 1000 connections open (100 pipelining), "
          f"n={len(presses)}: median {statistics.median(presses):.1f} ms, "
          f"p99 {presses[min(len(presses) - 1, int(0.99 * len(presses)))]:.1f} ms")
    print(f"SIGTERM -> exited with 1000 connections open, {runs} runs: "
          f"median {statistics.median(stops):.2f} s, worst {max(stops):.2f} s "
          f"(systemd TimeoutStopSec=20)")


if __name__ == "__main__":
    main()
