"""Time: UTC stamps for storage and the wire, and whether the system clock is trustworthy.

A Raspberry Pi has no real-time clock: until NTP has synchronised, wall time can be
years off. Every stored fact records ``clock_synced`` (True, False or None for
unknown) beside its time so the platform can tell.
"""

import ctypes
import ctypes.util
import datetime as dt
import functools
import uuid

__all__ = ["utc_now", "to_rfc3339", "parse_rfc3339", "clock_synced", "new_id"]

# adjtimex(2) returns the clock state; TIME_ERROR means "not synchronised"
# (the kernel sets it while STA_UNSYNC is set, i.e. until NTP has disciplined it).
_TIME_ERROR = 5


def utc_now() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def to_rfc3339(moment: dt.datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with millisecond precision and ``Z``."""
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> dt.datetime:
    """Parse a stamp written by :func:`to_rfc3339` (or any ISO 8601 with offset)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def clock_synced() -> bool | None:
    """Tell whether the kernel believes the system clock is synchronised.

    :returns: True or False from ``adjtimex(2)``; None when it cannot be asked
        (not Linux, or the call is refused).
    """
    try:
        libc = _libc()
        if libc is None:
            return None
        # struct timex is < 256 bytes on every architecture; modes=0 makes it read-only.
        buf = ctypes.create_string_buffer(512)
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR


def new_id() -> str:
    """Return a new random UUID string: the idempotency key of a fact, made where it is born."""
    return str(uuid.uuid4())
