"""When reminders are due, from the wall clock, without ever firing a day's worth at once.

Owns: parsing and checking a reminder's schedule (daily times, weekdays, or one
date), turning local times into moments across daylight-saving changes, and
deciding — for the span since the planner last looked — which reminders are due
now and which were missed while the hub was off or its clock was wrong.
Does not own: asking the elder, recording answers, or storing reminders.

Time, as decided
----------------
* A schedule is in local wall-clock time ("08:00" means breakfast, whatever the
  UTC offset is today).
* A local time that does not exist (the hour skipped when clocks go forward)
  happens at the same distance after the gap: 02:30 becomes 03:30. A local time
  that happens twice (clocks go back) happens once, the first time.
* Only reminders that came due within ``grace`` of now are *due*: asked now.
  Older ones since the planner last looked are *missed*: listed (up to
  ``report_window`` back) so the hub can say what was missed, once, instead of
  asking every one of them after a power cut. Anything older than that is only
  counted.
* The clock going backwards (a wrong clock corrected) never fires anything twice:
  the caller keeps the occurrences it has already handled (:attr:`Due.key`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

__all__ = ["Schedule", "ScheduleError", "Due", "Plan", "plan", "occurrences", "local_moment",
           "WEEKDAYS"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
# A schedule with more daily times than this is a mistake, not a medication plan.
MAX_TIMES = 12
# How far back a long gap is searched for what was missed (a clock years off would
# otherwise make the hub count tens of thousands of reminders).
MAX_SCAN = dt.timedelta(days=31)


class ScheduleError(ValueError):
    """A schedule that cannot be understood; the text says which field and why."""


@dataclass(frozen=True)
class Schedule:
    """Daily ``times`` on ``weekdays`` (Monday = 0), or one local moment ``once``."""

    times: tuple[dt.time, ...] = ()
    weekdays: frozenset[int] = frozenset(range(7))
    once: dt.datetime | None = None  # naive: local wall-clock time

    @classmethod
    def from_dict(cls, data) -> "Schedule":
        """Read ``{"times": ["08:00"], "weekdays": ["mon"]}`` or ``{"once": "2026-12-05T09:00"}``.
        """
        if not isinstance(data, dict):
            raise ScheduleError("schedule must be an object with 'times' or 'once'")
        unknown = set(data) - {"times", "weekdays", "once"}
        if unknown:
            raise ScheduleError(f"schedule has unknown fields {sorted(unknown)}")
        if ("times" in data) == ("once" in data):
            raise ScheduleError("schedule needs either 'times' (daily) or 'once' (one date)")
        if "once" in data:
            if "weekdays" in data:
                raise ScheduleError("a one-off reminder ('once') has no weekdays")
            text = data["once"]
            try:
                moment = dt.datetime.fromisoformat(text) if isinstance(text, str) else None
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is not None:
                raise ScheduleError(f"once {text!r} must be a local date and time like "
                                    "2026-12-05T09:00 (no time zone)")
            return cls(once=moment.replace(second=0, microsecond=0))
        times = data["times"]
        if not isinstance(times, list) or not times or len(times) > MAX_TIMES:
            raise ScheduleError(f"times must be a list of 1 to {MAX_TIMES} 'HH:MM' texts")
        parsed = []
        for text in times:
            match = _HHMM.fullmatch(text) if isinstance(text, str) else None
            if not match:
                raise ScheduleError(f"time {text!r} is not HH:MM (00:00 to 23:59)")
            parsed.append(dt.time(int(match[1]), int(match[2])))
        days = data.get("weekdays", list(WEEKDAYS))
        if not isinstance(days, list) or not days:
            raise ScheduleError("weekdays must be a non-empty list like ['mon', 'thu']")
        numbers = set()
        for day in days:
            if isinstance(day, str) and day.lower()[:3] in WEEKDAYS:
                numbers.add(WEEKDAYS.index(day.lower()[:3]))
            elif isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
                numbers.add(day)
            else:
                raise ScheduleError(f"weekday {day!r} is not one of {', '.join(WEEKDAYS)}")
        return cls(times=tuple(sorted(set(parsed))), weekdays=frozenset(numbers))

    def to_dict(self) -> dict:
        """The form :meth:`from_dict` reads."""
        if self.once is not None:
            return {"once": self.once.isoformat(timespec="minutes")}
        return {"times": [t.strftime("%H:%M") for t in self.times],
                "weekdays": [WEEKDAYS[d] for d in sorted(self.weekdays)]}


def local_moment(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The moment a local wall-clock time names, in ``tz`` (see the module's rules)."""
    first = naive.replace(tzinfo=tz, fold=0)
    # A time in a gap does not survive the round trip through UTC.
    back = first.astimezone(dt.timezone.utc).astimezone(tz)
    # fold=0 reads a time in the gap with the offset from before the change, so the
    # round trip lands as far after the gap as the time was into it.
    return back if back.replace(tzinfo=None) != naive else first


def occurrences(schedule: Schedule, after: dt.datetime, until: dt.datetime,
                tz: ZoneInfo) -> list[dt.datetime]:
    """The moments in (``after``, ``until``] at which ``schedule`` comes due, oldest first."""
    if until <= after:
        return []
    if schedule.once is not None:
        moment = local_moment(schedule.once, tz)
        return [moment] if after < moment <= until else []
    found = []
    # One day either side: a local date's times can fall on the neighbouring UTC day.
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    last = until.astimezone(tz).date() + dt.timedelta(days=1)
    while day <= last:
        if day.weekday() in schedule.weekdays:
            for at in schedule.times:
                moment = local_moment(dt.datetime.combine(day, at), tz)
                if after < moment <= until:
                    found.append(moment)
        day += dt.timedelta(days=1)
    return sorted(set(found))


@dataclass(frozen=True)
class Due:
    """One occurrence of one reminder."""

    reminder_id: str
    at: dt.datetime

    @property
    def key(self) -> str:
        """Names this occurrence for "already handled" bookkeeping (UTC, to the minute)."""
        utc = self.at.astimezone(dt.timezone.utc)
        return f"{self.reminder_id}@{utc:%Y-%m-%dT%H:%MZ}"


@dataclass
class Plan:
    """What to do after looking at the span since the planner last looked."""

    due: list[Due] = field(default_factory=list)       # ask now
    missed: list[Due] = field(default_factory=list)    # say once what was missed
    missed_uncounted: bool = False   # the gap was longer than could be searched
    missed_older: int = 0            # missed before the report window (counted only)


def plan(reminders: dict[str, Schedule], last_looked: dt.datetime | None, now: dt.datetime,
         tz: ZoneInfo, *, handled: set[str] = frozenset(),
         grace: dt.timedelta = dt.timedelta(minutes=60),
         report_window: dt.timedelta = dt.timedelta(hours=24)) -> Plan:
    """Sort the occurrences since ``last_looked`` into due now, missed, and older.

    :param reminders: schedules by reminder id.
    :param last_looked: when the planner last looked (None on the very first look:
        only what came due within ``grace`` is asked).
    :param now: the current wall-clock moment (aware).
    :param handled: :attr:`Due.key` of occurrences already asked or reported.
    :returns: a :class:`Plan`; per reminder at most one occurrence is due (the
        latest) — earlier ones in the grace period are reported as missed.
    """
    result = Plan()
    if last_looked is None:
        last_looked = now - grace
    if now <= last_looked:  # the clock went backwards: nothing new came due
        return result
    start = last_looked
    if now - start > MAX_SCAN:
        start = now - MAX_SCAN
        result.missed_uncounted = True
    for reminder_id, schedule in sorted(reminders.items()):
        moments = [m for m in occurrences(schedule, start, now, tz)
                   if Due(reminder_id, m).key not in handled]
        recent = [m for m in moments if m >= now - grace]
        if recent:
            result.due.append(Due(reminder_id, recent[-1]))
            moments = [m for m in moments if m != recent[-1]]
        for moment in moments:
            if moment >= now - report_window:
                result.missed.append(Due(reminder_id, moment))
            else:
                result.missed_older += 1
    result.due.sort(key=lambda d: (d.at, d.reminder_id))
    result.missed.sort(key=lambda d: (d.at, d.reminder_id))
    return result
