"""The hub ↔ care-platform wire protocol, version 1: paths, message shapes and their rules.

This module owns what both ends must agree on — the ``/v1`` paths, the per-event
result words, the inbox message kinds, the batch limits and the validation the
platform applies to each event (the reference receiver calls :func:`validate_event`,
so the hub and its bench receiver can never drift apart). ``docs/platform-api.yaml``
is the same contract written as OpenAPI 3.

It does not do HTTP (:mod:`hub.sync.client`), decide when to send
(:mod:`hub.sync.worker`) or know the FHIR shape (:mod:`hub.sync.fhir`).
"""

import datetime as dt
import hashlib
import json
import re
import uuid

__all__ = [
    "API_VERSION",
    "ENROLL_PATH",
    "EVENTS_PATH",
    "INBOX_PATH",
    "PING_PATH",
    "ACCEPTED",
    "DUPLICATE",
    "REJECTED",
    "RETRY",
    "RESULT_STATUSES",
    "DELIVERED_STATUSES",
    "INBOX_KINDS",
    "EVENT_TYPES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_BYTES",
    "MAX_REQUEST_BYTES",
    "GZIP_MIN_BYTES",
    "encode",
    "canonical",
    "content_digest",
    "is_sos",
    "minimal_sos",
    "validate_event",
    "validate_inbox_message",
]

API_VERSION = "v1"
ENROLL_PATH = "/v1/enroll"
EVENTS_PATH = "/v1/events"
INBOX_PATH = "/v1/inbox"
PING_PATH = "/v1/ping"

# Per-event results of POST /v1/events. "duplicate" means the platform already had
# this id with the same content: for the hub it is as good as "accepted".
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
RETRY = "retry"
RESULT_STATUSES = (ACCEPTED, DUPLICATE, REJECTED, RETRY)
DELIVERED_STATUSES = frozenset({ACCEPTED, DUPLICATE})

#: What the platform can put in a hub's inbox.
INBOX_KINDS = ("sos_ack", "sos_resolved", "reminder", "message", "service_update", "config")

#: Event types the hub sends, with the keys their ``data`` must hold. Unknown but
#: well-formed types are accepted, so a newer hub can talk to an older platform.
#: ``sos_countdown`` and ``sos_cancelled`` go out because the care centre must know an
#: elder started an alarm and stopped it (a pattern of cancelled alarms is worth a
#: visit). ``sos_delivered`` and ``sos_acknowledged`` are *not* sent: they are the
#: hub's local record of what the platform itself told it.
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "reading": (),
    "sos_countdown": (),
    "sos_raised": (),
    "sos_pressed_again": (),
    "sos_cancelled": (),
    "sos_resolved": (),
    "sos_escalated": (),
    "checkin": (),
    "alert": (),
    "service_request": ("service",),
    "service_rating": ("request_id", "stars"),
    "checkin_missed": ("window_start", "window_end"),
    "reminder_answer": ("reminder_id", "scheduled_for", "answer"),
    "callback_request": ("contact",),
    "consent": (),
}

# Batch limits: a batch is bounded by count and by uncompressed bytes, so one huge
# event cannot make a request the platform (or a 3G uplink) chokes on.
MAX_BATCH_EVENTS = 5000
MAX_BATCH_BYTES = 1_000_000
#: The platform refuses (413) any request body larger than this, compressed or not.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Request bodies at least this big are sent gzip-compressed (Content-Encoding: gzip).
GZIP_MIN_BYTES = 4096

_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)


def encode(obj) -> bytes:
    """Serialise a wire object compactly (UTF-8 JSON, no NaN: JSON has none)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _canonical_value(obj):
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 2 ** 53:
        return int(obj)
    if isinstance(obj, dict):
        return {k: _canonical_value(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_canonical_value(v) for v in obj]
    return obj


def canonical(obj) -> bytes:
    """The canonical JSON of a wire object: what "same content" means for idempotency.

    Keys sorted (by code point), no whitespace, UTF-8 without ``\\u`` escapes (except
    those JSON requires), numbers by value (``1.0`` is written ``1``; other numbers in
    their shortest round-trip form). Two events are the *same content* when their
    canonical JSON is byte-identical (docs/platform-api.yaml, "Idempotency").
    """
    return json.dumps(_canonical_value(obj), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def content_digest(obj) -> str:
    """SHA-256 (hex) of :func:`canonical`: what a platform keeps per event id."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def is_sos(event) -> bool:
    """True for an ``sos_*`` event: a platform never refuses one."""
    return isinstance(event, dict) and isinstance(event.get("type"), str) \
        and event["type"].startswith("sos_")


def minimal_sos(body: dict, *, hub_id: str | None, now: str) -> dict:
    """The smallest valid form of an SOS event, sent when the platform refused the full one.

    It keeps what a care centre needs to send help — the ids, the time, the hub and
    the source — and drops everything else (``data`` only says it is the minimal form).
    A field that is itself malformed is replaced, never left to be refused again.

    :param body: the event as first sent.
    :param now: an RFC 3339 time, used when the event's own time is unusable.
    """
    kind = body.get("type") if isinstance(body.get("type"), str) else ""
    if not (kind.startswith("sos_") and _TYPE_RE.fullmatch(kind)):
        kind = "sos_raised"
    event_id = body.get("id")
    sos_id = body.get("sos_id") if _is_uuid(body.get("sos_id")) else event_id
    occurred = body.get("occurred_at") if _is_time(body.get("occurred_at")) else now
    source = body.get("source") if isinstance(body.get("source"), str) \
        and body["source"][:32].isidentifier() else "hub"
    return {"id": event_id, "type": kind, "sos_id": sos_id, "occurred_at": occurred,
            "clock_synced": body.get("clock_synced") if body.get("clock_synced") in (
                True, False) else None,
            "source": source[:32], "hub_id": hub_id, "data": {"minimal": True}}


def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_time(value) -> bool:
    if not isinstance(value, str) or not _RFC3339_RE.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_event(event) -> str | None:
    """Check one event of a batch the way the platform does.

    :param event: the decoded JSON object.
    :returns: None when it is acceptable, else the reason in words (sent back to the
        hub as the ``rejected`` reason, and shown in ``hub status``).
    """
    if not isinstance(event, dict):
        return "an event must be a JSON object"
    if not _is_uuid(event.get("id")):
        return f"id {event.get('id')!r} is not a UUID"
    kind = event.get("type")
    if not isinstance(kind, str) or not _TYPE_RE.fullmatch(kind):
        return f"type {kind!r} is not a lower-case name (a-z, 0-9, _)"
    if "clock_synced" in event and event["clock_synced"] not in (True, False, None):
        return "clock_synced must be true, false or null"
    if kind == "reading":
        return _validate_reading(event)
    if not _is_time(event.get("occurred_at")):
        return f"occurred_at {event.get('occurred_at')!r} is not an RFC 3339 time"
    data = event.get("data", {})
    if not isinstance(data, dict):
        return "data must be a JSON object"
    if kind.startswith("sos_") and not _is_uuid(event.get("sos_id")):
        return f"{kind} needs the alarm's sos_id (a UUID), got {event.get('sos_id')!r}"
    missing = [k for k in EVENT_TYPES.get(kind, ()) if k not in data]
    if missing:
        return f"{kind} data lacks {', '.join(missing)}"
    return None


def _validate_reading(event: dict) -> str | None:
    if not isinstance(event.get("kind"), str) or not event["kind"]:
        return "a reading needs a kind (e.g. blood_pressure)"
    if not _is_time(event.get("measured_at")):
        return f"measured_at {event.get('measured_at')!r} is not an RFC 3339 time"
    values = event.get("values")
    if not isinstance(values, dict) or not values:
        return "a reading needs at least one value"
    bad = [k for k, v in values.items() if v is not None and not _is_number(v)]
    if bad:
        return f"values {', '.join(sorted(bad))} are not numbers"
    if not isinstance(event.get("units", {}), dict):
        return "units must be a JSON object"
    return None


def validate_inbox_message(message) -> str | None:
    """Check one inbox message the hub received.

    :returns: None when it can be applied, else the reason.
    """
    if not isinstance(message, dict):
        return "an inbox message must be a JSON object"
    if not isinstance(message.get("id"), str) or not message["id"]:
        return "an inbox message needs an id"
    if not isinstance(message.get("kind"), str) or not message["kind"]:
        return f"inbox message {message['id']} has no kind"
    if not isinstance(message.get("data", {}), dict):
        return f"inbox message {message['id']}: data must be a JSON object"
    if message["kind"] in ("sos_ack", "sos_resolved") and not message.get("data", {}).get(
        "sos_id"
    ):
        return f"inbox message {message['id']}: {message['kind']} needs data.sos_id"
    return None
