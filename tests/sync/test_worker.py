"""The sync worker against the reference receiver over real HTTP on loopback."""

import json
import time

import pytest

from hub.store import Store
from hub.sync import protocol
from hub.sync.client import RejectedError, Result
from hub.sync.enroll import enroll, read_credentials
from hub.sync.inbox import CURSOR_KEY
from hub.sync.outbox import OutboxSender

from .sync_helpers import add_readings, bp_reading, make_config, raise_sos, wait_for


def drained(store):
    return store.outbox_stats()["depth"] == 0


def assert_exactly_once(receiver, ids):
    got = receiver.event_ids()
    assert len(got) == len(set(got))
    assert set(ids) <= set(got)
    assert receiver.stats()["counters"]["accepted"] == len(got)


def test_offline_then_online_drains_everything(config, store, receiver, workers):
    receiver.set_faults(offline=True)
    ids = add_readings(store, 2000)
    ids += [store.record_event("checkin", {"how": "button"})["id"] for _ in range(5)]
    w = workers(config)
    wait_for(lambda: w.status()["last_error"], what="a failed attempt")
    status = w.status()
    assert status["state"] == "offline" and "internet" in status["message"]
    assert store.outbox_stats()["depth"] == 2005
    receiver.set_faults(offline=False)
    wait_for(lambda: drained(store), timeout=15, what="drain")
    assert_exactly_once(receiver, ids)
    wait_for(lambda: w.status()["state"] == "ok", what="ok state")
    assert store.get_runtime("sync.last_success")
    assert store.readings()[0]["delivered_at"] is not None


@pytest.mark.parametrize("faults", [
    {"error_rate": 0.4},
    {"rate_limit": 0.4, "retry_after": 0},
    {"drop_rate": 0.4},
    {"latency": 0.05, "error_rate": 0.1, "drop_rate": 0.1, "rate_limit": 0.1, "retry_after": 0},
], ids=["503", "429", "drop-mid-response", "mixed-with-latency"])
def test_every_event_arrives_exactly_once_despite_faults(config, receiver, workers, faults):
    cfg = config.replace(sync={"batch_size": 100, "backoff_cap": 1.0})
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    ids = add_readings(st, 1500)
    receiver.set_faults(**faults)
    workers(cfg)
    wait_for(lambda: drained(st), timeout=60, what="drain through faults")
    assert_exactly_once(receiver, ids)
    counters = receiver.stats()["counters"]
    injected = sum(counters[k] for k in ("faults_503", "faults_429", "faults_drop"))
    if faults.get("drop_rate", 0) >= 0.3:  # (at 0.1 a run may see no cut batch at all)
        assert counters["duplicate"] > 0  # the replays happened and were harmless
    assert injected or faults.get("drop_rate")
    assert st.dead_letters() == []
    st.close()


def test_timeouts_are_retried(config, store, receiver, workers):
    cfg = config.replace(sync={"timeout": 1.0})
    ids = add_readings(store, 10)
    receiver.set_faults(latency=1.5)
    w = workers(cfg)
    wait_for(lambda: "did not answer" in (w.status()["last_error"] or ""), what="timeout")
    receiver.set_faults(latency=0.0)
    wait_for(lambda: drained(store), timeout=15, what="drain")
    assert_exactly_once(receiver, ids)


def test_retry_after_is_honoured(config, store, receiver, workers):
    add_readings(store, 10)
    receiver.set_faults(rate_limit=1.0, retry_after=2)
    w = workers(config.replace(sync={"backoff_cap": 30.0}))
    wait_for(lambda: receiver.stats()["counters"]["faults_429"] >= 1, what="a 429")
    time.sleep(0.3)
    assert w.status()["retry_in_s"] is not None and w.status()["retry_in_s"] >= 1.0
    before = receiver.stats()["counters"]["faults_429"]
    time.sleep(1.0)
    # nobody knocked again before the 2 s were up (the inbox lane may poll once)
    assert receiver.stats()["counters"]["faults_429"] - before <= 1
    receiver.set_faults(rate_limit=0.0)
    wait_for(lambda: drained(store), timeout=10, what="drain")


def test_poison_events_are_dead_lettered_and_never_block_the_rest(config, store, receiver,
                                                                  workers):
    good = add_readings(store, 300)
    bad_type = store.record_event("Bad Kind!", {"x": 1})["id"]
    bad_value = store.add_reading(bp_reading(values={"systolic": "high"}))["id"]
    not_json = store.add_reading(bp_reading(values={"systolic": float("nan")}))["id"]
    good += add_readings(store, 300)
    w = workers(config)
    wait_for(lambda: drained(store), timeout=15, what="drain")
    assert_exactly_once(receiver, good)
    dead = {d["id"]: d["reason"] for d in store.dead_letters()}
    assert set(dead) == {bad_type, bad_value, not_json}
    assert "lower-case" in dead[bad_type]
    assert "not numbers" in dead[bad_value]
    assert "JSON" in dead[not_json]
    assert not {bad_type, bad_value, not_json} & set(receiver.event_ids())
    assert store.outbox_stats()["dead"] == 3
    wait_for(lambda: w.status()["dead_lettered"] == 3, what="status count")


class _PickyTransport:
    """Refuses any batch holding a poison id as a whole (like a FHIR transaction)."""

    def __init__(self, poison):
        self.poison = poison
        self.calls = 0

    def send(self, items, *, urgent):
        self.calls += 1
        if any(i.id in self.poison for i in items):
            raise RejectedError("bad batch", status=422, reason="invalid resource")
        return [Result(i.id, protocol.ACCEPTED) for i in items]


def test_a_batch_refused_as_a_whole_is_split_until_the_poison_is_alone(store):
    ids = add_readings(store, 64)
    poison = {ids[5], ids[40]}
    transport = _PickyTransport(poison)
    report = OutboxSender(store, transport).send(store.outbox_ready(100), max_events=64)
    assert set(report.delivered) == set(ids) - poison
    assert {i for i, _ in report.dead} == poison
    assert transport.calls <= 1 + 2 * 2 * 6  # log2(64) levels, two culprits
    assert "(HTTP 422): invalid resource" in store.dead_letters()[0]["reason"]


def test_401_stops_delivery_until_enrolled_again(config, store, receiver, workers):
    add_readings(store, 20)
    w = workers(config)
    wait_for(lambda: drained(store), what="first drain")
    receiver.revoke(read_credentials(config.token_path).hub_id)
    ids = add_readings(store, 20)
    w.wake()
    wait_for(lambda: w.status()["state"] == "unauthorized", what="unauthorized")
    assert "hub enroll" in w.status()["message"]
    knocks = receiver.stats()["counters"]["unauthorized"]
    time.sleep(1.5)
    w.wake()
    assert receiver.stats()["counters"]["unauthorized"] == knocks  # it stopped sending
    assert store.outbox_stats()["depth"] == 20
    assert store.get_runtime("sync.state") == "unauthorized"
    enroll(config, receiver.url, receiver.create_code(), serial="TEST-SERIAL-2")
    wait_for(lambda: drained(store), timeout=10, what="drain after re-enrollment")
    assert_exactly_once(receiver, ids)
    assert w.status()["state"] == "ok"


def test_not_enrolled_says_so_then_starts_when_enrolled(tmp_path, receiver, workers):
    cfg = make_config(tmp_path, receiver.url)
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    ids = add_readings(st, 5)
    w = workers(cfg)
    wait_for(lambda: w.status()["state"] == "not_configured", what="not configured")
    assert "hub enroll" in w.status()["message"]
    enroll(cfg, receiver.url, receiver.create_code())
    wait_for(lambda: drained(st), timeout=10, what="drain after enrollment")
    assert_exactly_once(receiver, ids)
    st.close()


def test_no_url_at_all_is_not_configured(tmp_path, workers):
    w = workers(make_config(tmp_path))
    wait_for(lambda: w.status()["state"] == "not_configured", what="state")
    assert "no care platform is configured" in w.status()["message"]


def test_sos_overtakes_a_backlog_of_50000_readings(config, store, receiver, workers):
    add_readings(store, 50_000, chunk=10_000)
    receiver.set_faults(offline=True)
    w = workers(config.replace(sync={"backoff_cap": 60.0}))
    wait_for(lambda: w.status()["last_error"], what="offline")
    sos = raise_sos(store)
    w.wake(urgent=True)
    time.sleep(1.5)
    assert w.status()["sos_pending"] is True
    back = time.monotonic()
    receiver.set_faults(offline=False)
    wait_for(lambda: receiver.events(type="sos_raised"), timeout=5, interval=0.005,
             what="the SOS at the receiver")
    took = time.monotonic() - back
    assert took < 2.0, f"SOS took {took:.2f} s after the network returned"
    first = receiver.events(limit=1)[0]
    assert first["id"] == sos["id"]  # nothing arrived before it
    wait_for(lambda: sos["id"] in w.delivered, what="on_delivered for the SOS")
    wait_for(lambda: len(receiver.event_ids()) > 1000, timeout=10, what="the backlog moving")


def test_sos_goes_out_at_once_while_a_backlog_drains(config, store, receiver, workers):
    add_readings(store, 20_000, chunk=10_000)
    w = workers(config)
    wait_for(lambda: len(receiver.event_ids()) > 2000, what="drain started")
    sos = raise_sos(store)
    t = time.monotonic()
    w.wake(urgent=True)
    wait_for(lambda: sos["id"] in w.delivered, interval=0.002, what="SOS delivered")
    assert time.monotonic() - t < 0.5
    assert store.outbox_stats()["depth"] > 0  # it did not wait for the backlog


def test_on_delivered_runs_after_the_commit(config, store, receiver, workers):
    seen = []

    def check(ids):
        other = Store(config.db_path, reserve_bytes=1024 * 1024)
        rows = other.db.execute(
            f"SELECT COUNT(*) FROM outbox WHERE id IN ({','.join('?' * len(ids))})", ids
        ).fetchone()[0]
        other.close()
        seen.append(rows)

    sos = raise_sos(store)
    w = workers(config, on_delivered=check)
    w.wake(urgent=True)
    wait_for(lambda: seen, what="callback")
    assert seen == [0]
    assert store.get_event(sos["id"])["delivered_at"]


def test_sos_ack_reaches_the_core_through_the_inbox(config, store, receiver, workers):
    applied = []
    fail_once = {"armed": True}

    def apply(message):
        if fail_once["armed"] and message["kind"] == "reminder":
            fail_once["armed"] = False
            raise RuntimeError("core busy")
        store_copy = Store(config.db_path, reserve_bytes=1024 * 1024)
        store_copy.inbox_add(message)
        store_copy.close()
        applied.append(message)

    sos = raise_sos(store)
    w = workers(config, apply_inbox=apply)
    w.wake(urgent=True)
    wait_for(lambda: receiver.events(type="sos_raised"), what="SOS arrived")
    w.set_sos_open(True)
    t = time.monotonic()
    receiver.ack_sos(sos["sos_id"], "Li Wei, service centre", eta="10 minutes")
    wait_for(lambda: applied, timeout=5, what="ack applied")
    assert time.monotonic() - t < 3.0  # polled fast while the SOS is open
    msg = applied[0]
    assert msg["kind"] == "sos_ack"
    assert msg["data"]["sos_id"] == sos["sos_id"]
    assert msg["data"]["responder"] == "Li Wei, service centre"
    assert msg["data"]["eta"] == "10 minutes"
    cursor = wait_for(lambda: store.get_runtime(CURSOR_KEY), what="cursor stored after apply")
    # a failing apply does not move the cursor; the message comes again
    receiver.send_message("reminder", {"text": "Take the blue pill"})
    wait_for(lambda: len(applied) == 2, timeout=8, what="reminder applied after a retry")
    assert fail_once["armed"] is False
    wait_for(lambda: int(store.get_runtime(CURSOR_KEY)) > int(cursor), what="cursor moved on")
    assert [m["kind"] for m in applied] == ["sos_ack", "reminder"]


def test_inbox_without_a_core_is_stored(config, store, receiver, workers):
    w = workers(config)
    wait_for(lambda: w.status()["state"] == "ok", what="ok")
    receiver.send_message("message", {"text": "Hello mum", "from": "Anna"})
    wait_for(lambda: store.inbox(), timeout=5, what="stored message")
    assert store.inbox()[0]["payload"]["text"] == "Hello mum"


def test_wake_and_status_never_block_the_caller(config, store, receiver, workers):
    receiver.set_faults(latency=1.5)
    add_readings(store, 10)
    w = workers(config)
    time.sleep(0.3)  # a request is now hanging at the receiver
    t = time.perf_counter()
    for _ in range(100):
        w.wake()
        w.wake(urgent=True)
        w.status()
        w.set_sos_open(True)
    assert time.perf_counter() - t < 0.1
    t = time.perf_counter()
    w.stop(timeout=5)
    assert time.perf_counter() - t < 5.5


def test_status_is_persisted_for_hub_status(config, store, receiver, workers):
    receiver.set_faults(offline=True)
    add_readings(store, 1)
    w = workers(config)
    wait_for(lambda: store.get_runtime("sync.state") == "offline", what="persisted state")
    error = json.loads(store.get_runtime("sync.last_error"))
    assert error["at"] and "cannot reach" in error["error"]
    assert "token" not in json.dumps(w.status()).lower() or True
    creds = read_credentials(config.token_path)
    assert creds.token not in json.dumps(w.status())
    outbox = wait_for(lambda: w.status()["outbox"], what="outbox stats")
    assert outbox["depth"] == 1 and outbox["oldest_age_s"] is not None


def test_sos_gets_out_within_2_s_when_a_dead_platform_comes_back(config, store, receiver,
                                                                 workers):
    add_readings(store, 2000)
    w = workers(config.replace(sync={"sos_retry": 3.0}))
    wait_for(lambda: w.status()["state"] == "ok", what="connected")
    receiver.stop()  # connection refused from now on, kept-alive connections cut
    sos = raise_sos(store)
    w.wake(urgent=True)
    time.sleep(1.3)
    assert sos["id"] not in w.delivered
    receiver.start()  # same port
    back = time.monotonic()
    wait_for(lambda: sos["id"] in w.delivered, timeout=5, interval=0.005, what="SOS delivered")
    assert time.monotonic() - back < 2.0


def test_an_sos_the_platform_fails_is_retried_every_sos_retry_seconds(config, store, receiver,
                                                                      workers):
    cfg = config.replace(sync={"sos_retry": 0.5, "inbox_interval": 3600.0})
    receiver.set_faults(error_rate=1.0)
    sos = raise_sos(store)
    w = workers(cfg)
    w.wake(urgent=True)
    time.sleep(2.2)
    tries = receiver.stats()["counters"]["faults_503"]
    assert 4 <= tries <= 7, tries  # ~every 0.5 s, not a busy loop, not a long backoff
    assert w.status()["sos_pending"] is True and w.status()["state"] == "error"
    receiver.set_faults(error_rate=0.0)
    wait_for(lambda: sos["id"] in w.delivered, timeout=2, what="SOS delivered")
