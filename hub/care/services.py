"""Service requests with their life cycle and rating, and "call my family".

Owns: what a service request and a family call-back are, their states, how a
platform ``service_update`` moves them on, what the hub says at each step, and
asking for a rating once a service is done. Does not own the screens (the kiosk
renders ``service.list`` and the prompt) or the wire (events go through the core).

Events it records:

* ``service_request`` {"service", "note"} — the event id is the request id, so the
  platform links updates and the rating to it.
* ``service_rating`` {"request_id", "stars": 1..5, "comment"}.
* ``callback_request`` {"request_id", "contact"}.

Platform ``service_update`` inbox messages carry {"request_id", "status", "text"?,
"at"?} with status one of :data:`STATUSES`; the same message kind moves a
call-back on (``accepted`` = the family member was asked, ``done`` = they called).
"""

from __future__ import annotations

import datetime as dt
import logging

__all__ = ["SERVICES", "STATUSES", "ServiceBook", "RATINGS"]

log = logging.getLogger(__name__)

SERVICES = ("meals", "shopping", "repair", "cleaning", "company", "doctor_visit")
STATUSES = ("requested", "accepted", "scheduled", "on_the_way", "done", "cancelled")
# A status never goes back: an update that arrives late (or twice) changes nothing.
_ORDER = {s: i for i, s in enumerate(STATUSES)}
RATINGS = ("1", "2", "3", "4", "5")
STATE_KEY = "care.services"
KEEP = 50           # requests remembered on the hub (older ones are in the events table)
MAX_NOTE = 200


class ServiceBook:
    """The hub's open and recent requests (a JSON value in the settings table).

    :param actions: a :class:`hub.care.routines.CareActions`.
    :param services: the service types offered in this home.
    """

    def __init__(self, actions, services=SERVICES, *, rating_timeout: float = 600):
        self.actions = actions
        self.services = tuple(services)
        self.rating_timeout = rating_timeout
        self.requests: dict[str, dict] | None = None

    async def _load(self) -> dict[str, dict]:
        if self.requests is None:
            saved = await self.actions.load(STATE_KEY) or {}
            self.requests = saved if isinstance(saved, dict) else {}
        return self.requests

    async def _save(self):
        items = sorted(self.requests.items(), key=lambda kv: kv[1].get("created_at", ""))
        self.requests = dict(items[-KEEP:])
        await self.actions.save(STATE_KEY, self.requests)

    async def request(self, service: str, note: str = "", *, record) -> dict:
        """Ask for a service; ``record(kind, data) -> event`` writes it durably first."""
        if service not in self.services:
            raise ValueError(f"service {service!r} is not one of {', '.join(self.services)}")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ValueError(f"note must be a text of at most {MAX_NOTE} characters")
        event = await record("service_request", {"service": service, "note": note.strip()})
        entry = {"request_id": event["id"], "kind": "service", "service": service,
                 "note": note.strip(), "status": "requested",
                 "created_at": self.actions.now().isoformat(), "history": []}
        (await self._load())[event["id"]] = entry
        await self._save()
        self.actions.say("service_requested")
        return entry

    async def call_family(self, contact: str, *, record) -> dict:
        """Ask the platform to have a family member call back."""
        if not isinstance(contact, str) or not 1 <= len(contact.strip()) <= 80:
            raise ValueError("contact must be a name of 1 to 80 characters")
        event = await record("callback_request", {"contact": contact.strip()})
        entry = {"request_id": event["id"], "kind": "callback", "contact": contact.strip(),
                 "status": "requested", "created_at": self.actions.now().isoformat(),
                 "history": []}
        (await self._load())[event["id"]] = entry
        await self._save()
        self.actions.say("callback_requested", contact=contact.strip())
        return entry

    async def update(self, data: dict) -> dict | None:
        """Apply a platform ``service_update``; returns the entry if it moved on."""
        requests = await self._load()
        entry = requests.get(data.get("request_id"))
        status = data.get("status")
        if entry is None:
            log.warning("service update for unknown request %r", data.get("request_id"))
            return None
        if status not in _ORDER:
            log.warning("service update with unknown status %r", status)
            return None
        if _ORDER[status] <= _ORDER[entry["status"]]:
            return None  # late or repeated
        entry["status"] = status
        entry["history"].append({"status": status, "at": data.get("at"),
                                 "text": data.get("text", "")})
        if data.get("at"):
            entry["at"] = data["at"]
        await self._save()
        self._announce(entry, data)
        return entry

    def _announce(self, entry: dict, data: dict):
        if entry["kind"] == "callback":
            key = {"accepted": "callback_accepted", "done": "callback_done"}.get(entry["status"])
            if key:
                self.actions.say(key, contact=entry["contact"])
            return
        if entry["status"] == "scheduled" and data.get("at"):
            when = _when(data["at"], self.actions)
            if when:
                key, params = when
                self.actions.say(key, **params)
                return
        self.actions.say("service_" + entry["status"])

    async def ask_rating(self, request_id: str, *, record) -> str | None:
        """After a service is done: ask 1-5 (big faces on the kiosk) and send it."""
        requests = await self._load()
        entry = requests.get(request_id)
        if entry is None or entry["kind"] != "service" or entry.get("stars"):
            return None
        answer = await self.actions.ask("service_rating", "service_rate_question", RATINGS,
                                        self.rating_timeout,
                                        context={"request_id": request_id,
                                                 "service": entry["service"]})
        if answer is None or entry.get("stars"):  # rated meanwhile from "My requests"
            return None
        await self.rate(request_id, int(answer), record=record)
        return answer

    async def rate(self, request_id: str, stars: int, comment: str = "", *, record) -> dict:
        """Record a rating (and comment) for a finished service."""
        requests = await self._load()
        entry = requests.get(request_id)
        if entry is None or entry["kind"] != "service":
            raise ValueError(f"no service request {request_id!r}")
        if entry["status"] != "done":
            raise ValueError("a service can be rated once it is done")
        if entry.get("stars"):
            raise ValueError("this service has already been rated")
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise ValueError("stars must be a whole number from 1 to 5")
        if not isinstance(comment, str) or len(comment) > MAX_NOTE:
            raise ValueError(f"comment must be a text of at most {MAX_NOTE} characters")
        await record("service_rating", {"request_id": request_id, "stars": stars,
                                        "comment": comment.strip()})
        entry["stars"] = stars
        await self._save()
        self.actions.say("service_thanks_rating")
        return entry

    async def list(self) -> list[dict]:
        """Requests, newest first."""
        return sorted((await self._load()).values(), key=lambda e: e.get("created_at", ""),
                      reverse=True)


def _when(text: str, actions) -> tuple[str, dict] | None:
    """The phrase key and parameters saying when a scheduled service comes."""
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    local = moment.astimezone(actions.tz())
    today = actions.now().date()
    time = f"{local:%H:%M}"
    if local.date() == today:
        return "service_scheduled_today", {"time": time}
    if local.date() == today + dt.timedelta(days=1):
        return "service_scheduled_tomorrow", {"time": time}
    return "service_scheduled_on", {"month": local.month, "day": local.day, "time": time}
