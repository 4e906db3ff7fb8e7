"""Delivering outbox rows: batch them, send them, and record each row's own result.

This module owns one delivery *pass* over rows already read from the outbox:

* rows are packed into batches bounded by count and by encoded bytes;
* each row's verdict is written to the store by itself — accepted or duplicate →
  :meth:`Store.mark_delivered` (then ``on_delivered``), rejected → dead letter with
  the platform's reason, "retry" → :meth:`Store.mark_failed` with that row's own
  backoff;
* a whole request refused as invalid (400/413/422) is split in halves until the
  poison event is alone and dead-lettered, so it never blocks the events behind it;
  a 413 that says how much the platform takes (``max_events``/``max_bytes``) is
  re-batched to that size at once, and the size is kept for later passes;
* a row that cannot even be encoded (NaN in a value) is dead-lettered at once;
* **an SOS is never dead-lettered.** An ``sos_*`` row the platform refuses (400/422
  alone, or ``rejected``) is rewritten in place to its minimal valid form
  (:func:`protocol.minimal_sos`: ids, time, hub, source) and retried with backoff for
  as long as it takes. Its ``dead_reason`` column keeps the platform's words while
  ``dead`` stays 0: that pair is what "refused by the platform, still trying" means
  in the store, and what ``hub status`` reads. SOS rows an older hub dead-lettered
  are revived by :func:`revive_dead_sos`.

:class:`HedgedTransport` is the SOS lane's sender: when an attempt hangs (a
black-holed connection answers nothing), it starts another on a new connection
every ``hedge_after`` seconds instead of waiting out the read timeout. The event
ids are the idempotency keys, so two copies in flight are harmless.

A failure of the whole request (no connection, timeout, 5xx, 429, 401) stops the
pass and is returned to the caller: it is the link's problem, not the rows', so
the rows are left untouched (no attempt counted) and the worker backs off.

It does not choose which rows or when (:mod:`hub.sync.worker`), nor speak HTTP
(:mod:`hub.sync.client`); a *transport* turns bodies into per-event results.
"""

import concurrent.futures
import datetime as dt
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from hub.clock import to_rfc3339, utc_now
from hub.store import PRIORITY_SOS
from hub.sync import protocol
from hub.sync.backoff import full_jitter
from hub.sync.client import (AuthError, PlatformClient, RejectedError, Result,
                             TransientError)

__all__ = ["Pending", "SendReport", "Transport", "HubTransport", "HedgedTransport",
           "OutboxSender", "prepare", "batches", "sos_due", "refused_sos", "revive_dead_sos",
           "sos_refused_words"]

log = logging.getLogger(__name__)

# A row the platform asked to retry waits full_jitter(attempts) seconds with these.
ROW_RETRY_BASE = 2.0
ROW_RETRY_CAP = 600.0
# A refused SOS is tried again after full_jitter(attempts) seconds with these: often
# enough that a platform fixed by its operators gets the alarm within half a minute.
SOS_REFUSED_RETRY_BASE = 1.0
SOS_REFUSED_RETRY_CAP = 30.0


@dataclass
class Pending:
    """One outbox row ready to go, with its body encoded once."""

    id: str
    priority: int
    attempts: int
    body: dict
    encoded: bytes


@dataclass
class SendReport:
    """What one pass did. ``error`` is set when a whole request failed."""

    delivered: list[str] = field(default_factory=list)
    dead: list[tuple[str, str]] = field(default_factory=list)
    #: SOS rows the platform refused: (id, reason); they stay in the outbox, minimal.
    refused: list[tuple[str, str]] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    requests: int = 0
    error: TransientError | AuthError | None = None


class Transport(Protocol):
    """Sends bodies, returns one :class:`Result` per body in the same order."""

    def send(self, items: list[Pending], *, urgent: bool) -> list[Result]: ...


class HubTransport:
    """The hub protocol: ``POST /v1/events`` with per-event results."""

    name = "hub"

    def __init__(self, client: PlatformClient):
        self.client = client

    def send(self, items: list[Pending], *, urgent: bool) -> list[Result]:
        """Send one batch."""
        return self.client.send_events([i.body for i in items],
                                       encoded=[i.encoded for i in items], urgent=urgent)

    def fresh(self) -> "HubTransport":
        """The same transport on a new connection pool (closed with :meth:`close`)."""
        return HubTransport(self.client.fresh())

    def close(self):
        """Close the connections."""
        self.client.close()


class HedgedTransport:
    """Sends SOS batches so that a hung connection cannot hold an alarm back.

    The first attempt goes out on the shared transport. If it has not answered after
    ``hedge_after`` seconds, another starts on a fresh connection (``fresh()`` of the
    transport, when it has one), and so on, up to ``max_in_flight`` attempts in all.
    The first answer wins; a definite refusal (:class:`RejectedError`,
    :class:`AuthError`) is raised at once; when every attempt failed for a transient
    reason the last one is raised. After ``give_up_after`` seconds without an answer
    the call raises a timeout so the lane can look at the outbox again — the attempts
    it started keep running, and a success that arrives later is handed to
    :meth:`late` (then ``on_late`` is called) so it is still recorded.

    :param transport: the shared transport.
    :param hedge_after: seconds before a hanging attempt gets company.
    :param max_in_flight: attempts in flight at once, across calls.
    :param give_up_after: seconds a call waits for a first answer.
    """

    def __init__(self, transport, *, hedge_after: float = 1.0, max_in_flight: int = 16,
                 give_up_after: float = 5.0, on_late: Callable[[], None] | None = None):
        self.transport = transport
        self.hedge_after = hedge_after
        self.give_up_after = give_up_after
        self.on_late = on_late
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._late: queue.SimpleQueue = queue.SimpleQueue()
        self.attempts = 0  # started, for tests and benchmarks

    def _start(self, items: list[Pending], fresh: bool) -> concurrent.futures.Future | None:
        if not self._slots.acquire(blocking=False):
            return None
        future: concurrent.futures.Future = concurrent.futures.Future()
        maker = getattr(self.transport, "fresh", None)
        self.attempts += 1

        def run():
            transport = None
            try:
                transport = maker() if fresh and maker else self.transport
                future.set_result(transport.send(items, urgent=True))
            except BaseException as exc:  # handed to the waiting call (or dropped)
                future.set_exception(exc)
            finally:
                if transport is not None and transport is not self.transport:
                    try:
                        transport.close()
                    except Exception:
                        pass
                self._slots.release()

        threading.Thread(target=run, name="sync-sos-attempt", daemon=True).start()
        return future

    def _orphan(self, items: list[Pending], future: concurrent.futures.Future):
        def done(f):
            if f.exception() is None:
                self._late.put((items, f.result()))
                if self.on_late:
                    self.on_late()

        future.add_done_callback(done)

    def late(self) -> list[tuple[list[Pending], list[Result]]]:
        """Answers that came after their call gave up: (items, results), oldest first."""
        out = []
        while True:
            try:
                out.append(self._late.get_nowait())
            except queue.Empty:
                return out

    def send(self, items: list[Pending], *, urgent: bool = True) -> list[Result]:
        """Send one SOS batch, hedging against a hung connection."""
        began = time.monotonic()
        pending: set[concurrent.futures.Future] = set()
        last_start = 0.0
        last_error: Exception | None = None
        try:
            while True:
                now = time.monotonic()
                if not pending or now - last_start >= self.hedge_after:
                    future = self._start(items, fresh=bool(pending) or last_error is not None)
                    if future is not None or pending:
                        last_start = now  # (no free slot: look again after hedge_after)
                    if future is not None:
                        pending.add(future)
                    elif not pending:  # every slot hangs on an earlier call
                        if now - began >= self.give_up_after:
                            raise last_error or TransientError(
                                "no answer from the platform to the SOS yet; trying again",
                                kind="timeout")
                        time.sleep(0.05)
                        continue
                left = self.give_up_after - (now - began)
                if left <= 0:
                    raise TransientError(
                        f"the platform did not answer the SOS within {self.give_up_after:g} s "
                        "(the connection may be black-holed); trying again on a new "
                        "connection", kind="timeout")
                done, pending = concurrent.futures.wait(
                    pending, timeout=min(left, max(0.0, last_start + self.hedge_after - now)),
                    return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    exc = future.exception()
                    if exc is None:
                        return future.result()
                    if isinstance(exc, (RejectedError, AuthError)):
                        raise exc
                    last_error = exc
                if not pending and last_error is not None:
                    raise last_error
        finally:
            for future in pending:
                self._orphan(items, future)


def prepare(rows: list[dict]) -> tuple[list[Pending], list[tuple[str, str]]]:
    """Encode outbox rows; return the sendable ones and (id, reason) of those that cannot be.

    SQLite's JSON keeps NaN and infinity, JSON on the wire cannot: such a row could
    never be sent, so it is a dead letter, not a reason to stall the queue.
    """
    good, bad = [], []
    for row in rows:
        try:
            encoded = protocol.encode(row["body"])
        except (ValueError, TypeError) as exc:
            bad.append((row["id"], f"cannot be encoded as JSON: {exc}"))
            continue
        good.append(Pending(row["id"], row["priority"], row["attempts"], row["body"], encoded))
    return good, bad


def batches(items: list[Pending], *, max_events: int,
            max_bytes: int = protocol.MAX_BATCH_BYTES) -> Iterator[list[Pending]]:
    """Pack items in order into batches of at most ``max_events`` and ``max_bytes``.

    An item bigger than ``max_bytes`` travels alone (the platform may still refuse it
    with 413, which dead-letters it).
    """
    batch: list[Pending] = []
    size = 0
    for item in items:
        n = len(item.encoded) + 1
        if batch and (len(batch) >= max_events or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch


class OutboxSender:
    """Sends pending rows through a transport and records every row's fate in the store.

    :param store: the worker thread's own :class:`~hub.store.Store`.
    :param transport: turns items into per-event results.
    :param on_delivered: called with the ids after ``mark_delivered`` committed.
    :param now: the clock.
    :param rng: random source for the per-row retry jitter.
    :param hub_id: this hub's id, written into the minimal form of a refused SOS.
    :param on_sos_refused: called with (row id, body, reason) when the platform
        refuses an SOS row that it had not refused before.
    :param limits: ``{"max_events", "max_bytes"}`` a platform announced on a 413;
        updated in place, so the caller can keep them for the next pass.
    """

    def __init__(self, store, transport: Transport, *,
                 on_delivered: Callable[[list[str]], None] | None = None,
                 now: Callable[[], dt.datetime] = utc_now, rng: random.Random | None = None,
                 hub_id: str | None = None,
                 on_sos_refused: Callable[[str, dict, str], None] | None = None,
                 limits: dict | None = None):
        self.store = store
        self.transport = transport
        self.on_delivered = on_delivered
        self.hub_id = hub_id
        self.on_sos_refused = on_sos_refused
        self.limits = limits if limits is not None else {}
        self._now = now
        self._rng = rng or random.Random()

    def send(self, rows: list[dict], *, max_events: int, max_bytes: int = protocol.MAX_BATCH_BYTES,
             urgent: bool = False) -> SendReport:
        """Deliver ``rows`` in batches until done or the link fails.

        :param rows: as returned by :meth:`Store.outbox_ready`.
        :param urgent: SOS rows: the transport uses its fast-failing settings.
        """
        report = SendReport()
        items, bad = prepare(rows)
        bodies = {r["id"]: r["body"] for r in rows}
        for item_id, reason in bad:
            self._refuse(item_id, bodies[item_id], reason, report)
        max_events = min(max_events, self.limits.get("max_events") or max_events)
        max_bytes = min(max_bytes, self.limits.get("max_bytes") or max_bytes)
        try:
            for batch in batches(items, max_events=max_events, max_bytes=max_bytes):
                self._deliver(batch, urgent, report)
        except (TransientError, AuthError) as exc:
            report.error = exc
        return report

    def record_late(self, items: list[Pending], results: list[Result]) -> list[str]:
        """Record the deliveries in an answer that came after its request was given up.

        Only "accepted"/"duplicate" count: anything else is simply sent again.
        """
        delivered = [i.id for i, r in zip(items, results)
                     if r.status in protocol.DELIVERED_STATUSES]
        if delivered:  # only rows still waiting: the winning attempt may have recorded them
            still = {r[0] for r in self.store.db.execute(
                f"SELECT id FROM outbox WHERE id IN ({','.join('?' * len(delivered))})",
                delivered)}
            delivered = [i for i in delivered if i in still]
        if delivered:
            self._record([i for i in items if i.id in delivered],
                         [r for r in results if r.id in delivered], SendReport())
        return delivered

    def _deliver(self, batch: list[Pending], urgent: bool, report: SendReport):
        try:
            results = self.transport.send(batch, urgent=urgent)
        except RejectedError as exc:
            report.requests += 1
            if exc.status == 413 and (exc.max_events or exc.max_bytes):
                # The platform said how much it takes: batch to that at once and remember it.
                limit_events = min(exc.max_events or len(batch), len(batch))
                limit_bytes = exc.max_bytes or protocol.MAX_BATCH_BYTES
                self.limits.update({k: v for k, v in (("max_events", exc.max_events),
                                                      ("max_bytes", exc.max_bytes)) if v})
                smaller = list(batches(batch, max_events=limit_events, max_bytes=limit_bytes))
                if len(smaller) > 1:
                    log.info("platform takes at most %s events / %s bytes per request; "
                             "re-batching %d events", exc.max_events or "-",
                             exc.max_bytes or "-", len(batch))
                    for part in smaller:
                        self._deliver(part, urgent, report)
                    return
            if len(batch) == 1:
                self._refuse(batch[0].id, batch[0].body,
                             f"refused by the platform (HTTP {exc.status}): {exc.reason}", report)
                return
            # Bisect: the refusal is about some event in here; find it without
            # holding back the others (log2(n) extra requests for one poison event).
            mid = len(batch) // 2
            log.info("platform refused a batch of %d (HTTP %d); splitting it to find the "
                     "invalid event", len(batch), exc.status)
            self._deliver(batch[:mid], urgent, report)
            self._deliver(batch[mid:], urgent, report)
            return
        report.requests += 1
        self._record(batch, results, report)

    def _record(self, batch: list[Pending], results: list[Result], report: SendReport):
        delivered, retry = [], []
        for item, result in zip(batch, results):
            if result.status in protocol.DELIVERED_STATUSES:
                delivered.append(item.id)
            elif result.status == protocol.REJECTED:
                self._refuse(item.id, item.body, result.reason or "rejected by the platform",
                             report)
            else:
                retry.append((item, result))
        if delivered:
            self.store.mark_delivered(delivered)
            report.delivered.extend(delivered)
            if self.on_delivered:
                try:
                    self.on_delivered(delivered)
                except Exception:  # the core's problem; delivery itself is recorded
                    log.exception("on_delivered callback failed for %d ids", len(delivered))
        for item, result in retry:
            wait = full_jitter(item.attempts, base=ROW_RETRY_BASE, cap=ROW_RETRY_CAP,
                               rng=self._rng)
            self.store.mark_failed([item.id], result.reason or "platform asked to retry",
                                   retry_at=self._now() + dt.timedelta(seconds=wait))
            report.retry.append(item.id)

    def _refuse(self, item_id: str, body: dict, reason: str, report: SendReport):
        """The platform refused one row: an SOS is resent minimal, anything else dies."""
        row = self.store.db.execute("SELECT priority, dead_reason, attempts FROM outbox "
                                    "WHERE id = ? AND dead = 0", [item_id]).fetchone()
        if row is None:  # delivered meanwhile (a hedged attempt got through)
            return
        if row[0] == PRIORITY_SOS or protocol.is_sos(body):
            self._refused_sos(item_id, body, reason, first=row[1] is None,
                              attempts=row[2], report=report)
            return
        self.store.mark_dead(item_id, reason)
        report.dead.append((item_id, reason))
        # The reason can quote a value (a mapper's "systolic = 'high'"): it is kept in
        # the outbox for `hub status`, and logged only at DEBUG.
        log.warning("event %s was refused as invalid; kept as a dead letter (see hub "
                    "status)", item_id)
        log.debug("dead letter %s: %s", item_id, reason)

    def _refused_sos(self, item_id: str, body: dict, reason: str, *, first: bool,
                     attempts: int, report: SendReport):
        now = self._now()
        minimal = protocol.minimal_sos(body if isinstance(body, dict) else {"id": item_id},
                                       hub_id=self.hub_id, now=to_rfc3339(now))
        minimal["id"] = item_id
        wait = full_jitter(attempts, base=SOS_REFUSED_RETRY_BASE, cap=SOS_REFUSED_RETRY_CAP,
                           rng=self._rng)
        text = sos_refused_words(reason)
        # One transaction: never a refused row without its retry time, nor without the
        # "last error" that `hub status` shows beside it.
        with self.store._tx():
            self.store.db.execute(
                "UPDATE outbox SET body = ?, dead_reason = ?, last_error = ?, "
                "attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ? "
                "WHERE id = ? AND dead = 0",
                [protocol.encode(minimal).decode(), reason[:500], text, to_rfc3339(now),
                 to_rfc3339(now + dt.timedelta(seconds=wait)), item_id])
            self.store.set_runtime("sync.last_error",
                                   json.dumps({"at": to_rfc3339(now), "error": text}))
        report.refused.append((item_id, reason))
        log.error("the platform REFUSED SOS event %s (%s); resending it in minimal form in "
                  "%.1f s and for as long as it takes", item_id, reason[:200], wait)
        if first and self.on_sos_refused:
            try:
                self.on_sos_refused(item_id, body, reason)
            except Exception:
                log.exception("on_sos_refused callback failed for %s", item_id)


def sos_refused_words(reason: str) -> str:
    """What ``hub status`` says about a refused SOS (the platform's reason, cut short)."""
    return (f"the care platform REFUSED an SOS alarm ({reason[:200]}); resending it in "
            "minimal form until it is taken")


def sos_due(store, limit: int, *, now: dt.datetime | None = None) -> list[dict]:
    """SOS rows to send now: every pending one, except a refused one still in its backoff.

    A transient failure never delays an SOS row (the lane has its own short pace), so
    only a refusal's retry time is honoured here.
    """
    due = to_rfc3339(now or utc_now())
    rows = store.db.execute(
        "SELECT seq, id, item_table, priority, body, attempts FROM outbox "
        "WHERE dead = 0 AND priority <= ? AND (dead_reason IS NULL OR next_attempt_at IS NULL "
        "OR next_attempt_at <= ?) ORDER BY priority, seq LIMIT ?",
        [PRIORITY_SOS, due, int(limit)]).fetchall()
    return [{"seq": r[0], "id": r[1], "item_table": r[2], "priority": r[3],
             "body": json.loads(r[4]), "attempts": r[5]} for r in rows]


def refused_sos(store) -> list[dict]:
    """SOS rows the platform refused and the hub is still resending: id, sos_id, type, reason."""
    out = []
    for item_id, body, reason, attempts, at in store.db.execute(
            "SELECT id, body, dead_reason, attempts, last_attempt_at FROM outbox "
            "WHERE dead = 0 AND priority <= ? AND dead_reason IS NOT NULL ORDER BY seq",
            [PRIORITY_SOS]):
        body = json.loads(body)
        out.append({"id": item_id, "sos_id": body.get("sos_id"), "type": body.get("type"),
                    "reason": reason, "attempts": attempts, "last_attempt_at": at})
    return out


def revive_dead_sos(store) -> int:
    """Put SOS rows an older hub dead-lettered back in the outbox (kept as refused).

    :returns: how many were revived.
    """
    with store._tx():
        n = store.db.execute(
            "UPDATE outbox SET dead = 0, next_attempt_at = NULL, "
            "dead_reason = COALESCE(dead_reason, 'refused by the platform') "
            "WHERE dead = 1 AND priority <= ?", [PRIORITY_SOS]).rowcount
    if n:
        log.error("%d SOS event(s) had been given up as refused by the platform; sending "
                  "them again (an SOS is never given up)", n)
    return n
