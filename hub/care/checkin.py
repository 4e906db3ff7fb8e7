"""The daily check-in: "I'm OK" inside a morning window, asked at its end, reported if missed.

Owns: deciding, for one moment, what the daily check-in needs next. Does not own:
the question on the screen, the recording of the answer, or the platform alert —
the caller does those and tells this module what happened.

The rule, as decided
--------------------
* Each day has one window (e.g. 08:00–10:00 local; it may cross midnight). An
  "I'm OK" — a button press, a spoken "I'm OK", or "yes" to the hub's question —
  at any time from the window's start counts for that day.
* At the window's end without one, the hub asks on screen and aloud. No answer
  within ``grace`` → the platform gets a ``checkin_missed`` alert.
* If nobody was asked by ``ask_late`` after the window's end (the hub was off
  through the morning and came back in the evening, say), the hub does not ask —
  the elder may be asleep — and reports the check-in missed straight away, saying
  the hub could not ask, so family can phone.
* A window that began before the hub kept check-ins at all (the day it was
  installed) is never reported.
* The clock jumping (NTP's first sync) only changes which day it is: the decision
  is always taken afresh from the current moment, never from a timer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CheckinWindow", "window_bounds", "next_step", "WAIT", "DONE", "ASK", "REPORT",
           "REPORT_HUB_OFF"]

WAIT = "wait"                      # the window is open (or not yet open): nothing to do
DONE = "done"                      # today's check-in happened (or was already reported)
ASK = "ask"                        # ask "Are you all right today?" now
REPORT = "report"                  # asked, no answer within grace: tell the platform
REPORT_HUB_OFF = "report_hub_off"  # nobody could be asked in time: tell the platform


@dataclass(frozen=True)
class CheckinWindow:
    """The daily window and its timings."""

    start: dt.time
    end: dt.time
    grace: dt.timedelta = dt.timedelta(minutes=30)
    ask_late: dt.timedelta = dt.timedelta(hours=4)


def window_bounds(window: CheckinWindow, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The most recent window that has started at ``now`` (local, aware): (start, end)."""
    tz = now.tzinfo
    start = dt.datetime.combine(now.date(), window.start, tzinfo=tz)
    if start > now:
        start -= dt.timedelta(days=1)
    end = dt.datetime.combine(start.date(), window.end, tzinfo=tz)
    if end <= start:  # crosses midnight (equal times: a 24-hour window)
        end += dt.timedelta(days=1)
    return start, end


def next_step(window: CheckinWindow, now: dt.datetime, *, last_ok: dt.datetime | None,
              asked_at: dt.datetime | None, reported_for: dt.datetime | None,
              tracking_since: dt.datetime | None = None) -> str:
    """What today's check-in needs at ``now``.

    :param last_ok: the latest "I'm OK" of any kind.
    :param asked_at: when the hub last asked the check-in question.
    :param reported_for: the window start of the last missed-check-in report.
    :param tracking_since: when this hub began keeping check-ins (first start with
        the check-in enabled); None means long ago.
    :returns: one of :data:`WAIT`, :data:`DONE`, :data:`ASK`, :data:`REPORT`,
        :data:`REPORT_HUB_OFF`.
    """
    start, end = window_bounds(window, now)
    if last_ok is not None and last_ok >= start:
        return DONE
    if reported_for is not None and reported_for >= start:
        return DONE
    if now < end:
        return WAIT
    if asked_at is not None and asked_at >= end:
        return REPORT if now >= asked_at + window.grace else WAIT
    if tracking_since is not None and tracking_since > start:
        return DONE  # check-ins were not yet kept when this window began: nothing to say
    if now > end + window.ask_late:
        return REPORT_HUB_OFF  # too late to ask (the elder may be asleep): report it
    return ASK
