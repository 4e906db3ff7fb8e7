"""Checks on everything a local API client sends, in one place, before any handler runs.

The core's socket is reachable by every member of the socket group, so a request is
untrusted input: a line is parsed with finite numbers only, bounded nesting and no
lone surrogates (:func:`parse_request`); each command's arguments are checked by type
and range against :data:`ARGS` (:func:`check_args`); each family setting against
:data:`SETTINGS` (:func:`check_setting`). Every failure is a :class:`BadRequest`
whose words say which argument is wrong and what is allowed — the core answers it
with ``bad_request`` and never reaches a handler with a value it cannot use.

This module does not decide *who* may run a command (that is :mod:`hub.api`'s
role table, applied by the core) and does not judge whether a health value is
plausible (that belongs to the readings' own table).

Hand-written rather than jsonschema/pydantic: neither rejects NaN against a range
or lone surrogates out of the box, and the core should not pull a validation
framework onto a Pi for twenty small argument lists.
"""

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from hub.clock import to_rfc3339

__all__ = ["BadRequest", "parse_request", "check_args", "check_setting", "ARGS", "SETTINGS",
           "CLIENT_NAMES", "MAX_DEPTH"]

#: Deepest nesting of arrays/objects accepted in a request.
MAX_DEPTH = 16
#: Most bytes a free-form object argument (event data, reading extra) may take as JSON.
MAX_OBJECT_BYTES = 16 * 1024
#: What a client may say it is in ``hello``, and the source its actions are recorded with.
CLIENT_NAMES = {"kiosk": "touch", "voice": "voice", "cli": "api", "simulator": "simulator"}

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class BadRequest(ValueError):
    """A request the core will not act on; the words say what is wrong."""


# -- parsing a line ------------------------------------------------------------------

def _no_constant(name):
    raise BadRequest(f"{name} is not a number the hub accepts; send a finite number")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"the number {text} is too large; send a finite number")
    return value


def parse_request(line: bytes) -> dict:
    """Parse one request line into ``{"id", "cmd", "args"}``.

    :raises BadRequest: not UTF-8 JSON, not an object with a ``cmd`` text, ``args`` not
        an object, a non-finite number, nesting deeper than :data:`MAX_DEPTH`, or a
        lone surrogate in any text.
    """
    try:
        msg = json.loads(line, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadRequest(f"the request is nested too deeply (at most {MAX_DEPTH} levels)"
                         ) from None
    except BadRequest:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise BadRequest(f"not a JSON line: {exc}") from None
    _check_tree(msg, 0)
    if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
        raise BadRequest("a request is an object with a 'cmd' text")
    args = msg.get("args")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BadRequest("'args' must be an object")
    req_id = msg.get("id")
    if not (req_id is None or isinstance(req_id, (int, str)) and not isinstance(req_id, bool)):
        req_id = None  # answered, but a request id is a number or a text
    return {"id": req_id, "cmd": msg["cmd"], "args": args}


def _check_tree(value, depth: int):
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise BadRequest("a text contains a lone surrogate (not valid Unicode)")
        return
    if isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            raise BadRequest(f"the request is nested too deeply (at most {MAX_DEPTH} levels)")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_tree(key, depth + 1)
            _check_tree(item, depth + 1)


# -- argument checkers: each takes (name, value) and returns the value to use ------------

Check = Callable[[str, object], object]


def text(max_len: int = 200, *, empty: bool = False, control: bool = False) -> Check:
    """A text of at most ``max_len`` characters (not empty unless allowed)."""
    def check(name, value):
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a text, not {_kind(value)}")
        if not empty and not value.strip():
            raise BadRequest(f"{name} must not be empty")
        if len(value) > max_len:
            raise BadRequest(f"{name} is {len(value)} characters long; at most {max_len}")
        if not control and _CONTROL.search(value):
            raise BadRequest(f"{name} must not contain control characters")
        if _SURROGATE.search(value):
            raise BadRequest(f"{name} contains a lone surrogate (not valid Unicode)")
        return value
    return check


def choice(*allowed: str) -> Check:
    """One of the given texts."""
    def check(name, value):
        if not isinstance(value, str) or value not in allowed:
            raise BadRequest(f"{name} {_show(value)} is not one of {', '.join(allowed)}")
        return value
    return check


def boolean(name, value):
    """true or false."""
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, not {_kind(value)}")
    return value


def integer(lo: int, hi: int) -> Check:
    """A whole number in [lo, hi] (a float with no fraction counts)."""
    def check(name, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{name} must be a whole number, not {_kind(value)}")
        if not lo <= value <= hi:
            raise BadRequest(f"{name} = {value} is out of range; allowed {lo} to {hi}")
        return value
    return check


def number(lo: float, hi: float) -> Check:
    """A finite number in [lo, hi]."""
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"{name} must be a number, not {_kind(value)}")
        if not _finite(value) or not lo <= value <= hi:
            shown = _show(value) if _finite(value) else repr(value)
            raise BadRequest(f"{name} = {shown} is out of range; allowed {lo:g} to {hi:g}")
        return value
    return check


def fact_id(name, value):
    """A UUID: a client-made id is the platform's idempotency key."""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a UUID text, not {_kind(value)}; leave it out and "
                         "the core makes one")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"{name} {_show(value)} is not a UUID; leave it out and the core "
                         "makes one") from None


def timestamp(name, value):
    """An RFC 3339 time with an offset, e.g. 2026-11-25T08:00:00Z; returned in UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest(f"{name} must be an RFC 3339 time text such as "
                         f"2026-11-25T08:00:00Z, not {_kind(value)}")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(f"{name} {_show(value)} is not an RFC 3339 time with an offset, "
                         "e.g. 2026-11-25T08:00:00Z")
    if not 1970 <= moment.astimezone(dt.timezone.utc).year <= 2200:
        raise BadRequest(f"{name} {_show(value)} is out of range")
    return to_rfc3339(moment)


def obj(max_keys: int = 50) -> Check:
    """A JSON object of at most ``max_keys`` keys and :data:`MAX_OBJECT_BYTES` bytes."""
    def check(name, value):
        if not isinstance(value, dict):
            raise BadRequest(f"{name} must be an object, not {_kind(value)}")
        if len(value) > max_keys:
            raise BadRequest(f"{name} has {len(value)} keys; at most {max_keys}")
        if len(json.dumps(value, ensure_ascii=False)) > MAX_OBJECT_BYTES:
            raise BadRequest(f"{name} is larger than {MAX_OBJECT_BYTES} bytes")
        return value
    return check


def text_list(*allowed: str) -> Check:
    """A list of distinct texts, each one of ``allowed``."""
    def check(name, value):
        if not isinstance(value, list) or len(value) > len(allowed):
            raise BadRequest(f"{name} must be a list of: {', '.join(allowed)}")
        for item in value:
            if item not in allowed:
                raise BadRequest(f"{name}: {_show(item)} is not one of {', '.join(allowed)}")
        return value
    return check


def optional(check: Check) -> Check:
    """``check``, or null."""
    def wrapped(name, value):
        return None if value is None else check(name, value)
    return wrapped


def passkey(name, value):
    """A device's pairing PIN: up to six digits, as a text or a number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999_999:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value):
        return value
    raise BadRequest(f"{name} must be the number the device shows (up to 6 digits)")


def _reading_values(name, value):
    value = obj(30)(name, value)
    if not value:
        raise BadRequest(f"{name} needs at least one value")
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (int, float)) or \
                not _finite(item) or abs(item) > 1e12:
            raise BadRequest(f"{name}.{key} must be a finite number, not {_kind(item)}")
    return value


def _reading_units(name, value):
    value = obj(30)(name, value)
    for key, item in value.items():
        text(20)(f"{name}.{key}", item)
    return value


_READING = {
    "kind": text(40),
    "values": _reading_values,
    "units": _reading_units,
    "id": optional(fact_id),
    "measured_at": optional(timestamp),
    "device_time": optional(text(64)),
    "device": optional(obj(20)),
    "extra": optional(obj(50)),
    "clock_synced": optional(boolean),
}


def reading(name, value):
    """A health reading: ``kind``, ``values`` (name → finite number), ``units`` and
    optional ``id``, ``measured_at``, ``device_time``, ``device``, ``extra``."""
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be an object, not {_kind(value)}")
    for key in ("kind", "values"):
        if key not in value:
            raise BadRequest(f"{name} needs '{key}'")
    out = {}
    for key, item in value.items():
        check = _READING.get(key)
        if check is None:
            raise BadRequest(f"{name}: unknown field {_show(key)}; known: {', '.join(_READING)}")
        out[key] = check(f"{name}.{key}", item)
    return out


def _finite(value) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _show(value) -> str:
    shown = repr(value) if isinstance(value, (str, int, float, bool)) or value is None \
        else _kind(value)
    return shown if len(shown) <= 60 else shown[:57] + "…'"


# -- the commands' arguments -----------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """One argument: its check, and whether it must be given."""

    check: Check
    required: bool = False


_SOURCE = Arg(choice("touch", "voice", "button", "api", "platform", "simulator", "rules",
                     "hub"))
# Service requests, call-backs and ratings go through service.request / family.call /
# service.rate, which keep the request book and its states; not a bare event.
_EVENT_KINDS = ("alert", "checkin_answer", "message_read")
_TOPICS = ("sos", "sync", "reading", "inbox", "say", "settings", "prompt", "devices", "core",
           "voice", "speaker")
_ADDRESS = Arg(text(64), required=True)

#: Command → argument name → :class:`Arg`. Commands added by parts of the core (GPIO, BLE)
#: are here too; a command missing from this table has its arguments passed unchecked.
ARGS: dict[str, dict[str, Arg]] = {
    "hello": {"client": Arg(choice(*CLIENT_NAMES))},
    "ping": {},
    "subscribe": {"topics": Arg(optional(text_list(*_TOPICS)))},
    "sos.press": {"source": _SOURCE, "id": Arg(optional(fact_id)), "test": Arg(boolean)},
    "sos.cancel": {"source": _SOURCE},
    "sos.resolve": {"source": _SOURCE},
    "sos.state": {},
    "checkin": {"id": Arg(optional(fact_id)), "answer": Arg(text(40)), "source": _SOURCE},
    "event.record": {"kind": Arg(choice(*_EVENT_KINDS), required=True),
                     "data": Arg(optional(obj())), "id": Arg(optional(fact_id)),
                     "source": _SOURCE},
    "reading.add": {"reading": Arg(reading, required=True)},
    "readings.latest": {},
    "readings.list": {"kind": Arg(optional(text(40))), "since": Arg(optional(timestamp)),
                      "limit": Arg(integer(1, 5000))},
    "inbox.list": {},
    "inbox.read": {"id": Arg(text(100), required=True)},
    "settings.get": {},
    "settings.set": {"key": Arg(text(40), required=True), "value": Arg(lambda n, v: v,
                                                                         required=True)},
    "status": {},
    "say": {"text": Arg(text(10_000), required=True)},
    "prompt.answer": {"id": Arg(text(100), required=True), "answer": Arg(text(40), required=True),
                      "source": _SOURCE},
    "doctor": {},
    "voice.listen": {},
    "voice.state": {"listening": Arg(boolean, required=True)},
    "sync.enroll": {"url": Arg(text(2000), required=True), "code": Arg(text(200), required=True),
                    "pin": Arg(text(16))},
    # hub/sensors/gpio.py
    "gpio.status": {},
    "sim.button": {"action": Arg(choice("press", "down", "release", "up", "hold")),
                   "seconds": Arg(optional(number(0, 600)))},
    "sim.motion": {"seconds": Arg(number(0, 3600))},
    "sim.door": {"open": Arg(boolean)},
    # hub/sensors/ble/service.py
    "devices.scan": {"seconds": Arg(number(0, 30))},
    "devices.pair": {"address": _ADDRESS, "passkey": Arg(optional(passkey)),
                     "wait": Arg(boolean)},
    "devices.passkey": {"address": _ADDRESS, "passkey": Arg(passkey, required=True)},
    "devices.list": {},
    "devices.forget": {"address": _ADDRESS},
    "devices.simulate": {"address": _ADDRESS, "values": Arg(optional(obj(30))),
                         "raw": Arg(optional(text(1024))), "char": Arg(optional(text(64)))},
}


def check_args(cmd: str, args: dict) -> dict:
    """Check a command's arguments against :data:`ARGS`; return them (normalised).

    :raises BadRequest: an unknown or missing argument, or a bad value, in words.
    """
    spec = ARGS.get(cmd)
    if spec is None:
        return args
    unknown = [k for k in args if k not in spec]
    if unknown:
        known = ", ".join(spec) or "none"
        raise BadRequest(f"{cmd}: unknown argument {_show(unknown[0])}; known: {known}")
    out = {}
    for name, arg in spec.items():
        if name not in args:
            if arg.required:
                raise BadRequest(f"{cmd}: missing argument '{name}'")
            continue
        out[name] = arg.check(name, args[name])
    return out


# -- family settings -------------------------------------------------------------------

def _elder_name(name, value):
    value = text(60, empty=True)(name, value)
    return " ".join(value.split())


#: Setting → check. Ranges match ``[audio]`` in the config: a hub may never be made
#: silent or unintelligible from the screen (an SOS is spoken at this volume and rate).
SETTINGS: dict[str, Check] = {
    "language": choice("en", "zh_CN", "ko"),
    "text_size": choice("normal", "large", "largest"),
    "elder_name": _elder_name,
    "volume": number(0.1, 1.0),
    "speech_rate": integer(80, 250),
    # Home's top-right button: Read aloud (default) or Speak (shown only while a voice
    # process is connected; otherwise it stays Read aloud).
    "home_voice_button": choice("read_aloud", "speak"),
}


def check_setting(key, value):
    """Check one family setting; return the value to store.

    :raises BadRequest: unknown key, or a value of the wrong type or range.
    """
    check = SETTINGS.get(key) if isinstance(key, str) else None
    if check is None:
        raise BadRequest(f"unknown setting {_show(key)}; known: {', '.join(SETTINGS)}")
    return check(key, value)
