"""Sync benchmarks on loopback: backlog drain rate and memory, SOS latency, network return.

Run from the repository root::

    python benchmarks/bench_sync.py            # full run (~1–2 minutes)
    python benchmarks/bench_sync.py --quick    # smaller numbers, for a smoke test

The reference receiver runs in its own process (as a platform would), the sync
worker in this one, with the hub's real store (WAL, synchronous=FULL) in a
temporary directory. Figures printed:

* drain: events/s for a backlog of 100,000 readings, and the worker process's RSS
  sampled during the drain (it must stay flat: the outbox is read in batches);
* SOS press → accepted: from writing the ``sos_raised`` row (as the core does) to
  ``on_delivered`` (the platform said "accepted" and the hub committed it) —
  median and p99, on an idle link and while a backlog drains;
* network return → SOS delivered: the link fails while an SOS is pending — the
  receiver closes connections unanswered, resets them (TCP RST), refuses them
  (process down), black-holes them (reads the request, never answers; such a
  connection stays dead) or its port has a full accept queue (SYNs dropped) — for
  0.7–4 s; from the moment it works again to ``on_delivered``. The hub runs with the
  default ``[sync] timeout`` (10 s), which is what made a black hole cost ~11 s.

``--returns-only`` runs just the network-return part.
"""

import argparse
import logging
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from hub.config import config_from_dict  # noqa: E402
from hub.store import PRIORITY_SOS, Store  # noqa: E402
from hub.sync.enroll import enroll  # noqa: E402
from hub.sync.worker import SyncWorker  # noqa: E402


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class ReceiverProcess:
    """``python -m hub.sync.receiver`` in a child process, restartable on the same port."""

    def __init__(self, workdir: Path, port: int = 0):
        self.db = workdir / "platform.db"
        self.port = port
        self.proc = None
        self.session = requests.Session()
        self.session.trust_env = False

    def start(self, code: str | None = None) -> float:
        cmd = [sys.executable, "-m", "hub.sync.receiver", "--port", str(self.port),
               "--db", str(self.db)] + (["--code", code] if code else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = self.proc.stdout.readline()  # printed once the socket listens
        ready = time.monotonic()
        self.port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        return ready

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def faults(self, **changes):
        self.session.post(self.url + "/dev/faults", json=changes, timeout=5).raise_for_status()

    def stats(self):
        return self.session.get(self.url + "/dev/stats", timeout=30).json()


def reading():
    return {"id": str(uuid.uuid4()), "kind": "blood_pressure",
            "values": {"systolic": 128, "diastolic": 82, "pulse": 71},
            "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]", "pulse": "/min"},
            "device": {"address": "A4:C1:38:00:11:22", "name": "Cuff"}}


def fill(store, n, chunk=10_000):
    for start in range(0, n, chunk):
        store.add_readings([reading() for _ in range(min(chunk, n - start))])


def raise_sos(store):
    return store.record_event("sos_raised", {"source": "button"}, source="button",
                              sos_id=str(uuid.uuid4()), priority=PRIORITY_SOS)


class Delivered:
    """on_delivered that records when each id was reported."""

    def __init__(self):
        self.at = {}
        self.cv = threading.Condition()

    def __call__(self, ids):
        now = time.monotonic()
        with self.cv:
            for i in ids:
                self.at[i] = now
            self.cv.notify_all()

    def wait(self, item_id, timeout=10.0):
        with self.cv:
            self.cv.wait_for(lambda: item_id in self.at, timeout=timeout)
            return self.at.get(item_id)


def bench_drain(workdir, rx, cfg, n, batch):
    cfg = cfg.replace(sync={"batch_size": batch})
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    t = time.monotonic()
    fill(st, n)
    fill_s = time.monotonic() - t
    before = rx.stats()["events"]
    samples = []
    w = SyncWorker(cfg)
    start = time.monotonic()
    w.start()
    while True:
        depth = st.outbox_stats()["depth"]
        samples.append((time.monotonic() - start, rss_mib(), depth))
        if depth == 0:
            break
        time.sleep(0.25)
    took = time.monotonic() - start
    w.stop()
    got = rx.stats()["events"] - before
    st.close()
    rss = [s[1] for s in samples[len(samples) // 5:]] or [samples[-1][1]]  # after warm-up
    return {"n": n, "batch": batch, "seconds": took, "rate": n / took, "fill_s": fill_s,
            "received": got, "rss_start": samples[0][1], "rss_min": min(rss),
            "rss_max": max(rss), "rss_end": samples[-1][1], "samples": len(samples)}


def bench_sos(cfg, rounds, backlog):
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    if backlog:
        fill(st, backlog)
    delivered = Delivered()
    w = SyncWorker(cfg, on_delivered=delivered)
    w.start()
    time.sleep(0.5)
    lat = []
    for _ in range(rounds):
        t = time.monotonic()
        ev = raise_sos(st)  # the durable write is part of "press → accepted"
        w.wake(urgent=True)
        done = delivered.wait(ev["id"])
        if done is None:
            raise RuntimeError("an SOS was not delivered within 10 s")
        lat.append((done - t) * 1000)
        time.sleep(0.02)
    left = st.outbox_stats()["depth"]
    w.stop()
    st.close()
    return {"rounds": rounds, "median_ms": statistics.median(lat), "p99_ms": pct(lat, 99),
            "max_ms": max(lat), "backlog_left": left}


def full_backlog(port):
    """Listen on ``port`` without ever accepting, the queue filled: new SYNs are dropped."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(0)
    held = [lsock]
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    return held


def bench_network_return(cfg, rx, rounds, how):
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    delivered = Delivered()
    w = SyncWorker(cfg, on_delivered=delivered)
    w.start()
    time.sleep(0.5)
    out = []
    rng = random.Random(2026)
    for _ in range(rounds):
        held = []
        if how in ("offline", "reset", "black_hole"):
            rx.faults(**{how: True})
        else:
            rx.stop()
            if how == "full_backlog":
                held = full_backlog(rx.port)
        ev = raise_sos(st)
        w.wake(urgent=True)
        time.sleep(rng.uniform(0.7, 4.0))  # away for a while, not in step with any retry
        if how in ("offline", "reset", "black_hole"):
            rx.faults(**{how: False})
            back = time.monotonic()
        else:
            for s in held:
                s.close()
            back = rx.start()
        done = delivered.wait(ev["id"], timeout=30)
        if done is None:
            raise RuntimeError("SOS not delivered after the network returned")
        out.append((done - back) * 1000)
    w.stop()
    st.close()
    return {"rounds": rounds, "median_ms": statistics.median(out), "p99_ms": pct(out, 99),
            "max_ms": max(out)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers (smoke test)")
    parser.add_argument("--returns-only", action="store_true",
                        help="only the network-return figures")
    parser.add_argument("--returns", type=int, default=None, help="outages per kind of fault")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the worker's "offline" errors are expected
    n = 20_000 if args.quick else 100_000
    rounds = 30 if args.quick else 200
    returns = args.returns or (5 if args.quick else 50)

    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    fs = subprocess.run(["df", "-T", str(workdir)], capture_output=True, text=True).stdout
    print(f"machine: {machine()}")
    print(f"state dir: {workdir} ({fs.splitlines()[-1].split()[1] if fs else '?'})")
    rx = ReceiverProcess(workdir)
    try:
        rx.start(code="55550000")
        cfg = config_from_dict({"hub": {"state_dir": str(workdir / "state")},
                                "store": {"reserve_mb": 1},
                                "sync": {"url": rx.url, "sos_retry": 3.0}})
        enroll(cfg, rx.url, "55550000", serial="BENCH-1")

        for batch in () if args.returns_only else (500, 2000):
            d = bench_drain(workdir, rx, cfg, n, batch)
            print(f"drain {d['n']:,} readings, batch {d['batch']}: {d['rate']:,.0f} events/s "
                  f"({d['seconds']:.1f} s; {d['received']:,} new at the receiver); worker RSS "
                  f"{d['rss_start']:.0f} MiB at start, {d['rss_min']:.0f}–{d['rss_max']:.0f} MiB "
                  f"during, {d['rss_end']:.0f} MiB at the end ({d['samples']} samples); "
                  f"filling the outbox took {d['fill_s']:.1f} s")

        if not args.returns_only:
            s = bench_sos(cfg, rounds, backlog=0)
            print(f"SOS press → accepted, idle link ({s['rounds']} presses): median "
                  f"{s['median_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms")
            s = bench_sos(cfg, rounds, backlog=n)
            print(f"SOS press → accepted, while draining {n:,} readings ({s['rounds']} "
                  f"presses): median {s['median_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max "
                  f"{s['max_ms']:.1f} ms ({s['backlog_left']:,} readings still queued at the "
                  "end)")

        for how, words in (("offline", "connections closed unanswered"),
                           ("reset", "connections reset, TCP RST"),
                           ("down", "receiver process down, connection refused"),
                           ("black_hole", "black hole: request read, never answered"),
                           ("full_backlog", "accept queue full, SYNs dropped")):
            r = bench_network_return(cfg, rx, returns, how)
            print(f"network return → SOS delivered ({words}; {r['rounds']} outages of "
                  f"0.7–4 s): median {r['median_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
                  f"max {r['max_ms']:.0f} ms", flush=True)
    finally:
        rx.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
