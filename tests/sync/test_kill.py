"""The sync worker is SIGKILLed again and again while it drains 20,000 events through faults.

At the end the receiver must hold every valid event exactly once, the hub's outbox
must be empty, and only the events that really are invalid may be dead letters.
The worker runs in a child process (``python -m hub.sync``), the receiver in this
one; the kills land at random moments, so some hit a request in flight, some a
commit, some a start-up.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.store import Store
from hub.sync.enroll import enroll
from hub.sync.receiver import Faults, Receiver

from .sync_helpers import add_readings, make_config, raise_sos, wait_for

ROOT = Path(__file__).resolve().parents[2]

EVENTS = 20_000
KILLS = 100
# Tuned so that the drain outlasts the kills on a 2-core machine: small batches and a
# little latency slow each life down; the worker takes ~0.3 s to start.
BATCH = 10
KILL_AFTER = (0.25, 0.9)
FAULTS = Faults(error_rate=0.05, rate_limit=0.05, retry_after=0, drop_rate=0.05, latency=0.01)


@pytest.mark.slow
def test_sync_survives_kills_during_a_drain_with_faults(tmp_path):
    rng = random.Random(20261125)
    rx = Receiver(tmp_path / "platform.db", faults=Faults(), seed=11).start()
    try:
        cfg = make_config(tmp_path, rx.url)
        enroll(cfg, rx.url, rx.create_code(), serial="KILL-1")
        def config_file(name, batch):
            path = tmp_path / name
            path.write_text(
                f'[hub]\nstate_dir = "{cfg.state_dir}"\n[store]\nreserve_mb = 1\n'
                f'[sync]\nurl = "{rx.url}"\nbatch_size = {batch}\ntimeout = 2.0\n'
                'backoff_cap = 1.0\nsos_retry = 0.5\ninbox_interval = 1.0\n')
            return str(path)
        st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
        valid = set(add_readings(st, EVENTS - 200))
        valid |= {st.record_event("checkin", {"n": n})["id"] for n in range(190)}
        poison = {st.record_event("Bad Kind!", {"n": n})["id"] for n in range(5)}
        valid |= {raise_sos(st)["id"] for _ in range(5)}
        assert len(valid) == EVENTS - 5

        rx.set_faults(**{k: getattr(FAULTS, k) for k in ("error_rate", "rate_limit",
                                                           "retry_after", "drop_rate", "latency")})
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "hub.sync", "--config", config_file("kill.toml", BATCH)]
        kills = 0
        depth_at_last_kill = None
        log = open(tmp_path / "worker.log", "w")
        started = time.monotonic()
        while kills < KILLS:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
            time.sleep(rng.uniform(*KILL_AFTER))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            if kills % 20 == 0:  # an SOS raised while the worker is down
                valid.add(raise_sos(st)["id"])
            depth_at_last_kill = st.outbox_stats()["depth"]
        # the kills happened during the drain, not after it
        assert depth_at_last_kill > 0, "drain finished before the kills: retune the test"
        killed_for = time.monotonic() - started

        # one last life, left alone, finishes the job through the same faults (in
        # bigger batches: the small ones were only there to stretch the killing phase)
        final = [sys.executable, "-m", "hub.sync", "--config", config_file("final.toml", 250)]
        proc = subprocess.Popen(final, env=env, stdout=log, stderr=log)
        try:
            wait_for(lambda: st.outbox_stats()["depth"] == 0, timeout=120, interval=0.2,
                     what="the final drain")
        finally:
            proc.terminate()
            proc.wait(10)
        log.close()

        received = rx.event_ids()
        assert len(received) == len(set(received))
        assert set(received) == valid  # every valid event, nothing else
        counters = rx.stats()["counters"]
        assert counters["accepted"] == len(valid)  # each accepted exactly once
        assert counters["duplicate"] > 0  # replays happened, and were harmless
        assert {d["id"] for d in st.dead_letters()} == poison
        stats = st.outbox_stats()
        assert stats["depth"] == 0 and stats["dead"] == len(poison)
        assert st.integrity_check() == "ok"
        undelivered = st.db.execute(
            "SELECT COUNT(*) FROM readings WHERE delivered_at IS NULL").fetchone()[0]
        assert undelivered == 0
        print(f"\n{kills} kills in {killed_for:.0f} s, {depth_at_last_kill} left after the last; "
              f"final drain {time.monotonic() - started - killed_for:.0f} s; "
              f"receiver counters: {counters}")
        st.close()
    finally:
        rx.close()
