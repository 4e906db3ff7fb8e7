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
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "reading": (),
    "sos_countdown": (),
    "sos_raised": (),
    "sos_pressed_again": (),
    "sos_cancelled": (),
    "sos_delivered": (),
    "sos_acknowledged": (),
    "sos_resolved": (),
    "sos_escalated": (),
    "checkin": (),
    "alert": (),
    "service_request": (),
    "service_rating": (),
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
