"""Times, dates, greetings and status lines in words, in the current language.

Pure functions (no Kivy): the screens call them and tests check them. Times arrive
in UTC (RFC 3339) and are shown in local time; ``now`` is always passed in, so a
test can fix the clock. Month and weekday names come from the catalogs rather than
the C locale, which a kiosk image rarely has installed for all three languages.
"""

import datetime as dt

from hub.ui.i18n import _, language, ngettext

__all__ = ["clock_text", "date_text", "greeting", "when_words", "parse_utc", "local",
           "status_line", "weekday_short", "sentences"]


def _weekdays():
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")]


def _weekdays_short():
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _months():
    return [_("January"), _("February"), _("March"), _("April"), _("May"), _("June"),
            _("July"), _("August"), _("September"), _("October"), _("November"),
            _("December")]


def parse_utc(stamp: str) -> dt.datetime:
    """An RFC 3339 time (``…Z`` or with an offset) as an aware datetime."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def local(moment: dt.datetime) -> dt.datetime:
    """The same moment in this machine's local time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone()


def clock_text(now: dt.datetime) -> str:
    """``14:05`` — a 24-hour clock, the same in every language."""
    return f"{now.hour}:{now.minute:02d}"


def date_text(now: dt.datetime) -> str:
    """``Tuesday, 25 November`` / ``11月25日 星期二`` / ``11월 25일 화요일``."""
    return _("{weekday}, {day} {month}").format(
        weekday=_weekdays()[now.weekday()], day=now.day, month=_months()[now.month - 1],
        month_number=now.month)


def weekday_short(day: dt.date) -> str:
    """``Mon`` … for chart labels."""
    return _weekdays_short()[day.weekday()]


def greeting(now: dt.datetime, name: str = "") -> str:
    """``Good morning, Mary`` (or without a name)."""
    h = now.hour
    if 5 <= h < 12:
        hello = _("Good morning")
    elif 12 <= h < 18:
        hello = _("Good afternoon")
    else:
        hello = _("Good evening")
    name = (name or "").strip()
    return _("{greeting}, {name}").format(greeting=hello, name=name) if name else hello


def _part_of_day(h: int) -> str:
    if 5 <= h < 12:
        return "morning"
    if 12 <= h < 18:
        return "afternoon"
    if 18 <= h < 23:
        return "evening"
    return "night"


def when_words(moment: dt.datetime, now: dt.datetime) -> str:
    """When something happened, as a person says it: ``this morning, 8:05``,
    ``yesterday evening, 19:30``, ``Monday, 8:05``, ``3 March, 8:05``."""
    moment, now = local(moment), local(now)
    hhmm = clock_text(moment)
    days = (now.date() - moment.date()).days
    part = _part_of_day(moment.hour)
    if days == 0:
        if (now - moment).total_seconds() < 120:
            return _("just now")
        label = {"morning": _("this morning"), "afternoon": _("this afternoon"),
                 "evening": _("this evening"), "night": _("tonight")}[part]
    elif days == 1:
        label = {"morning": _("yesterday morning"), "afternoon": _("yesterday afternoon"),
                 "evening": _("yesterday evening"), "night": _("last night")}[part]
    elif 1 < days < 7:
        label = _weekdays()[moment.weekday()]
    else:
        label = _("{day} {month}").format(day=moment.day, month=_months()[moment.month - 1],
                                          month_number=moment.month)
    return _("{when}, {time}").format(when=label, time=hhmm)


def status_line(sync: dict | None, waiting: int | None, connected: bool) -> str:
    """The line at the bottom of Home, in words.

    :param sync: the core's last ``sync`` push (``state``, ``message``).
    :param waiting: how many records wait in the outbox (None: unknown).
    """
    if not connected:
        return _("Starting — please wait")
    state = (sync or {}).get("state")
    n = waiting or 0
    if state == "ok":
        if n == 0:
            return _("Connected — all sent")
        return ngettext("Connected — sending {n} item", "Connected — sending {n} items",
                        n).format(n=n)
    if state == "offline":
        return ngettext("No internet — {n} item waiting, SOS still works",
                        "No internet — {n} items waiting, SOS still works", n).format(n=n)
    if state == "unauthorized":
        return _("The care centre does not know this hub — family: see Setup")
    if state == "not_configured":
        return _("Not linked to a care centre yet — family: see Setup")
    if state == "error":
        return _("Problem sending — the hub keeps trying, SOS still works")
    return _("Connecting to the care centre…")


def sentences(*parts: str) -> str:
    """Join sentences the way the language does (Chinese: no space after 。)."""
    sep = "" if language() == "zh_CN" else " "
    return sep.join(p.strip() for p in parts if p and p.strip())
