"""The core extension that runs the daily check-in and reminders.

Owns: wiring :mod:`hub.care.routines` to the running core — its questions, events,
speech and settings table — plus the reminder commands of the local API and
reminders arriving in the platform's inbox, and the ``consent.*`` commands (the
store enforces the choice in the outbox: :mod:`hub.care.consent`). Does not own the
decisions (see
:mod:`hub.care.checkin` and :mod:`hub.care.schedule`).

Reminders from the platform's inbox (kind ``reminder``), ``data``:

* ``{"id", "label", "schedule": {"times": [...], "weekdays": [...]} | {"once": ...},
  "dose"?}`` adds or replaces a reminder;
* ``{"id", "deleted": true}`` removes one;
* the older form ``{"text", "at", "repeat": "daily"?}`` is read as a reminder at
  ``at``'s local time (daily, or once).

Time: reminders follow the home's time zone (``/etc/localtime``, as set by
``hub provision``), daylight saving included. They also run before NTP has
synchronised the clock — an elder without network still needs them — and the
planner never fires a long gap's reminders at once (see :mod:`hub.care.schedule`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.care.checkin import CheckinWindow
from hub.care.consent import CATEGORIES, SETTING_KEY, normalise, stamped
from hub.care.routines import DailyCheckin, Reminder, Reminders
from hub.care.services import SERVICES, ServiceBook
from hub.phrases import phrase
from hub.store import PRIORITY_ALERT, PRIORITY_NORMAL

__all__ = ["run_care", "CoreCareActions", "local_zone", "reminder_from_inbox"]

log = logging.getLogger(__name__)

CHECK_EVERY_S = 20.0


def local_zone() -> ZoneInfo:
    """The home's time zone: $TZ, else /etc/localtime's target, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with_file = Path("/etc/timezone")
    if with_file.exists():
        candidates.append(with_file.read_text(errors="replace").strip())
    for name in candidates:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def reminder_from_inbox(message: dict, tz: ZoneInfo) -> Reminder | str:
    """A platform reminder message as a :class:`Reminder`, or the id to delete.

    :raises ValueError: the message cannot be understood (the text says why).
    """
    data = message.get("data") or {}
    rid = data.get("id") or message.get("id")
    if data.get("deleted"):
        if not isinstance(rid, str):
            raise ValueError("a reminder deletion needs the reminder's id")
        return rid
    if "schedule" in data:
        return Reminder.from_dict({"id": rid, "label": data.get("label") or data.get("text"),
                                   "schedule": data["schedule"], "dose": data.get("dose", "")})
    if "at" in data:  # the first contract's form
        try:
            moment = dt.datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"reminder at {data['at']!r} is not an RFC 3339 time") from None
        local = moment.astimezone(tz) if moment.tzinfo else moment
        schedule = ({"times": [local.strftime("%H:%M")]} if data.get("repeat") == "daily"
                    else {"once": local.replace(tzinfo=None).isoformat(timespec="minutes")})
        return Reminder.from_dict({"id": rid, "label": data.get("label") or data.get("text"),
                                   "schedule": schedule, "dose": data.get("dose", "")})
    raise ValueError("a reminder needs a schedule (or 'at'), or deleted: true")


class CoreCareActions:
    """:class:`hub.care.routines.CareActions` on the real core."""

    def __init__(self, core, tz: ZoneInfo):
        self.core = core
        self._tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self._tz)

    def tz(self) -> ZoneInfo:
        return self._tz

    async def ask(self, kind, question_key, answers, timeout, *, context=None, **params):
        return await self.core.ask(kind, question_key, answers=tuple(answers), timeout=timeout,
                                   context=context, **params)

    async def record(self, kind, data, *, alert=False):
        await self.core.record_event(kind, data, source="hub",
                                     priority=PRIORITY_ALERT if alert else PRIORITY_NORMAL)

    def say(self, phrase_key, **params):
        self.core.speaker.say(phrase(phrase_key, self.core.language, **params))

    async def load(self, key):
        return await self.core.db(self.core.store.get_setting, key, None)

    async def save(self, key, value):
        await self.core.db(self.core.store.set_setting, key, value)


async def _keep_checking(name: str, check, wake: asyncio.Event | None = None):
    while True:
        try:
            await check()
        except asyncio.CancelledError:
            raise
        except Exception:  # a full disk or a damaged setting must not end the routine
            log.exception("%s check failed; trying again in %.0f s", name, CHECK_EVERY_S)
        if wake is None:
            await asyncio.sleep(CHECK_EVERY_S)
            continue
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), CHECK_EVERY_S)
        wake.clear()


async def run_care(core, *, tz: ZoneInfo | None = None) -> None:
    """The core extension: check-in and reminders, plus ``reminder.*`` commands."""
    cfg = core.config.care
    tz = tz or local_zone()
    actions = CoreCareActions(core, tz)
    reminders = Reminders(actions, grace=dt.timedelta(minutes=cfg.reminder_grace_min),
                          answer_timeout=cfg.reminder_answer_min * 60,
                          snooze=dt.timedelta(minutes=cfg.snooze_min))
    checkin = None
    if cfg.checkin_enabled:
        window = CheckinWindow(_hhmm(cfg.checkin_start), _hhmm(cfg.checkin_end),
                               grace=dt.timedelta(minutes=cfg.checkin_grace_min))
        checkin = DailyCheckin(window, actions, answer_timeout=cfg.checkin_grace_min * 60)
    core.care = reminders
    changed = asyncio.Event()  # a reminder set for now is asked now, not 20 s later
    pending: set[asyncio.Task] = set()

    def later(coro):
        task = asyncio.ensure_future(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    def on_event(event: dict):
        answered_yes = event.get("kind") == "checkin_answer" and (
            event.get("payload") or {}).get("answer") == "yes"
        if checkin and (event.get("kind") == "checkin" or answered_yes):
            later(checkin.checked_in())

    book = ServiceBook(actions, SERVICES, rating_timeout=cfg.reminder_answer_min * 60)
    core.services = book

    def recorder(source):
        async def record(kind, data):
            return await core.record_event(kind, data, source=source, priority=PRIORITY_NORMAL)
        return record

    record = recorder("hub")

    async def service_update(message: dict):
        entry = await book.update(message.get("data") or {})
        if entry and entry["kind"] == "service" and entry["status"] == "done":
            await book.ask_rating(entry["request_id"], record=record)

    async def apply(message: dict):
        try:
            found = reminder_from_inbox(message, tz)
        except ValueError as exc:
            log.error("platform reminder %s not understood: %s", message.get("id"), exc)
            return
        if isinstance(found, str):
            await reminders.remove(found)
        else:
            await reminders.put(found)
        changed.set()

    def on_inbox(message: dict):
        if message.get("kind") == "reminder":
            later(apply(message))
        elif message.get("kind") == "service_update":
            later(service_update(message))

    async def cmd_list():
        await reminders.load()
        return [r.to_dict() for r in reminders.reminders.values()]

    async def cmd_set(reminder):
        found = Reminder.from_dict(reminder)
        await reminders.put(found)
        changed.set()
        return found.to_dict()

    async def cmd_delete(id):
        if not await reminders.remove(id):
            raise ValueError(f"no reminder {id!r}")
        return {"id": id}

    async def cmd_consent_get():
        return normalise(await core.db(core.store.get_setting, SETTING_KEY, None))

    async def cmd_consent_set(consent, source="cli"):
        record = stamped(consent, source, dt.datetime.now(dt.timezone.utc))

        def save_and_withhold():
            core.store.set_setting(SETTING_KEY, record)
            return core.store.withhold_pending()

        dropped = await core.db(save_and_withhold)
        await core.record_event("consent", record, source="hub", priority=PRIORITY_ALERT)
        log.info("consent changed: %s; %d queued item(s) kept on the hub",
                 ", ".join(f"{c} {'on' if record[c] else 'off'}" for c in CATEGORIES), dropped)
        return {**record, "withheld": dropped}

    async def cmd_service_request(service, note="", source="cli"):
        return await book.request(service, note, record=recorder(source))

    async def cmd_service_rate(request_id, stars, comment="", source="cli"):
        return await book.rate(request_id, stars, comment, record=recorder(source))

    async def cmd_family_call(contact, source="cli"):
        return await book.call_family(contact, record=recorder(source))

    async def cmd_service_types():
        return list(book.services)

    core.register_command("service.types", cmd_service_types, "the services one can ask for")
    core.register_command("service.request", cmd_service_request,
                          "ask for a service (args: service, note optional)")
    core.register_command("service.list", book.list,
                          "service and call-back requests with their state, newest first")
    core.register_command("service.rate", cmd_service_rate,
                          "rate a finished service (args: request_id, stars 1-5, comment)")
    core.register_command("family.call", cmd_family_call,
                          "ask the platform to have a family member call (args: contact)")
    core.register_command("consent.get", cmd_consent_get,
                          "what the elder shares with the platform (alarms always)")
    core.register_command("consent.set", cmd_consent_set,
                          "choose what is shared (args: consent {health, checkins, activity, "
                          "services: true|false})")
    core.register_command("reminder.list", cmd_list, "the reminders set on this hub")
    core.register_command("reminder.set", cmd_set,
                          "add or replace a reminder (args: reminder {id, label, schedule, dose})")
    core.register_command("reminder.delete", cmd_delete, "delete a reminder (args: id)")
    core.add_listener("event", on_event)
    core.add_listener("inbox", on_inbox)
    log.info("care: check-in %s, %d reminder(s), time zone %s",
             f"{cfg.checkin_start}–{cfg.checkin_end}" if checkin else "off",
             len((await core.db(core.store.get_setting, "care.reminders", None)) or []), tz.key)
    loops = [asyncio.ensure_future(_keep_checking("reminders", reminders.check, changed))]
    if checkin:
        loops.append(asyncio.ensure_future(_keep_checking("check-in", checkin.check)))
    try:
        await asyncio.gather(*loops)
    finally:
        for task in [*loops, *pending]:
            task.cancel()
        core.remove_listener("event", on_event)
        core.remove_listener("inbox", on_inbox)
        if getattr(core, "care", None) is reminders:
            core.care = None
