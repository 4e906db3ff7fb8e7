"""Delivering outbox rows: batch them, send them, and record each row's own result.

This module owns one delivery *pass* over rows already read from the outbox:

* rows are packed into batches bounded by count and by encoded bytes;
* each row's verdict is written to the store by itself — accepted or duplicate →
  :meth:`Store.mark_delivered` (then ``on_delivered``), rejected → dead letter with
  the platform's reason, "retry" → :meth:`Store.mark_failed` with that row's own
  backoff;
* a whole request refused as invalid (400/413/422) is split in halves until the
  poison event is alone and dead-lettered, so it never blocks the events behind it;
* a row that cannot even be encoded (NaN in a value) is dead-lettered at once.

A failure of the whole request (no connection, timeout, 5xx, 429, 401) stops the
pass and is returned to the caller: it is the link's problem, not the rows', so
the rows are left untouched (no attempt counted) and the worker backs off.

It does not choose which rows or when (:mod:`hub.sync.worker`), nor speak HTTP
(:mod:`hub.sync.client`); a *transport* turns bodies into per-event results.
"""

import datetime as dt
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from hub.clock import utc_now
from hub.store import PRIORITY_SOS
from hub.sync import protocol
from hub.sync.backoff import full_jitter
from hub.sync.client import (AuthError, PlatformClient, RejectedError, Result,
                             TransientError)

__all__ = ["Pending", "SendReport", "Transport", "HubTransport", "OutboxSender",
           "prepare", "batches"]

log = logging.getLogger(__name__)

# A row the platform asked to retry waits full_jitter(attempts) seconds with these.
ROW_RETRY_BASE = 2.0
ROW_RETRY_CAP = 600.0


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
    """

    def __init__(self, store, transport: Transport, *,
                 on_delivered: Callable[[list[str]], None] | None = None,
                 now: Callable[[], dt.datetime] = utc_now, rng: random.Random | None = None):
        self.store = store
        self.transport = transport
        self.on_delivered = on_delivered
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
        for item_id, reason in bad:
            self._dead(item_id, reason, report)
        try:
            for batch in batches(items, max_events=max_events, max_bytes=max_bytes):
                self._deliver(batch, urgent, report)
        except (TransientError, AuthError) as exc:
            report.error = exc
        return report

    def _deliver(self, batch: list[Pending], urgent: bool, report: SendReport):
        try:
            results = self.transport.send(batch, urgent=urgent)
        except RejectedError as exc:
            report.requests += 1
            if len(batch) == 1:
                self._dead(batch[0].id, f"refused by the platform (HTTP {exc.status}): "
                                        f"{exc.reason}", report)
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
                self._dead(item.id, result.reason or "rejected by the platform", report)
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

    def _dead(self, item_id: str, reason: str, report: SendReport):
        self.store.mark_dead(item_id, reason)
        report.dead.append((item_id, reason))
        row = self.store.db.execute("SELECT priority FROM outbox WHERE id = ?",
                                    [item_id]).fetchone()
        # The reason can quote a value (a mapper's "systolic = 'high'"): it is kept in
        # the outbox for `hub status`, and logged only at DEBUG.
        if row and row[0] == PRIORITY_SOS:
            log.error("the platform refused SOS event %s as invalid; it is kept as a dead "
                      "letter (see hub status)", item_id)
        else:
            log.warning("event %s was refused as invalid; kept as a dead letter (see hub "
                        "status)", item_id)
        log.debug("dead letter %s: %s", item_id, reason)
