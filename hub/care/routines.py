"""Daily check-in and reminders, run against an injected clock and a seam to the core.

Owns: acting on :mod:`hub.care.checkin` and :mod:`hub.care.schedule` decisions —
asking, recording adherence, reporting a missed check-in, saying what was missed
after a power cut — and remembering what was already handled across restarts.
Does not own: the question on the screen (:meth:`hub.core.Core.ask`), the store,
the platform.

Events it records (all go to the platform, subject to the elder's consent):

* ``checkin_missed`` {"window_start", "window_end", "asked": bool} at alert priority.
* ``reminder_answer`` {"reminder_id", "label", "scheduled_for", "answer"} where
  answer is ``taken``, ``snoozed``, ``no_answer`` or ``missed`` (came due while the
  hub was off or its clock was wrong; ``scheduled_for`` says when).

A check-in itself is the core's ``checkin`` event (button, voice, or "yes" here).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from hub.care.checkin import (ASK, REPORT, REPORT_HUB_OFF, WAIT, CheckinWindow, next_step,
                              window_bounds)
from hub.care.schedule import Due, Schedule, ScheduleError, plan

__all__ = ["CareActions", "Reminder", "DailyCheckin", "Reminders", "STATE_KEYS"]

log = logging.getLogger(__name__)

STATE_KEYS = {"checkin": "care.checkin", "reminders": "care.reminders",
              "handled": "care.reminders_handled"}
# Handled occurrences older than this are forgotten (the planner never looks that far).
HANDLED_KEEP = dt.timedelta(days=35)
MAX_REMINDERS = 50
MAX_SNOOZES = 3
MAX_LATER = 2  # "Ask me later" to the daily check-in, then only "yes" is offered


class CareActions(Protocol):
    """Everything the routines do to the world (the core, or a recorder in tests)."""

    def now(self) -> dt.datetime:
        """Local wall-clock time (aware)."""

    def tz(self) -> ZoneInfo:
        """The home's time zone."""

    async def ask(self, kind: str, question_key: str, answers: tuple[str, ...],
                  timeout: float, *, context: dict | None = None, **params) -> str | None:
        """Ask on the screen and aloud; the answer key, or None after ``timeout`` s.

        ``context`` tells the kiosk what the question is about (e.g. a request id).
        """

    async def record(self, kind: str, data: dict, *, alert: bool = False) -> None:
        """Record an event durably for the platform."""

    def say(self, phrase_key: str, **params) -> None:
        """Say a phrase of :mod:`hub.phrases`."""

    async def load(self, key: str):
        """A JSON value kept across restarts, or None."""

    async def save(self, key: str, value) -> None:
        """Keep a JSON value across restarts."""


@dataclass(frozen=True)
class Reminder:
    """A reminder as set up locally or received from the platform."""

    id: str
    label: str
    schedule: Schedule
    dose: str = ""

    @classmethod
    def from_dict(cls, data) -> "Reminder":
        """Check and read ``{"id", "label", "schedule", "dose"?}``.

        :raises ValueError: saying which field is wrong and why.
        """
        if not isinstance(data, dict):
            raise ValueError("a reminder is an object with id, label and schedule")
        rid, label, dose = data.get("id"), data.get("label"), data.get("dose", "")
        if not isinstance(rid, str) or not 1 <= len(rid) <= 64:
            raise ValueError("reminder id must be a text of 1 to 64 characters")
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= 80:
            raise ValueError(f"reminder {rid}: label must be a text of 1 to 80 characters")
        if not isinstance(dose, str) or len(dose) > 80:
            raise ValueError(f"reminder {rid}: dose must be a text of at most 80 characters")
        try:
            schedule = Schedule.from_dict(data.get("schedule"))
        except ScheduleError as exc:
            raise ValueError(f"reminder {rid}: {exc}") from None
        return cls(rid, label.strip(), schedule, dose.strip())

    def to_dict(self) -> dict:
        """The form :meth:`from_dict` reads."""
        return {"id": self.id, "label": self.label, "schedule": self.schedule.to_dict(),
                "dose": self.dose}


class DailyCheckin:
    """The "I'm OK" of each day: see :mod:`hub.care.checkin` for the rule."""

    def __init__(self, window: CheckinWindow, actions: CareActions, *, answer_timeout: float):
        self.window = window
        self.actions = actions
        self.answer_timeout = answer_timeout
        self.state: dict | None = None

    async def _state(self) -> dict:
        if self.state is None:
            self.state = await self.actions.load(STATE_KEYS["checkin"]) or {}
            if "tracking_since" not in self.state:
                self.state["tracking_since"] = self.actions.now().isoformat()
                await self.actions.save(STATE_KEYS["checkin"], self.state)
        return self.state

    async def checked_in(self, when: dt.datetime | None = None):
        """Note an "I'm OK" (the core records the event itself)."""
        state = await self._state()
        state["last_ok"] = (when or self.actions.now()).isoformat()
        await self.actions.save(STATE_KEYS["checkin"], state)

    async def check(self) -> str:
        """Act on today's check-in once; returns what :func:`next_step` decided."""
        state = await self._state()
        now = self.actions.now()

        def moment(key):
            return dt.datetime.fromisoformat(state[key]) if state.get(key) else None

        start, end = window_bounds(self.window, now)
        this_window = state.get("later_for") == start.isoformat()
        later = moment("later_until")
        if this_window and later and now < later:
            return WAIT  # "Ask me later": not before then
        step = next_step(self.window, now, last_ok=moment("last_ok"), asked_at=moment("asked_at"),
                         reported_for=moment("reported_for"),
                         tracking_since=moment("tracking_since"))
        if step == ASK:
            laters = state.get("laters", 0) if this_window else 0
            answers = ("yes", "later") if laters < MAX_LATER else ("yes",)
            state["asked_at"] = now.isoformat()
            await self.actions.save(STATE_KEYS["checkin"], state)
            answer = await self.actions.ask("checkin", "checkin_question", answers,
                                            self.answer_timeout)
            if answer == "yes":
                await self.checked_in()
                self.actions.say("checkin_thanks")
            elif answer == "later":  # asked again after the grace period, not reported
                state.update(asked_at=None, later_for=start.isoformat(), laters=laters + 1,
                             later_until=(self.actions.now() + self.window.grace).isoformat())
                await self.actions.save(STATE_KEYS["checkin"], state)
        elif step in (REPORT, REPORT_HUB_OFF):
            await self.actions.record("checkin_missed", {
                "window_start": start.isoformat(), "window_end": end.isoformat(),
                "asked": step == REPORT}, alert=True)
            state["reported_for"] = start.isoformat()
            await self.actions.save(STATE_KEYS["checkin"], state)
            self.actions.say("checkin_missed_told")
        return step


class Reminders:
    """Reminders at their time: asked one at a time, answers recorded as adherence."""

    def __init__(self, actions: CareActions, *, grace: dt.timedelta, answer_timeout: float,
                 snooze: dt.timedelta):
        self.actions = actions
        self.grace = grace
        self.answer_timeout = answer_timeout
        self.snooze = snooze
        self.reminders: dict[str, Reminder] = {}
        self.handled: dict[str, str] = {}  # Due.key -> when handled (ISO)
        self.last_looked: dt.datetime | None = None
        self.snoozed: list[tuple[Due, dt.datetime, int]] = []  # (occurrence, ask at, snoozes)
        self._loaded = False

    async def load(self):
        """Read the reminders and what was handled; a damaged entry is skipped, logged."""
        if self._loaded:
            return
        saved = await self.actions.load(STATE_KEYS["reminders"]) or []
        for item in saved:
            try:
                reminder = Reminder.from_dict(item)
            except ValueError as exc:
                log.error("a saved reminder is damaged and skipped: %s", exc)
                continue
            self.reminders[reminder.id] = reminder
        handled = await self.actions.load(STATE_KEYS["handled"]) or {}
        self.handled = dict(handled.get("keys", {}))
        if handled.get("last_looked"):
            self.last_looked = dt.datetime.fromisoformat(handled["last_looked"])
        for rid, at, when, count in handled.get("snoozed", []):
            self.snoozed.append((Due(rid, dt.datetime.fromisoformat(at)),
                                 dt.datetime.fromisoformat(when), count))
        self._loaded = True

    async def put(self, reminder: Reminder):
        """Add or replace a reminder (from setup or the platform's inbox)."""
        await self.load()
        if reminder.id not in self.reminders and len(self.reminders) >= MAX_REMINDERS:
            raise ValueError(f"at most {MAX_REMINDERS} reminders")
        self.reminders[reminder.id] = reminder
        await self._save_reminders()

    async def remove(self, reminder_id: str) -> bool:
        """Delete a reminder; False when there was none with that id."""
        await self.load()
        found = self.reminders.pop(reminder_id, None) is not None
        if found:
            await self._save_reminders()
        return found

    async def _save_reminders(self):
        await self.actions.save(STATE_KEYS["reminders"],
                                [r.to_dict() for r in self.reminders.values()])

    async def _save_handled(self, now: dt.datetime):
        cutoff = (now - HANDLED_KEEP).isoformat()
        self.handled = {k: v for k, v in self.handled.items() if v >= cutoff}
        await self.actions.save(STATE_KEYS["handled"], {
            "keys": self.handled,
            "last_looked": self.last_looked.isoformat() if self.last_looked else None,
            "snoozed": [[d.reminder_id, d.at.isoformat(), when.isoformat(), n]
                        for d, when, n in self.snoozed]})

    async def check(self) -> list[tuple[str, str]]:
        """Look once: report what was missed, then ask what is due (and snoozed).

        :returns: (reminder id, outcome) for each occurrence handled.
        """
        await self.load()
        now = self.actions.now()
        schedules = {rid: r.schedule for rid, r in self.reminders.items()}
        result = plan(schedules, self.last_looked, now, self.actions.tz(),
                      handled=set(self.handled), grace=self.grace)
        # A clock that went backwards keeps last_looked, so nothing fires twice.
        self.last_looked = max(now, self.last_looked) if self.last_looked else now
        outcomes = []
        missed = [d for d in result.missed if d.reminder_id in self.reminders]
        for due in missed:
            await self._record(due, "missed")
            self.handled[due.key] = now.isoformat()
            outcomes.append((due.reminder_id, "missed"))
        if missed or result.missed_older:
            count = len(missed) + result.missed_older
            self.actions.say("reminders_missed", count=count)
        await self._save_handled(now)
        ready = [(d, 0) for d in result.due]
        ready += [(d, n) for d, when, n in self.snoozed if when <= now]
        self.snoozed = [s for s in self.snoozed if s[1] > now]
        for due, snoozes in ready:
            outcomes.append((due.reminder_id, await self._ask(due, snoozes)))
        return outcomes

    async def _ask(self, due: Due, snoozes: int) -> str:
        reminder = self.reminders.get(due.reminder_id)
        if reminder is None:  # deleted while waiting
            return "deleted"
        answers = ("taken", "later") if snoozes < MAX_SNOOZES else ("taken",)
        key = "reminder_dose" if reminder.dose else "reminder_due"
        answer = await self.actions.ask("reminder", key, answers, self.answer_timeout,
                                        context={"reminder_id": reminder.id,
                                                 "scheduled_for": due.at.isoformat()},
                                        label=reminder.label, dose=reminder.dose)
        now = self.actions.now()
        if answer == "later":
            self.snoozed.append((due, now + self.snooze, snoozes + 1))
            outcome = "snoozed"
        else:
            outcome = "taken" if answer == "taken" else "no_answer"
        await self._record(due, outcome, snoozes=snoozes)
        self.handled[due.key] = now.isoformat()
        await self._save_handled(now)  # also keeps the snooze across a restart
        return outcome

    async def _record(self, due: Due, answer: str, snoozes: int = 0):
        reminder = self.reminders.get(due.reminder_id)
        await self.actions.record("reminder_answer", {
            "reminder_id": due.reminder_id, "label": reminder.label if reminder else "",
            "scheduled_for": due.at.isoformat(), "answer": answer, "snoozes": snoozes})
