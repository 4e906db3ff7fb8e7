"""Check-in and reminders acting on a controllable clock, remembering across restarts.

The seam records what the routines ask, say and record; its state survives a
"restart" (new routine objects on the same saved state) like the core's store.
"""

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hub.care.checkin import CheckinWindow
from hub.care.routines import DailyCheckin, Reminder, Reminders
from hub.phrases import PHRASES, phrase

TZ = ZoneInfo("Europe/Berlin")


class Home:
    """A clock, a saved state and an elder who answers from a script."""

    def __init__(self, now: str):
        self.clock = dt.datetime.fromisoformat(now).replace(tzinfo=TZ)
        self.saved: dict = {}
        self.answers: list = []
        self.asked: list = []
        self.said: list = []
        self.recorded: list = []
        self.contexts: list = []

    def set(self, text):
        self.clock = dt.datetime.fromisoformat(text).replace(tzinfo=TZ)

    # CareActions
    def now(self):
        return self.clock

    def tz(self):
        return TZ

    async def ask(self, kind, question_key, answers, timeout, *, context=None, **params):
        self.asked.append((kind, phrase(question_key, "en", **params), tuple(answers)))
        self.contexts.append(context)
        answer = self.answers.pop(0) if self.answers else None
        if answer is None:
            self.clock += dt.timedelta(seconds=timeout)
        return answer

    async def record(self, kind, data, *, alert=False):
        self.recorded.append((kind, data, alert))

    def say(self, key, **params):
        self.said.append(phrase(key, "en", **params))

    async def load(self, key):
        import json
        return json.loads(self.saved[key]) if key in self.saved else None

    async def save(self, key, value):
        import json
        self.saved[key] = json.dumps(value)


def run(coro):
    return asyncio.run(coro)


WINDOW = CheckinWindow(dt.time(8), dt.time(10), grace=dt.timedelta(minutes=30))


def test_every_new_phrase_exists_in_every_language():
    for key in ("checkin_question", "checkin_missed_told", "reminder_due", "reminder_dose",
                "reminders_missed"):
        assert set(PHRASES[key]) == {"en", "zh_CN", "ko"}, key
        for lang in ("en", "zh_CN", "ko"):
            assert phrase(key, lang, label="x", dose="y", count=2)


# -- daily check-in -----------------------------------------------------------------------


def test_a_morning_ok_means_no_question():
    home = Home("2026-12-04T20:00")
    checkin = DailyCheckin(WINDOW, home, answer_timeout=1800)
    home.set("2026-12-05T08:12")
    run(checkin.checked_in())
    home.set("2026-12-05T10:01")
    assert run(checkin.check()) == "done"
    assert home.asked == [] and home.recorded == []


def test_no_ok_is_asked_at_the_end_of_the_window_then_reported_once():
    home = Home("2026-12-04T20:00")
    checkin = DailyCheckin(WINDOW, home, answer_timeout=1800)
    assert run(checkin.check()) == "done"   # installed the evening before
    home.set("2026-12-05T10:00")
    assert run(checkin.check()) == "ask"   # nobody answers: the seam lets 30 minutes pass
    assert home.asked[0][0] == "checkin" and home.asked[0][2] == ("yes", "later")
    assert run(checkin.check()) == "report"
    kind, data, alert = home.recorded[0]
    assert (kind, data["asked"], alert) == ("checkin_missed", True, True)
    assert data["window_start"].startswith("2026-12-05T08:00")
    assert run(checkin.check()) == "done" and len(home.recorded) == 1


def test_yes_to_the_question_is_the_check_in():
    home = Home("2026-12-04T20:00")
    checkin = DailyCheckin(WINDOW, home, answer_timeout=1800)
    assert run(checkin.check()) == "done"   # installed the evening before
    home.set("2026-12-05T10:00")
    home.answers = ["yes"]
    run(checkin.check())
    assert home.said == [phrase("checkin_thanks", "en")]
    home.set("2026-12-05T11:00")
    assert run(checkin.check()) == "done" and home.recorded == []


def test_ask_me_later_asks_again_after_the_grace_period_twice_then_only_yes():
    home = Home("2026-12-04T20:00")
    checkin = DailyCheckin(WINDOW, home, answer_timeout=1800)
    run(checkin.check())
    home.set("2026-12-05T10:00")
    home.answers = ["later"]
    assert run(checkin.check()) == "ask"
    home.set("2026-12-05T10:20")
    assert run(checkin.check()) == "wait" and home.recorded == []   # not reported
    home.set("2026-12-05T10:31")
    home.answers = ["later"]
    assert run(checkin.check()) == "ask"
    home.set("2026-12-05T11:02")
    run(checkin.check())   # the third time: only "yes"; nobody answers for 30 minutes
    assert [a[2] for a in home.asked] == [("yes", "later"), ("yes", "later"), ("yes",)]
    assert run(checkin.check()) == "report"
    assert home.recorded[0][0] == "checkin_missed"


def test_the_state_survives_a_restart_and_a_missed_day_is_reported_after_it():
    home = Home("2026-12-04T20:00")
    run(DailyCheckin(WINDOW, home, answer_timeout=1800).check())
    # the hub is off from the evening until 21:00 the next day
    home.set("2026-12-05T21:00")
    again = DailyCheckin(WINDOW, home, answer_timeout=1800)
    assert run(again.check()) == "report_hub_off"
    assert home.asked == []   # not at night
    assert home.recorded[0][1]["asked"] is False


def test_the_day_of_installation_is_never_reported():
    home = Home("2026-12-05T15:00")
    assert run(DailyCheckin(WINDOW, home, answer_timeout=1800).check()) == "done"
    assert home.recorded == []


# -- reminders ----------------------------------------------------------------------------


def pills(**extra):
    return Reminder.from_dict({"id": "pills", "label": "Blood pressure tablet", "dose": "1 tablet",
                               "schedule": {"times": ["08:00", "20:00"]}, **extra})


@pytest.mark.parametrize("data, words", [
    ({"id": "", "label": "x", "schedule": {"times": ["08:00"]}}, "id must be"),
    ({"id": "a", "label": " ", "schedule": {"times": ["08:00"]}}, "label must be"),
    ({"id": "a", "label": "x", "schedule": {"times": ["8"]}}, "reminder a: time '8'"),
    ({"id": "a", "label": "x", "dose": 5, "schedule": {"times": ["08:00"]}}, "dose must be"),
    ("pills", "is an object"),
])
def test_a_bad_reminder_is_refused_with_the_reason(data, words):
    with pytest.raises(ValueError, match=words):
        Reminder.from_dict(data)


def test_a_reminder_is_asked_at_its_time_and_taken_is_recorded():
    home = Home("2026-12-05T07:59")
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.put(pills()))
    assert run(reminders.check()) == []
    home.set("2026-12-05T08:00:20")
    home.answers = ["taken"]
    assert run(reminders.check()) == [("pills", "taken")]
    assert home.asked == [("reminder", "Time for your Blood pressure tablet: 1 tablet.",
                           ("taken", "later"))]
    assert home.contexts == [{"reminder_id": "pills",
                              "scheduled_for": "2026-12-05T08:00:00+01:00"}]
    assert home.recorded[-1][1]["answer"] == "taken"
    assert home.recorded[-1][1]["scheduled_for"].startswith("2026-12-05T08:00")
    home.set("2026-12-05T08:30")
    assert run(reminders.check()) == []   # asked once only


def test_later_asks_again_after_the_snooze_even_across_a_restart():
    home = Home("2026-12-05T07:59")
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.put(pills()))
    run(reminders.check())
    home.set("2026-12-05T08:01")
    home.answers = ["later"]
    assert run(reminders.check()) == [("pills", "snoozed")]
    home.set("2026-12-05T08:05")
    restarted = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    assert run(restarted.check()) == []
    home.set("2026-12-05T08:11")
    home.answers = ["taken"]
    assert run(restarted.check()) == [("pills", "taken")]
    last = home.recorded[-1][1]
    assert (last["answer"], last["snoozes"]) == ("taken", 1)
    assert last["scheduled_for"].startswith("2026-12-05T08:00")  # the dose, not the snooze


def test_no_answer_is_recorded_as_such():
    home = Home("2026-12-05T07:59")
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.put(pills()))
    run(reminders.check())
    home.set("2026-12-05T08:00")
    assert run(reminders.check()) == [("pills", "no_answer")]


def test_a_week_long_power_cut_says_what_was_missed_once_and_asks_only_the_current_dose():
    home = Home("2026-12-01T07:00")
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.put(pills()))
    run(reminders.check())
    home.set("2026-12-08T08:10")   # back after a week
    restarted = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    home.answers = ["taken"]
    outcomes = run(restarted.check())
    assert outcomes == [("pills", "missed"), ("pills", "taken")]
    assert len(home.asked) == 1
    assert home.said == [phrase("reminders_missed", "en", count=14)]  # Dec 1 08:00 .. Dec 7 20:00
    home.set("2026-12-08T08:20")
    assert run(restarted.check()) == [] and len(home.said) == 1


def test_deleting_a_reminder_stops_it():
    home = Home("2026-12-05T07:59")
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.put(pills()))
    run(reminders.check())
    assert run(reminders.remove("pills")) and not run(reminders.remove("pills"))
    home.set("2026-12-05T08:01")
    assert run(reminders.check()) == []


def test_a_damaged_saved_reminder_is_skipped_and_the_others_still_run():
    home = Home("2026-12-05T07:59")
    run(home.save("care.reminders", [{"id": "bad", "label": "x", "schedule": {"times": ["99"]}},
                                     pills().to_dict()]))
    reminders = Reminders(home, grace=dt.timedelta(hours=1), answer_timeout=600,
                          snooze=dt.timedelta(minutes=10))
    run(reminders.check())
    home.set("2026-12-05T08:00")
    home.answers = ["taken"]
    assert run(reminders.check()) == [("pills", "taken")]
