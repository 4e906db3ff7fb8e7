"""Care rules: the inactivity check-in and the night-door alert.

The rules run against an injected clock (local wall time for windows, monotonic
for durations) and a recorder standing in for the core, so a whole day passes in
milliseconds. Then the same rules run on a real core (in a thread) answering
through the local API, and the night door end to end: ``hub core --simulate``,
``sim.door``, the GPIO code, the rules, the store.
"""

import asyncio
import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.api import ApiClient
from hub.config import RulesSection, config_from_dict
from hub.core import Core
from hub.errors import ApiError
from hub.rules import (NIGHT_DOOR_REPEAT_S, CareRules, CoreActions, in_window, parse_hhmm,
                       window_start)
from hub.store import PRIORITY_ALERT, Store

TZ = dt.timezone(dt.timedelta(hours=8))  # any fixed local zone will do
HOUR = 3600.0


class FakeClock:
    """Local wall time and monotonic seconds that move together, only when told."""

    def __init__(self, start: str = "2026-11-25 08:00"):
        self.wall = dt.datetime.fromisoformat(start).replace(tzinfo=TZ)
        self.mono = 5000.0

    def now(self):
        return self.wall

    def monotonic(self):
        return self.mono

    def advance(self, seconds: float):
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds

    def until(self, hhmm: str):
        """Advance to the next time the wall clock shows ``hhmm``."""
        target = dt.datetime.combine(self.wall.date(), parse_hhmm(hhmm), tzinfo=TZ)
        if target <= self.wall:
            target += dt.timedelta(days=1)
        self.advance((target - self.wall).total_seconds())


class FakeActions:
    """Records what the rules do; answers questions from a script."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.asked, self.alerts, self.said = [], [], []
        self.help_requests = 0
        self.sos_is_open = False
        self.motion_present = True
        self.while_asking = None  # called during a question, e.g. to send motion

    async def ask(self, kind, question_key, timeout):
        self.asked.append((kind, question_key, timeout))
        if self.while_asking:
            self.while_asking()
        return self.answers.pop(0) if self.answers else None

    async def alert(self, data):
        self.alerts.append(data)

    def say(self, phrase_key):
        self.said.append(phrase_key)

    async def sos_open(self):
        return self.sos_is_open

    async def request_help(self):
        self.help_requests += 1

    def motion_sensor_present(self):
        return self.motion_present


def wait_until(predicate, timeout=5.0, what="condition"):
    """Poll ``predicate`` until true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def gpio_ready(client):
    """The core answers before its extensions have started; the GPIO part says when it is up."""
    try:
        return client.request("gpio.status")["factory"]
    except ApiError:
        return None


def make(answers=(), start="2026-11-25 08:00", **config):
    clock, actions = FakeClock(start), FakeActions(answers)
    rules = CareRules(RulesSection(**config), actions, clock=clock)
    return rules, actions, clock


def check(rules):
    return asyncio.run(rules.check())


# -- windows -----------------------------------------------------------------------------


def t(hhmm):
    return parse_hhmm(hhmm)


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_windows_in_the_day_across_midnight_and_all_day():
    assert in_window(t("07:00"), t("07:00"), t("22:00"))
    assert not in_window(t("22:00"), t("07:00"), t("22:00"))
    assert in_window(t("23:30"), t("23:00"), t("06:00"))
    assert in_window(t("02:00"), t("23:00"), t("06:00"))
    assert not in_window(t("06:00"), t("23:00"), t("06:00"))
    assert not in_window(t("12:00"), t("23:00"), t("06:00"))
    assert in_window(t("12:00"), t("00:00"), t("00:00"))
    assert window_start(at("2026-11-25 02:00"), t("23:00"), t("06:00")) == at("2026-11-24 23:00")
    assert window_start(at("2026-11-25 23:10"), t("23:00"), t("06:00")) == at("2026-11-25 23:00")
    assert window_start(at("2026-11-25 12:00"), t("23:00"), t("06:00")) is None
    assert window_start(at("2026-11-25 12:00"), t("05:00"), t("05:00")) is None


times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))


@given(start=times, end=times, now=st.datetimes(min_value=dt.datetime(2020, 1, 1),
                                                max_value=dt.datetime(2035, 1, 1)))
def test_window_start_is_the_latest_start_before_now_inside_the_window(start, end, now):
    now = now.replace(tzinfo=TZ)
    begun = window_start(now, start, end)
    if start == end or not in_window(now.time(), start, end):
        assert begun is None
        return
    assert begun.time() == start and begun <= now < begun + dt.timedelta(days=1)
    # Every minute from the start to now is inside the window: it did not close between.
    assert all(in_window((begun + dt.timedelta(minutes=m)).time(), start, end)
               for m in range(0, int((now - begun).total_seconds() // 60) + 1, 7))


# -- inactivity ------------------------------------------------------------------------------


def test_no_motion_for_hours_asks_then_tells_the_platform_when_nobody_answers():
    rules, actions, clock = make(inactivity_hours=4, inactivity_answer_min=10)
    clock.advance(4 * HOUR - 60)
    assert check(rules) is None and actions.asked == []
    clock.advance(61)
    assert check(rules) == "no_answer"
    assert actions.asked == [("inactivity", "inactivity_question", 600.0)]
    [alert] = actions.alerts
    assert alert["rule"] == "inactivity" and alert["answer"] is None
    assert alert["inactive_minutes"] == 240 and not alert["activity_while_asking"]
    assert actions.said == ["inactivity_told"] and actions.help_requests == 0


def test_not_asked_again_until_motion_is_seen_again():
    rules, actions, clock = make(inactivity_hours=2)
    clock.advance(2 * HOUR)
    assert check(rules) == "no_answer"
    for _ in range(8):  # the rest of the day: silence, and no nagging
        clock.advance(HOUR)
        assert check(rules) is None
    clock.until("09:00")  # next morning
    rules.on_motion()
    clock.advance(2 * HOUR - 1)
    assert check(rules) is None
    clock.advance(1)
    assert check(rules) == "no_answer" and len(actions.asked) == 2


def test_motion_resets_the_count():
    rules, actions, clock = make(inactivity_hours=4)
    for _ in range(3):  # 08:00 to 17:00, someone moving every three hours
        clock.advance(3 * HOUR)
        assert check(rules) is None
        rules.on_motion()
    clock.advance(4 * HOUR)  # 21:00, still waking hours
    assert check(rules) == "no_answer"


def test_yes_is_a_sign_of_life_and_the_count_restarts_from_the_answer():
    rules, actions, clock = make(["yes", "yes"], inactivity_hours=3)
    clock.advance(3 * HOUR)
    assert check(rules) == "yes"
    assert actions.alerts == [] and actions.said == [] and actions.help_requests == 0
    clock.advance(3 * HOUR - 60)
    assert check(rules) is None
    clock.advance(60)
    assert check(rules) == "yes" and len(actions.asked) == 2


def test_no_is_a_request_for_help():
    rules, actions, clock = make(["no"], inactivity_hours=1)
    clock.advance(HOUR)
    assert check(rules) == "no"
    [alert] = actions.alerts
    assert alert["rule"] == "inactivity" and alert["answer"] == "no" and alert["help_requested"]
    assert actions.help_requests == 1
    assert actions.said == []  # the SOS countdown speaks for itself
    clock.advance(5 * HOUR)
    assert check(rules) is None  # not asked again until motion


def test_motion_while_the_question_is_open_is_reported_and_ends_the_wait():
    rules, actions, clock = make(inactivity_hours=1)
    actions.while_asking = rules.on_motion
    clock.advance(HOUR)
    assert check(rules) == "no_answer"
    assert actions.alerts[0]["activity_while_asking"] is True
    clock.advance(HOUR)  # motion was seen, so the rule is live again
    assert check(rules) == "no_answer" and len(actions.asked) == 2


def test_a_night_of_sleep_is_not_inactivity():
    rules, actions, clock = make(start="2026-11-25 21:00", inactivity_hours=4,
                                 waking_start="07:00", waking_end="22:00")
    rules.on_motion()  # last seen going to bed
    while clock.wall < at("2026-11-26 10:45"):
        clock.advance(15 * 60)
        assert check(rules) is None, clock.wall
    clock.until("10:59")
    assert check(rules) is None
    clock.until("11:00")  # four waking hours after 07:00
    assert check(rules) == "no_answer"


def test_waking_hours_crossing_midnight():
    # A night-shift rhythm: awake 20:00-04:00.
    rules, actions, clock = make(start="2026-11-25 19:00", inactivity_hours=3,
                                 waking_start="20:00", waking_end="04:00")
    clock.until("22:59")
    assert check(rules) is None
    clock.until("23:00")  # three hours into the window that began at 20:00
    assert check(rules) == "no_answer"
    clock.until("23:30")
    rules.on_motion()
    clock.until("02:29")
    assert check(rules) is None
    clock.until("02:30")  # three hours after 23:30, across midnight
    assert check(rules) == "no_answer"
    rules.on_motion()
    clock.until("12:00")  # outside waking hours: quiet however long
    assert check(rules) is None and len(actions.asked) == 2


def test_inactivity_rule_quiet_when_off_without_a_motion_sensor_or_during_an_sos():
    rules, actions, clock = make(inactivity_enabled=False, inactivity_hours=1)
    clock.advance(10 * HOUR)
    assert check(rules) is None
    rules, actions, clock = make(inactivity_hours=1)
    actions.motion_present = False
    clock.advance(2 * HOUR)
    assert check(rules) is None
    actions.motion_present, actions.sos_is_open = True, True
    assert check(rules) is None
    actions.sos_is_open = False
    assert check(rules) == "no_answer"


# -- night door ----------------------------------------------------------------------------------


def test_door_opened_at_night_alerts_once_per_few_minutes():
    rules, actions, clock = make(start="2026-11-26 02:10", night_start="23:00",
                                 night_end="06:00")
    asyncio.run(rules.on_door(True))
    assert actions.alerts == [{"rule": "night_door", "local_time": "02:10"}]
    assert actions.said == ["night_door"]
    asyncio.run(rules.on_door(False))  # shutting it again is not an alert
    clock.advance(60)
    asyncio.run(rules.on_door(True))  # back out within minutes: no second alert
    assert len(actions.alerts) == 1
    clock.advance(NIGHT_DOOR_REPEAT_S)
    asyncio.run(rules.on_door(True))
    assert len(actions.alerts) == 2 and actions.said == ["night_door", "night_door"]


def test_door_in_the_day_or_with_the_rule_off_is_no_alert():
    rules, actions, clock = make(start="2026-11-25 06:00", night_start="23:00",
                                 night_end="06:00")
    asyncio.run(rules.on_door(True))  # the night has just ended
    clock.until("22:59")
    asyncio.run(rules.on_door(True))
    assert actions.alerts == [] and actions.said == []
    rules, actions, clock = make(start="2026-11-25 23:30", night_door_enabled=False)
    asyncio.run(rules.on_door(True))
    assert actions.alerts == []


def test_a_door_opening_is_a_sign_of_life():
    rules, actions, clock = make(inactivity_hours=2)
    clock.advance(HOUR + 1800)
    asyncio.run(rules.on_door(True))
    clock.advance(HOUR)
    assert check(rules) is None


# -- on a real core ------------------------------------------------------------------------------


@pytest.fixture
def real_core(tmp_path):
    """A real Core (no extensions) on its own loop in a thread; rules are built by the test."""
    config = config_from_dict({"hub": {"state_dir": str(tmp_path / "state")},
                               "sos": {"countdown": 3},
                               "audio": {"speech_engine": "silent"}}, source="test")
    core = Core(config, start_sync=False)
    ready = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(core.run(ready=ready.set)),
                              daemon=True)
    thread.start()
    assert ready.wait(15)
    core.gpio = SimpleNamespace(has_motion_sensor=True)  # what hub.sensors.gpio provides
    yield core
    core._loop.call_soon_threadsafe(core.request_stop)
    thread.join(15)


def test_on_the_core_no_asks_on_screen_records_an_alert_and_starts_an_sos(real_core):
    clock = FakeClock()
    rules = CareRules(real_core.config.rules, CoreActions(real_core), clock=clock)
    clock.advance(real_core.config.rules.inactivity_hours * HOUR)
    with ApiClient(real_core.config.socket_path, timeout=10).connect() as c:
        c.subscribe()
        done = asyncio.run_coroutine_threadsafe(rules.check(), real_core._loop)
        prompt = c.wait_push("prompt", lambda d: d.get("open"))
        assert prompt["kind"] == "inactivity" and prompt["question"] == "Are you all right?"
        c.request("prompt.answer", id=prompt["id"], answer="no")
        assert done.result(10) == "no"
        sos = c.wait_push("sos", lambda d: d["state"] == "countdown")
        assert sos["source"] == "rules"
    events = asyncio.run_coroutine_threadsafe(
        real_core.db(real_core.store.events), real_core._loop).result(5)
    by_kind = {e["kind"]: e for e in events}
    assert by_kind["checkin_answer"]["payload"]["answer"] == "no"
    assert by_kind["alert"]["payload"]["help_requested"] is True
    assert by_kind["sos_countdown"]


def test_on_the_core_no_answer_alerts_at_alert_priority_and_says_so(real_core):
    clock = FakeClock()
    # A test-only wait of 0.6 s (the config allows 1 minute at least).
    config = RulesSection(inactivity_hours=1, inactivity_answer_min=0.01)
    rules = CareRules(config, CoreActions(real_core), clock=clock)
    clock.advance(HOUR)
    with ApiClient(real_core.config.socket_path, timeout=10).connect() as c:
        c.subscribe()
        done = asyncio.run_coroutine_threadsafe(rules.check(), real_core._loop)
        assert done.result(10) == "no_answer"
        c.wait_push("prompt", lambda d: d.get("open") is False)
        c.wait_push("say", lambda d: "care centre has been told" in d["text"])
        assert c.request("sos.state")["state"] == "idle"
    store = real_core.store
    rows = asyncio.run_coroutine_threadsafe(real_core.db(
        lambda: store.db.execute("SELECT priority FROM outbox").fetchall()),
        real_core._loop).result(5)
    assert [r[0] for r in rows] == [PRIORITY_ALERT]


def _hhmm(moment):
    return moment.strftime("%H:%M")


def test_night_door_end_to_end_on_the_simulated_core(core_factory):
    now = dt.datetime.now()
    # A "night" around the present moment, so the test means the same at any hour.
    night = {"night_start": _hhmm(now - dt.timedelta(hours=1)),
             "night_end": _hhmm(now + dt.timedelta(hours=1))}
    core = core_factory(hub={"simulate": True}, rules=night).start()
    with core.client(subscribe=True) as c:
        wait_until(lambda: gpio_ready(c), what="GPIO extension")
        c.request("sim.door", open=True)
        c.wait_push("say", lambda d: d["text"].startswith("The door is open"))
        c.request("sim.door", open=False)
        time.sleep(0.3)
    assert core.terminate() == 0
    store = Store(core.state_dir / "hub.db")
    try:
        assert [e["payload"] for e in store.events("door")] == [{"open": True}, {"open": False}]
        [alert] = store.events("alert")
        assert alert["payload"]["rule"] == "night_door"
    finally:
        store.close()
