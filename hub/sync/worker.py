"""The sync worker: three supervised threads that keep the outbox flowing and the inbox read.

This module owns *when* things are sent and what the hub says about the link:

``sync-urgent``
    SOS rows (priority 0) only. Woken by :meth:`SyncWorker.wake` with
    ``urgent=True`` and also checks the outbox every second. Sends them at once on
    their own small request, never behind a batch, with a 1 s connect timeout.
    While one is pending and the link is down it retries every half second (a
    connection attempt costs nothing when there is no network); an attempt that
    hangs (a black-holed connection) gets a second one on a new connection after
    a second (:class:`~hub.sync.outbox.HedgedTransport`), so an SOS goes out
    within ~1 s of the network returning whether the link refused, reset or
    swallowed the connections. After an answer from a struggling platform (5xx,
    429) it waits ``[sync] sos_retry`` seconds (``Retry-After`` is honoured only up
    to that: an alarm outranks politeness). An SOS the platform *refuses* is never
    given up: it is resent in minimal form with backoff (see
    :mod:`hub.sync.outbox`) and ``on_sos_refused`` tells the core, which says so
    aloud. A refused token (401/403) does not stop this lane: the batch carries
    the hub id, by which a platform can still route an alarm.

``sync-bulk``
    Everything else, in batches bounded by count and bytes. After a failed request
    it backs off with full jitter up to ``[sync] backoff_cap`` (``Retry-After`` on
    429/503 honoured up to the cap). It sends nothing while an SOS row is pending
    (for up to 30 s), so an SOS always reaches the platform first. When another
    thread gets through after a network outage, its backoff is cut short.

``sync-inbox``
    Polls the inbox every ``[sync] inbox_interval`` seconds (every 2 s while an SOS
    is open), watches the token file for a new enrollment, and keeps the status
    fresh.

Each thread opens its own :class:`~hub.store.Store` (SQLite in WAL mode lets them
work side by side; nothing is held open across a network call). One
:class:`~hub.sync.client.PlatformClient` (one ``requests.Session``) is shared.

401/403 stops bulk sending and inbox polls ("unauthorized": the token was
revoked) until the token file changes (a new ``hub enroll``); the inbox lane
probes the platform with the old token every 30 s in case it erred. SOS events
keep going. Nothing here blocks the caller: :meth:`wake`, :meth:`set_sos_open` and
:meth:`status` only take a short lock.

What ``hub status`` shows is read from the store (:mod:`hub.status`): the
outbox, dead letters and refused SOS rows, ``sync.last_success`` (written with
each delivery), and the worker's state, which each lane writes to
``runtime_state`` as soon as it changes.
"""

import datetime as dt
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable

from hub.clock import to_rfc3339, utc_now
from hub.config import Config
from hub.store import PRIORITY_SOS, Store
from hub.sync.backoff import Backoff
from hub.sync.client import AuthError, PlatformClient, TransientError, check_url
from hub.sync.enroll import Credentials, hub_serial, read_credentials
from hub.sync.inbox import poll_inbox
from hub.sync.outbox import (HedgedTransport, HubTransport, OutboxSender, SendReport,
                             revive_dead_sos, sos_due, sos_refused_words)

__all__ = ["SyncWorker", "STATES"]

log = logging.getLogger(__name__)

STATES = ("ok", "offline", "unauthorized", "not_configured", "error")

URGENT_BATCH = 50  # SOS rows per urgent request (an alarm makes a handful)
URGENT_POLL = 1.0  # s between outbox checks for SOS rows
URGENT_OFFLINE_RETRY = 0.5  # s between SOS attempts while connections are refused/reset
SOS_HEDGE_AFTER = 1.0  # s before a hanging SOS attempt gets a second one
SOS_MAX_IN_FLIGHT = 16  # SOS attempts at once (a hung one ends at its read timeout)
URGENT_PRECEDENCE_MAX = 30.0  # s the bulk lane holds back for a pending SOS
BULK_IDLE_POLL = 10.0  # s between outbox checks when nobody calls wake()
BULK_BACKOFF_BASE = 1.0
SOS_INBOX_INTERVAL = 2.0  # s between inbox polls while an SOS is open
CONTROL_TICK = 2.0  # s between token-file and statistics checks
UNAUTHORIZED_RECHECK = 30.0  # s between probes with a refused token
STATS_EVERY = 1.0
_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)
_OPEN_LOCK = threading.Lock()


def _file_signature(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class SyncWorker:
    """Delivers the outbox to the platform and applies the inbox, in background threads.

    :param config: the hub configuration.
    :param on_delivered: called from a worker thread with the ids the platform
        accepted (or already had), after they were marked delivered in the store.
    :param apply_inbox: called from a worker thread with each inbox message
        ``{"id", "kind", "data"}``, in order; it must return only once the message
        is durably applied. None: store it with :meth:`Store.inbox_add`.
    :param on_status: called from a worker thread with :meth:`status` whenever the
        state or its message changes.
    :param on_sos_refused: called from a worker thread with ``(event_id, body, reason)``
        the first time the platform refuses an SOS event (the core says so aloud).
    :param rng: random source for backoff jitter (seeded in tests).
    """

    def __init__(self, config: Config, *,
                 on_delivered: Callable[[list[str]], None] | None = None,
                 apply_inbox: Callable[[dict], None] | None = None,
                 on_status: Callable[[dict], None] | None = None,
                 on_sos_refused: Callable[[str, dict, str], None] | None = None,
                 rng: random.Random | None = None):
        self.config = config
        self.on_delivered = on_delivered
        self.apply_inbox = apply_inbox
        self.on_status = on_status
        self.on_sos_refused = on_sos_refused
        self._limits: dict = {}  # max_events/max_bytes a platform announced on a 413
        self._rng = rng or random.Random()
        self._cv = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._started = False
        # wake-up flags, each read and cleared by its own lane
        self._urgent_flag = False
        self._bulk_flag = False
        self._inbox_flag = False
        self._sos_open = False
        # bulk backoff: monotonic deadline and whether a link success may cut it short
        self._backoff = Backoff(base=BULK_BACKOFF_BASE, cap=config.sync.backoff_cap,
                                rng=self._rng)
        self._backoff_until = 0.0
        self._backoff_cuttable = False
        # the connection
        self._client: PlatformClient | None = None
        self._transport = None
        self._creds: Credentials | None = None
        self._creds_sig: tuple | None = ("unread",)
        self._unauthorized_at: float | None = None
        self._creds_lock = threading.Lock()
        self._urgent_pending = False
        self._hedged: HedgedTransport | None = None
        self._status = {
            "state": "offline",
            "message": "sync is starting: not yet in touch with the care platform",
            "protocol": config.sync.protocol,
            "platform": None,
            "hub_id": None,
            "last_success": None,
            "last_error": None,
            "last_error_at": None,
            "sos_pending": False,
            "delivered": 0,
            "dead_lettered": 0,
            "outbox": None,
            "retry_in_s": None,
        }
        self._status_dirty = True  # written at the first chance: a stale "ok" must not stay

    # -- the contract with the core ----------------------------------------------------

    def start(self) -> None:
        """Start the worker threads (each opens its own store)."""
        with self._cv:
            if self._started:
                return
            self._started = True
            self._stopping = False
        for name, lane in (("sync-urgent", self._urgent_lane), ("sync-bulk", self._bulk_lane),
                           ("sync-inbox", self._inbox_lane)):
            t = threading.Thread(target=self._supervise, args=(name, lane), name=name,
                                 daemon=True)
            self._threads.append(t)
            t.start()
        log.info("sync worker started (protocol %s)", self.config.sync.protocol)

    def wake(self, urgent: bool = False) -> None:
        """New outbox rows were written; ``urgent`` = an SOS row: send it now."""
        with self._cv:
            if urgent:
                self._urgent_flag = True
                self._urgent_pending = True
            self._bulk_flag = True
            self._cv.notify_all()

    def set_sos_open(self, open: bool) -> None:
        """An SOS is open (poll the inbox every 2 s for the acknowledgement) or closed."""
        with self._cv:
            changed = self._sos_open != bool(open)
            self._sos_open = bool(open)
            if open and changed:
                self._inbox_flag = True
            self._cv.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; waits at most ``timeout`` seconds in all.

        A request in flight is not interrupted (its own timeout ends it); the
        threads are daemons, so a stuck one cannot keep the process alive.
        """
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("sync threads still busy after %.1f s: %s", timeout, ", ".join(alive))
        self._threads = []
        with self._cv:
            self._started = False
            client = self._client
            self._creds_sig = ("unread",)  # a later start() builds a fresh client
        if client is not None and not alive:
            client.close()

    def status(self) -> dict:
        """The link's state in words a technician understands (never the token).

        :returns: ``{"state", "message", "protocol", "platform", "hub_id",
            "last_success", "last_error", "last_error_at", "sos_pending", "delivered",
            "dead_lettered", "outbox": {depth, oldest_age_s, urgent, dead}, "retry_in_s"}``.
        """
        with self._cv:
            out = dict(self._status)
            if self._backoff_until:
                left = self._backoff_until - time.monotonic()
                out["retry_in_s"] = round(left, 1) if left > 0 else None
            return out

    # -- state -------------------------------------------------------------------------

    def _set_state(self, state: str, message: str, *, error: bool = False):
        with self._cv:
            s = self._status
            changed = s["state"] != state or s["message"] != message
            s["state"] = state
            s["message"] = message
            if error:
                s["last_error"] = message
                s["last_error_at"] = to_rfc3339(utc_now())
            if state == "ok":
                s["last_success"] = to_rfc3339(utc_now())
            self._status_dirty = self._status_dirty or changed or error
            snapshot = dict(s) if changed else None
        if snapshot is not None:
            if state == "ok":
                log.info("sync: %s", message)
            else:
                log.warning("sync %s: %s", state, message)
            if self.on_status:
                try:
                    self.on_status(snapshot)
                except Exception:
                    log.exception("on_status callback failed")

    def _persist_status(self, store: Store):
        """Write the state where ``hub status`` (another process) can read it."""
        with self._cv:
            if not self._status_dirty:
                return
            self._status_dirty = False
            s = dict(self._status)
        with store._tx():  # one transaction: a reader never sees half of it
            store.set_runtime("sync.state", s["state"])
            store.set_runtime("sync.message", s["message"])
            if s["last_error"]:
                store.set_runtime("sync.last_error", json.dumps(
                    {"at": s["last_error_at"], "error": s["last_error"]}))

    def _failed(self, exc: Exception, lane: str):
        if isinstance(exc, AuthError):
            with self._cv:
                self._unauthorized_at = time.monotonic()
            self._set_state("unauthorized", f"token revoked: {exc} SOS alarms are still sent.",
                            error=True)
        elif isinstance(exc, TransientError) and exc.kind in ("offline", "timeout"):
            self._set_state("offline", str(exc), error=True)
        else:
            self._set_state("error", str(exc), error=True)
        log.debug("%s lane: %s", lane, exc)

    def _succeeded(self, lane: str):
        """A request got through: the link is up; cut short a network backoff.

        An inbox success says the network is up, but not that events are accepted:
        it clears "offline", not an error the sending lanes reported.
        """
        with self._cv:
            host = self._client.host if self._client else "?"
            if self._unauthorized_at is not None:
                # An SOS routed by hub id got through; the token is still refused.
                return
            if self._backoff_cuttable and self._backoff_until > time.monotonic():
                self._backoff_until = 0.0
                self._bulk_flag = True
                self._cv.notify_all()
            self._backoff_cuttable = False
            if lane == "inbox" and self._status["state"] == "error":
                return
        self._set_state("ok", f"connected to the care platform at {host}")

    def _can_send(self, *, sos: bool = False):
        """The transport, or None while not configured, stopping or (except for SOS)
        unauthorized."""
        with self._cv:
            if self._stopping or (self._unauthorized_at is not None and not sos):
                return None
            return self._transport

    # -- credentials -------------------------------------------------------------------

    def _refresh_credentials(self, store: Store):
        """(Re)build the client when the token file appears or changes."""
        with self._creds_lock:  # the three lanes call this; one rebuild is enough
            self._refresh_credentials_locked(store)

    def _refresh_credentials_locked(self, store: Store):
        path = self.config.token_path
        sig = _file_signature(path)
        with self._cv:
            unchanged = sig == self._creds_sig
            recheck = (self._unauthorized_at is not None
                       and time.monotonic() - self._unauthorized_at > UNAUTHORIZED_RECHECK)
        if unchanged and not recheck:
            return
        if recheck and unchanged:
            log.info("trying the refused token again, in case the platform erred")
            with self._cv:
                self._unauthorized_at = None
                self._urgent_flag = self._bulk_flag = self._inbox_flag = True
                self._cv.notify_all()
            return
        creds = read_credentials(path)
        sync = self.config.sync
        url = sync.url or (creds.url if creds else "")
        client = transport = None
        problem = None
        if not url:
            problem = ("no care platform is configured: run `hub enroll --url URL --code CODE` "
                       "with the code from the service centre (or set [sync] url)")
        elif sync.protocol == "hub" and creds is None:
            problem = (f"this hub is not enrolled (no token in {path}): run "
                       "`hub enroll --url URL --code CODE` with the code from the service centre")
        else:
            try:
                client = PlatformClient(check_url(url), creds.token if creds else None,
                                        ca_bundle=sync.ca_bundle, timeout=sync.timeout,
                                        hub_id=creds.hub_id if creds else None)
            except ValueError as exc:
                problem = str(exc)
        if client is not None:
            hub_id = (creds.hub_id if creds else None) or hub_serial()
            if sync.protocol == "fhir":
                from hub.sync.fhir_transport import FhirTransport

                # The technician's config wins over what enrollment said.
                patient = (self.config.sync.patient_ref
                           or (creds.patient_ref if creds else None)
                           or store.get_setting("sync.patient_ref") or f"Patient/{hub_id}")
                transport = FhirTransport(client, hub_id=hub_id, patient_ref=patient)
            else:
                transport = HubTransport(client)
        with self._cv:
            old = self._client
            self._client, self._transport, self._creds = client, transport, creds
            self._hedged = None if transport is None else HedgedTransport(
                transport, hedge_after=SOS_HEDGE_AFTER, max_in_flight=SOS_MAX_IN_FLIGHT,
                give_up_after=max(2.0, sync.timeout / 2), on_late=self._wake_urgent)
            self._creds_sig = sig
            self._unauthorized_at = None
            self._status["platform"] = client.host if client else None
            self._status["hub_id"] = creds.hub_id if creds else None
            self._urgent_flag = self._bulk_flag = self._inbox_flag = True
            self._backoff_until = 0.0
            self._cv.notify_all()
        if old is not None:
            old.close()
        if problem:
            self._set_state("not_configured", problem)
        else:
            log.info("sync: using %s (%s protocol, hub %s)", client.host, sync.protocol,
                     creds.hub_id if creds else "-")
            with self._cv:
                fresh = self._status["state"] in ("not_configured", "unauthorized")
            if fresh:
                self._set_state("ok", f"ready to deliver to {client.host}")

    # -- threads -----------------------------------------------------------------------

    def _open_store(self) -> Store:
        # One at a time: on a fresh database the first Store runs the migrations, and
        # three lanes migrating at once would trip over each other.
        with _OPEN_LOCK:
            return Store(self.config.db_path,
                         reserve_bytes=self.config.store.reserve_mb * 1024 * 1024)

    def _supervise(self, name: str, lane: Callable[[Store], None]):
        """Run a lane; if it crashes, log why and restart it with backoff."""
        failures = 0
        while True:
            store = None
            began = time.monotonic()
            try:
                store = self._open_store()
                self._refresh_credentials(store)
                lane(store)
                return
            except Exception as exc:
                # a lane that ran well for a minute starts its backoff afresh
                failures = 1 if time.monotonic() - began > 60 else failures + 1
                log.exception("sync thread %s failed; restarting", name)
                self._set_state("error", f"internal error in sync ({name}): {exc}", error=True)
            finally:
                if store is not None:
                    try:
                        store.close()
                    except Exception:
                        pass
            with self._cv:
                if self._cv.wait_for(lambda: self._stopping,
                                     timeout=min(30.0, 0.25 * 2 ** failures)):
                    return

    def _wake_urgent(self):
        with self._cv:
            self._urgent_flag = True
            self._cv.notify_all()

    def _sender(self, store: Store, transport) -> OutboxSender:
        with self._cv:
            hub_id = self._creds.hub_id if self._creds else None
        return OutboxSender(store, transport, on_delivered=self.on_delivered, rng=self._rng,
                            hub_id=hub_id, on_sos_refused=self.on_sos_refused,
                            limits=self._limits)

    def _count(self, report: SendReport):
        with self._cv:
            self._status["delivered"] += len(report.delivered)
            self._status["dead_lettered"] += len(report.dead)

    def _urgent_lane(self, store: Store):
        revive_dead_sos(store)
        delay = 0.0
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._stopping or self._urgent_flag, timeout=delay)
                if self._stopping:
                    return
                self._urgent_flag = False
                hedged = self._hedged
            transport = self._can_send(sos=True)
            if transport is None or hedged is None:
                delay = URGENT_POLL
                continue
            late = hedged.late()
            if late:
                sender = self._sender(store, transport)
                for items, results in late:
                    got = sender.record_late(items, results)
                    if got:
                        log.info("a late answer delivered %d SOS event(s)", len(got))
            # A transient failure never delays an SOS row; a refused one waits its backoff.
            rows = sos_due(store, URGENT_BATCH)
            if not rows:
                with self._cv:
                    if self._urgent_pending:
                        self._urgent_pending = False
                        self._bulk_flag = True
                        self._cv.notify_all()
                # (a refused SOS waiting for its next try is still pending)
                pending = store.db.execute(
                    "SELECT 1 FROM outbox WHERE dead = 0 AND priority <= ? LIMIT 1",
                    [PRIORITY_SOS]).fetchone() is not None
                with self._cv:
                    self._status["sos_pending"] = pending
                delay = URGENT_POLL
                continue
            with self._cv:
                self._urgent_pending = True
                self._status["sos_pending"] = True
            report = self._sender(store, hedged).send(rows, max_events=URGENT_BATCH,
                                                      urgent=True)
            self._count(report)
            if report.delivered:
                log.info("delivered %d SOS event(s)", len(report.delivered))
            if report.refused:
                self._set_state("error", sos_refused_words(report.refused[0][1]), error=True)
            if report.error is None:
                if not report.refused:
                    self._succeeded("urgent")
                self._persist_status(store)
                delay = 0.0  # look again at once: more may be pending
                continue
            self._failed(report.error, "urgent")
            err = report.error
            sos_retry = self.config.sync.sos_retry
            if isinstance(err, TransientError) and err.kind == "timeout":
                delay = 0.1  # the timeout itself was the wait
            elif isinstance(err, TransientError) and err.kind == "offline":
                delay = min(sos_retry, URGENT_OFFLINE_RETRY)
            elif isinstance(err, TransientError) and err.retry_after is not None:
                delay = min(err.retry_after, sos_retry)
            else:
                delay = sos_retry
            self._persist_status(store)

    def _wait_bulk(self, delay: float) -> bool:
        """Sleep until woken (but never inside a backoff) or ``delay`` passes; False = stop."""
        with self._cv:
            deadline = time.monotonic() + delay
            while not self._stopping:
                now = time.monotonic()
                wake_at = max(now if self._bulk_flag else deadline, self._backoff_until)
                if now >= wake_at:
                    break
                self._cv.wait(wake_at - now)
            self._bulk_flag = False
            return not self._stopping

    def _bulk_lane(self, store: Store):
        sync = self.config.sync
        delay = 0.0
        held_since = None
        while self._wait_bulk(delay):
            transport = self._can_send()
            if transport is None:
                delay = CONTROL_TICK
                continue
            # SOS first: hold back while one is pending, so it reaches the platform
            # ahead of any batch (bounded, in case the SOS alone keeps failing).
            with self._cv:
                urgent = self._urgent_pending
            if urgent or store.outbox_ready(1, max_priority=PRIORITY_SOS, now=_FAR_FUTURE):
                held_since = held_since or time.monotonic()
                if time.monotonic() - held_since < URGENT_PRECEDENCE_MAX:
                    # (the urgent lane keeps its own pace; poking it would defeat sos_retry)
                    delay = 0.25
                    continue
            else:
                held_since = None
            # A few extra rows so the SOS rows at the head do not shrink the batch.
            rows = [r for r in store.outbox_ready(sync.batch_size + URGENT_BATCH)
                    if r["priority"] != PRIORITY_SOS][:sync.batch_size]
            if not rows:
                due = store.next_outbox_due()
                wait = BULK_IDLE_POLL if due is None else (due - utc_now()).total_seconds()
                delay = min(max(wait, 0.5), BULK_IDLE_POLL)
                continue
            report = self._sender(store, transport).send(rows, max_events=sync.batch_size)
            self._count(report)
            if report.delivered:
                log.debug("delivered %d events", len(report.delivered))
            if report.error is None:
                with self._cv:
                    self._backoff.succeeded()
                self._succeeded("bulk")
                self._persist_status(store)
                delay = 0.0
                continue
            self._failed(report.error, "bulk")
            err = report.error
            retry_after = err.retry_after if isinstance(err, TransientError) else None
            with self._cv:
                wait = self._backoff.failed(retry_after)
                self._backoff_until = time.monotonic() + wait
                # A network failure may end the moment another lane gets through; a
                # platform that asked us to wait (Retry-After) is obeyed.
                self._backoff_cuttable = (isinstance(err, TransientError)
                                          and err.kind in ("offline", "timeout")
                                          and retry_after is None)
            log.info("sync: retrying the backlog in %.1f s", wait)
            self._persist_status(store)
            delay = 0.0

    def _inbox_lane(self, store: Store):
        apply = self.apply_inbox or (lambda message: store.inbox_add(message))
        last_poll = 0.0
        last_stats = 0.0
        while True:
            with self._cv:
                interval = (min(SOS_INBOX_INTERVAL, self.config.sync.inbox_interval)
                            if self._sos_open else self.config.sync.inbox_interval)
                wait = min(CONTROL_TICK, max(0.0, last_poll + interval - time.monotonic()))
                self._cv.wait_for(lambda: self._stopping or self._inbox_flag, timeout=wait)
                if self._stopping:
                    return
                forced = self._inbox_flag
                self._inbox_flag = False
            self._refresh_credentials(store)
            now = time.monotonic()
            if now - last_stats >= STATS_EVERY:
                last_stats = now
                stats = store.outbox_stats()
                with self._cv:
                    self._status["outbox"] = stats
                    self._status["last_success"] = (store.get_runtime("sync.last_success")
                                                    or self._status["last_success"])
            if (forced or now - last_poll >= interval) and self.config.sync.protocol == "hub":
                if self._can_send() is not None:
                    last_poll = now
                    with self._cv:
                        client = self._client
                    try:
                        n = poll_inbox(store, client, apply)
                    except (TransientError, AuthError) as exc:
                        self._failed(exc, "inbox")
                    except Exception:
                        # apply_inbox failed: the cursor did not move; try again next poll.
                        log.exception("applying an inbox message failed; will retry")
                    else:
                        self._succeeded("inbox")
                        if n:
                            log.info("applied %d inbox message(s)", n)
            self._persist_status(store)
