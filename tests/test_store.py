"""The store: migrations, durability settings, outbox, retention, the disk reserve."""

import datetime as dt
import os
import sqlite3

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clock import to_rfc3339
from hub.errors import StorageFullError, StoreError
from hub.store import PRIORITY_SOS, SCHEMA_VERSION, Store, migrations

BP = {"kind": "blood_pressure", "values": {"systolic": 128, "diastolic": 82},
      "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]"}}


def test_new_database_gets_every_migration_and_durable_pragmas(store):
    assert store.schema_version() == SCHEMA_VERSION
    assert store.pragmas() == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 10000,
                               "foreign_keys": 1}
    tables = set(store.db.table_names())
    assert {"events", "readings", "outbox", "inbox", "devices", "settings", "sos_alarms",
            "runtime_state"} <= tables
    assert store.integrity_check() == "ok"


def test_previous_version_database_is_upgraded_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before="m002_runtime_state")
    old["events"].insert({"id": "e1", "kind": "checkin", "occurred_at": "2025-01-01T00:00:00.000Z",
                          "clock_synced": 1, "source": "touch", "payload": "{}"})
    old.execute("INSERT INTO outbox (id, item_table, priority, body, created_at) "
                "VALUES ('e1', 'events', 5, '{}', '2025-01-01T00:00:00.000Z')")
    old.conn.commit()
    assert "runtime_state" not in old.table_names()
    old.conn.close()

    store = Store(path, reserve_bytes=1)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.get_event("e1")["kind"] == "checkin"
        store.mark_dead("e1", "rejected: test")  # uses a column migration 2 added
        assert store.dead_letters()[0]["reason"] == "rejected: test"
    finally:
        store.close()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "hub.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a hub database"):
        Store(path)


def test_event_carries_uuid_utc_time_and_clock_state(tmp_path):
    s = Store(tmp_path / "h.db", reserve_bytes=1, synced=lambda: False)
    try:
        event = s.record_event("checkin", {"answer": "ok"}, source="touch")
        assert len(event["id"]) == 36 and event["occurred_at"].endswith("Z")
        assert event["clock_synced"] is False
        body = s.outbox_ready(10)[0]["body"]
        assert body == {"id": event["id"], "type": "checkin", "occurred_at": event["occurred_at"],
                        "clock_synced": False, "source": "touch", "sos_id": None,
                        "data": {"answer": "ok"}}
    finally:
        s.close()


def test_same_event_id_twice_is_stored_once(store):
    first = store.record_event("checkin", {}, event_id="fixed-id")
    again = store.record_event("checkin", {"different": 1}, event_id="fixed-id")
    assert again["duplicate"] is True and again["payload"] == {}
    assert len(store.events("checkin")) == 1
    assert store.outbox_stats()["depth"] == 1
    assert first["id"] == "fixed-id"


def test_readings_are_stored_with_outbox_rows_and_duplicates_skipped(store):
    stored = store.add_readings([{**BP, "id": "r1"}, {**BP, "id": "r2"}, {**BP, "id": "r1"}])
    assert [r["id"] for r in stored] == ["r1", "r2"]
    assert store.outbox_stats()["depth"] == 2
    assert store.latest_readings()["blood_pressure"]["values"] == {"systolic": 128, "diastolic": 82}
    with pytest.raises(ValueError, match="kind"):
        store.add_reading({"values": {}})


def test_sos_rows_come_out_of_the_outbox_first(store):
    store.add_readings([dict(BP) for _ in range(5)])
    sos = store.record_event("sos_raised", {}, priority=PRIORITY_SOS)
    ready = store.outbox_ready(3)
    assert ready[0]["id"] == sos["id"]
    assert [r["priority"] for r in ready] == [0, 5, 5]
    assert [r["id"] for r in store.outbox_ready(10, max_priority=0)] == [sos["id"]]


def test_failed_rows_wait_and_dead_letters_are_kept_not_retried(store):
    a = store.add_reading(dict(BP))
    b = store.add_reading(dict(BP))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    store.mark_failed([a["id"]], "HTTP 503", retry_at=later)
    assert [r["id"] for r in store.outbox_ready(10)] == [b["id"]]
    assert [r["id"] for r in store.outbox_ready(10, now=later)] == [a["id"], b["id"]]
    store.mark_dead(b["id"], "rejected: systolic missing")
    assert [r["id"] for r in store.outbox_ready(10, now=later)] == [a["id"]]
    assert store.outbox_stats()["dead"] == 1
    assert store.dead_letters()[0]["reason"] == "rejected: systolic missing"
    assert "HTTP 503" in store.get_runtime("sync.last_error")


def test_delivery_removes_outbox_row_and_marks_the_fact(store):
    r = store.add_reading(dict(BP))
    assert store.mark_delivered([r["id"], "unknown-id"]) == 1
    assert store.outbox_stats()["depth"] == 0
    assert store.readings()[0]["delivered_at"] is not None
    assert store.get_runtime("sync.last_success")


def _age_everything(store, days):
    old = to_rfc3339(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days))
    store.db.execute("UPDATE readings SET measured_at = ?", [old])
    store.db.execute("UPDATE events SET occurred_at = ?", [old])
    store.db.conn.commit()


def test_retention_deletes_only_old_delivered_data_and_never_an_sos(store):
    delivered = store.add_reading(dict(BP))
    pending = store.add_reading(dict(BP))
    checkin = store.record_event("checkin", {})
    sos = store.record_event("sos_raised", {}, priority=PRIORITY_SOS, sos_id="alarm-1")
    store.mark_delivered([delivered["id"], checkin["id"], sos["id"]])
    _age_everything(store, 400)
    counts = store.prune(older_than=dt.timedelta(days=90))
    assert counts == {"readings": 1, "events": 1}
    assert [r["id"] for r in store.readings()] == [pending["id"]]
    assert store.get_event(sos["id"]) is not None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 400)), min_size=1, max_size=30))
def test_retention_never_deletes_anything_undelivered(tmp_path_factory, plan):
    store = Store(tmp_path_factory.mktemp("ret") / "h.db", reserve_bytes=1)
    try:
        ids = []
        for delivered, age in plan:
            r = store.add_reading({**BP, "measured_at": dt.datetime.now(dt.timezone.utc)
                                   - dt.timedelta(days=age)})
            ids.append((r["id"], delivered, age))
            if delivered:
                store.mark_delivered([r["id"]])
        store.prune(older_than=dt.timedelta(days=90))
        left = {r["id"] for r in store.readings()}
        for rid, delivered, age in ids:
            if not delivered or age < 90:
                assert rid in left
            else:
                assert rid not in left
    finally:
        store.close()


def test_low_disk_refuses_readings_but_keeps_alarms_and_checkins(tmp_path):
    free = {"bytes": 10 * 1024 ** 3}
    s = Store(tmp_path / "h.db", reserve_bytes=64 * 1024 ** 2, disk_free=lambda: free["bytes"])
    try:
        s.add_reading(dict(BP))
        free["bytes"] = 1024 ** 2
        s._free_checked = (0.0, 0)
        with pytest.raises(StorageFullError, match="only alarms and check-ins"):
            s.add_reading(dict(BP))
        assert s.record_event("sos_raised", {}, priority=PRIORITY_SOS)["kind"] == "sos_raised"
        assert s.record_event("checkin", {})["kind"] == "checkin"
        assert len(s.readings()) == 1
    finally:
        s.close()


def test_full_database_makes_room_for_an_sos_by_pruning_delivered_data(tmp_path):
    s = Store(tmp_path / "h.db", reserve_bytes=1)
    try:
        # Fill the file to a hard page limit with delivered readings.
        pages = s.db.execute("PRAGMA page_count").fetchone()[0]
        s.db.execute(f"PRAGMA max_page_count = {pages + 40}")
        with pytest.raises(StorageFullError):
            while True:
                r = s.add_reading({**BP, "extra": {"pad": "x" * 2000}})
                s.mark_delivered([r["id"]])
        event = s.record_event("sos_raised", {"test": False}, priority=PRIORITY_SOS)
        assert s.get_event(event["id"])["kind"] == "sos_raised"
        assert s.integrity_check() == "ok"
    finally:
        s.close()


def test_an_open_reader_neither_blocks_a_write_nor_sees_it_half_done(store):
    # WAL: the kiosk-side `hub status` reading must never hold up an SOS write.
    store.add_reading(dict(BP))
    reader = sqlite3.connect(store.path, timeout=0.1)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 1
        store.record_event("sos_raised", {}, priority=PRIORITY_SOS)  # would be SQLITE_BUSY
        store.add_reading(dict(BP))
        assert reader.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 1  # snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 2
    finally:
        reader.close()


def test_inbox_messages_apply_once(store):
    applied = []
    msg = {"id": "m1", "kind": "message", "data": {"text": "Hello Mum"}}
    assert store.inbox_add(msg, apply=lambda: applied.append(1)) is True
    assert store.inbox_add(msg, apply=lambda: applied.append(1)) is False
    assert applied == [1]
    assert store.inbox()[0]["payload"] == {"text": "Hello Mum"}
    assert store.inbox_mark_read("m1") and not store.inbox_mark_read("nope")


def test_write_while_another_connection_commits_waits_instead_of_failing(tmp_path):
    """The core and the sync worker each have a connection; neither may see 'locked'."""
    import threading

    a = Store(tmp_path / "h.db", reserve_bytes=1)
    b = Store(tmp_path / "h.db", reserve_bytes=1)
    try:
        def other_connection_writes():
            for _ in range(200):
                b.set_runtime("sync.state", "ok")

        t = threading.Thread(target=other_connection_writes)
        t.start()
        # record_event reads (its duplicate check) and then writes: the racy shape.
        for _ in range(200):
            a.record_event("sos_pressed_again", {}, priority=PRIORITY_SOS)
        t.join()
        assert len(a.events("sos_pressed_again")) == 200
    finally:
        a.close()
        b.close()


# -- damaged, truncated and read-only files ------------------------------------------

def _made_db(path):
    s = Store(path, reserve_bytes=1)
    for n in range(300):
        s.record_event("checkin", {"n": n, "pad": "x" * 200})
    s.close()
    return path


def test_a_database_truncated_to_zero_bytes_is_damaged_not_recreated(tmp_path):
    from hub.store import DamagedDatabaseError

    path = _made_db(tmp_path / "hub.db")
    path.write_bytes(b"")
    with pytest.raises(DamagedDatabaseError, match="0 bytes"):
        Store(path)
    assert path.stat().st_size == 0  # left exactly as found


@pytest.mark.parametrize("damage", ["truncated", "bad_header", "flipped_page"])
def test_damage_is_found_at_open_with_check(tmp_path, damage):
    from hub.store import DamagedDatabaseError

    path = _made_db(tmp_path / "hub.db")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2 + 100]
    elif damage == "bad_header":
        data[0:16] = b"NOT SQLITE AT AL"
    else:  # overwrite a b-tree page in the middle with noise
        page = 4096 * (len(data) // 4096 // 2)
        data[page:page + 4096] = bytes((i * 37 + 11) % 256 for i in range(4096))
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedDatabaseError):
        Store(path, check=True)


def test_a_damaged_database_is_set_aside_with_its_wal_never_deleted(tmp_path):
    from hub.store import damaged_copies, set_aside_damaged

    path = tmp_path / "hub.db"
    path.write_bytes(b"garbage" * 100)
    (tmp_path / "hub.db-wal").write_bytes(b"wal bytes")
    kept = set_aside_damaged(path)
    assert not path.exists()
    assert kept.read_bytes() == b"garbage" * 100
    assert (tmp_path / (kept.name + "-wal")).read_bytes() == b"wal bytes"
    assert damaged_copies(path) == [kept]
    fresh = Store(path)  # the core then starts on a fresh file beside it
    fresh.close()
    assert damaged_copies(path) == [kept]


def test_a_read_only_database_is_reported(tmp_path):
    from hub.store import writable_problem

    path = _made_db(tmp_path / "hub.db")
    assert writable_problem(path) is None
    path.chmod(0o444)
    assert "read-only" in writable_problem(path)


# -- a disk really full: the SOS-only reserve ----------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs (needs root and mount permission; skipped otherwise)."""
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path):
    """Fill the filesystem holding ``path`` to the last byte; return the filler file."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_sos_is_written_on_a_full_disk_after_everything_else_used_the_reserve(small_disk):
    s = Store(small_disk / "hub.db", reserve_bytes=1024 * 1024)
    try:
        assert (small_disk / "sos-reserve.ballast").exists()
        (small_disk / "disk-reserve.ballast").unlink()  # check-ins used it up earlier
        fill(small_disk)
        with pytest.raises((StorageFullError, sqlite3.OperationalError)):
            for n in range(200):
                s.record_event("checkin", {"n": n, "pad": "x" * 3000})
        with pytest.raises(StorageFullError):
            s.add_reading(dict(BP))
        event = s.record_event("sos_raised", {"test": False}, priority=PRIORITY_SOS)
        assert s.get_event(event["id"])["kind"] == "sos_raised"
        assert s.outbox_ready(5)[0]["id"] == event["id"]
        assert not (small_disk / "sos-reserve.ballast").exists()
    finally:
        s.close()
    (small_disk / "filler").unlink()
    s = Store(small_disk / "hub.db", reserve_bytes=1024 * 1024)  # space is back
    try:
        assert (small_disk / "sos-reserve.ballast").exists()  # the reserve is re-made
        assert s.integrity_check() == "ok"
    finally:
        s.close()


def test_alarm_writer_retries_a_failing_write_in_order_until_it_lands(tmp_path):
    from hub.store import AlarmWriter

    path = tmp_path / "hub.db"
    Store(path, reserve_bytes=1).close()
    # Another process holds the write lock, as a stalled writer would.
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    written = []
    writer = AlarmWriter(lambda: _short_busy(Store(path, reserve_bytes=1, migrate=False)),
                         on_written=lambda label, meta: written.append(label))
    writer.start()
    try:
        first = writer.submit(lambda st: st.record_event("sos_raised", {}, event_id="a1",
                                                         priority=PRIORITY_SOS), label="raise")
        second = writer.submit(lambda st: st.record_event("sos_escalated", {}, event_id="a2",
                                                          priority=PRIORITY_SOS), label="escalate")
        import time

        time.sleep(0.6)
        assert not first.done() and writer.pending() == 2 and writer.last_error
        blocker.execute("ROLLBACK")  # the storage answers again
        assert first.result(10)["id"] == "a1" and second.result(10)["id"] == "a2"
        assert written == ["raise", "escalate"] and writer.last_error is None
    finally:
        blocker.close()
        assert writer.stop() == 0
    s = Store(path, reserve_bytes=1)
    try:
        assert [e["id"] for e in s.events()] == ["a1", "a2"]
    finally:
        s.close()


def _short_busy(store):
    store.db.execute("PRAGMA busy_timeout=50")
    return store
