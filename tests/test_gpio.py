"""GPIO: the SOS button, motion, door and the alarm outputs, through gpiozero's mock pins.

Most tests run a real :class:`hub.core.Core` in a thread with gpiozero's
``MockFactory`` in ``Device.pin_factory`` (gpiozero's own test fixture pattern) and
drive pins with ``drive_low``/``drive_high``; results are read through the local
API socket and the store. gpiozero calls back from its own threads, so tests wait
on pushes or poll with a deadline, never on fixed sleeps alone. One test drives the
real ``hub core --simulate`` subprocess through its ``sim.*`` commands.
"""

import asyncio
import logging
import sqlite3
import threading
import time

import pytest
from gpiozero import Button, Device
from gpiozero.pins.mock import MockFactory

from hub.api import ApiClient
from hub.config import config_from_dict
from hub.core import Core
from hub.errors import ApiError
from hub.sensors.gpio import Debouncer, OutputPlan, outputs_for, run_gpio
from hub.store import Store

BUTTON, MOTION, DOOR, BUZZER, ALARM_LED, DELIVERED_LED = 17, 4, 27, 24, 22, 23


@pytest.fixture
def mock_factory():
    """gpiozero's fixture: a fresh MockFactory as the default, reset and restored after."""
    saved = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        yield Device.pin_factory
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.reset()
        Device.pin_factory = saved


def gpio_ready(client):
    """The core answers before its extensions have started; the GPIO part says when it is up."""
    try:
        return client.request("gpio.status")["factory"]
    except ApiError:
        return None


def wait_until(predicate, timeout=5.0, what="condition"):
    """Poll ``predicate`` until true (gpiozero and the core work in other threads)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class LiveCore:
    """A real Core on its own asyncio loop in a thread, with chosen extensions."""

    def __init__(self, config, extensions, rules=None):
        self.config = config
        self.core = Core(config, start_sync=False)
        self.core.extensions = extensions
        if rules is not None:
            self.core.rules = rules
        self._ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="test-core", daemon=True)

    def _run(self):
        try:
            asyncio.run(self.core.run(ready=self._ready.set))
        except BaseException as exc:  # surfaced by start()
            self.error = exc
            self._ready.set()

    def start(self, wait_gpio=True):
        self.thread.start()
        assert self._ready.wait(15), "core did not start"
        if self.error:
            raise self.error
        if wait_gpio:
            wait_until(lambda: getattr(self.core, "gpio", None) is not None, what="GPIO open")
        return self

    def call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.core._loop).result(timeout)

    def events(self, kind=None):
        return self.call(self.core.db(self.core.store.events, kind))

    def client(self) -> ApiClient:
        c = ApiClient(self.config.socket_path, timeout=10).connect()
        c.subscribe()
        return c

    def stop(self):
        if self.thread.is_alive():
            self.core._loop.call_soon_threadsafe(self.core.request_stop)
            self.thread.join(15)


@pytest.fixture
def live_core(tmp_path, mock_factory):
    """Start in-process cores running the GPIO extension; all are stopped at the end."""
    started = []

    def make(rules=None, wait_gpio=True, **sections):
        data = {
            "hub": {"state_dir": str(tmp_path / "state")},
            "sos": {"countdown": 3, "button_countdown": 0, "escalate_after": 10,
                    "escalate_repeat": 5},
            "audio": {"speech_engine": "silent"},
            "gpio": {"hold_cancel_s": 1.0, "bounce_ms": 50},
        }
        for name, keys in sections.items():
            data.setdefault(name, {}).update(keys)
        live = LiveCore(config_from_dict(data, source="test"), [run_gpio], rules=rules)
        started.append(live)
        return live.start(wait_gpio=wait_gpio)

    yield make
    for live in started:
        live.stop()


def kinds(live, prefix="sos_"):
    return [e["kind"] for e in live.events() if e["kind"].startswith(prefix)]


def click(pin, down=0.15):
    pin.drive_low()
    time.sleep(down)
    pin.drive_high()


# -- the SOS button ------------------------------------------------------------------


def test_button_press_raises_the_alarm_at_once_without_waiting_for_release(
        live_core, mock_factory):
    live = live_core()
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        c.wait_push("sos", lambda d: d["state"] == "idle")
        pin.drive_low()  # pressed and still held down
        raised = c.wait_push("sos", lambda d: d["state"] == "raised", timeout=3)
        assert raised["source"] == "button"
        pin.drive_high()
    assert kinds(live) == ["sos_raised"]


def test_holding_the_press_that_started_the_countdown_does_not_cancel_it(
        live_core, mock_factory):
    live = live_core(sos={"button_countdown": 10})
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        pin.drive_low()
        c.wait_push("sos", lambda d: d["state"] == "countdown", timeout=3)
        time.sleep(1.4)  # past hold_cancel_s = 1.0: a frightened elder keeps pressing
        pin.drive_high()
        time.sleep(0.2)
        assert c.request("sos.state")["state"] == "countdown"
    assert kinds(live) == ["sos_countdown"]


def test_hold_during_the_countdown_cancels_it_and_is_not_also_a_press(
        live_core, mock_factory):
    live = live_core(sos={"button_countdown": 10})
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        click(pin)
        c.wait_push("sos", lambda d: d["state"] == "countdown", timeout=3)
        pin.drive_low()
        c.wait_push("sos", lambda d: d["state"] == "idle" and d["last"]
                    and d["last"]["state"] == "cancelled", timeout=3)
        pin.drive_high()
        time.sleep(0.2)
    assert kinds(live) == ["sos_countdown", "sos_cancelled"]


def test_short_press_during_the_countdown_counts_as_pressed_again(live_core, mock_factory):
    live = live_core(sos={"button_countdown": 10})
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        click(pin)
        c.wait_push("sos", lambda d: d["state"] == "countdown", timeout=3)
        click(pin)
        again = c.wait_push("sos", lambda d: d.get("presses") == 2, timeout=3)
        assert again["state"] == "countdown"
    assert kinds(live) == ["sos_countdown", "sos_pressed_again"]


def test_second_press_while_raised_is_recorded_not_duplicated(live_core, mock_factory):
    live = live_core()
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        click(pin)
        first = c.wait_push("sos", lambda d: d["state"] == "raised", timeout=3)
        click(pin)
        again = c.wait_push("sos", lambda d: d.get("presses") == 2, timeout=3)
    assert again["alarm_id"] == first["alarm_id"] and again["state"] == "raised"
    assert kinds(live) == ["sos_raised", "sos_pressed_again"]


def test_contact_bounce_makes_one_press(live_core, mock_factory):
    live = live_core(sos={"button_countdown": 10}, gpio={"bounce_ms": 80, "hold_cancel_s": 3.0})
    pin = mock_factory.pin(BUTTON)
    with live.client() as c:
        for _ in range(8):  # a noisy switch going down: ~1 ms chatter, ends pressed
            pin.drive_low()
            pin.drive_high()
        pin.drive_low()
        c.wait_push("sos", lambda d: d["state"] == "countdown", timeout=3)
        time.sleep(0.3)
        for _ in range(8):  # and coming up again: chatter, ends released
            pin.drive_high()
            pin.drive_low()
        pin.drive_high()
        time.sleep(0.4)  # past the quiet window: a missed release would show up here
        assert live.core.gpio._button_db.level is False
    assert kinds(live) == ["sos_countdown"]


# -- motion and door -------------------------------------------------------------------


class RecordingRules:
    """Stands where hub.rules.CareRules sits on the core, and notes what it hears."""

    def __init__(self):
        self.facts = []

    def on_motion(self):
        self.facts.append(("motion",))

    async def on_door(self, is_open):
        self.facts.append(("door", is_open))


def test_door_and_motion_are_recorded_sparingly_and_told_to_the_rules(
        live_core, mock_factory):
    rules = RecordingRules()
    live = live_core(rules=rules)
    door, motion = mock_factory.pin(DOOR), mock_factory.pin(MOTION)
    assert live.core.gpio.door_open is True  # a mock reed contact starts open (pulled up)
    door.drive_low()
    wait_until(lambda: live.events("door"), what="door shut event")
    door.drive_high()
    wait_until(lambda: len(live.events("door")) == 2, what="door open event")
    assert [e["payload"] for e in live.events("door")] == [{"open": False}, {"open": True}]

    # gpiozero fires no event on a PIR's first sample (no edge yet): wait for it.
    assert live.core.gpio.motion.wait_for_no_motion(2)
    for n in range(1, 4):  # three people-movements within minutes: one event
        motion.drive_high()  # gpiozero samples a PIR at 10 Hz in its own thread
        wait_until(lambda: rules.facts.count(("motion",)) == n, what="rules told of motion")
        motion.drive_low()
        wait_until(lambda: not live.core.gpio.motion.motion_detected, what="PIR low")
    assert len(live.events("motion")) == 1
    assert ("door", False) in rules.facts and ("door", True) in rules.facts
    status = live.call(live.core._extra_commands["gpio.status"][0]())
    assert status["inputs"]["door_open"] is True


# -- outputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("snapshot, plan", [
    ({"state": "idle"}, OutputPlan()),
    ({"state": "countdown"}, OutputPlan(alarm_led="blink")),
    ({"state": "raised", "escalated": False}, OutputPlan(alarm_led="on")),
    ({"state": "raised", "escalated": True}, OutputPlan(alarm_led="on", buzzer=True)),
    ({"state": "delivered"}, OutputPlan(alarm_led="on", delivered_led=True)),
    ({"state": "acknowledged"}, OutputPlan(alarm_led="on", delivered_led=True)),
])
def test_outputs_for_each_sos_state(snapshot, plan):
    assert outputs_for(snapshot) == plan


def test_leds_follow_the_sos_state(live_core, mock_factory):
    live = live_core(sos={"button_countdown": 2}, gpio={
        "alarm_led_pin": ALARM_LED, "delivered_led_pin": DELIVERED_LED, "buzzer_pin": BUZZER})
    alarm, delivered, buzzer = (mock_factory.pin(p) for p in (ALARM_LED, DELIVERED_LED, BUZZER))
    button = mock_factory.pin(BUTTON)
    assert not alarm.state and not delivered.state and not buzzer.state
    with live.client() as c:
        click(button)
        c.wait_push("sos", lambda d: d["state"] == "countdown", timeout=3)
        # Blinking: the alarm LED goes on and off again during the countdown.
        wait_until(lambda: sum(1 for s in alarm.states if s.state) >= 2, what="alarm LED blink")
        raised = c.wait_push("sos", lambda d: d["state"] == "raised", timeout=6)
        wait_until(lambda: live.core.gpio._plan == OutputPlan(alarm_led="on"), what="raised")
        time.sleep(0.3)  # a blink thread left running would flip it off again
        assert alarm.state and not delivered.state and not buzzer.state
        # What the sync worker does when the platform accepted the alarm:
        live.call(live.core._on_delivered([raised["alarm_id"]]))
        wait_until(lambda: delivered.state, timeout=3, what="delivered LED")
        assert alarm.state and not buzzer.state
        c.request("sos.resolve", source="touch")
        wait_until(lambda: not alarm.state and not delivered.state, timeout=3,
                   what="LEDs off after resolve")


# -- when pins are missing ----------------------------------------------------------------


def test_a_busy_pin_is_logged_in_words_and_the_sos_still_works(
        live_core, mock_factory, caplog):
    squatter = Button(BUTTON, pin_factory=mock_factory)  # "another program" holds GPIO 17
    caplog.set_level(logging.INFO, logger="hub.sensors.gpio")
    try:
        live = live_core(gpio={"motion_pin": DOOR})  # and two devices on one pin
        text = caplog.text
        assert "GPIO pin 17 (SOS button) is busy or not accessible" in text
        assert "'gpio' group" in text
        assert "[gpio] door_pin = 27 is also [gpio] motion_pin" in text
        status = live.call(live.core._extra_commands["gpio.status"][0]())
        assert status["devices"]["sos_button"]["open"] is False
        assert status["devices"]["motion"]["open"] is True
        with live.client() as c:
            assert c.request("sos.press", source="touch")["state"] == "countdown"
    finally:
        squatter.close()


def test_no_gpio_on_this_machine_is_said_plainly_and_the_core_serves(
        tmp_path, monkeypatch, caplog):
    saved = Device.pin_factory
    Device.pin_factory = None
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    caplog.set_level(logging.INFO, logger="hub.sensors.gpio")
    config = config_from_dict({"hub": {"state_dir": str(tmp_path / "state")},
                               "audio": {"speech_engine": "silent"}}, source="test")
    live = LiveCore(config, [run_gpio])
    try:
        live.start(wait_gpio=False)
        wait_until(lambda: "No GPIO pins on this machine" in caplog.text, what="error logged")
        assert "--simulate" in caplog.text and "enabled = false" in caplog.text
        with live.client() as c:
            assert c.request("sos.press", source="voice")["state"] == "countdown"
            assert "No GPIO pins" in c.request("gpio.status")["error"]
    finally:
        live.stop()
        Device.pin_factory = saved


# -- debouncing, without pins --------------------------------------------------------------


class FakeTimers:
    def __init__(self):
        self.now = 100.0
        self.pending = []

    def call_later(self, delay, fn):
        entry = [self.now + delay, fn]
        self.pending.append(entry)

        class Handle:
            def cancel(_self):
                if entry in self.pending:
                    self.pending.remove(entry)
        return Handle()

    def advance(self, seconds):
        self.now += seconds
        for entry in sorted(self.pending, key=lambda e: e[0]):
            if entry[0] <= self.now:
                self.pending.remove(entry)
                entry[1]()


def test_debouncer_acts_on_the_first_edge_and_settles_on_the_last_level():
    timers, seen = FakeTimers(), []
    deb = Debouncer(0.05, seen.append, call_later=timers.call_later, clock=lambda: timers.now)
    deb.edge(True, timers.now)
    assert seen == [True]  # at once
    for level in (False, True, False):  # chatter inside the window
        timers.now += 0.005
        deb.edge(level, timers.now)
    assert seen == [True]
    timers.advance(0.05)
    assert seen == [True, False]  # the burst ended released
    timers.advance(1.0)
    deb.edge(True, timers.now)
    assert seen == [True, False, True]


# -- the real daemon under --simulate ----------------------------------------------------


def _stored_kinds(core) -> set:
    """Event kinds in the running core's DB, read through a separate read-only connection."""
    conn = sqlite3.connect(f"file:{core.state_dir / 'hub.db'}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT DISTINCT kind FROM events")}
    finally:
        conn.close()


def test_simulated_core_button_door_and_motion_through_sim_commands(core_factory):
    core = core_factory(hub={"simulate": True}, sos={"button_countdown": 5},
                        gpio={"hold_cancel_s": 1.0, "alarm_led_pin": ALARM_LED}).start()
    with core.client(subscribe=True) as c:
        wait_until(lambda: gpio_ready(c), what="GPIO extension")
        c.request("sim.button", action="press")
        c.wait_push("sos", lambda d: d["state"] == "countdown" and d["source"] == "button")
        assert c.request("gpio.status")["plan"]["alarm_led"] == "blink"
        c.request("sim.button", action="hold")
        c.wait_push("sos", lambda d: d["state"] == "idle" and d["last"]
                    and d["last"]["state"] == "cancelled")
        c.request("sim.door", open=True)
        c.request("sim.motion", seconds=0.5)
        wait_until(lambda: c.request("gpio.status")["inputs"]["motion"], what="motion")
        wait_until(lambda: c.request("gpio.status")["inputs"]["door_open"] is True, what="door")
        wait_until(lambda: _stored_kinds(core) >= {"door", "motion"}, what="stored events")
    assert core.terminate() == 0
    store = Store(core.state_dir / "hub.db")
    try:
        assert [e["payload"] for e in store.events("door")] == [{"open": True}]
        assert len(store.events("motion")) == 1
        assert [e["kind"] for e in store.events() if e["kind"].startswith("sos_")] == [
            "sos_countdown", "sos_cancelled"]
    finally:
        store.close()
