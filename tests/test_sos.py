"""The SOS state machine: every transition, and recovery from the database after a restart.

The machine runs against a real SQLite store with injected wall and monotonic clocks,
so timers are exact and tests take no real time.
"""

import datetime as dt

import pytest

from hub.config import SosSection
from hub.sos import SosMachine
from hub.store import Store


class Clocks:
    def __init__(self):
        self.wall = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc)
        self.mono = 1000.0

    def now(self):
        return self.wall

    def monotonic(self):
        return self.mono

    def advance(self, seconds):
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks():
    return Clocks()


@pytest.fixture
def db(tmp_path, clocks):
    s = Store(tmp_path / "hub.db", reserve_bytes=1, now=clocks.now, synced=lambda: True)
    yield s
    s.close()


CONF = SosSection(countdown=10, button_countdown=0, escalate_after=60, escalate_repeat=30)


def machine(db, clocks, conf=CONF):
    m = SosMachine(db, conf, now=clocks.now, monotonic=clocks.monotonic)
    m.load()
    return m


def kinds(db, alarm_id):
    return [e["kind"] for e in db.events(sos_id=alarm_id)]


def run_timers(m, clocks, seconds, step=0.5):
    fx_all = []
    for _ in range(int(seconds / step)):
        clocks.advance(step)
        fx = m.on_time()
        if fx.push or fx.say or fx.alarm_sound is not None:
            fx_all.append(fx)
    return fx_all


def test_a_spoken_help_is_told_how_to_cancel_by_voice(db, clocks):
    from hub.phrases import phrase

    _, fx = machine(db, clocks).press("voice")
    key, params = fx.say[0]
    assert phrase(key, "en", **params) == "Calling for help in 10 seconds. Say cancel to stop."


def test_touch_press_counts_down_then_raises_durably(db, clocks):
    m = machine(db, clocks)
    result, fx = m.press("touch")
    assert result["state"] == "countdown" and result["seconds_left"] == 10
    assert fx.say[0][0] == "sos_countdown" and fx.sync_urgent
    # the care centre learns that an alarm was started (issue 11: the contract's events)
    assert [r["body"]["type"] for r in db.outbox_ready(5)] == ["sos_countdown"]
    clocks.advance(9.9)
    assert m.on_time().push is False
    clocks.advance(0.1)
    fx = m.on_time()
    assert fx.sync_urgent and fx.say == [("sos_raised", {})]
    assert m.snapshot()["state"] == "raised"
    alarm = m.alarm["id"]
    assert kinds(db, alarm) == ["sos_countdown", "sos_raised"]
    out = db.outbox_ready(5)
    assert [r["body"]["type"] for r in out] == ["sos_countdown", "sos_raised"]
    assert out[1]["id"] == alarm and out[1]["priority"] == 0
    assert db.sos_get(alarm)["state"] == "raised"


def test_cancel_during_countdown_tells_the_platform_it_was_cancelled(db, clocks):
    m = machine(db, clocks)
    m.press("touch")
    alarm = m.alarm["id"]
    result, fx = m.cancel("touch")
    assert result["cancelled"] and result["state"] == "idle"
    assert fx.alarm_sound is False and fx.say[0][0] == "sos_cancelled"
    run_timers(m, clocks, 15)
    assert db.sos_get(alarm)["state"] == "cancelled"
    assert kinds(db, alarm) == ["sos_countdown", "sos_cancelled"]
    assert [r["body"]["type"] for r in db.outbox_ready(5)] == ["sos_countdown", "sos_cancelled"]


def test_button_with_zero_countdown_raises_at_once(db, clocks):
    m = machine(db, clocks)
    result, fx = m.press("button", press_id="press-1")
    assert result["state"] == "raised" and fx.sync_urgent
    assert result["alarm_id"] == "press-1"
    assert kinds(db, "press-1") == ["sos_raised"]


def test_second_press_while_raised_is_recorded_not_a_new_alarm(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    result, fx = m.press("touch", press_id="again")
    assert result["alarm_id"] == alarm and result["presses"] == 2
    assert fx.sync_urgent
    assert kinds(db, alarm) == ["sos_raised", "sos_pressed_again"]
    assert db.sos_active()["id"] == alarm
    assert len(list(db.db.query("SELECT * FROM sos_alarms"))) == 1
    assert "again" in {r["id"] for r in db.outbox_ready(10)}


def test_second_press_during_countdown_does_not_cancel_or_restart_it(db, clocks):
    m = machine(db, clocks)
    m.press("touch")
    clocks.advance(6)
    m.press("touch")
    assert m.snapshot()["state"] == "countdown"
    clocks.advance(4)
    m.on_time()
    assert m.snapshot()["state"] == "raised"


def test_retried_press_with_same_id_changes_nothing(db, clocks):
    m = machine(db, clocks)
    m.press("touch", press_id="p1")
    result, fx = m.press("touch", press_id="p1")
    assert result["duplicate"] is True and not fx.push
    assert m.alarm["presses"] == 1


def test_delivered_then_acknowledged_then_resolved(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    assert m.delivered(["other-id"]).push is False
    fx = m.delivered([alarm])
    assert fx.alarm_sound is False and m.snapshot()["state"] == "delivered"
    fx = m.acknowledged(alarm, responder="Li Wei, service centre", eta="10:42")
    assert fx.say == [("sos_acknowledged", {"responder": "Li Wei, service centre", "eta": "10:42"})]
    snap = m.snapshot()
    assert snap["state"] == "acknowledged" and snap["responder"] == "Li Wei, service centre"
    result, fx = m.resolve("platform", by="Li Wei")
    assert result["resolved"] and not fx.sync_urgent
    assert kinds(db, alarm) == ["sos_raised", "sos_delivered", "sos_acknowledged", "sos_resolved"]
    assert db.sos_get(alarm)["state"] == "resolved"
    assert m.snapshot()["last"] == {"id": alarm, "state": "resolved"}


def test_acknowledgement_before_delivery_answer_counts_as_delivered(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    m.acknowledged(m.alarm["id"], responder="Ana")
    assert m.alarm["delivered_at"] and m.snapshot()["state"] == "acknowledged"


def test_acknowledgement_for_an_unknown_alarm_is_ignored(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    assert m.acknowledged("someone-else", responder="X").push is False
    assert m.snapshot()["state"] == "raised"


def test_elder_cancel_after_raise_resolves_and_tells_the_platform(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    m.delivered([alarm])
    result, fx = m.cancel("touch")
    assert result["resolved"] and fx.sync_urgent
    resolved = db.events("sos_resolved")[0]
    assert resolved["payload"]["reason"] == "cancelled_by_elder"
    assert resolved["id"] in {r["id"] for r in db.outbox_ready(10)}


def test_undelivered_alarm_escalates_and_repeats_until_delivered(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    assert run_timers(m, clocks, 59) == []
    fxs = run_timers(m, clocks, 1.5)
    assert len(fxs) == 1 and fxs[0].alarm_sound is True
    assert fxs[0].say == [("sos_not_delivered", {})]
    assert m.snapshot()["escalated"] is True
    repeats = run_timers(m, clocks, 61)
    assert len(repeats) == 2 and all(f.alarm_sound for f in repeats)
    assert kinds(db, alarm).count("sos_escalated") == 1
    fx = m.delivered([alarm])
    assert fx.alarm_sound is False
    assert run_timers(m, clocks, 120) == []


def test_test_alarm_is_marked_end_to_end(db, clocks):
    m = machine(db, clocks)
    m.press("button", test=True)
    assert m.snapshot()["test"] is True
    assert db.outbox_ready(1)[0]["body"]["data"]["test"] is True


# -- restart in the middle of each state: a new machine on the same file ----------------

def restart(db, clocks, conf=CONF):
    return machine(db, clocks, conf)


def test_restart_during_countdown_resumes_the_remaining_time(db, clocks):
    m = machine(db, clocks)
    m.press("touch")
    alarm = m.alarm["id"]
    clocks.advance(4)
    m2 = restart(db, clocks)
    assert m2.snapshot()["state"] == "countdown"
    assert m2.snapshot()["seconds_left"] == pytest.approx(6, abs=0.01)
    clocks.advance(6)
    m2.on_time()
    assert m2.snapshot()["state"] == "raised"
    assert kinds(db, alarm) == ["sos_countdown", "sos_raised"]


def test_restart_after_countdown_expired_raises_immediately_once(db, clocks):
    m = machine(db, clocks)
    m.press("touch")
    alarm = m.alarm["id"]
    clocks.advance(30)  # the core was down when the countdown ended
    m2 = SosMachine(db, CONF, now=clocks.now, monotonic=clocks.monotonic)
    fx = m2.load()
    assert fx.sync_urgent and m2.snapshot()["state"] == "raised"
    m3 = restart(db, clocks)
    assert m3.snapshot()["state"] == "raised"
    assert kinds(db, alarm).count("sos_raised") == 1


def test_clock_jumping_back_years_does_not_stretch_a_recovered_countdown(db, clocks):
    m = machine(db, clocks)
    m.press("touch")
    clocks.wall -= dt.timedelta(days=3 * 365)  # NTP-less Pi rebooted with an old clock
    m2 = restart(db, clocks)
    assert m2.snapshot()["seconds_left"] <= 10


@pytest.mark.parametrize("steps, state", [
    (["raise"], "raised"),
    (["raise", "deliver"], "delivered"),
    (["raise", "deliver", "ack"], "acknowledged"),
])
def test_restart_in_each_open_state_recovers_it_without_duplicates(db, clocks, steps, state):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    if "deliver" in steps:
        m.delivered([alarm])
    if "ack" in steps:
        m.acknowledged(alarm, responder="Li Wei")
    before = kinds(db, alarm)
    m2 = restart(db, clocks)
    snap = m2.snapshot()
    assert snap["state"] == state and snap["alarm_id"] == alarm
    assert kinds(db, alarm) == before
    result, _ = m2.press("touch")
    assert result["alarm_id"] == alarm  # still the same alarm, not a second one


def test_restart_while_raised_keeps_the_escalation_deadline(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    clocks.advance(50)
    m2 = restart(db, clocks)
    assert m2.next_deadline() == pytest.approx(clocks.mono + 10)
    assert run_timers(m2, clocks, 11)[0].alarm_sound is True


def test_restart_after_resolution_is_idle(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    m.resolve("touch")
    assert restart(db, clocks).snapshot()["state"] == "idle"


def test_restart_after_sync_delivered_but_before_the_core_heard_it(db, clocks):
    m = machine(db, clocks)
    m.press("button")
    alarm = m.alarm["id"]
    db.mark_delivered([alarm])  # the sync thread committed; the core was killed right after
    m2 = restart(db, clocks)
    assert m2.snapshot()["state"] == "delivered"
    assert run_timers(m2, clocks, 120) == []  # no false escalation
