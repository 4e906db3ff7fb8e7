"""The reference receiver: a small care platform on 127.0.0.1 for demos, tests and bench tests.

This module owns a complete, deliberately plain implementation of the platform side
of the ``/v1`` protocol (``docs/platform-api.yaml``), on the standard library's
``ThreadingHTTPServer`` with its own SQLite file:

* enrollment with one-time codes (a hub that lost the answer may present the same
  code again from the same serial and gets a fresh token for the same hub id);
* ``POST /v1/events`` with per-event results, deduplicating on the event id
  (same id and same content — equal canonical JSON, :func:`protocol.canonical` —
  → ``duplicate``; same id, other content → ``rejected``, as the IETF
  Idempotency-Key draft prescribes) and validating each event with
  :func:`hub.sync.protocol.validate_event`. **An SOS is never refused**: an
  ``sos_*`` event that fails validation is stored (with the problem noted) and
  accepted, an SOS id seen before is a ``duplicate`` whatever its content, and an
  SOS-only batch whose token is unknown or revoked is routed by its ``hub_id``;
* a 413 says how much it takes (``max_events``, ``max_bytes``), for receivers
  built with smaller limits;
* ``GET /v1/inbox`` with a cursor, fed by acknowledging an SOS as a named responder,
  or by sending a reminder or message;
* ``POST /fhir``: FHIR R4 ``transaction`` Bundles with conditional create
  (``ifNoneExist``), for the hub's ``fhir`` protocol;
* ``/dev/...``: a small admin API (what arrived, ack an SOS, codes, faults, revoke a
  hub) used by ``hub platform-dev`` sub-commands, and an HTML page at ``/``.

Fault injection (``/v1`` and ``/fhir`` only, never ``/dev``): an error rate (503),
added latency, a rate of 429 with ``Retry-After``, a rate of connections dropped
mid-response *after* the request was processed (the nastiest case: the platform
has the events, the hub does not know), and ``offline`` (every connection closed
unanswered), ``reset`` (every connection reset, a TCP RST), ``black_hole`` (every
request read and never answered: the connection hangs until the hub gives up; it
stays dead after the fault is cleared, as a black-holed connection does), and
``refuse_sos`` — a platform breaking the contract by refusing SOS events (``"400"``,
``"422"`` for the whole request or ``"rejected"`` per event; the minimal form is
refused too only with ``refuse_minimal``).

It binds to loopback only. Tokens are stored hashed. It is not a production
platform: one process, one SQLite connection behind a lock.
"""

import gzip
import hashlib
import html
import io
import json
import logging
import random
import re
import secrets
import select
import socket
import sqlite3
import struct
import threading
import time
import uuid
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hub.clock import to_rfc3339, utc_now
from hub.sync import protocol

__all__ = ["Faults", "Receiver", "ReceiverError"]

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_DECOMPRESSED = 64 * 1024 * 1024


class ReceiverError(Exception):
    """An admin action cannot be done (unknown SOS, unknown hub, …)."""


@dataclass
class Faults:
    """What the receiver does wrong on purpose. Rates are fractions of requests (0–1).

    :param error_rate: answer 503 Service Unavailable.
    :param latency: seconds added before answering.
    :param rate_limit: answer 429 Too Many Requests with ``Retry-After``.
    :param retry_after: seconds given in ``Retry-After``.
    :param drop_rate: process the request, then cut the connection mid-answer.
    :param offline: close every connection without an answer.
    :param reset: reset every connection (TCP RST) without an answer.
    :param black_hole: read each request and never answer it.
    :param refuse_sos: "" (never, as the contract says), "400", "422" or "rejected".
    :param refuse_minimal: with ``refuse_sos``, refuse the minimal form too.
    """

    error_rate: float = 0.0
    latency: float = 0.0
    rate_limit: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    offline: bool = False
    reset: bool = False
    black_hole: bool = False
    refuse_sos: str = ""
    refuse_minimal: bool = False

    def update(self, changes: dict) -> "Faults":
        """Apply ``{name: value}`` changes with type checks; return self."""
        known = {f.name: f.type for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
            kind = known[key]
            if kind is bool:
                value = value if isinstance(value, bool) else str(value).lower() in (
                    "1", "true", "yes", "on")
            elif kind is str:
                value = "" if value in (None, False) else str(value)
                if key == "refuse_sos" and value not in ("", "400", "422", "rejected"):
                    raise ValueError("fault refuse_sos must be \"\", 400, 422 or rejected")
            else:
                value = kind(value)
                if value < 0 or (key.endswith("rate") and value > 1):
                    raise ValueError(f"fault {key} = {value} is out of range")
            setattr(self, key, value)
        return self


_SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, created_at TEXT NOT NULL,
    used_by_serial TEXT, hub_id TEXT, used_at TEXT);
CREATE TABLE IF NOT EXISTS hubs (hub_id TEXT PRIMARY KEY, serial TEXT, token_hash TEXT NOT NULL,
    enrolled_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, last_seen TEXT);
CREATE INDEX IF NOT EXISTS hubs_token ON hubs (token_hash);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    hub_id TEXT NOT NULL, type TEXT NOT NULL, sos_id TEXT, occurred_at TEXT,
    received_at TEXT NOT NULL, received_mono REAL, digest TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_sos ON events (sos_id);
CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    hub_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fhir (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL, identifier TEXT NOT NULL, resource TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS fhir_identifier ON fhir (type, identifier);
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _digest(event: dict) -> str:
    return protocol.content_digest(event)


class _Platform:
    """The receiver's state: its SQLite file and counters, behind one lock."""

    def __init__(self, db_path: str | Path):
        self.db_path = str(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a bench receiver need not survive a power cut; it must be quick.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self.counters = {"requests": 0, "batches": 0, "accepted": 0, "duplicate": 0,
                         "rejected": 0, "faults_503": 0, "faults_429": 0, "faults_drop": 0,
                         "faults_offline": 0, "faults_reset": 0, "faults_black_hole": 0,
                         "faults_refused_sos": 0, "unauthorized": 0, "sos_by_hub_id": 0,
                         "too_large": 0}

    def count(self, key: str, n: int = 1):
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + n

    def close(self):
        with self.lock:
            self.conn.close()

    # -- enrollment ------------------------------------------------------------------

    def create_code(self, code: str | None = None) -> str:
        code = code or f"{secrets.randbelow(10**8):08d}"
        with self.lock:
            self.conn.execute("INSERT OR IGNORE INTO codes (code, created_at) VALUES (?, ?)",
                              [code, to_rfc3339(utc_now())])
        return code

    def enroll(self, serial: str, code: str) -> dict | None:
        token = secrets.token_urlsafe(32)
        now = to_rfc3339(utc_now())
        with self.lock:
            row = self.conn.execute("SELECT used_by_serial, hub_id FROM codes WHERE code = ?",
                                    [code]).fetchone()
            if row is None:
                return None
            used_by, hub_id = row
            if used_by is not None and used_by != serial:
                return None
            self.conn.execute("BEGIN")
            if hub_id is None:
                hub_id = str(uuid.uuid4())
                self.conn.execute("INSERT INTO hubs (hub_id, serial, token_hash, enrolled_at) "
                                  "VALUES (?,?,?,?)", [hub_id, serial, _hash(token), now])
            else:  # the same hub again (it lost our answer): a new token, the old one dies
                self.conn.execute("UPDATE hubs SET token_hash = ?, revoked = 0, enrolled_at = ? "
                                  "WHERE hub_id = ?", [_hash(token), now, hub_id])
            self.conn.execute("UPDATE codes SET used_by_serial = ?, hub_id = ?, used_at = ? "
                              "WHERE code = ?", [serial, hub_id, now, code])
            self.conn.execute("COMMIT")
        return {"hub_id": hub_id, "token": token}

    def known_hub(self, hub_id) -> bool:
        """True if ``hub_id`` was ever enrolled here (revoked or not)."""
        if not isinstance(hub_id, str):
            return False
        with self.lock:
            return self.conn.execute("SELECT 1 FROM hubs WHERE hub_id = ?",
                                     [hub_id]).fetchone() is not None

    def hub_for(self, token: str) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT hub_id FROM hubs WHERE token_hash = ? AND revoked = 0",
                                    [_hash(token)]).fetchone()
        return row[0] if row else None

    def revoke(self, hub_id: str) -> bool:
        with self.lock:
            cur = self.conn.execute("UPDATE hubs SET revoked = 1 WHERE hub_id = ?", [hub_id])
        return cur.rowcount > 0

    def hubs(self) -> list[dict]:
        with self.lock:
            rows = self.conn.execute("SELECT hub_id, serial, enrolled_at, revoked, last_seen "
                                     "FROM hubs ORDER BY enrolled_at").fetchall()
        return [dict(zip(("hub_id", "serial", "enrolled_at", "revoked", "last_seen"), r))
                for r in rows]

    # -- events ----------------------------------------------------------------------

    def receive(self, hub_id: str, events: list) -> list[dict]:
        now = to_rfc3339(utc_now())
        mono = time.monotonic()
        results, fresh = [], []
        checked = []
        for event in events:
            reason = protocol.validate_event(event)
            if reason and protocol.is_sos(event) and isinstance(event.get("id"), str) \
                    and event["id"]:
                # The contract: a platform never refuses an SOS. Keep it, note the
                # problem, and let the people on duty act on whatever it says.
                log.error("SOS event %s from hub %s is malformed (%s); accepted anyway",
                          event["id"], hub_id, reason)
                reason = None
            if reason:
                eid = event.get("id") if isinstance(event, dict) else None
                results.append({"id": str(eid), "status": protocol.REJECTED, "reason": reason})
                checked.append(None)
            else:
                results.append(None)
                checked.append(_digest(event))
        with self.lock:
            ids = [e["id"] for e, d in zip(events, checked) if d]
            known = {}
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                known.update(self.conn.execute(
                    f"SELECT id, digest FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall())
            for n, (event, digest) in enumerate(zip(events, checked)):
                if digest is None:
                    continue
                eid = event["id"]
                if eid in known:
                    # An SOS id seen before is the same alarm, whatever form it came in.
                    if known[eid] == digest or protocol.is_sos(event):
                        results[n] = {"id": eid, "status": protocol.DUPLICATE}
                    else:
                        results[n] = {"id": eid, "status": protocol.REJECTED,
                                      "reason": "this id was already used for different content"}
                    continue
                known[eid] = digest
                results[n] = {"id": eid, "status": protocol.ACCEPTED}
                occurred = event.get("occurred_at") or event.get("measured_at")
                fresh.append((eid, hub_id, str(event["type"]), event.get("sos_id"), occurred, now,
                              mono, digest, json.dumps(event, separators=(",", ":"))))
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO events (id, hub_id, type, sos_id, occurred_at, received_at, "
                "received_mono, digest, body) VALUES (?,?,?,?,?,?,?,?,?)", fresh)
            self.conn.execute("UPDATE hubs SET last_seen = ? WHERE hub_id = ?", [now, hub_id])
            self.conn.execute("COMMIT")
            self.counters["batches"] += 1
            for r in results:
                self.counters[r["status"]] += 1
        return results

    def events(self, *, type: str | None = None, hub_id: str | None = None,
               sos_id: str | None = None, after: int = 0, limit: int | None = None,
               bodies: bool = True) -> list[dict]:
        sql = ("SELECT seq, id, hub_id, type, sos_id, occurred_at, received_at, received_mono"
               + (", body" if bodies else "") + " FROM events WHERE seq > ?")
        args: list = [after]
        for col, value in (("type", type), ("hub_id", hub_id), ("sos_id", sos_id)):
            if value:
                sql += f" AND {col} = ?"
                args.append(value)
        sql += " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.lock:
            rows = self.conn.execute(sql, args).fetchall()
        keys = ("seq", "id", "hub_id", "type", "sos_id", "occurred_at", "received_at",
                "received_mono") + (("body",) if bodies else ())
        out = [dict(zip(keys, r)) for r in rows]
        if bodies:
            for r in out:
                r["body"] = json.loads(r["body"])
        return out

    def event_ids(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.conn.execute("SELECT id FROM events ORDER BY seq")]

    def stats(self) -> dict:
        with self.lock:
            total = self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            by_type = dict(self.conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type"))
            fhir = self.conn.execute("SELECT COUNT(*) FROM fhir").fetchone()[0]
            return {"events": total, "by_type": by_type, "fhir_resources": fhir,
                    "counters": dict(self.counters)}

    # -- SOS and inbox ---------------------------------------------------------------

    def sos_hub(self, sos_id: str) -> str:
        with self.lock:
            row = self.conn.execute("SELECT hub_id FROM events WHERE sos_id = ? LIMIT 1",
                                    [sos_id]).fetchone()
        if not row:
            raise ReceiverError(f"no SOS {sos_id} has arrived here")
        return row[0]

    def open_sos(self) -> list[dict]:
        """Alarms raised and not resolved, with who acknowledged them."""
        with self.lock:
            raised = self.conn.execute(
                "SELECT sos_id, hub_id, MIN(received_at) FROM events WHERE type = 'sos_raised' "
                "GROUP BY sos_id ORDER BY MIN(seq)").fetchall()
            resolved = {r[0] for r in self.conn.execute(
                "SELECT DISTINCT sos_id FROM events WHERE type IN "
                "('sos_resolved', 'sos_cancelled')")}
            resolved |= {json.loads(r[0]).get("sos_id") for r in self.conn.execute(
                "SELECT data FROM inbox WHERE kind = 'sos_resolved'")}
            acks = {}
            for (data,) in self.conn.execute("SELECT data FROM inbox WHERE kind = 'sos_ack'"):
                d = json.loads(data)
                acks[d.get("sos_id")] = d.get("responder")
        return [{"sos_id": s, "hub_id": h, "received_at": at, "responder": acks.get(s)}
                for s, h, at in raised if s not in resolved]

    def push(self, hub_id: str, kind: str, data: dict) -> str:
        if kind not in protocol.INBOX_KINDS:
            raise ReceiverError(f"unknown inbox kind {kind!r}; use {', '.join(protocol.INBOX_KINDS)}")
        with self.lock:
            if not self.conn.execute("SELECT 1 FROM hubs WHERE hub_id = ?", [hub_id]).fetchone():
                raise ReceiverError(f"no hub {hub_id} is enrolled here")
            message_id = str(uuid.uuid4())
            self.conn.execute("INSERT INTO inbox (id, hub_id, kind, data, created_at) "
                              "VALUES (?,?,?,?,?)",
                              [message_id, hub_id, kind, json.dumps(data), to_rfc3339(utc_now())])
        return message_id

    def only_hub(self) -> str:
        hubs = [h["hub_id"] for h in self.hubs() if not h["revoked"]]
        if len(hubs) != 1:
            raise ReceiverError(f"{len(hubs)} hubs are enrolled: say which one (hub_id)")
        return hubs[0]

    def inbox(self, hub_id: str, cursor: str | None, limit: int) -> dict:
        """A page after ``cursor``; on an empty page ``next_cursor`` is the cursor sent
        (null when none was sent), as docs/platform-api.yaml defines."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT seq, id, kind, data, created_at FROM inbox WHERE hub_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?", [hub_id, int(cursor or 0), limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        messages = [{"id": mid, "kind": kind, "data": json.loads(data), "created_at": at,
                     "cursor": str(seq)} for seq, mid, kind, data, at in rows]
        return {"messages": messages, "next_cursor": str(rows[-1][0]) if rows else cursor,
                "more": more}

    # -- FHIR ------------------------------------------------------------------------

    def fhir_transaction(self, bundle: dict) -> tuple[int, dict]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" \
                or bundle.get("type") != "transaction":
            return 400, _outcome("expected a Bundle of type transaction")
        entries = bundle.get("entry") or []
        plan = []
        for n, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            request = entry.get("request") if isinstance(entry, dict) else None
            problem = _fhir_problem(resource, request)
            if problem:
                return 400, _outcome(f"entry {n}: {problem}")
            cond = request.get("ifNoneExist", "")
            m = re.fullmatch(r"identifier=([^|]*)\|(.+)", cond)
            if not m:
                return 400, _outcome(f"entry {n}: only ifNoneExist=identifier=system|value "
                                     "is supported")
            plan.append((resource, request["url"], f"{m.group(1)}|{m.group(2)}"))
        now = to_rfc3339(utc_now())
        out = []
        with self.lock:
            self.conn.execute("BEGIN")
            for resource, rtype, ident in plan:
                row = self.conn.execute("SELECT id FROM fhir WHERE type = ? AND identifier = ?",
                                        [rtype, ident]).fetchone()
                if row:
                    out.append({"response": {"status": "200 OK",
                                             "location": f"{rtype}/{row[0]}"}})
                    continue
                rid = str(uuid.uuid4())
                stored = {**resource, "id": rid}
                self.conn.execute("INSERT INTO fhir (id, type, identifier, resource, received_at) "
                                  "VALUES (?,?,?,?,?)", [rid, rtype, ident, json.dumps(stored),
                                                         now])
                out.append({"response": {"status": "201 Created",
                                         "location": f"{rtype}/{rid}/_history/1"}})
            self.conn.execute("COMMIT")
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": out}

    def fhir_resources(self, rtype: str | None = None) -> list[dict]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT resource FROM fhir" + (" WHERE type = ?" if rtype else "") +
                " ORDER BY seq", [rtype] if rtype else []).fetchall()
        return [json.loads(r[0]) for r in rows]


def _outcome(text: str) -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": text}]}


def _fhir_problem(resource, request) -> str | None:
    if not isinstance(resource, dict) or not isinstance(request, dict):
        return "needs a resource and a request"
    rtype = resource.get("resourceType")
    if request.get("method") != "POST" or request.get("url") != rtype:
        return f"request must be POST {rtype}"
    if rtype not in ("Observation", "Communication"):
        return f"this receiver stores Observation and Communication, not {rtype}"
    ids = resource.get("identifier")
    if not isinstance(ids, list) or not ids or not ids[0].get("value"):
        return "needs an identifier"
    if not resource.get("status"):
        return "needs a status"
    if rtype == "Observation":
        if not resource.get("code") or not resource.get("subject"):
            return "an Observation needs code and subject"
        if "valueQuantity" not in resource and "component" not in resource:
            return "an Observation needs a value or components"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, receiver: "Receiver"):
        self.receiver = receiver
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        self.closing = threading.Event()
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real platform behind a proxy would
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
    server: _Server

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    # -- plumbing --------------------------------------------------------------------

    @property
    def rx(self) -> "Receiver":
        return self.server.receiver

    def _read_raw(self):
        """Read the whole request body first, whatever the answer will be.

        On a keep-alive connection an unread body would be parsed as the next
        request; a body too large to read is refused and the connection closed.
        """
        self._decoded = None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > protocol.MAX_REQUEST_BYTES:
            self.close_connection = True
            self._raw = None
            return False
        self._raw = self.rfile.read(length) if length else b""
        return True

    def _body(self):
        if self._raw is None:
            raise _HttpError(413, f"request body over {protocol.MAX_REQUEST_BYTES} bytes")
        data = self._raw
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            self.rx.platform.count("gzip_requests")
            try:
                data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(
                    MAX_DECOMPRESSED + 1)
            except (OSError, EOFError):
                raise _HttpError(400, "body is not valid gzip") from None
            if len(data) > MAX_DECOMPRESSED:
                raise _HttpError(413, "decompressed body too large")
        self._decoded = data
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(data.decode()).items()}
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise _HttpError(400, "body is not valid JSON") from None

    def _send(self, status: int, body, *, headers: dict | None = None, drop: bool = False,
              content_type: str = "application/json"):
        if isinstance(body, (dict, list)):
            data = json.dumps(body, separators=(",", ":")).encode()
        else:
            data = body.encode() if isinstance(body, str) else body
        extra = dict(headers or {})
        if len(data) > 4096 and "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data, compresslevel=5, mtime=0)
            extra["Content-Encoding"] = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if drop:
            self.rx.platform.count("faults_drop")
            # Cut the answer short after the work is done: the hub must treat it as a
            # failure and its replay must come back "duplicate".
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)

    def _error(self, status: int, reason: str, headers: dict | None = None):
        self._send(status, {"error": reason}, headers=headers)

    def _faults(self) -> tuple[bool, bool]:
        """Apply the fault switches; (answered already, drop the answer)."""
        f = self.rx.faults
        rng = self.rx.rng
        with self.rx.rng_lock:
            roll_error, roll_429, roll_drop = rng.random(), rng.random(), rng.random()
        if f.reset:
            self.rx.platform.count("faults_reset")
            self.close_connection = True
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            return True, False
        if f.black_hole:
            self.rx.platform.count("faults_black_hole")
            self.close_connection = True
            # Never answer. The connection stays silent until the receiver stops (or
            # the hub gives up on it): clearing the fault does not revive it.
            while not self.server.closing.is_set():
                try:
                    readable, _, _ = select.select([self.connection], [], [], 0.2)
                    if readable and not self.connection.recv(1, socket.MSG_PEEK):
                        break  # the hub gave up on it
                except (OSError, ValueError):
                    break
            return True, False
        if f.offline:
            self.rx.platform.count("faults_offline")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True, False
        if f.latency:
            time.sleep(f.latency)
        if roll_error < f.error_rate:
            self.rx.platform.count("faults_503")
            self._error(503, "injected fault: service unavailable")
            return True, False
        if roll_429 < f.rate_limit:
            self.rx.platform.count("faults_429")
            self._error(429, "injected fault: too many requests",
                        headers={"Retry-After": str(f.retry_after)})
            return True, False
        return False, roll_drop < f.drop_rate

    def _refuse_sos(self, events: list) -> bool:
        """The refuse_sos fault (a contract breach): False when the request was answered."""
        f = self.rx.faults
        if f.refuse_sos not in ("400", "422"):
            return True
        for e in events:
            if protocol.is_sos(e) and (f.refuse_minimal
                                       or not (e.get("data") or {}).get("minimal")):
                self.rx.platform.count("faults_refused_sos")
                self._error(int(f.refuse_sos), "injected fault: sos refused")
                return False
        return True

    def _hub(self, quiet: bool = False) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            hub_id = self.rx.platform.hub_for(auth[7:].strip())
            if hub_id:
                return hub_id
        if not quiet:
            self._refuse_token()
        return None

    def _refuse_token(self):
        self.rx.platform.count("unauthorized")
        self._error(401, "unknown or revoked device token",
                    headers={"WWW-Authenticate": 'Bearer realm="hub"'})
        return None

    def _dispatch(self, method: str):
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.rx.platform.count("requests")
        if not self._read_raw():
            self._error(413, f"request body over {protocol.MAX_REQUEST_BYTES} bytes")
            return
        try:
            if path.startswith("/v1/") or path == "/fhir" or path.startswith("/fhir/"):
                if path != protocol.PING_PATH:
                    answered, drop = self._faults()
                    if answered:
                        return
                else:
                    drop = False
                self._public(method, path, query, drop)
            elif path.startswith("/dev/") or path == "/":
                self._admin(method, path, query)
            else:
                self._error(404, f"no such path {path}")
        except _HttpError as exc:
            self._error(exc.status, exc.reason)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except ReceiverError as exc:
            self._error(404, str(exc))
        except ValueError as exc:
            self._error(400, str(exc))

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    # -- the hub-facing protocol -------------------------------------------------------

    def _public(self, method: str, path: str, query: dict, drop: bool):
        p = self.rx.platform
        if (method, path) == ("GET", protocol.PING_PATH):
            self._send(200, {"ok": True, "api": protocol.API_VERSION,
                             "time": to_rfc3339(utc_now())})
        elif (method, path) == ("POST", protocol.ENROLL_PATH):
            body = self._body()
            serial, code = body.get("serial"), body.get("code")
            if not isinstance(serial, str) or not isinstance(code, str):
                raise _HttpError(400, "serial and code are required")
            answer = p.enroll(serial, code.strip())
            if answer is None:
                self._error(403, "enrollment code not recognised or already used")
                return
            log.info("hub %s enrolled (serial %s)", answer["hub_id"], serial)
            self._send(201, {**answer, "api": protocol.API_VERSION}, drop=drop)
        elif (method, path) == ("POST", protocol.EVENTS_PATH):
            body = self._body()
            events = body.get("events") if isinstance(body, dict) else None
            hub_id = self._hub(quiet=True)
            if not hub_id and isinstance(events, list) and events \
                    and all(protocol.is_sos(e) for e in events) and p.known_hub(body.get("hub_id")):
                # Token unknown or revoked, but an alarm: route it by hub id (the contract).
                hub_id = body["hub_id"]
                p.count("sos_by_hub_id")
                log.error("SOS from hub %s accepted although its token is refused", hub_id)
            if not hub_id:
                self._refuse_token()
                return
            if not isinstance(events, list):
                raise _HttpError(400, "body must be {\"events\": [...]}")
            rx = self.rx
            size = len(self._decoded or b"")
            if len(events) > rx.max_batch_events or size > rx.max_batch_bytes:
                p.count("too_large")
                self._send(413, {"error": f"at most {rx.max_batch_events} events and "
                                          f"{rx.max_batch_bytes} bytes per request",
                                 "max_events": rx.max_batch_events,
                                 "max_bytes": rx.max_batch_bytes})
                return
            if self.rx.faults.refuse_sos and not self._refuse_sos(events):
                return
            f = self.rx.faults
            refused = [f.refuse_sos == "rejected" and protocol.is_sos(e) and (
                f.refuse_minimal or not (e.get("data") or {}).get("minimal")) for e in events]
            taken = iter(p.receive(hub_id, [e for e, r in zip(events, refused) if not r]))
            results = []
            for e, r in zip(events, refused):
                if r:
                    p.count("faults_refused_sos")
                    results.append({"id": str(e.get("id")), "status": protocol.REJECTED,
                                    "reason": "injected fault: sos refused"})
                else:
                    results.append(next(taken))
            self._send(200, {"results": results}, drop=drop)
        elif (method, path) == ("GET", protocol.INBOX_PATH):
            hub_id = self._hub()
            if not hub_id:
                return
            cursor = query.get("cursor") or None
            try:
                if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
                    raise ValueError(cursor)
                limit = max(1, min(int(query.get("limit") or 100), 1000))
            except ValueError:
                raise _HttpError(400, "cursor and limit must be whole numbers") from None
            self._send(200, p.inbox(hub_id, cursor, limit), drop=drop)
        elif (method, path) == ("POST", "/fhir"):
            auth = self.headers.get("Authorization")
            if auth and not self._hub():
                return
            status, answer = p.fhir_transaction(self._body())
            self._send(status, answer, drop=drop, content_type="application/fhir+json")
        elif (method, path) == ("GET", "/fhir/metadata"):
            self._send(200, {"resourceType": "CapabilityStatement", "status": "active",
                             "kind": "instance", "fhirVersion": "4.0.1",
                             "format": ["json"]}, content_type="application/fhir+json")
        else:
            self._error(404 if method == "GET" else 405, f"no {method} {path} here")

    # -- the admin side ----------------------------------------------------------------

    def _admin(self, method: str, path: str, query: dict):
        p = self.rx.platform
        m = re.fullmatch(r"/dev/sos/([^/]+)/(ack|resolve)", path)
        if method == "GET" and path == "/":
            self._send(200, self.rx.page(), content_type="text/html; charset=utf-8")
        elif method == "GET" and path == "/dev/events":
            events = p.events(type=query.get("type"), hub_id=query.get("hub_id"),
                              sos_id=query.get("sos_id"), after=int(query.get("after") or 0),
                              limit=int(query.get("limit") or 1000))
            self._send(200, {"events": events})
        elif method == "GET" and path == "/dev/ids":
            self._send(200, {"ids": p.event_ids()})
        elif method == "GET" and path == "/dev/stats":
            self._send(200, p.stats())
        elif method == "GET" and path == "/dev/hubs":
            self._send(200, {"hubs": p.hubs()})
        elif method == "GET" and path == "/dev/sos":
            self._send(200, {"open": p.open_sos()})
        elif method == "GET" and path == "/dev/fhir":
            self._send(200, {"resources": p.fhir_resources(query.get("type"))})
        elif method == "POST" and path == "/dev/codes":
            self._send(201, {"code": p.create_code(self._body().get("code") or None)})
        elif method == "POST" and m:
            body = self._body()
            if m.group(2) == "ack":
                answer = self.rx.ack_sos(m.group(1), body.get("responder") or "",
                                         eta=body.get("eta") or None)
            else:
                answer = self.rx.resolve_sos(m.group(1), body.get("by") or "")
            if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(201, answer)
        elif method == "POST" and path == "/dev/messages":
            body = self._body()
            hub_id = body.get("hub_id") or p.only_hub()
            mid = p.push(hub_id, body.get("kind") or "message", body.get("data") or {})
            self._send(201, {"message_id": mid, "hub_id": hub_id})
        elif method == "POST" and (rv := re.fullmatch(r"/dev/hubs/([^/]+)/revoke", path)):
            if not p.revoke(rv.group(1)):
                raise ReceiverError(f"no hub {rv.group(1)} is enrolled here")
            self._send(200, {"revoked": rv.group(1)})
        elif path == "/dev/faults":
            if method == "POST":
                with self.rx.rng_lock:
                    self.rx.faults.update(self._body())
                log.info("faults now %s", asdict(self.rx.faults))
            self._send(200, asdict(self.rx.faults))
        else:
            self._error(404, f"no {method} {path} here")


class _HttpError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Receiver:
    """A reference care platform serving on loopback.

    :param db_path: its own SQLite file (``":memory:"`` for a throw-away one).
    :param host: ``127.0.0.1`` (loopback only).
    :param port: 0 picks a free port; see :attr:`url`.
    :param faults: initial fault switches.
    :param seed: seed for the fault dice, so a test run can be repeated.
    :param max_batch_events: most events per request; more is answered 413 with
        ``max_events``/``max_bytes`` (a platform may take less than the hub sends).
    :param max_batch_bytes: most bytes of (decompressed) JSON per request.
    """

    def __init__(self, db_path: str | Path = ":memory:", *, host: str = "127.0.0.1",
                 port: int = 0, faults: Faults | None = None, seed: int | None = None,
                 max_batch_events: int = protocol.MAX_BATCH_EVENTS,
                 max_batch_bytes: int = protocol.MAX_REQUEST_BYTES):
        if host not in LOOPBACK:
            raise ValueError("the reference receiver listens on loopback only (127.0.0.1)")
        self.host = host
        self.port = port
        self.max_batch_events = max_batch_events
        self.max_batch_bytes = max_batch_bytes
        self.platform = _Platform(db_path)
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL hubs use (``http://127.0.0.1:PORT``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def fhir_url(self) -> str:
        """The FHIR base URL (for ``[sync] protocol = "fhir"``)."""
        return self.url + "/fhir"

    def bind(self) -> int:
        """Start listening (on the same port as before after a :meth:`stop`); return the port."""
        if self._server is None:
            self._server = _Server((self.host, self.port), _Handler, self)
            self.port = self._server.server_address[1]
        return self.port

    def start(self) -> "Receiver":
        """Listen and serve in a background thread."""
        self.bind()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"receiver-{self.port}", daemon=True)
        self._thread.start()
        log.info("reference receiver listening on %s", self.url)
        return self

    def serve_forever(self):
        """Serve in this thread until interrupted (for ``hub platform-dev``)."""
        self.bind()
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()
            self._server = None

    def stop(self, *, close_db: bool = False):
        """Stop listening and cut every open connection (the network is gone)."""
        server = self._server
        if server is None:
            if close_db:
                self.platform.close()
            return
        server.closing.set()
        server.shutdown()
        server.server_close()
        with server.conn_lock:
            for conn in list(server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread:
            self._thread.join(5)
        self._server = None
        if close_db:
            self.platform.close()

    def close(self):
        """Stop and close the database."""
        self.stop(close_db=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- admin actions (also reachable over /dev) ----------------------------------------

    def create_code(self, code: str | None = None) -> str:
        """Create a one-time enrollment code (8 digits unless given)."""
        return self.platform.create_code(code)

    def set_faults(self, **changes) -> Faults:
        """Change fault switches: ``set_faults(offline=True)``."""
        with self.rng_lock:
            return self.faults.update(changes)

    def ack_sos(self, sos_id: str, responder: str, *, eta: str | None = None) -> dict:
        """Acknowledge an SOS as a named responder: an ``sos_ack`` goes to that hub's inbox."""
        responder = responder.strip()
        if not responder:
            raise ValueError("say who is responding, e.g. \"Li Wei, service centre\"")
        hub_id = self.platform.sos_hub(sos_id)
        data = {"sos_id": sos_id, "responder": responder, "at": to_rfc3339(utc_now())}
        if eta:
            data["eta"] = eta
        mid = self.platform.push(hub_id, "sos_ack", data)
        log.info("SOS %s acknowledged by %s", sos_id, responder)
        return {"message_id": mid, "hub_id": hub_id, **data}

    def resolve_sos(self, sos_id: str, by: str = "") -> dict:
        """Close an SOS from the platform side: an ``sos_resolved`` goes to the hub."""
        hub_id = self.platform.sos_hub(sos_id)
        data = {"sos_id": sos_id, "by": by, "at": to_rfc3339(utc_now())}
        mid = self.platform.push(hub_id, "sos_resolved", data)
        return {"message_id": mid, "hub_id": hub_id, **data}

    def send_message(self, kind: str, data: dict, *, hub_id: str | None = None) -> str:
        """Put a reminder, message, service update or config change in a hub's inbox."""
        return self.platform.push(hub_id or self.platform.only_hub(), kind, data)

    def revoke(self, hub_id: str) -> bool:
        """Revoke a hub's token (it will get 401 until enrolled again)."""
        return self.platform.revoke(hub_id)

    def events(self, **filters) -> list[dict]:
        """What arrived, in order of arrival."""
        return self.platform.events(**filters)

    def event_ids(self) -> list[str]:
        """Every stored event id, in order of arrival."""
        return self.platform.event_ids()

    def stats(self) -> dict:
        """Totals and counters (accepted, duplicate, rejected, injected faults)."""
        return self.platform.stats()

    def page(self) -> str:
        """A plain HTML page: open alarms with an acknowledge form, and recent events."""
        p = self.platform
        esc = html.escape
        rows = []
        for s in p.open_sos():
            ack = (f"acknowledged by {esc(s['responder'])}" if s["responder"] else
                   f'<form method="post" action="/dev/sos/{esc(s["sos_id"])}/ack">'
                   '<input name="responder" placeholder="Responder, e.g. Li Wei, service centre"'
                   ' size="40" required> <input name="eta" placeholder="ETA (optional)">'
                   ' <button>Acknowledge</button></form>')
            rows.append(f"<tr><td>{esc(s['received_at'])}</td><td>{esc(s['hub_id'])}</td>"
                        f"<td>{esc(s['sos_id'])}</td><td>{ack}</td></tr>")
        recent = p.events(bodies=False)[-50:]
        ev = "".join(f"<tr><td>{esc(e['received_at'])}</td><td>{esc(e['hub_id'])}</td>"
                     f"<td>{esc(e['type'])}</td><td>{esc(e['id'])}</td></tr>"
                     for e in reversed(recent))
        stats = p.stats()
        return ("<!doctype html><meta charset=utf-8><title>Reference care platform</title>"
                "<meta http-equiv=refresh content=5>"
                "<style>body{font:18px sans-serif;margin:2em}td{padding:4px 12px}</style>"
                f"<h1>Reference care platform</h1><p>{stats['events']} events stored.</p>"
                "<h2>Open alarms</h2><table>" + ("".join(rows) or "<tr><td>none</td></tr>") +
                "</table><h2>Latest events</h2><table>" + ev + "</table>")


if __name__ == "__main__":  # python -m hub.sync.receiver --port 8765 ...
    from hub.sync.cli import platform_dev

    platform_dev(prog_name="python -m hub.sync.receiver")
