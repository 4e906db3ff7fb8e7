"""The daily check-in decision over a day, a missed window, and a clock jump."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hub.care.checkin import (ASK, DONE, REPORT, REPORT_HUB_OFF, WAIT, CheckinWindow,
                              next_step, window_bounds)

TZ = ZoneInfo("Europe/Berlin")
MORNING = CheckinWindow(dt.time(8), dt.time(10), grace=dt.timedelta(minutes=30))


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def step(now, **state):
    state.setdefault("last_ok", None)
    state.setdefault("asked_at", None)
    state.setdefault("reported_for", None)
    return next_step(MORNING, at(now), **state)


def test_a_morning_with_an_ok_needs_nothing_more():
    installed = {"tracking_since": at("2026-12-04T18:00")}
    assert step("2026-12-05T07:00", **installed) == DONE  # yesterday's began before install
    assert step("2026-12-05T08:00", **installed) == WAIT
    assert step("2026-12-05T09:00") == WAIT
    assert step("2026-12-05T09:30", last_ok=at("2026-12-05T08:12")) == DONE
    assert step("2026-12-05T23:00", last_ok=at("2026-12-05T08:12")) == DONE


def test_an_ok_from_yesterday_does_not_count_today():
    assert step("2026-12-05T10:00", last_ok=at("2026-12-04T08:12")) == ASK


def test_a_missed_window_is_asked_then_reported_after_the_grace_period():
    assert step("2026-12-05T10:00") == ASK
    asked = at("2026-12-05T10:00")
    assert step("2026-12-05T10:29", asked_at=asked) == WAIT
    assert step("2026-12-05T10:30", asked_at=asked) == REPORT
    assert step("2026-12-05T10:31", asked_at=asked,
                reported_for=window_bounds(MORNING, at("2026-12-05T10:31"))[0]) == DONE
    # an answer after the report still counts as the day's check-in
    assert step("2026-12-05T10:40", asked_at=asked, last_ok=at("2026-12-05T10:35")) == DONE


def test_yesterdays_question_is_not_todays():
    assert step("2026-12-05T10:05", asked_at=at("2026-12-04T10:00")) == ASK


def test_a_hub_that_was_off_all_morning_asks_at_noon_but_not_at_night():
    assert step("2026-12-05T12:00") == ASK
    assert step("2026-12-05T21:00") == REPORT_HUB_OFF
    # the next morning, before the window, yesterday's unasked check-in is reported
    assert step("2026-12-06T07:00") == REPORT_HUB_OFF
    assert step("2026-12-06T07:00", reported_for=at("2026-12-05T08:00")) == DONE


def test_a_window_across_midnight():
    night = CheckinWindow(dt.time(22), dt.time(1))
    assert window_bounds(night, at("2026-12-05T00:30")) == (at("2026-12-04T22:00"),
                                                            at("2026-12-05T01:00"))
    assert next_step(night, at("2026-12-05T00:30"), last_ok=None, asked_at=None,
                     reported_for=None) == WAIT
    assert next_step(night, at("2026-12-05T01:00"), last_ok=at("2026-12-04T22:10"),
                     asked_at=None, reported_for=None) == DONE


@pytest.mark.parametrize("jump_to, expected", [("2026-12-05T08:30", WAIT),
                                               ("2026-12-05T11:00", ASK)])
def test_a_clock_that_jumps_from_2000_decides_from_the_new_moment(jump_to, expected):
    # before NTP the hub thought it was 1 Jan 2000 and nothing was recorded since
    assert step("2000-01-01T09:00", tracking_since=at("2000-01-01T08:59")) == WAIT
    assert step(jump_to, last_ok=at("2000-01-01T09:05")) == expected


def test_daylight_saving_day_keeps_the_local_window():
    start, end = window_bounds(MORNING, at("2026-03-29T09:00"))
    assert (start.hour, end.hour) == (8, 10)
    assert end - start == dt.timedelta(hours=2)
