"""The elder's own data as one JSON document, for the family to take away.

Owns: choosing what goes in (everything the hub knows about the elder: readings,
events, platform messages, reminders, service requests, consent, settings) and
what never does (the device token, the setup PIN and its hash). The FHIR form of
the readings is :mod:`hub.sync.fhir`'s job; ``hub export`` writes either or both.
"""

from __future__ import annotations

import json

from hub import __version__
from hub.clock import to_rfc3339, utc_now

__all__ = ["export_document", "SECRET_WORDS"]

# A setting whose key holds one of these is never exported.
SECRET_WORDS = ("pin", "token", "secret", "password", "code")


def export_document(store, *, hub_id: str, since: str | None = None) -> dict:
    """Everything about the elder in ``store``, as plain JSON-ready data."""
    settings = {}
    for row in store.db.execute("SELECT key, value FROM settings ORDER BY key"):
        key, value = row
        if any(word in key.lower() for word in SECRET_WORDS):
            continue
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    events = store.events()
    if since:
        events = [e for e in events if e["occurred_at"] >= since]
    return {
        "format": "elder-hub-export/1",
        "exported_at": to_rfc3339(utc_now()),
        "hub_id": hub_id,
        "hub_version": __version__,
        "since": since,
        "consent": settings.get("care.consent"),
        "reminders": settings.get("care.reminders", []),
        "service_requests": list((settings.get("care.services") or {}).values()),
        "settings": {k: v for k, v in settings.items() if not k.startswith("care.")},
        "readings": store.readings(since=since),
        "events": events,
        "messages": store.inbox(),
    }

