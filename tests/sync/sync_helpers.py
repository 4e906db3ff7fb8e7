"""Helpers shared by the sync tests (kept out of conftest.py so they can be imported)."""

import time
import uuid

from hub.config import config_from_dict
from hub.store import PRIORITY_SOS, Store


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.01, what: str = "condition"):
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def make_config(tmp_path, url: str = "", **sync):
    """A hub configuration in ``tmp_path/state`` pointing at ``url``."""
    return config_from_dict({
        "hub": {"state_dir": str(tmp_path / "state")},
        "store": {"reserve_mb": 1},
        "sync": {"url": url, "timeout": 2.0, "backoff_cap": 2.0, "sos_retry": 1.0,
                 "inbox_interval": 1.0, **sync},
    })


def bp_reading(**over):
    """A blood-pressure reading as a BLE cuff gives it."""
    return {"kind": "blood_pressure",
            "values": {"systolic": 128, "diastolic": 82, "pulse": 71},
            "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]", "pulse": "/min"},
            "device": {"address": "A4:C1:38:00:11:22", "name": "Cuff"}, **over}


def add_readings(store: Store, n: int, chunk: int = 5000) -> list[str]:
    """Store ``n`` readings in chunks (one transaction each); return their ids."""
    ids = []
    for start in range(0, n, chunk):
        batch = [bp_reading(id=str(uuid.uuid4())) for _ in range(min(chunk, n - start))]
        ids.extend(r["id"] for r in store.add_readings(batch))
    return ids


def raise_sos(store: Store, sos_id: str | None = None) -> dict:
    """Record an ``sos_raised`` event with its urgent outbox row, as the core does."""
    return store.record_event("sos_raised", {"source": "button"}, source="button",
                              sos_id=sos_id or str(uuid.uuid4()), priority=PRIORITY_SOS)
