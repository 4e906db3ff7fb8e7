"""Reminder schedules: daylight-saving changes, clocks that jump, and long power cuts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from hub.care.schedule import (Due, Schedule, ScheduleError, local_moment, occurrences, plan)

BERLIN = ZoneInfo("Europe/Berlin")   # clocks change; 2026: forward Mar 29, back Oct 25
SEOUL = ZoneInfo("Asia/Seoul")       # no daylight saving
UTC = dt.timezone.utc


def at(text, tz=BERLIN):
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def daily(*times, weekdays=None):
    data = {"times": list(times)}
    if weekdays is not None:
        data["weekdays"] = weekdays
    return Schedule.from_dict(data)


# -- reading schedules ----------------------------------------------------------------


@pytest.mark.parametrize("data, words", [
    ({}, "either 'times'"),
    ({"times": ["08:00"], "once": "2026-12-05T09:00"}, "either 'times'"),
    ({"times": []}, "list of 1 to"),
    ({"times": ["8am"]}, "not HH:MM"),
    ({"times": ["24:00"]}, "not HH:MM"),
    ({"times": ["08:00"], "weekdays": ["funday"]}, "weekday 'funday'"),
    ({"times": ["08:00"], "weekdays": [7]}, "weekday 7"),
    ({"times": ["08:00"], "weekdays": [True]}, "weekday True"),
    ({"times": ["08:00"], "colour": "red"}, "unknown fields"),
    ({"once": "tomorrow"}, "local date and time"),
    ({"once": "2026-12-05T09:00+01:00"}, "no time zone"),
    ({"once": "2026-12-05T09:00", "weekdays": ["mon"]}, "no weekdays"),
    ("08:00", "must be an object"),
])
def test_a_schedule_that_cannot_be_understood_says_which_part(data, words):
    with pytest.raises(ScheduleError, match=words):
        Schedule.from_dict(data)


def test_schedules_round_trip_through_their_dict_form():
    for data in ({"times": ["20:00", "08:00"], "weekdays": ["thu", "mon"]},
                 {"once": "2026-12-05T09:00"}):
        schedule = Schedule.from_dict(data)
        assert Schedule.from_dict(schedule.to_dict()) == schedule
    assert daily("20:00", "08:00", weekdays=[3, "Mon"]).to_dict() == {
        "times": ["08:00", "20:00"], "weekdays": ["mon", "thu"]}


# -- local time across daylight-saving changes --------------------------------------------


def test_a_time_skipped_when_clocks_go_forward_happens_just_after_the_gap():
    moment = local_moment(dt.datetime(2026, 3, 29, 2, 30), BERLIN)
    assert moment.astimezone(UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert moment.astimezone(BERLIN).strftime("%H:%M") == "03:30"


def test_a_time_that_happens_twice_when_clocks_go_back_happens_once_the_first_time():
    found = occurrences(daily("02:30"), at("2026-10-24T12:00"), at("2026-10-25T12:00"), BERLIN)
    assert [m.astimezone(UTC) for m in found] == [dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


def test_an_8am_reminder_stays_at_8am_local_on_both_sides_of_the_change():
    found = occurrences(daily("08:00"), at("2026-03-27T00:00"), at("2026-03-31T00:00"), BERLIN)
    assert [m.astimezone(BERLIN).strftime("%d %H:%M") for m in found] == [
        "27 08:00", "28 08:00", "29 08:00", "30 08:00"]
    # ...which is a different UTC hour after the change
    assert {m.astimezone(UTC).hour for m in found} == {7, 6}


def test_every_reminder_in_a_year_fires_exactly_once_per_scheduled_day():
    schedule = daily("02:30", "08:00", "21:15", weekdays=["mon", "wed", "sat"])
    found = occurrences(schedule, at("2025-12-31T23:59"), at("2026-12-31T23:59"), BERLIN)
    scheduled_days = sum(1 for n in range(365)
                         if (dt.date(2026, 1, 1) + dt.timedelta(days=n)).weekday() in (0, 2, 5))
    assert len(found) == 3 * scheduled_days
    assert len(set(found)) == len(found)


def test_weekdays_limit_a_daily_reminder():
    # 2026-12-07 is a Monday
    found = occurrences(daily("09:00", weekdays=["mon", "thu"]),
                        at("2026-12-06T00:00", SEOUL), at("2026-12-13T00:00", SEOUL), SEOUL)
    assert [m.strftime("%a %d") for m in found] == ["Mon 07", "Thu 10"]


def test_a_one_off_reminder_happens_once():
    once = Schedule.from_dict({"once": "2026-12-05T09:00"})
    assert occurrences(once, at("2026-12-01T00:00"), at("2026-12-31T00:00"), BERLIN) == [
        at("2026-12-05T09:00")]
    assert occurrences(once, at("2026-12-05T09:00"), at("2026-12-31T00:00"), BERLIN) == []


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)),
       hours=st.integers(1, 24 * 20), cut=st.integers(0, 24 * 20))
def test_splitting_a_span_never_loses_or_repeats_an_occurrence(start, hours, cut):
    schedule = daily("00:30", "02:30", "08:00", "23:59")
    begin = start.replace(tzinfo=BERLIN)
    end = begin + dt.timedelta(hours=hours)
    middle = begin + dt.timedelta(hours=min(cut, hours))
    whole = occurrences(schedule, begin, end, BERLIN)
    parts = occurrences(schedule, begin, middle, BERLIN) + occurrences(schedule, middle, end,
                                                                        BERLIN)
    assert whole == parts


# -- planning: what is due, what was missed --------------------------------------------------


PILLS = {"pills": daily("08:00", "20:00"), "drops": daily("08:05")}


def test_on_time_each_reminder_comes_due_once():
    first = plan(PILLS, at("2026-12-05T07:59"), at("2026-12-05T08:00:30"), BERLIN)
    assert [d.reminder_id for d in first.due] == ["pills"]
    handled = {d.key for d in first.due}
    again = plan(PILLS, at("2026-12-05T08:00:30"), at("2026-12-05T08:06"), BERLIN,
                 handled=handled)
    assert [d.reminder_id for d in again.due] == ["drops"]
    assert again.missed == []


def test_a_week_long_power_cut_asks_only_what_is_due_and_reports_the_rest_once():
    off, back = at("2026-12-01T07:00"), at("2026-12-08T08:10")
    result = plan(PILLS, off, back, BERLIN)
    assert [(d.reminder_id, d.at) for d in result.due] == [
        ("pills", at("2026-12-08T08:00")), ("drops", at("2026-12-08T08:05"))]
    # the last 24 hours are listed (yesterday evening's pills)...
    assert [(d.reminder_id, d.at.strftime("%d %H:%M")) for d in result.missed] == [
        ("pills", "07 20:00")]
    # ...and the rest of the week is only counted: Dec 1-6 three a day, Dec 7 morning two
    assert result.missed_older == 6 * 3 + 2
    assert not result.missed_uncounted


def test_a_clock_that_jumps_years_when_ntp_first_syncs_fires_nothing_old():
    booted_at = dt.datetime(2000, 1, 1, 0, 0, tzinfo=UTC)   # a Pi without a real-time clock
    synced = at("2026-12-05T08:20")
    result = plan(PILLS, booted_at, synced, BERLIN)
    assert [d.reminder_id for d in result.due] == ["pills", "drops"]
    assert result.missed_uncounted
    assert result.missed == [Due("pills", at("2026-12-04T20:00"))]   # the last 24 hours
    assert 29 * 3 <= result.missed_older <= 31 * 3    # a month searched, not 26 years


def test_a_clock_that_goes_backwards_fires_nothing_twice():
    morning = plan(PILLS, at("2026-12-05T07:59"), at("2026-12-05T08:06"), BERLIN)
    handled = {d.key for d in morning.due}
    assert len(handled) == 2
    # the clock is corrected back by an hour, then runs forward through 08:00 again
    assert plan(PILLS, at("2026-12-05T08:06"), at("2026-12-05T07:06"), BERLIN).due == []
    replay = plan(PILLS, at("2026-12-05T07:06"), at("2026-12-05T08:07"), BERLIN, handled=handled)
    assert replay.due == [] and replay.missed == []


def test_the_first_look_asks_only_within_the_grace_period():
    result = plan(PILLS, None, at("2026-12-05T08:30"), BERLIN)
    assert [d.reminder_id for d in result.due] == ["pills", "drops"]
    assert plan(PILLS, None, at("2026-12-05T10:00"), BERLIN).due == []


def test_two_doses_inside_the_grace_period_ask_the_latest_and_report_the_earlier():
    close = {"eyes": daily("08:00", "08:30")}
    result = plan(close, at("2026-12-05T07:00"), at("2026-12-05T08:40"), BERLIN)
    assert result.due == [Due("eyes", at("2026-12-05T08:30"))]
    assert result.missed == [Due("eyes", at("2026-12-05T08:00"))]


def test_an_occurrence_key_names_the_moment_not_the_local_reading():
    one = Due("pills", at("2026-10-25T02:30"))
    assert one.key == "pills@2026-10-25T00:30Z"
    assert Due("pills", one.at.astimezone(SEOUL)).key == one.key
