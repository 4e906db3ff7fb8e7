"""What the elder shares with the care platform: categories, and which facts fall in each.

Owns: the consent categories, the category of every kind of fact the hub sends,
and reading/checking the stored choice. The store asks :func:`shares` before it
puts anything in the outbox, so a fact of a category switched off never leaves
the hub (it stays in the local tables under the retention rules).

As decided
----------
* Alarms are always shared: SOS events, the hub's own faults (``alert`` with a
  ``reason``) and the consent record itself (the platform must know what it will
  not receive).
* Until the elder (with family) has chosen, every category is shared: the hub is
  installed by a care programme for that purpose, and the setup screen asks.
  The record says ``chosen: false`` until then.
* A kind the table does not know is shared only if it is an alarm; otherwise it
  is treated as ``activity``. New kinds must be added here (a test lists them).
"""

from __future__ import annotations

import datetime as dt
import logging

__all__ = ["CATEGORIES", "SETTING_KEY", "category", "shares", "normalise", "default_consent",
           "stamped"]

log = logging.getLogger(__name__)

SETTING_KEY = "care.consent"
CATEGORIES = ("health", "checkins", "activity", "services")

_BY_KIND = {
    "reading": "health",
    "reminder_answer": "health",        # medicines taken or missed
    "checkin": "checkins",
    "checkin_answer": "checkins",
    "checkin_missed": "checkins",
    "motion": "activity",
    "door": "activity",
    "service_request": "services",
    "service_rating": "services",
    "feedback": "services",
    "callback_request": "services",
    "message_read": "services",
}
_ALWAYS = ("consent",)
# Alerts carry the rule that raised them.
_ALERT_RULES = {"inactivity": "activity", "night_door": "activity"}


def category(kind: str, data: dict | None = None) -> str | None:
    """The consent category of a fact, or None for what is always shared."""
    if kind.startswith("sos_") or kind in _ALWAYS:
        return None
    if kind == "alert":
        data = data or {}
        if "reading_id" in data or "kind" in data:
            return "health"     # a health device's alert (threshold, failed measurement)
        if "rule" in data:
            return _ALERT_RULES.get(data["rule"], "activity")
        return None             # the hub's own faults (damaged database, ...)
    return _BY_KIND.get(kind, "activity")


def default_consent() -> dict:
    """Everything shared, not yet chosen."""
    return {**{c: True for c in CATEGORIES}, "chosen": False, "changed_at": None}


def normalise(value) -> dict:
    """A stored or requested consent as a complete record; ValueError says what is wrong."""
    if value is None:
        return default_consent()
    if not isinstance(value, dict):
        raise ValueError("consent must be an object like {\"health\": true, ...}")
    unknown = set(value) - set(CATEGORIES) - {"chosen", "changed_at", "by"}
    if unknown:
        raise ValueError(f"unknown consent categories {sorted(unknown)}; "
                         f"known: {', '.join(CATEGORIES)} (alarms are always shared)")
    record = default_consent()
    for name in CATEGORIES:
        if name in value:
            if not isinstance(value[name], bool):
                raise ValueError(f"consent {name} must be true or false")
            record[name] = value[name]
    for key in ("chosen", "changed_at", "by"):
        if key in value:
            record[key] = value[key]
    return record


def shares(consent: dict | None, table: str, body: dict) -> bool:
    """Tell whether an outbox item may go to the platform under ``consent``.

    :param table: ``events`` or ``readings``.
    :param body: the item's wire form (events have ``type`` and ``data``).
    """
    if table == "readings":
        name = "health"
    else:
        name = category(str(body.get("type", "")), body.get("data"))
    if name is None:
        return True
    try:
        return bool(normalise(consent)[name])
    except ValueError:
        log.error("the stored consent is damaged; %s is kept on the hub until it is set again",
                  name)
        return False


def stamped(consent: dict, by: str, now: dt.datetime) -> dict:
    """The record as chosen now by ``by`` (``touch``, ``voice``, ``cli``...)."""
    return {**normalise(consent), "chosen": True, "by": by,
            "changed_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds")}
