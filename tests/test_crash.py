"""Crash safety: the core is SIGKILLed at random moments while presses and readings pour in.

Afterwards every press and reading the API acknowledged is in the database exactly
once, no alarm is duplicated, and ``PRAGMA integrity_check`` is ok (SQLite's own crash
tests check the same all-or-nothing property).
"""

import random
import threading
import time

import pytest

from hub.api import ApiClient
from hub.clock import new_id
from hub.errors import ApiError
from hub.store import Store

KILLS = 200


def hammer(socket_path, acked_presses, acked_readings, stop: threading.Event, rng):
    """Send presses and readings as fast as acknowledgements come back."""
    try:
        client = ApiClient(socket_path, timeout=5).connect()
    except ApiError:
        return
    try:
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.35:
                press_id = new_id()
                # The source is the core's to set (a socket client can never be the button).
                client.request("sos.press", id=press_id)
                acked_presses.append(press_id)
            elif roll < 0.40:
                client.request("sos.cancel", source="touch")
            elif roll < 0.43:
                client.request("sos.resolve", source="touch")
            else:
                reading_id = new_id()
                client.request("reading.add", reading={
                    "id": reading_id, "kind": "spo2", "values": {"spo2": 97, "pulse": 71},
                    "units": {"spo2": "%", "pulse": "/min"}})
                acked_readings.append(reading_id)
    except ApiError:
        pass  # the core was killed under us: whatever was not acknowledged may be lost
    finally:
        client.close()


@pytest.mark.slow
def test_sos_presses_and_readings_survive_200_sigkills(core_factory):
    rng = random.Random(20261125)
    core = core_factory(sos={"countdown": 3, "button_countdown": 0})
    acked_presses: list[str] = []
    acked_readings: list[str] = []
    kills = 0
    # At least KILLS kills, and enough acknowledged writes for the check to mean something
    # (a loaded machine acknowledges fewer per life); bounded either way.
    while kills < KILLS or (min(len(acked_presses), len(acked_readings)) < 200
                            and kills < 3 * KILLS):
        kills += 1
        core.start()
        stop = threading.Event()
        worker = threading.Thread(target=hammer, args=(core.socket, acked_presses,
                                                       acked_readings, stop, rng))
        worker.start()
        if kills % 4:
            # Most lives end amid the writes: at a random moment after the first
            # acknowledgement (a loaded machine may take longer than 0.25 s to give one).
            before = len(acked_presses) + len(acked_readings)
            waited = time.monotonic() + 5
            while (len(acked_presses) + len(acked_readings) == before
                   and time.monotonic() < waited and worker.is_alive()):
                time.sleep(0.002)
        # ...and every fourth at any moment from the start: start-up and recovery.
        time.sleep(rng.uniform(0.0, 0.25))
        core.kill()
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
    assert len(acked_presses) > 200 and len(acked_readings) > 200

    core.start()  # recovery must work after the last kill, too
    with core.client() as c:
        state = c.request("sos.state")["state"]
    assert state in ("idle", "countdown", "raised")
    core.terminate()

    store = Store(core.state_dir / "hub.db")
    try:
        assert store.integrity_check() == "ok"
        q = store.db.execute
        for press_id in acked_presses:
            assert q("SELECT COUNT(*) FROM events WHERE id = ?", [press_id]).fetchone()[0] == 1
        for reading_id in acked_readings:
            assert q("SELECT COUNT(*) FROM readings WHERE id = ?", [reading_id]).fetchone()[0] == 1
        # Never two open alarms; every raised alarm raised exactly once and queued for sync.
        open_alarms = q("SELECT COUNT(*) FROM sos_alarms WHERE state IN "
                        "('countdown','raised','delivered','acknowledged')").fetchone()[0]
        assert open_alarms <= 1
        raised = q("SELECT id FROM sos_alarms WHERE raised_at IS NOT NULL").fetchall()
        assert raised
        for (alarm_id,) in raised:
            assert q("SELECT COUNT(*) FROM events WHERE kind = 'sos_raised' AND sos_id = ?",
                     [alarm_id]).fetchone()[0] == 1
            assert q("SELECT COUNT(*) FROM outbox WHERE id = ?", [alarm_id]).fetchone()[0] == 1
        # Every synced event has its outbox row (written in the same transaction).
        orphans = q("SELECT COUNT(*) FROM events WHERE kind IN ('sos_raised', 'sos_pressed_again')"
                    " AND delivered_at IS NULL AND id NOT IN (SELECT id FROM outbox)").fetchone()[0]
        pressed_in_countdown = q("SELECT COUNT(*) FROM events WHERE kind = 'sos_pressed_again' "
                                 "AND json_extract(payload, '$.state') = 'countdown'").fetchone()[0]
        assert orphans == pressed_in_countdown  # presses during a countdown stay local
    finally:
        store.close()
