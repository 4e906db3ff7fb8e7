"""The kiosk against a real core daemon: touches in; what the core received, what the screen shows.

Each test starts a real core (``hub.core.Core`` in a subprocess, silent speech) and
points the session's kiosk at it; touches go through Kivy's window input path.
"""

import datetime as dt
import time
import uuid

import pytest

from hub.store import Store

pytestmark = pytest.mark.slow


def test_sos_touch_starts_countdown_and_cancel_stops_it(live):
    kiosk, core, client = live
    kiosk.tap(kiosk.screen.ids.help)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_countdown", 5,
                     "the countdown screen")
    state = client.request("sos.state")
    assert state["state"] == "countdown" and state["source"] == "touch"
    number = kiosk.screen.ids.number
    assert 1 <= int(number.text) <= 10
    assert kiosk.screen.ids.cancel.text == "CANCEL"
    kiosk.tap(kiosk.screen.ids.cancel)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "home", 5, "Home after CANCEL")
    state = client.request("sos.state")
    assert state["state"] == "idle" and state["last"]["state"] == "cancelled"
    assert "No alarm was sent" in kiosk.screen.ids.status.text


def test_im_ok_records_a_checkin_in_the_core(live):
    kiosk, core, client = live
    kiosk.tap(kiosk.screen.ids.ok)
    kiosk.wait_until(lambda: "Thank you" in kiosk.screen.ids.status.text, 5,
                     "the thank-you note")
    store = Store(core.state_dir / "hub.db", migrate=False)
    try:
        checkins = store.events("checkin")
    finally:
        store.close()
    assert len(checkins) == 1 and checkins[0]["source"] == "touch"


def test_a_reading_added_through_the_api_appears_on_my_health(live):
    kiosk, core, client = live
    kiosk.tap(kiosk.screen.ids.health)
    kiosk.wait_until(lambda: "No measurements yet" in kiosk.texts(), 5, "an empty My health")
    reading = {"kind": "blood_pressure", "values": {"systolic": 142, "diastolic": 88},
               "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]"}}
    client.request("reading.add", reading=reading)
    kiosk.wait_until(lambda: "142/88" in kiosk.texts(), 5, "the new reading's card")
    texts = kiosk.texts()
    assert "Blood pressure" in texts and "mmHg" in texts
    assert "A little high" in texts and "just now" in texts  # colour *and* words
    kiosk.tap_text("Blood pressure")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "health_detail", 5, "the chart screen")
    kiosk.wait_until(lambda: kiosk.screen.ids.chart.lines, 5, "the chart's line")
    chart = kiosk.screen.ids.chart
    assert [len(line) for line in chart.lines] == [1, 1]          # systolic, diastolic
    assert (90, 135) in [tuple(b) for b in chart.bands]           # the normal range, shaded


def test_a_message_arrives_shows_unread_and_is_marked_read_when_opened(live):
    kiosk, core, client = live
    msg_id = str(uuid.uuid4())
    client.request("test.inbox", message={
        "id": msg_id, "kind": "message",
        "data": {"from": "Anna", "text": "We come on Sunday for lunch. Love, Anna"}})
    kiosk.wait_until(lambda: kiosk.app.unread == 1, 5, "the unread count")
    assert "1 new" in kiosk.screen.ids.messages.text
    kiosk.tap(kiosk.screen.ids.messages)
    kiosk.wait_until(lambda: "Anna" in kiosk.texts(), 5, "the message in the list")
    assert "NEW" in kiosk.texts()
    kiosk.tap_text("We come on Sunday")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "message", 5, "the opened message")
    assert "Love, Anna" in kiosk.texts()

    def read_in_core():
        return [m for m in client.request("inbox.list") if m["id"] == msg_id][0]["read_at"]

    kiosk.wait_until(read_in_core, 5, "the core to mark it read")
    assert kiosk.app.unread == 0


def test_a_question_from_the_core_is_shown_and_the_answer_reaches_the_core(live):
    kiosk, core, client = live
    client.request("test.ask", kind="inactivity", question_key="inactivity_question")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "prompt", 5, "the question screen")
    assert "Are you all right?" in kiosk.texts()
    kiosk.tap(kiosk.screen.ids.answer0)
    kiosk.wait_until(lambda: client.request("test.answers") == ["yes"], 5,
                     "the answer in the core")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "home", 5, "Home once answered")


def test_kiosk_shows_starting_while_the_core_is_down_and_reconnects_by_itself(live):
    kiosk, core, client = live
    core.kill()
    kiosk.wait_until(lambda: kiosk.app.sm.current == "starting", 10, "the Starting screen")
    assert "Starting" in kiosk.texts()
    core.start()
    kiosk.wait_until(lambda: kiosk.app.sm.current == "home" and kiosk.app.connected, 10,
                     "Home after the core came back")
    kiosk.tap(kiosk.screen.ids.help)  # and Help works again on the new connection
    kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_countdown", 5, "the countdown")
    with core.client() as c:
        assert c.request("sos.state")["state"] == "countdown"
        c.request("sos.cancel", source="api")


def test_help_pressed_while_the_core_is_down_goes_out_when_it_is_back(live):
    kiosk, core, client = live
    core.kill()
    kiosk.wait_until(lambda: kiosk.app.sm.current == "starting", 10, "the Starting screen")
    kiosk.tap(kiosk.screen.ids.help)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_calling", 5, "the calling screen")
    assert "goes out as soon as it is ready" in kiosk.texts()
    core.start()
    kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_countdown", 10,
                     "the countdown once the core took the press")
    with core.client() as c:
        state = c.request("sos.state")
        assert state["state"] == "countdown" and state["presses"] == 1
        c.request("sos.cancel", source="api")


def test_alarm_raised_then_acknowledged_shows_who_is_coming_and_safe_now_ends_it(
        kiosk, hooked_core_factory):
    core = hooked_core_factory(sos={"countdown": 3, "button_countdown": 0,
                                    "escalate_after": 30, "escalate_repeat": 10}).start()
    kiosk.app.connect_to(core.socket)
    kiosk.wait_until(lambda: kiosk.app.connected and kiosk.app.sm.current == "home", 10,
                     "Home")
    kiosk.tap(kiosk.screen.ids.help)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_calling", 8, "Calling for help")
    with core.client() as c:
        alarm = c.request("sos.state")
        assert alarm["state"] == "raised"
        c.request("test.inbox", message={"id": str(uuid.uuid4()), "kind": "sos_ack",
                                         "data": {"sos_id": alarm["alarm_id"],
                                                  "responder": "Li Wei"}})
        kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_coming", 5, "who is coming")
        assert "Li Wei is coming" in kiosk.texts()
        kiosk.tap_text("I am safe now")
        kiosk.wait_until(lambda: kiosk.app.sm.current == "sos_confirm_safe", 5, "the question")
        kiosk.tap(kiosk.screen.ids.yes)
        kiosk.wait_until(lambda: kiosk.app.sm.current == "home", 5, "Home")
        assert c.request("sos.state")["state"] == "idle"


def test_read_aloud_goes_to_the_core_and_what_it_says_is_captioned(live):
    kiosk, core, client = live
    kiosk.tap_text("Read aloud")
    kiosk.wait_until(lambda: kiosk.app.caption, 5, "the caption of what the hub says")
    assert kiosk.app.greeting in kiosk.app.caption
    assert kiosk.app.root.ids.caption.opacity == 1


def test_language_switch_in_setup_changes_every_text_at_once(live):
    kiosk, core, client = live
    kiosk.tap(kiosk.screen.ids.setup)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_menu", 5, "Family and services")
    kiosk.tap(kiosk.screen.ids.setup)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "pin", 5, "the PIN keypad")
    for digit in "2468":
        kiosk.tap_text(digit)
    kiosk.tap_text("OK")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "setup", 5, "Setup")
    kiosk.tap_text("Language")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "setup_language", 5, "languages")
    kiosk.tap_text("中文")
    kiosk.wait_until(lambda: kiosk.app.lang == "zh_CN", 5, "Chinese")
    assert client.request("settings.get")["language"] == "zh_CN"
    assert "返回" in kiosk.texts()                       # this screen changed at once
    kiosk.app.home()
    kiosk.pump()
    assert kiosk.screen.ids.help.text.startswith("求助")   # and Home, without a restart
    assert kiosk.app.font_name == kiosk.app.fonts["zh_CN"]


def test_wrong_pin_keeps_setup_closed(live):
    kiosk, core, client = live
    kiosk.app.open_setup()
    kiosk.pump()
    for digit in "1111":
        kiosk.tap_text(digit)
    kiosk.tap_text("OK")
    assert kiosk.app.sm.current == "pin"
    assert "not right" in kiosk.texts()


def test_device_pairing_says_not_available_when_the_core_lacks_it(live):
    kiosk, core, client = live
    kiosk.app.go("setup_devices")
    kiosk.wait_until(lambda: "not available yet" in kiosk.texts(), 5,
                     "a plain 'not available yet'")
    kiosk.tap_text("Find new devices")
    kiosk.wait_until(lambda: "not available yet" in kiosk.texts(), 10,
                     "a plain 'not available yet' for scanning")


def test_screen_dims_at_night_and_a_touch_wakes_it_without_being_swallowed(live):
    kiosk, core, client = live
    app = kiosk.app
    app.now = lambda: dt.datetime.now().astimezone().replace(hour=23, minute=30)
    app._last_touch = time.monotonic() - 1000
    app._tick(0)
    assert app.dimmed and app.root.ids.veil.opacity == 1
    kiosk.tap(kiosk.screen.ids.help)   # the first touch at night both wakes and presses
    assert not app.dimmed
    kiosk.wait_until(lambda: app.sm.current == "sos_countdown", 5, "the countdown")
    client.request("sos.cancel", source="api")
    kiosk.wait_until(lambda: app.sm.current == "home", 5, "Home")


def test_kiosk_cannot_be_closed_by_the_elder(kiosk):
    from kivy.core.window import Window

    assert Window.dispatch("on_request_close", source="keyboard") is True


def test_family_pairs_simulated_devices_from_setup_including_one_with_a_pin(
        kiosk, hooked_core_factory):
    """The core's real Bluetooth service with its simulated devices (``simulate = true``)."""
    core = hooked_core_factory(extensions=True, hub={"simulate": True},
                               gpio={"enabled": False}).start()
    kiosk.app.connect_to(core.socket)
    kiosk.wait_until(lambda: kiosk.app.connected and kiosk.app.sm.current == "home", 10, "Home")
    kiosk.app.go("setup_devices")
    kiosk.wait_until(lambda: "No devices paired yet" in kiosk.texts(), 10, "an empty list")
    kiosk.tap_text("Find new devices")
    kiosk.wait_until(lambda: "SIM-BP1" in kiosk.texts(), 20, "the simulated monitor")
    kiosk.tap_text("Blood pressure monitor\nSIM-BP1")
    kiosk.wait_until(lambda: "Paired: Blood pressure monitor — SIM-BP1" in kiosk.texts(), 20,
                     "'Paired'")
    # The glucose meter shows a PIN: the kiosk asks for it with the number pad.
    screen = kiosk.screen
    for _ in range(screen.pages):
        if "SIM-GL1" in kiosk.texts():
            break
        kiosk.tap_text("Next")
    kiosk.tap_text("Blood sugar meter\nSIM-GL1")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "pin", 20, "the number pad for the PIN")
    assert "Type the device's number" in kiosk.texts()
    for digit in "123456":
        kiosk.tap_text(digit)
    kiosk.tap_text("OK")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "setup_scan", 5, "back to the list")
    kiosk.wait_until(lambda: "Paired: Blood sugar meter — SIM-GL1" in kiosk.texts(), 30,
                     "'Paired' for the meter")
    paired = {d["address"] for d in client_request(core, "devices.list")["devices"]}
    assert paired == {"5A:11:00:00:00:01", "5A:11:00:00:00:03"}
    kiosk.tap_text("Back")
    kiosk.wait_until(lambda: "SIM-GL1" in kiosk.texts() and "SIM-BP1" in kiosk.texts(), 10,
                     "both in the paired list")


def client_request(core, cmd, **args):
    with core.client() as c:
        return c.request(cmd, **args)
