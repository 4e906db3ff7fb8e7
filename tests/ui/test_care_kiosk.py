"""The care routines on the kiosk (issue 10), driven by real presses against a real core.

Each test starts one real core with its care extension (``hub.care.service.run_care``,
through ``tests/ui/hooked_core.py --extensions``) and walks a whole flow on the
session's kiosk window: asking for a service and following it to a rating, "Call my
family", the new answers of the check-in and reminder questions, and the family's
reminders and privacy pages behind the PIN. Platform updates come in as inbox messages
(``test.inbox``), the way the sync worker applies them.
"""

import datetime as dt
import uuid

import pytest

from tests.ui.conftest import KIOSK_PIN

pytestmark = pytest.mark.slow


@pytest.fixture
def care(kiosk, hooked_core_factory):
    """The kiosk on a real core running the care routines; (kiosk, api client)."""
    core = hooked_core_factory(extensions=True, gpio={"enabled": False},
                               ble={"enabled": False}, care={"checkin_enabled": False}).start()
    kiosk.app.connect_to(core.socket)
    kiosk.wait_until(lambda: kiosk.app.connected and kiosk.app.sm.current == "home", 10,
                     "the kiosk to connect and show Home")
    client = core.client(subscribe=False)
    yield kiosk, client
    client.close()


def update(client, request_id: str, status: str, **extra):
    """A platform service_update, applied as the sync worker's inbox poll would."""
    client.request("test.inbox", message={
        "id": str(uuid.uuid4()), "kind": "service_update",
        "data": {"request_id": request_id, "status": status, **extra}})


def open_care_menu(kiosk):
    kiosk.tap(kiosk.screen.ids.setup)   # Home's "Family and services" tile
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_menu", 5, "Family and services")


def entry_for(client, service: str) -> dict:
    return next(e for e in client.request("service.list") if e.get("service") == service)


def test_elder_asks_for_a_meal_follows_it_and_rates_it_with_a_face(care):
    kiosk, client = care
    open_care_menu(kiosk)
    kiosk.tap_text("I need help with…")
    kiosk.wait_until(lambda: "A meal" in kiosk.texts(), 5, "the services")
    assert sum(1 for w in kiosk.screen.walk() if getattr(w, "text", "") in
               ("A meal", "Shopping", "A repair")) == 3        # three a page
    kiosk.tap_text("A meal")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_confirm", 5, "the one question")
    assert "Ask for a meal?" in kiosk.texts()
    kiosk.tap_text("Yes, ask for it")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_requests", 5, "My requests")
    kiosk.wait_until(lambda: "Asked — waiting for the care centre" in kiosk.texts(), 5,
                     "the request's state")
    meal = entry_for(client, "meals")
    assert meal["status"] == "requested" and meal["kind"] == "service"

    # The platform schedules it for tomorrow at noon (sent in UTC, shown in local time).
    noon = (dt.datetime.now().astimezone() + dt.timedelta(days=1)).replace(
        hour=12, minute=0, second=0, microsecond=0)
    update(client, meal["request_id"], "scheduled",
           at=noon.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    kiosk.wait_until(lambda: "Comes tomorrow at 12:00" in kiosk.texts(), 10, "the time")
    update(client, meal["request_id"], "on_the_way")
    kiosk.wait_until(lambda: "On the way" in kiosk.texts(), 10, "'On the way'")

    # Done: the core asks for a rating, and the kiosk shows five faces with words.
    update(client, meal["request_id"], "done")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_rating", 10, "the rating question")
    rating = kiosk.screen
    assert [rating.ids[f"face{n}"].text for n in range(1, 6)] == [
        "Very bad", "Bad", "All right", "Quite good", "Very good"]
    for n in range(1, 6):
        face = rating.ids[f"face{n}"]
        assert face.width >= 100 and face.height >= 100
    kiosk.tap(rating.ids.face4)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_requests", 10, "back to My requests")
    kiosk.wait_until(lambda: entry_for(client, "meals").get("stars") == 4, 10, "4 stars sent")
    kiosk.wait_until(lambda: "Done — you gave it 4 of 5" in kiosk.texts(), 10, "the rating")

    # Shopping: the rating is put off ("Not now") and given later from My requests.
    shop = client.request("service.request", service="shopping", note="")
    update(client, shop["request_id"], "done")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_rating", 10, "the second question")
    kiosk.tap_text("Not now")
    kiosk.wait_until(lambda: kiosk.app.sm.current != "care_rating", 5, "the question put away")
    kiosk.app.go("care_requests")
    kiosk.wait_until(lambda: "Done — how was it?" in kiosk.texts(), 10, "the unrated service")
    kiosk.tap_text("Shopping\nDone — how was it?")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_rating", 5, "the faces")
    assert "Shopping" in kiosk.texts()
    kiosk.tap(kiosk.screen.ids.face5)
    kiosk.wait_until(lambda: entry_for(client, "shopping").get("stars") == 5, 10,
                     "5 stars sent by service.rate")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_requests", 5, "My requests")
    assert "Thank you for telling us." in kiosk.texts()


def test_call_my_family_shows_who_was_asked_in_words(care):
    kiosk, client = care
    open_care_menu(kiosk)
    kiosk.tap_text("Call my family")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_family", 5, "the contacts")
    kiosk.tap_text("My daughter")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_called", 5, "the call-back's state")
    assert "Your daughter will be asked to call you." in kiosk.texts()
    (call,) = [e for e in client.request("service.list") if e["kind"] == "callback"]
    assert call["contact"] == "Your daughter" and call["status"] == "requested"
    update(client, call["request_id"], "accepted")
    kiosk.wait_until(lambda: "Your daughter has been asked to call you." in kiosk.texts(), 10,
                     "'has been asked'")
    # In Chinese the contact goes out in Chinese, as the core will say it.
    kiosk.app.set_setting("language", "zh_CN")
    kiosk.wait_until(lambda: kiosk.app.lang == "zh_CN", 5, "Chinese")
    kiosk.tap_text("我的请求")
    kiosk.wait_until(lambda: "已经请Your daughter给您回电话。" in kiosk.texts(), 5,
                     "the state in My requests")
    kiosk.app.go("care_family")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_family", 5, "the contacts")
    kiosk.tap_text("我儿子")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_called", 5, "the state")
    assert "会请您的儿子给您回电话。" in kiosk.texts()
    assert {e["contact"] for e in client.request("service.list")} == {"Your daughter",
                                                                      "您的儿子"}
    client.request("settings.set", key="language", value="en")


def test_check_in_and_reminder_questions_answer_in_plain_words(care):
    kiosk, client = care
    client.request("test.ask", kind="checkin", question_key="checkin_question",
                   answers=["yes", "later"])
    kiosk.wait_until(lambda: kiosk.app.sm.current == "prompt", 5, "the check-in question")
    prompt = kiosk.screen
    assert prompt.ids.answer0.text == "Yes, I am fine"
    assert prompt.ids.answer1.text == "Ask me later"
    assert prompt.ids.later.opacity == 0 and prompt.ids.later.disabled  # no second "later"
    kiosk.tap(prompt.ids.answer0)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "home", 5, "Home again")
    assert client.request("test.answers") == ["yes"]

    client.request("test.ask", kind="reminder", question_key="checkin_question",
                   answers=["taken", "later"])
    kiosk.wait_until(lambda: kiosk.app.sm.current == "prompt", 5, "the reminder")
    assert prompt.ids.answer0.text == "I took it"
    assert prompt.ids.answer1.text == "Remind me in 10 minutes"
    kiosk.tap(prompt.ids.answer1)
    kiosk.wait_until(lambda: client.request("test.answers") == ["yes", "later"], 5,
                     "'later' sent")
    client.request("test.ask", kind="reminder", question_key="checkin_question",
                   answers=["taken"])
    kiosk.wait_until(lambda: kiosk.app.sm.current == "prompt", 5, "the one-answer reminder")
    assert prompt.ids.answer0.text == "I took it" and prompt.ids.answer1.opacity == 0
    kiosk.tap(prompt.ids.answer0)
    kiosk.wait_until(lambda: client.request("test.answers") == ["yes", "later", "taken"], 5,
                     "'taken' sent")


def test_family_sets_and_deletes_a_reminder_and_chooses_what_is_shared(care):
    kiosk, client = care
    open_care_menu(kiosk)
    kiosk.tap_text("Family setup")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "pin", 5, "the PIN keypad")
    for digit in KIOSK_PIN:
        kiosk.tap_text(digit)
    kiosk.tap_text("OK")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "setup", 5, "Setup")
    kiosk.tap_text("More")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "setup_more", 5, "Setup page 2")
    kiosk.tap_text("More")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_setup", 5, "Setup page 3")
    kiosk.tap_text("Reminders")
    kiosk.wait_until(lambda: "No reminders yet" in kiosk.texts(), 5, "an empty list")

    kiosk.tap_text("Add a reminder")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminder_what", 5, "what for")
    kiosk.tap_text("Medicine")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminder_time", 5, "the time")
    times = kiosk.screen
    assert times.ids.time.text == "08:00"
    # A shaky second touch at once is ignored. "At once" is whatever the debounce says,
    # stretched here so that a loaded test machine cannot make two taps look slow.
    times.ids.hour_up.debounce = 60
    kiosk.tap(times.ids.hour_up)
    kiosk.tap(times.ids.hour_up, settled=False)
    assert times.ids.time.text == "09:00"
    times.ids.hour_up.debounce = 0.6
    kiosk.tap(times.ids.hour_up)           # a deliberate press later counts
    kiosk.tap(times.ids.minute_down)
    assert times.ids.time.text == "10:55"
    kiosk.tap(times.ids.next)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminder_days", 5, "the days")
    days = kiosk.screen
    assert days.ids.sat.text == "Sat\nOn" and days.ids.sat.style == "ok"
    kiosk.tap(days.ids.sat)
    kiosk.tap(days.ids.sun)
    assert days.ids.sat.text == "Sat\nOff" and days.ids.sat.style == "card"
    kiosk.tap(days.ids.save)
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminders", 5, "the list again")
    (saved,) = client.request("reminder.list")
    assert saved["label"] == "medicine"
    assert saved["schedule"] == {"times": ["10:55"],
                                 "weekdays": ["mon", "tue", "wed", "thu", "fri"]}
    kiosk.wait_until(lambda: "10:55, on Mon Tue Wed Thu Fri" in kiosk.texts(), 5,
                     "the reminder in words")

    # Deleting asks once.
    kiosk.tap_text("Medicine\n10:55, on Mon Tue Wed Thu Fri")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminder_delete", 5, "the question")
    assert "Delete the reminder for medicine (10:55, on Mon Tue Wed Thu Fri)?" in kiosk.texts()
    kiosk.tap_text("Yes, delete it")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_reminders", 5, "the list")
    assert client.request("reminder.list") == []
    kiosk.wait_until(lambda: "No reminders yet" in kiosk.texts(), 5, "an empty list again")

    # Privacy: one screen, four switches, nothing changes before Save.
    kiosk.tap_text("Back")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_setup", 5, "Setup page 3")
    kiosk.tap_text("Privacy")
    kiosk.wait_until(lambda: kiosk.app.sm.current == "care_consent", 5, "Privacy")
    consent = kiosk.screen
    assert "Alarms are always sent." in kiosk.texts()
    kiosk.wait_until(lambda: "Not chosen yet" in kiosk.texts(), 5, "the stored choice")
    switch = consent.ids.activity.ids.switch
    assert switch.text == "On"
    kiosk.tap(switch)
    assert switch.text == "Off"
    assert client.request("consent.get")["activity"] is True        # not saved yet
    kiosk.tap(consent.ids.save)
    kiosk.wait_until(lambda: "Saved." in kiosk.texts(), 5, "'Saved.'")
    stored = client.request("consent.get")
    assert stored["activity"] is False and stored["chosen"] is True
    assert stored["health"] and stored["checkins"] and stored["services"]
