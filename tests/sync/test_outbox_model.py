"""Model-based test of the outbox: enqueue, send, fail, lose the answer, crash, restart.

A hypothesis state machine drives the real :class:`OutboxSender` and a real store
against an in-memory platform that deduplicates by id. Invariants after every step:
whatever the hub marked delivered is at the platform; whatever was enqueued is
delivered or still pending (or a dead letter, if invalid); the platform never holds
an event twice. At the end, with the link healthy, everything valid arrives.
"""

import datetime as dt
import shutil
import tempfile
import uuid
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hub.store import Store
from hub.sync import protocol
from hub.sync.client import Result, TransientError
from hub.sync.outbox import OutboxSender

LATER = dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)


class Platform:
    """Keeps the first copy of each id; can be down, busy (per-event retry), or lose its
    answer after storing."""

    def __init__(self):
        self.stored: dict[str, int] = {}
        self.mode = "ok"

    def send(self, items, *, urgent):
        if self.mode == "down":
            raise TransientError("down", kind="offline")
        results = []
        for i in items:
            if protocol.validate_event(i.body):
                results.append(Result(i.id, protocol.REJECTED, "invalid"))
            elif self.mode == "busy":
                results.append(Result(i.id, protocol.RETRY, "busy"))
            elif i.id in self.stored:
                self.stored[i.id] += 1  # replay: counted, not stored twice
                results.append(Result(i.id, protocol.DUPLICATE))
            else:
                self.stored[i.id] = 1
                results.append(Result(i.id, protocol.ACCEPTED))
        if self.mode == "lose_answer":
            raise TransientError("answer lost", kind="offline")
        return results


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-model-"))
        self.store = Store(self.dir / "hub.db", reserve_bytes=1024 * 1024)
        self.platform = Platform()
        self.enqueued: set[str] = set()
        self.poison: set[str] = set()
        self.delivered_ids: set[str] = set()

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(n=st.integers(1, 30))
    def enqueue_readings(self, n):
        stored = self.store.add_readings([
            {"id": str(uuid.uuid4()), "kind": "heart_rate", "values": {"heart_rate": 60 + k}}
            for k in range(n)])
        self.enqueued |= {r["id"] for r in stored}

    @rule()
    def enqueue_poison(self):
        self.poison.add(self.store.record_event("Not Valid", {})["id"])

    @rule(mode=st.sampled_from(["ok", "down", "busy", "lose_answer"]))
    def link(self, mode):
        self.platform.mode = mode

    @rule(batch=st.integers(1, 40), later=st.booleans())
    def send(self, batch, later):
        sender = OutboxSender(self.store, self.platform, on_delivered=self.delivered_ids.update)
        rows = self.store.outbox_ready(batch, now=LATER if later else None)
        sender.send(rows, max_events=max(1, batch // 2))

    @rule()
    def crash_and_restart(self):
        self.store.close()
        self.store = Store(self.dir / "hub.db", reserve_bytes=1024 * 1024)

    @invariant()
    def delivered_is_at_the_platform(self):
        assert self.delivered_ids <= set(self.platform.stored)

    @invariant()
    def nothing_is_lost(self):
        pending = {r[0] for r in self.store.db.execute("SELECT id FROM outbox WHERE dead = 0")}
        dead = {r[0] for r in self.store.db.execute("SELECT id FROM outbox WHERE dead = 1")}
        assert self.enqueued <= pending | set(self.platform.stored)
        assert dead == self.poison & dead  # only invalid events ever die
        assert not dead & set(self.platform.stored)

    @rule()
    def final_drain_delivers_everything(self):
        self.platform.mode = "ok"
        sender = OutboxSender(self.store, self.platform)
        for _ in range(1000):
            rows = self.store.outbox_ready(50, now=LATER)  # rows told to retry later too
            if not rows:
                break
            sender.send(rows, max_events=25)
        assert self.enqueued <= set(self.platform.stored)
        assert {d["id"] for d in self.store.dead_letters()} == self.poison
        assert self.store.outbox_stats()["depth"] == 0


OutboxMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25,
                                           deadline=None)
TestOutboxModel = OutboxMachine.TestCase
