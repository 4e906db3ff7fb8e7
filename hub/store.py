"""The hub's durable memory: one SQLite file, opened through sqlite-utils.

This module owns the schema (numbered migrations), the durability settings, and
every write the hub makes: events, health readings, the sync outbox, the inbox,
paired devices, settings and the SOS alarm record. It does not know about
sockets, GPIO, Bluetooth or HTTP.

Rules it keeps:

* WAL with ``synchronous=FULL``: a commit that returned survives a power cut
  (sqlite.org/pragma.html#pragma_synchronous). Any setting survives a crash.
* A fact that will be synced is written in the same transaction as its outbox
  row, so nothing is learnt that the platform will not hear about.
* Every synced row carries its UUID (the idempotency key), its UTC time and
  whether the clock was synchronised then.
* Retention deletes only what was delivered; an SOS is never deleted.
* When the disk is nearly full, only alarms and check-ins may still be written,
  and a ballast file is given up to make room for them. A second, smaller ballast
  is given up only for an SOS: when everything else has used the disk up, an alarm
  can still be written.
* A damaged file (not a database, a bad header, failed ``quick_check``, truncated to
  0 bytes) raises :class:`DamagedDatabaseError`; :func:`set_aside_damaged` renames it
  (never deletes it) so the core can start on a fresh database beside it.

One :class:`Store` is used from one thread at a time (the core gives it a
dedicated writer thread); other processes open their own.
"""

import collections
import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from hub.clock import clock_synced, new_id, parse_rfc3339, to_rfc3339, utc_now
from hub.errors import StorageFullError, StoreError

__all__ = [
    "Store",
    "SCHEMA_VERSION",
    "migrations",
    "PRIORITY_SOS",
    "PRIORITY_ALERT",
    "PRIORITY_NORMAL",
    "ESSENTIAL_KINDS",
    "DamagedDatabaseError",
    "set_aside_damaged",
    "damaged_copies",
    "writable_problem",
    "AlarmWriter",
]

log = logging.getLogger(__name__)

# Outbox priorities: lower goes first. SOS traffic never waits behind a batch.
PRIORITY_SOS = 0
PRIORITY_ALERT = 1
PRIORITY_NORMAL = 5

# Event kinds that must be writable even when the disk is nearly full.
ESSENTIAL_KINDS = frozenset(
    {
        "sos_countdown",
        "sos_raised",
        "sos_pressed_again",
        "sos_cancelled",
        "sos_delivered",
        "sos_acknowledged",
        "sos_resolved",
        "sos_escalated",
        "checkin",
    }
)

BALLAST_NAME = "disk-reserve.ballast"
# Given up only for an SOS: room for a dozen alarm transactions in the WAL.
SOS_BALLAST_NAME = "sos-reserve.ballast"
SOS_BALLAST_BYTES = 1024 * 1024
DAMAGED_MARK = ".damaged-"


class DamagedDatabaseError(StoreError):
    """The database file is damaged: keep it for recovery, never recreate it in place."""


def damaged_copies(db_path: str | os.PathLike) -> list[Path]:
    """Damaged databases kept beside ``db_path`` by :func:`set_aside_damaged`, oldest first."""
    db_path = Path(db_path)
    found = [p for p in db_path.parent.glob(db_path.name + DAMAGED_MARK + "*")
             if not p.name.endswith(("-wal", "-shm", "-journal"))]
    return sorted(found)


def set_aside_damaged(db_path: str | os.PathLike, now: dt.datetime | None = None) -> Path:
    """Rename a damaged database and its -wal/-shm (never delete them); return the new path.

    The companions keep their suffix after the new name, so SQLite (or ``.recover``)
    still finds the WAL that belongs to the kept copy.
    """
    db_path = Path(db_path)
    stamp = (now or utc_now()).strftime("%Y%m%dT%H%M%SZ")
    kept = db_path.with_name(db_path.name + DAMAGED_MARK + stamp)
    n = 1
    while kept.exists():
        n += 1
        kept = db_path.with_name(f"{db_path.name}{DAMAGED_MARK}{stamp}-{n}")
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(str(db_path) + suffix)
        if companion.exists():
            os.replace(companion, Path(str(kept) + suffix))
    if db_path.exists():
        os.replace(db_path, kept)
    fd = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames themselves must survive a power cut
    finally:
        os.close(fd)
    return kept


def writable_problem(db_path: str | os.PathLike) -> str | None:
    """Why the hub could not write this database (read-only file, folder or filesystem), or None.

    Looks at the mode bits as well as ``access()``: a root technician can write a file
    marked read-only, the ``hub`` user running the core cannot.
    """
    db_path = Path(db_path)
    if not db_path.exists():
        return None
    mode = db_path.stat().st_mode
    if not mode & 0o200:
        return f"{db_path} is read-only (mode {oct(mode & 0o777)})"
    if not os.access(db_path, os.W_OK):
        return f"{db_path} is not writable by this user"
    if os.statvfs(db_path.parent).f_flag & os.ST_RDONLY:
        return f"the filesystem holding {db_path.parent} is mounted read-only"
    if not os.access(db_path.parent, os.W_OK) or not db_path.parent.stat().st_mode & 0o200:
        return f"{db_path.parent} is read-only: SQLite cannot create its -wal file there"
    return None

migrations = Migrations("hub")


@migrations()
def m001_initial(db: sqlite_utils.Database):
    """Events, readings, outbox, inbox, devices, settings, SOS alarms."""
    db["events"].create(
        {
            "id": str,
            "kind": str,
            "occurred_at": str,
            "clock_synced": int,
            "source": str,
            "sos_id": str,
            "payload": str,
            "delivered_at": str,
        },
        pk="id",
        not_null={"kind", "occurred_at", "payload"},
    )
    db["events"].create_index(["kind", "occurred_at"])
    db["readings"].create(
        {
            "id": str,
            "kind": str,
            "measured_at": str,
            "clock_synced": int,
            "device_time": str,
            "device_address": str,
            "values_json": str,
            "units_json": str,
            "extra_json": str,
            "delivered_at": str,
        },
        pk="id",
        not_null={"kind", "measured_at", "values_json", "units_json"},
    )
    db["readings"].create_index(["kind", "measured_at"])
    db.execute(
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            item_table TEXT NOT NULL CHECK (item_table IN ('events', 'readings')),
            priority INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            dead INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX outbox_ready ON outbox (dead, priority, seq)")
    db["inbox"].create(
        {
            "id": str,
            "kind": str,
            "received_at": str,
            "payload": str,
            "applied_at": str,
            "read_at": str,
        },
        pk="id",
        not_null={"kind", "received_at", "payload"},
    )
    db["devices"].create(
        {
            "address": str,
            "kind": str,
            "name": str,
            "paired_at": str,
            "bonded": int,
            "last_seen": str,
            "last_sequence": int,
        },
        pk="address",
    )
    db["settings"].create({"key": str, "value": str, "updated_at": str}, pk="key")
    db["sos_alarms"].create(
        {
            "id": str,
            "state": str,
            "source": str,
            "test": int,
            "created_at": str,
            "countdown_deadline": str,
            "raised_at": str,
            "delivered_at": str,
            "acknowledged_at": str,
            "responder": str,
            "resolved_at": str,
            "cancelled_at": str,
            "escalated_at": str,
            "presses": int,
        },
        pk="id",
        not_null={"state", "created_at"},
    )
    db["sos_alarms"].create_index(["state"])


@migrations()
def m002_runtime_state(db: sqlite_utils.Database):
    """Runtime facts the hub reports (last sync, inbox cursor) and the reason an event died."""
    db["runtime_state"].create({"key": str, "value": str, "updated_at": str}, pk="key")
    db.execute("ALTER TABLE outbox ADD COLUMN dead_reason TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN last_attempt_at TEXT")


SCHEMA_VERSION = 2
_ACTIVE_SOS_STATES = ("countdown", "raised", "delivered", "acknowledged")


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


class Store:
    """The hub's database.

    :param path: the SQLite file (created with its directory if missing).
    :param reserve_bytes: free disk below which only essential facts are written.
    :param now: the clock, injectable for tests.
    :param synced: tells whether the clock is synchronised (see :mod:`hub.clock`).
    :param disk_free: returns free bytes where the DB lives; injectable for tests.
    :param migrate: apply pending migrations.
    :param check: run ``PRAGMA quick_check`` after opening (the core does, at start).
    :raises DamagedDatabaseError: the file is damaged (kept as it is).
    :raises StoreError: it cannot be opened for another reason (permissions…).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        reserve_bytes: int = 64 * 1024 * 1024,
        now: Callable[[], dt.datetime] = utc_now,
        synced: Callable[[], bool | None] = clock_synced,
        disk_free: Callable[[], int] | None = None,
        migrate: bool = True,
        check: bool = False,
    ):
        self.path = Path(path)
        self.reserve_bytes = reserve_bytes
        self._now = now
        self._synced = synced
        self._disk_free = disk_free or self._statvfs_free
        self._free_checked = (0.0, 0)
        try:
            # SQLite takes an empty file for a new database and would write a fresh
            # schema over what was a damaged one: a hub database is never 0 bytes.
            if self.path.exists() and self.path.stat().st_size == 0:
                raise DamagedDatabaseError(
                    f"database {self.path} is empty (0 bytes): it was truncated. "
                    "It is kept as it is; see `hub doctor`.")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open database {self.path}: {exc}. "
                "Is the state directory writable by this user?"
            ) from None
        self.db = sqlite_utils.Database(conn)
        try:
            self._configure()
            if check:
                result = self.quick_check()
                if result != "ok":
                    raise sqlite3.DatabaseError(f"quick_check: {result[:200]}")
            if migrate:
                migrations.apply(self.db)
        except sqlite3.OperationalError as exc:
            conn.close()
            raise StoreError(
                f"cannot use database {self.path} ({exc}). "
                "Is the file and its folder writable by this user? Run `hub doctor`."
            ) from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise DamagedDatabaseError(
                f"database {self.path} is damaged or not a hub database ({exc}). "
                "Run `hub doctor`; keep the file for a technician."
            ) from None
        self.ensure_reserve()

    # -- transactions ------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self):
        """A write transaction that takes the write lock first.

        A deferred ``BEGIN`` that reads and then writes fails at once with
        SQLITE_BUSY_SNAPSHOT when another connection (the sync worker) committed in
        between, without waiting for busy_timeout (sqlite.org/isolation.html).
        ``BEGIN IMMEDIATE`` waits for the lock instead. Nested use is a savepoint.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- opening ---------------------------------------------------------------

    def _configure(self):
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.execute("PRAGMA foreign_keys=ON")
        got = self.pragmas()
        want = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
        for key, value in want.items():
            if got[key] != value:
                raise StoreError(f"database {self.path}: PRAGMA {key} is {got[key]}, need {value}")

    def pragmas(self) -> dict:
        """Return the durability settings actually in force on this connection."""
        q = self.db.execute
        return {
            "journal_mode": q("PRAGMA journal_mode").fetchone()[0],
            "synchronous": q("PRAGMA synchronous").fetchone()[0],
            "busy_timeout": q("PRAGMA busy_timeout").fetchone()[0],
            "foreign_keys": q("PRAGMA foreign_keys").fetchone()[0],
        }

    def schema_version(self) -> int:
        """Number of migrations applied."""
        return len(migrations.applied(self.db))

    def close(self):
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.db.conn.close()

    def quick_check(self) -> str:
        """Run ``PRAGMA quick_check`` (structure, no index contents); "ok" when sound."""
        rows = self.db.execute("PRAGMA quick_check").fetchall()
        return "; ".join(r[0] for r in rows)

    def integrity_check(self) -> str:
        """Run ``PRAGMA integrity_check``; "ok" when the file is sound."""
        rows = self.db.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(r[0] for r in rows)

    # -- disk reserve ----------------------------------------------------------

    def _statvfs_free(self) -> int:
        st = os.statvfs(self.path.parent)
        return st.f_bavail * st.f_frsize

    def _ballast_path(self) -> Path:
        return self.path.parent / BALLAST_NAME

    def _sos_ballast_path(self) -> Path:
        return self.path.parent / SOS_BALLAST_NAME

    def ensure_reserve(self):
        """Keep the two ballast files (re-made once space is back after a full disk).

        The first (a quarter of the reserve, up to 16 MB) is given up for any alarm or
        check-in; the second (up to 1 MB) only for an SOS. The SOS one is made first and
        even when the disk is already low: it is what lets an alarm in when nothing else can.
        """
        sos_size = min(SOS_BALLAST_BYTES, self.reserve_bytes // 2)
        size = min(self.reserve_bytes // 4, 16 * 1024 * 1024)
        for path, nbytes, need in (
                (self._sos_ballast_path(), sos_size, sos_size * 2),
                (self._ballast_path(), size, self.reserve_bytes + size)):
            if nbytes < 64 * 1024 or path.exists() or self._disk_free() < need:
                continue
            try:
                with open(path, "wb") as fh:
                    os.posix_fallocate(fh.fileno(), 0, nbytes)
                    os.fsync(fh.fileno())
            except OSError as exc:
                log.warning("could not create disk reserve %s: %s", path, exc)
                path.unlink(missing_ok=True)

    def disk_low(self) -> bool:
        """True when free space is below the reserve (checked at most once a second)."""
        at, free = self._free_checked
        if time.monotonic() - at > 1.0:
            free = self._disk_free()
            self._free_checked = (time.monotonic(), free)
        return free < self.reserve_bytes

    def _make_room(self):
        """Give up the ballast and delivered data so an essential write can go in."""
        ballast = self._ballast_path()
        if ballast.exists():
            log.error("disk full: releasing the disk reserve to write an alarm or check-in")
            ballast.unlink()
        with contextlib.suppress(sqlite3.OperationalError):  # pruning needs room too
            self.prune(older_than=dt.timedelta(0))
        self._free_checked = (0.0, 0)

    def _make_room_for_sos(self) -> bool:
        """Give up the SOS-only ballast; False if it was already gone."""
        ballast = self._sos_ballast_path()
        if not ballast.exists():
            return False
        log.critical("disk full: releasing the SOS reserve to write an alarm")
        ballast.unlink()
        self._free_checked = (0.0, 0)
        return True

    def _write(self, essential: bool, fn: Callable[[], object], *, sos: bool = False):
        if not essential and self.disk_low():
            self.prune(older_than=dt.timedelta(0))
            self._free_checked = (0.0, 0)
            if self.disk_low():
                raise StorageFullError(
                    "storage is nearly full: only alarms and check-ins are being saved. "
                    "Free space on the SD card or replace it."
                )
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_full(exc):
                raise
            if not essential:
                raise StorageFullError(
                    f"storage full ({exc}): only alarms and check-ins are being saved"
                ) from None
            self._make_room()
            try:
                return fn()
            except sqlite3.OperationalError as again:
                if not (sos and _is_full(again) and self._make_room_for_sos()):
                    raise
            return fn()

    # -- facts -----------------------------------------------------------------

    def _stamp(self, at: dt.datetime | None) -> tuple[str, int | None]:
        synced = self._synced()
        return to_rfc3339(at or self._now()), None if synced is None else int(synced)

    def record_event(
        self,
        kind: str,
        payload: dict | None = None,
        *,
        event_id: str | None = None,
        source: str = "hub",
        sos_id: str | None = None,
        sync: bool = True,
        priority: int = PRIORITY_NORMAL,
        occurred_at: dt.datetime | None = None,
        also: Callable[[], None] | None = None,
    ) -> dict:
        """Write an event (and its outbox row when ``sync``) in one durable transaction.

        Re-recording an existing ``event_id`` changes nothing and returns the stored
        event, so a retried request is harmless.

        :param kind: e.g. ``sos_raised``, ``checkin``, ``alert``, ``service_request``.
        :param also: more writes to make inside the same transaction.
        :returns: the event as stored, with ``"duplicate": True`` if it already existed.
        """
        event_id = event_id or new_id()
        occurred, synced = self._stamp(occurred_at)
        row = {
            "id": event_id,
            "kind": kind,
            "occurred_at": occurred,
            "clock_synced": synced,
            "source": source,
            "sos_id": sos_id,
            "payload": json.dumps(payload or {}, separators=(",", ":")),
            "delivered_at": None,
        }

        def write():
            with self._tx():
                existing = self.db.execute(
                    "SELECT * FROM events WHERE id = ?", [event_id]
                ).fetchone()
                if existing:
                    return {**self._event_from_row(existing), "duplicate": True}
                self.db["events"].insert(row)
                if sync:
                    self._enqueue("events", event_id, priority, self._event_body(row))
                if also:
                    also()
            return self._event_from_row(row)

        return self._write(kind in ESSENTIAL_KINDS, write, sos=kind.startswith("sos_"))

    def _event_body(self, row: dict) -> dict:
        return {
            "id": row["id"],
            "type": row["kind"],
            "occurred_at": row["occurred_at"],
            "clock_synced": None if row["clock_synced"] is None else bool(row["clock_synced"]),
            "source": row["source"],
            "sos_id": row["sos_id"],
            "data": json.loads(row["payload"]),
        }

    def _event_from_row(self, row) -> dict:
        if not isinstance(row, dict):
            row = dict(zip(["id", "kind", "occurred_at", "clock_synced", "source", "sos_id",
                            "payload", "delivered_at"], row))
        out = dict(row)
        out["payload"] = json.loads(out["payload"])
        out["clock_synced"] = None if out["clock_synced"] is None else bool(out["clock_synced"])
        return out

    def get_event(self, event_id: str) -> dict | None:
        """Return one event by id, or None."""
        row = self.db.execute("SELECT * FROM events WHERE id = ?", [event_id]).fetchone()
        return self._event_from_row(row) if row else None

    def events(self, kind: str | None = None, *, sos_id: str | None = None) -> list[dict]:
        """Return events in the order they were written, optionally filtered."""
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if sos_id:
            where.append("sos_id = ?")
            args.append(sos_id)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        return [self._event_from_row(r) for r in self.db.execute(sql + " ORDER BY rowid", args)]

    def add_readings(self, readings: Iterable[dict]) -> list[dict]:
        """Store health readings (each with its outbox row) in one transaction.

        A reading is a dict with ``kind``, ``values`` and ``units``, and optionally
        ``id``, ``measured_at`` (datetime or RFC 3339), ``device_time``,
        ``device`` ({"address", ...}) and ``extra``. Known ids are skipped.

        :returns: the stored readings in wire form (with id, measured_at, clock_synced).
        :raises StorageFullError: when the disk is below the reserve.
        :raises ValueError: a reading without kind/values.
        """
        prepared = [self._prepare_reading(r) for r in readings]

        def write():
            stored = []
            with self._tx():
                # Every reading is in the same consent category: ask once per batch.
                shared = self._may_share("readings", {})
                for row, body in prepared:
                    cur = self.db.execute(
                        "INSERT OR IGNORE INTO readings (id, kind, measured_at, clock_synced, "
                        "device_time, device_address, values_json, units_json, extra_json) "
                        "VALUES (?,?,?,?,?,?,?,?,?)",
                        [row[k] for k in ("id", "kind", "measured_at", "clock_synced",
                                          "device_time", "device_address", "values_json",
                                          "units_json", "extra_json")],
                    )
                    if cur.rowcount:
                        self._enqueue("readings", row["id"], PRIORITY_NORMAL, body,
                                      shared=shared)
                        stored.append(body)
            return stored

        return self._write(False, write)

    def add_reading(self, reading: dict) -> dict | None:
        """Store one reading; see :meth:`add_readings`. None if the id was known."""
        stored = self.add_readings([reading])
        return stored[0] if stored else None

    def _prepare_reading(self, r: dict) -> tuple[dict, dict]:
        if not r.get("kind") or not isinstance(r.get("values"), dict) or not r["values"]:
            raise ValueError("a reading needs a kind and at least one value")
        measured = r.get("measured_at")
        if isinstance(measured, str):
            measured = parse_rfc3339(measured)
        stamp, synced = self._stamp(measured)
        if "clock_synced" in r:
            synced = None if r["clock_synced"] is None else int(r["clock_synced"])
        device = r.get("device") or {}
        body = {
            "id": r.get("id") or new_id(),
            "kind": r["kind"],
            "measured_at": stamp,
            "clock_synced": None if synced is None else bool(synced),
            "device_time": r.get("device_time"),
            "device": device or None,
            "values": r["values"],
            "units": r.get("units") or {},
            "extra": r.get("extra") or {},
        }
        row = {
            "id": body["id"],
            "kind": body["kind"],
            "measured_at": stamp,
            "clock_synced": synced,
            "device_time": body["device_time"],
            "device_address": device.get("address"),
            "values_json": json.dumps(body["values"]),
            "units_json": json.dumps(body["units"]),
            "extra_json": json.dumps({**body["extra"], **({"device": device} if device else {})}),
        }
        return row, {"type": "reading", **body}

    def readings(self, kind: str | None = None, *, since: str | None = None,
                 limit: int | None = None) -> list[dict]:
        """Return readings in wire form, oldest first."""
        sql, args = "SELECT * FROM readings WHERE 1=1", []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if since:
            sql += " AND measured_at >= ?"
            args.append(since)
        sql += " ORDER BY measured_at, rowid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._reading_from_row(r) for r in self.db.query(sql, args)]

    def latest_readings(self) -> dict[str, dict]:
        """The newest reading of each kind."""
        rows = self.db.query(
            "SELECT * FROM readings r WHERE rowid = (SELECT rowid FROM readings "
            "WHERE kind = r.kind ORDER BY measured_at DESC, rowid DESC LIMIT 1)"
        )
        return {row["kind"]: self._reading_from_row(row) for row in rows}

    @staticmethod
    def _reading_from_row(row: dict) -> dict:
        extra = json.loads(row["extra_json"] or "{}")
        device = extra.pop("device", None)
        return {
            "id": row["id"],
            "kind": row["kind"],
            "measured_at": row["measured_at"],
            "clock_synced": None if row["clock_synced"] is None else bool(row["clock_synced"]),
            "device_time": row["device_time"],
            "device": device,
            "values": json.loads(row["values_json"]),
            "units": json.loads(row["units_json"]),
            "extra": extra,
            "delivered_at": row["delivered_at"],
        }

    # -- outbox ----------------------------------------------------------------

    def _may_share(self, table: str, body: dict) -> bool:
        """The elder's consent (:mod:`hub.care.consent`): a category switched off never leaves."""
        if table == "events" and str(body.get("type", "")).startswith("sos_"):
            return True  # no query, no import in the alarm path
        from hub.care.consent import SETTING_KEY, shares

        try:
            row = self.db.execute("SELECT value FROM settings WHERE key = ?",
                                  [SETTING_KEY]).fetchone()
            consent = json.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError):
            consent = "damaged"  # shares() keeps the item on the hub and logs why
        return shares(consent, table, body)

    def withhold_pending(self) -> int:
        """Drop queued items the current consent no longer shares (they stay in their tables).

        :returns: how many outbox rows were dropped.
        """
        with self._tx():
            rows = self.db.execute("SELECT seq, item_table, body FROM outbox").fetchall()
            gone = [seq for seq, table, body in rows
                    if not self._may_share(table, json.loads(body))]
            for start in range(0, len(gone), 500):
                chunk = gone[start:start + 500]
                self.db.execute(f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(chunk))})",
                                chunk)
        return len(gone)

    def _enqueue(self, table: str, item_id: str, priority: int, body: dict, *,
                 shared: bool | None = None):
        if not (self._may_share(table, body) if shared is None else shared):
            return
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (id, item_table, priority, body, created_at) "
            "VALUES (?,?,?,?,?)",
            [item_id, table, priority, json.dumps(body, separators=(",", ":")),
             to_rfc3339(self._now())],
        )

    def outbox_ready(self, limit: int, *, max_priority: int | None = None,
                     now: dt.datetime | None = None) -> list[dict]:
        """Pending outbox rows due now, most urgent first, then in order of writing.

        :param max_priority: only rows at this priority or more urgent.
        :returns: dicts with seq, id, item_table, priority, body (parsed), attempts.
        """
        due = to_rfc3339(now or self._now())
        sql = ("SELECT seq, id, item_table, priority, body, attempts FROM outbox "
               "WHERE dead = 0 AND (next_attempt_at IS NULL OR next_attempt_at <= ?)")
        args: list = [due]
        if max_priority is not None:
            sql += " AND priority <= ?"
            args.append(max_priority)
        sql += " ORDER BY priority, seq LIMIT ?"
        args.append(int(limit))
        rows = self.db.execute(sql, args).fetchall()
        return [
            {"seq": r[0], "id": r[1], "item_table": r[2], "priority": r[3],
             "body": json.loads(r[4]), "attempts": r[5]}
            for r in rows
        ]

    def next_outbox_due(self) -> dt.datetime | None:
        """When the earliest pending row becomes due (None if the outbox is empty)."""
        row = self.db.execute(
            "SELECT MIN(COALESCE(next_attempt_at, '')) FROM outbox WHERE dead = 0"
        ).fetchone()
        if row[0] is None:
            return None
        return parse_rfc3339(row[0]) if row[0] else self._now()

    def mark_delivered(self, ids: Iterable[str], *, at: dt.datetime | None = None) -> int:
        """The platform accepted (or already had) these items: drop them from the outbox.

        :returns: how many outbox rows were removed.
        """
        stamp = to_rfc3339(at or self._now())
        removed = 0
        ids = list(ids)
        with self._tx():
            for item_id in ids:
                row = self.db.execute(
                    "SELECT item_table FROM outbox WHERE id = ?", [item_id]
                ).fetchone()
                if not row:
                    continue
                self.db.execute(
                    f"UPDATE {row[0]} SET delivered_at = ? WHERE id = ?", [stamp, item_id]
                )
                self.db.execute("DELETE FROM outbox WHERE id = ?", [item_id])
                removed += 1
            if removed:
                self._set_runtime("sync.last_success", stamp)
        return removed

    def mark_failed(self, ids: Iterable[str], error: str, *, retry_at: dt.datetime,
                    at: dt.datetime | None = None):
        """Delivery failed for a reason worth retrying; try again at ``retry_at``."""
        stamp = to_rfc3339(at or self._now())
        with self._tx():
            for item_id in ids:
                self.db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, last_attempt_at = ? WHERE id = ?",
                    [error, to_rfc3339(retry_at), stamp, item_id],
                )
            self._set_runtime("sync.last_error", json.dumps({"at": stamp, "error": error}))

    def mark_dead(self, item_id: str, reason: str):
        """The platform rejected this item as invalid: keep it, never retry it."""
        with self._tx():
            self.db.execute(
                "UPDATE outbox SET dead = 1, dead_reason = ?, attempts = attempts + 1, "
                "last_attempt_at = ? WHERE id = ?",
                [reason, to_rfc3339(self._now()), item_id],
            )

    def dead_letters(self) -> list[dict]:
        """Items the platform refused, with the reason."""
        return [
            {"id": r[0], "item_table": r[1], "reason": r[2], "body": json.loads(r[3])}
            for r in self.db.execute(
                "SELECT id, item_table, dead_reason, body FROM outbox WHERE dead = 1 ORDER BY seq"
            )
        ]

    def outbox_stats(self) -> dict:
        """Depth, oldest pending age, dead letters and urgent items waiting."""
        depth, oldest, urgent = self.db.execute(
            "SELECT COUNT(*), MIN(created_at), SUM(priority = 0) FROM outbox WHERE dead = 0"
        ).fetchone()
        dead = self.db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 1").fetchone()[0]
        age = None
        if oldest:
            age = max(0.0, (self._now() - parse_rfc3339(oldest)).total_seconds())
        return {"depth": depth, "oldest_created_at": oldest, "oldest_age_s": age,
                "urgent": urgent or 0, "dead": dead}

    # -- runtime state and settings --------------------------------------------

    def _set_runtime(self, key: str, value: str):
        self.db.execute(
            "INSERT INTO runtime_state (key, value, updated_at) VALUES (?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [key, value, to_rfc3339(self._now())],
        )

    def set_runtime(self, key: str, value: str):
        """Remember a runtime fact (e.g. ``sync.inbox_cursor``)."""
        with self._tx():
            self._set_runtime(key, value)

    def get_runtime(self, key: str, default: str | None = None) -> str | None:
        """Read a runtime fact."""
        row = self.db.execute("SELECT value FROM runtime_state WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value):
        """Store a family-editable setting (JSON value)."""
        with self._tx():
            self.db["settings"].upsert(
                {"key": key, "value": json.dumps(value), "updated_at": to_rfc3339(self._now())},
                pk="key",
            )

    def get_setting(self, key: str, default=None):
        """Read a setting, or ``default``."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    # -- inbox -----------------------------------------------------------------

    def inbox_add(self, message: dict, *, apply: Callable[[], None] | None = None) -> bool:
        """Store a platform message once (by its id), running ``apply`` in the same transaction.

        :returns: False if the message was already known.
        """
        with self._tx():
            if self.db.execute("SELECT 1 FROM inbox WHERE id = ?", [message["id"]]).fetchone():
                return False
            now = to_rfc3339(self._now())
            self.db["inbox"].insert({
                "id": message["id"], "kind": message["kind"], "received_at": now,
                "payload": json.dumps(message.get("data", {})), "applied_at": now,
                "read_at": None,
            })
            if apply:
                apply()
        return True

    def inbox(self, *, kinds: Iterable[str] | None = None) -> list[dict]:
        """Platform messages, newest first."""
        sql, args = "SELECT * FROM inbox", []
        if kinds:
            kinds = list(kinds)
            sql += f" WHERE kind IN ({','.join('?' * len(kinds))})"
            args = kinds
        rows = self.db.query(sql + " ORDER BY received_at DESC, rowid DESC", args)
        return [{**r, "payload": json.loads(r["payload"])} for r in rows]

    def inbox_mark_read(self, message_id: str) -> bool:
        """Mark a message read; False if unknown."""
        with self._tx():
            cur = self.db.execute(
                "UPDATE inbox SET read_at = COALESCE(read_at, ?) WHERE id = ?",
                [to_rfc3339(self._now()), message_id],
            )
        return cur.rowcount > 0

    # -- devices ---------------------------------------------------------------

    def devices(self) -> list[dict]:
        """Paired health devices."""
        return list(self.db.query("SELECT * FROM devices ORDER BY paired_at"))

    # -- SOS alarm record --------------------------------------------------------

    def sos_active(self) -> dict | None:
        """The alarm that is not yet finished (countdown … acknowledged), if any."""
        rows = list(self.db.query(
            "SELECT * FROM sos_alarms WHERE state IN (?,?,?,?) ORDER BY created_at DESC",
            list(_ACTIVE_SOS_STATES),
        ))
        return rows[0] if rows else None

    def sos_last(self) -> dict | None:
        """The most recent alarm in any state."""
        rows = list(self.db.query("SELECT * FROM sos_alarms ORDER BY created_at DESC, rowid DESC "
                                  "LIMIT 1"))
        return rows[0] if rows else None

    def sos_get(self, alarm_id: str) -> dict | None:
        """One alarm by id."""
        rows = list(self.db.query("SELECT * FROM sos_alarms WHERE id = ?", [alarm_id]))
        return rows[0] if rows else None

    def sos_transition(self, alarm: dict, event_kind: str, payload: dict, *,
                       source: str, event_id: str | None = None, sync: bool = False,
                       occurred_at: dt.datetime | None = None) -> dict:
        """Save the alarm's new state and its transition event in one durable transaction."""
        def save():
            self.db["sos_alarms"].upsert(alarm, pk="id")

        return self.record_event(
            event_kind, payload, event_id=event_id, source=source, sos_id=alarm["id"],
            sync=sync, priority=PRIORITY_SOS, occurred_at=occurred_at, also=save,
        )

    # -- retention ---------------------------------------------------------------

    def prune(self, *, older_than: dt.timedelta) -> dict:
        """Delete delivered readings and events older than ``older_than``.

        Never touches anything undelivered, and never an SOS event or alarm.

        :returns: counts of deleted rows per table.
        """
        cutoff = to_rfc3339(self._now() - older_than)
        with self._tx():
            readings = self.db.execute(
                "DELETE FROM readings WHERE delivered_at IS NOT NULL AND measured_at < ? "
                "AND id NOT IN (SELECT id FROM outbox)",
                [cutoff],
            ).rowcount
            events = self.db.execute(
                "DELETE FROM events WHERE delivered_at IS NOT NULL AND occurred_at < ? "
                "AND kind NOT LIKE 'sos%' AND sos_id IS NULL AND id NOT IN (SELECT id FROM outbox)",
                [cutoff],
            ).rowcount
        if readings or events:
            log.info("pruned %d delivered readings and %d delivered events", readings, events)
        return {"readings": readings, "events": events}


class AlarmWriter:
    """A thread with its own :class:`Store` connection that writes alarm facts in order,
    retrying each until it lands.

    The core gives every SOS transition to this writer and carries out the local alarm
    (speech, tone, screen) at once, so a stalled SD card or a full disk delays the
    *record* of an alarm, never the alarm itself. Jobs run strictly in the order they
    were submitted; a job that fails (disk full, database locked, I/O error) is retried
    with backoff, never skipped, so nothing later overtakes it. Every write carries the
    ids fixed when the fact was born, so a retry is harmless.

    :param open_store: makes this writer's connection (called in its thread).
    :param on_written: called in the writer thread with each job's label after it lands.
    """

    def __init__(self, open_store: Callable[[], "Store"], *,
                 on_written: Callable[[str, object], None] | None = None):
        self._open_store = open_store
        self._on_written = on_written
        self._cond = threading.Condition()
        self._jobs: collections.deque = collections.deque()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.store: Store | None = None
        self.failing_since: float | None = None  # monotonic time the head job began failing
        self.last_error: str | None = None

    def start(self, timeout: float = 30.0):
        """Start the thread and wait until its connection is open.

        :raises StoreError: the connection could not be opened.
        """
        opened = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(opened,), name="alarm-writer",
                                        daemon=True)
        self._thread.start()
        opened.result(timeout)

    def submit(self, fn: Callable[["Store"], object], *, label: str = "write",
               meta: object = None) -> concurrent.futures.Future:
        """Queue ``fn(store)``; the future resolves once it has committed."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self._stopping:
                fut.set_exception(StoreError("the alarm writer has stopped"))
                return fut
            self._jobs.append((fn, label, meta, fut))
            self._cond.notify()
        return fut

    def pending(self) -> int:
        """Jobs not yet committed (including one being retried)."""
        with self._cond:
            return len(self._jobs)

    def stop(self, timeout: float = 5.0) -> int:
        """Finish the queued jobs (at most ``timeout`` seconds), then close.

        :returns: how many jobs could not be written (they are lost: the caller logs it).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._jobs and time.monotonic() < deadline:
                self._cond.wait(0.05)
            self._stopping = True
            left = len(self._jobs)
            self._cond.notify_all()
        if self._thread:
            self._thread.join(max(0.5, deadline - time.monotonic()))
        return left

    def _run(self, opened: concurrent.futures.Future):
        try:
            self.store = self._open_store()
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        delay, last_log = 0.05, 0.0
        try:
            while True:
                with self._cond:
                    while not self._jobs and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        for *_, fut in self._jobs:
                            if not fut.done():
                                fut.set_exception(StoreError("not written: the core stopped"))
                        self._jobs.clear()
                        return
                    fn, label, meta, fut = self._jobs[0]
                try:
                    result = fn(self.store)
                except Exception as exc:  # noqa: BLE001 — every failure is retried
                    now = time.monotonic()
                    if self.failing_since is None:
                        self.failing_since = now
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if now - last_log > 30 or delay == 0.05:
                        last_log = now
                        log.error("could not save %s yet (%s); the alarm goes on and the "
                                  "write is retried until the storage lets it in", label,
                                  self.last_error)
                    with self._cond:
                        self._cond.wait(delay)  # stop() can cut the wait short
                    delay = min(delay * 2, 1.0)
                    continue
                if self.failing_since is not None:
                    log.warning("saved %s after %.1f s of storage trouble", label,
                                time.monotonic() - self.failing_since)
                self.failing_since, self.last_error, delay = None, None, 0.05
                with self._cond:
                    self._jobs.popleft()
                    self._cond.notify_all()
                fut.set_result(result)
                if self._on_written:
                    try:
                        self._on_written(label, meta)
                    except Exception:  # noqa: BLE001
                        log.exception("after saving %s", label)
        finally:
            with contextlib.suppress(Exception):
                self.store.close()
