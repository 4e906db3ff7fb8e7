"""The SOS lane against a platform that refuses, revokes or swallows: an alarm always gets out.

Real HTTP on loopback against the reference receiver, whose fault switches play the
misbehaving platform (refusing SOS events breaks the contract, which is exactly
why the hub must survive it) and the broken network (refused, reset and
black-holed connections, and a listening socket whose backlog is full).
"""

import socket
import time

import pytest

from hub.status import collect_status, format_status
from hub.store import Store
from hub.sync.enroll import enroll, read_credentials
from hub.sync.outbox import refused_sos

from .sync_helpers import add_readings, raise_sos, wait_for


def at_receiver(receiver, event_id):
    return [e for e in receiver.events() if e["id"] == event_id]


@pytest.mark.parametrize("how", ["400", "422", "rejected"])
def test_a_refused_sos_goes_out_minimal_and_is_never_dead_lettered(config, store, receiver,
                                                                   workers, how):
    receiver.set_faults(refuse_sos=how)
    refused = []
    sos = raise_sos(store)
    w = workers(config, on_sos_refused=lambda *a: refused.append(a))
    w.wake(urgent=True)
    [got] = wait_for(lambda: at_receiver(receiver, sos["id"]), timeout=8,
                     what="the minimal SOS at the receiver")
    body = got["body"]
    hub_id = read_credentials(config.token_path).hub_id
    assert body["data"] == {"minimal": True} and body["hub_id"] == hub_id
    assert (body["type"], body["sos_id"], body["source"]) == ("sos_raised", sos["sos_id"],
                                                             "button")
    assert body["occurred_at"] == sos["occurred_at"]
    assert store.dead_letters() == []
    wait_for(lambda: sos["id"] in w.delivered, what="delivery recorded")
    assert [r[0] for r in refused] == [sos["id"]] and "sos refused" in refused[0][2]


def test_an_sos_refused_in_every_form_is_retried_until_taken(config, store, receiver, workers):
    receiver.set_faults(refuse_sos="rejected", refuse_minimal=True)
    sos = raise_sos(store)
    w = workers(config)
    w.wake(urgent=True)
    wait_for(lambda: receiver.stats()["counters"]["faults_refused_sos"] >= 2, timeout=10,
             what="two refusals")
    assert store.dead_letters() == [] and store.outbox_stats()["urgent"] == 1
    [row] = refused_sos(store)
    assert row["id"] == sos["id"] and "sos refused" in row["reason"]
    text = format_status(collect_status(store, config, core={"pid": 1}))
    assert "SOS REFUSED" in text and "phone the service centre" in text, text
    receiver.set_faults(refuse_sos="", refuse_minimal=False)
    wait_for(lambda: sos["id"] in w.delivered, timeout=35, what="delivered once accepted")
    assert refused_sos(store) == []


def test_an_sos_an_older_hub_dead_lettered_is_sent_again(config, store, receiver, workers):
    sos = raise_sos(store)
    store.mark_dead(sos["id"], "rejected: unknown event type")  # what the old hub did
    w = workers(config)
    wait_for(lambda: sos["id"] in w.delivered, timeout=5, what="the revived SOS delivered")
    assert at_receiver(receiver, sos["id"]) and store.dead_letters() == []


def test_a_revoked_token_stops_the_backlog_but_not_an_sos(config, store, receiver, workers):
    w = workers(config)
    wait_for(lambda: w.status()["state"] == "ok", what="connected")
    receiver.revoke(read_credentials(config.token_path).hub_id)
    readings = add_readings(store, 20)
    w.wake()
    wait_for(lambda: w.status()["state"] == "unauthorized", what="token refused")
    sos = raise_sos(store)
    t = time.monotonic()
    w.wake(urgent=True)
    wait_for(lambda: sos["id"] in w.delivered, timeout=5, what="SOS routed by hub id")
    assert time.monotonic() - t < 2.0
    assert receiver.stats()["counters"]["sos_by_hub_id"] >= 1
    assert not set(readings) & set(receiver.event_ids())  # bulk stopped
    assert w.status()["state"] == "unauthorized"  # an SOS getting through changes nothing
    assert "token revoked" in store.get_runtime("sync.message")
    text = format_status(collect_status(store, config, core={"pid": 1}))
    assert "TOKEN REVOKED" in text, text
    enroll(config, receiver.url, receiver.create_code(), serial="TEST-SERIAL-2")
    wait_for(lambda: store.outbox_stats()["depth"] == 0, timeout=10, what="drain")


def _full_backlog(port: int) -> list[socket.socket]:
    """A listening socket that never accepts, its queue filled: new SYNs are dropped."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(0)
    held = [lsock]
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    time.sleep(0.1)
    return held


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["refused", "reset", "black_hole", "full_backlog"])
def test_sos_reaches_the_platform_within_2_s_of_the_network_returning(config, store, receiver,
                                                                      workers, fault):
    # The default read timeout (10 s) is what made a black hole cost 11 s.
    w = workers(config.replace(sync={"timeout": 10.0, "sos_retry": 3.0}))
    wait_for(lambda: w.status()["state"] == "ok", what="connected")
    held = []
    if fault == "refused":
        receiver.stop()
    elif fault == "full_backlog":
        port = receiver.port
        receiver.stop()
        held = _full_backlog(port)
    else:
        receiver.set_faults(**{fault: True})
    sos = raise_sos(store)
    w.wake(urgent=True)
    time.sleep(2.5)
    assert sos["id"] not in w.delivered
    if fault == "refused":
        receiver.start()
    elif fault == "full_backlog":
        for s in held:
            s.close()
        receiver.start()
    else:
        receiver.set_faults(**{fault: False})
    back = time.monotonic()
    wait_for(lambda: sos["id"] in w.delivered, timeout=15, interval=0.005, what="SOS delivered")
    took = time.monotonic() - back
    assert took < 2.0, f"{fault}: SOS took {took:.2f} s after the network returned"
    assert len(at_receiver(receiver, sos["id"])) == 1
    receiver.stop()  # ends the connections the black hole still holds


def test_a_413_with_a_size_limit_is_rebatched_once_and_remembered(tmp_path, workers):
    from hub.sync.receiver import Receiver

    from .sync_helpers import make_config

    rx = Receiver(tmp_path / "small.db", max_batch_events=40).start()
    try:
        cfg = make_config(tmp_path, rx.url, batch_size=500)
        enroll(cfg, rx.url, rx.create_code(), serial="S-413")
        st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
        ids = add_readings(st, 300)
        w = workers(cfg)
        wait_for(lambda: st.outbox_stats()["depth"] == 0, timeout=15, what="drain")
        more = add_readings(st, 300)
        w.wake()
        wait_for(lambda: st.outbox_stats()["depth"] == 0, timeout=15, what="second drain")
        assert set(ids + more) <= set(rx.event_ids()) and st.dead_letters() == []
        # one 413 taught the hub the limit; it never sent too much again
        assert rx.stats()["counters"]["too_large"] == 1
        st.close()
    finally:
        rx.close()


def test_a_revoked_token_keeps_being_probed(config, store, receiver, workers, monkeypatch):
    import hub.sync.worker as worker_module

    monkeypatch.setattr(worker_module, "UNAUTHORIZED_RECHECK", 0.5)
    hub_id = read_credentials(config.token_path).hub_id
    receiver.revoke(hub_id)
    readings = add_readings(store, 5)
    w = workers(config)
    wait_for(lambda: w.status()["state"] == "unauthorized", what="token refused")
    with receiver.platform.lock:  # the platform's operators undo their mistake
        receiver.platform.conn.execute("UPDATE hubs SET revoked = 0 WHERE hub_id = ?", [hub_id])
    wait_for(lambda: store.outbox_stats()["depth"] == 0, timeout=10,
             what="drained after a probe, with the same token")
    assert set(readings) <= set(receiver.event_ids())
    wait_for(lambda: w.status()["state"] == "ok", what="ok again")


def test_a_late_answer_still_delivers_and_is_recorded_once(store):
    """An attempt that answers after its call gave up is recorded; a copy is not."""
    import threading

    from hub.sync import protocol
    from hub.sync.client import Result
    from hub.sync.outbox import HedgedTransport, OutboxSender

    release = threading.Event()
    calls = []

    class SlowFirst:
        def send(self, items, *, urgent):
            calls.append(len(calls))
            if len(calls) == 1:
                release.wait(5)
            return [Result(i.id, protocol.ACCEPTED) for i in items]

    sos = raise_sos(store)
    seen = []
    hedged = HedgedTransport(SlowFirst(), hedge_after=10.0, give_up_after=0.2)
    sender = OutboxSender(store, hedged, on_delivered=seen.extend)
    report = sender.send(store.outbox_ready(5), max_events=5, urgent=True)
    assert report.error is not None and report.error.kind == "timeout"  # gave up at 0.2 s
    release.set()
    late = wait_for(lambda: hedged.late(), what="the late answer")
    for items, results in late:
        assert sender.record_late(items, results) == [sos["id"]]
    assert store.outbox_stats()["depth"] == 0 and seen == [sos["id"]]
    assert sender.record_late(*late[0]) == [] and seen == [sos["id"]]  # a copy: nothing
