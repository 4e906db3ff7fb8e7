"""Reminders in family setup (behind the PIN): list, add, delete.

Owns the kiosk side of ``reminder.list``, ``reminder.set`` and ``reminder.delete``
(:mod:`hub.care.service`). Adding takes three small pages, each with few big buttons:

1. **What for?** — medicine, a blood-pressure check, eye drops, a glass of water. The
   label is stored in the hub's language, because the core says it aloud in a
   sentence ("Time for your medicine.").
2. **When?** — a big time with Hour − / Hour + / Minutes − / Minutes + (steps of
   :data:`MINUTE_STEP`), then Next.
3. **Which days?** — seven weekday switches (all on at first), Save. Seven days do not
   fit six choices; this page is for the family and is listed in
   ``theme.MANY_CHOICES_ALLOWED``.

Deleting asks once ("Delete the reminder for medicine at 08:00?"). Reminders from the
care platform appear here too and can be deleted the same way.
"""

import uuid

from kivy.properties import (BooleanProperty, DictProperty, ListProperty, NumericProperty,
                             StringProperty)

from hub.ui.i18n import _
from hub.ui.widgets import BigButton, Body, HubScreen

__all__ = ["RemindersScreen", "ReminderWhatScreen", "ReminderTimeScreen",
           "ReminderDaysScreen", "ReminderDeleteScreen", "SCREENS", "LABELS", "label_words",
           "schedule_words", "day_name", "WEEKDAYS", "MINUTE_STEP", "snooze_label"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE_STEP = 5
#: What a reminder can be for (the family picks one).
LABELS = ("medicine", "blood_pressure", "eye_drops", "water")


def label_words(key: str) -> str:
    """The label as stored and spoken, in the hub's language ("medicine")."""
    return {"medicine": _("medicine"), "blood_pressure": _("blood pressure check"),
            "eye_drops": _("eye drops"), "water": _("glass of water")}.get(key, key)


def label_button(key: str) -> str:
    """The words on the choice ("Medicine")."""
    return {"medicine": _("Medicine"), "blood_pressure": _("Blood pressure"),
            "eye_drops": _("Eye drops"), "water": _("Drink water")}.get(key, key)


def day_name(day: str) -> str:
    """``mon`` → Mon."""
    return {"mon": _("Mon"), "tue": _("Tue"), "wed": _("Wed"), "thu": _("Thu"),
            "fri": _("Fri"), "sat": _("Sat"), "sun": _("Sun")}.get(day, day)


def schedule_words(schedule: dict) -> str:
    """ "08:00 and 20:00, every day" / "08:00, Mon Wed Fri" / "once, 5/12 09:00"."""
    schedule = schedule or {}
    if schedule.get("once"):
        text = str(schedule["once"])
        day, _sep, time = text.partition("T")
        parts = day.split("-")
        when = f"{int(parts[2])}/{int(parts[1])} {time[:5]}" if len(parts) == 3 else text
        return _("once, {when}").format(when=when)
    times = " · ".join(schedule.get("times") or [])
    days = [d for d in WEEKDAYS if d in (schedule.get("weekdays") or WEEKDAYS)]
    if len(days) == 7:
        return _("{times}, every day").format(times=times)
    return _("{times}, on {days}").format(times=times, days=" ".join(day_name(d) for d in days))


class _Family(HubScreen):
    family = True


class RemindersScreen(_Family):
    """The reminders on this hub, two a page; pressing one offers to delete it."""

    reminders = ListProperty([])
    page = NumericProperty(0)
    pages = NumericProperty(1)

    def on_pre_enter(self, *_a):
        self.page = 0
        super().on_pre_enter()

    def on_leave(self, *_a):
        self.message = ""

    def refresh(self):
        self.app.call("reminder.list", self.set_reminders,
                      lambda words, _c: self.say_message(
                          _("Reminders are not available on this hub just now."), error=True))

    def set_reminders(self, reminders):
        self.reminders = sorted((r for r in reminders or [] if isinstance(r, dict)),
                                key=lambda r: ((r.get("schedule") or {}).get("times") or
                                               [str((r.get("schedule") or {}).get("once"))])[0])
        self.rebuild()

    def on_language(self):
        self.rebuild()

    def rebuild(self, *_a):
        if "list" not in self.ids:
            return
        box = self.ids.list
        box.clear_widgets()
        per = self.per_page()
        self.pages = max(1, -(-len(self.reminders) // per))
        self.page = max(0, min(self.page, self.pages - 1))
        if not self.reminders:
            box.add_widget(Body(text=_("No reminders yet. Press “Add a reminder”.")))
            return
        for r in self.reminders[self.page * per:(self.page + 1) * per]:
            btn = BigButton(text=r.get("label", "").capitalize() + "\n" +
                            schedule_words(r.get("schedule")), style="card")
            btn.bind(on_release=lambda _b, rem=r: self.ask_delete(rem))
            box.add_widget(btn)

    def per_page(self) -> int:
        """Two a page; one when two two-line buttons no longer fit (largest text, caption)."""
        app = self.app
        need = 2 * (2 * app.fs_button * 1.45 + app.u * 16) + app.u * 8
        height = self.ids.list.height
        return 2 if height >= need or height < 10 else 1

    def ask_delete(self, reminder: dict):
        self.app.screen("care_reminder_delete").reminder = dict(reminder)
        self.app.go("care_reminder_delete")

    def add(self):
        self.app.screen("care_reminder_what").start()
        self.app.go("care_reminder_what")

    def turn(self, step: int):
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.rebuild()


class ReminderWhatScreen(_Family):
    """Step 1: what the reminder is for."""

    labels = ListProperty(list(LABELS))

    def start(self):
        draft = self.app.screen("care_reminder_time")
        draft.hour, draft.minute = 8, 0
        self.app.screen("care_reminder_days").days = list(WEEKDAYS)

    def choose(self, index: int):
        self.app.screen("care_reminder_days").label = label_words(self.labels[index])
        self.app.go("care_reminder_time")


class ReminderTimeScreen(_Family):
    """Step 2: the time, in big steps."""

    hour = NumericProperty(8)
    minute = NumericProperty(0)

    def change_hour(self, step: int):
        self.hour = (self.hour + step) % 24

    def change_minute(self, step: int):
        self.minute = (self.minute + step * MINUTE_STEP) % 60

    def time_text(self) -> str:
        return f"{int(self.hour):02d}:{int(self.minute):02d}"

    def next(self):
        self.app.screen("care_reminder_days").time = self.time_text()
        self.app.go("care_reminder_days")


class ReminderDaysScreen(_Family):
    """Step 3: which days; Save sends ``reminder.set``."""

    label = StringProperty("")
    time = StringProperty("08:00")
    days = ListProperty(list(WEEKDAYS))
    busy = BooleanProperty(False)

    def on_pre_enter(self, *_a):
        self.message = ""
        self.busy = False

    def toggle(self, day: str):
        self.days = [d for d in WEEKDAYS if (d in self.days) != (d == day)]
        self.message = "" if self.days else _("Choose at least one day.")

    def day_text(self, day: str, days) -> str:
        return day_name(day) + "\n" + (_("On") if day in days else _("Off"))

    def save(self):
        if self.busy:
            return
        if not self.days:
            self.say_message(_("Choose at least one day."), error=True)
            return
        reminder = {"id": "local-" + uuid.uuid4().hex[:12], "label": self.label or
                    label_words("medicine"), "dose": "",
                    "schedule": {"times": [self.time], "weekdays": list(self.days)}}
        self.busy = True

        def done(_saved):
            self.busy = False
            app = self.app
            app.screen("care_reminders").say_message(_("Saved."))
            # Back to the list, as if the three steps were one.
            while app.history and app.history[-1] != "care_reminders":
                app.history.pop()
            app.back()

        def failed(words, _code):
            self.busy = False
            self.say_message(words, error=True)

        self.app.call("reminder.set", done, failed, reminder=reminder)


class ReminderDeleteScreen(_Family):
    """Delete this reminder? Yes, delete / Back."""

    reminder = DictProperty({})

    def on_pre_enter(self, *_a):
        self.message = ""

    def question(self) -> str:
        r = self.reminder
        return _("Delete the reminder for {label} ({when})?").format(
            label=r.get("label", ""), when=schedule_words(r.get("schedule")))

    def delete(self):
        rid = self.reminder.get("id")

        def done(_r):
            self.app.screen("care_reminders").say_message(_("Deleted."))
            self.app.back()

        def failed(words, _code):
            self.say_message(words, error=True)

        self.app.call("reminder.delete", done, failed, id=rid)


SCREENS = [RemindersScreen, ReminderWhatScreen, ReminderTimeScreen, ReminderDaysScreen,
           ReminderDeleteScreen]


def snooze_label() -> str:
    """ "Remind me in 10 minutes", with the core's ``[care] snooze_min``."""
    from kivy.app import App

    from hub.ui.i18n import ngettext

    app = App.get_running_app()
    minutes = int(round(app.cfg.care.snooze_min)) if app is not None and hasattr(
        app, "cfg") else 10
    return ngettext("Remind me in {n} minute", "Remind me in {n} minutes",
                    minutes).format(n=minutes)
