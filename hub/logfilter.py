"""A logging filter that lets a repeated line through a few times a minute, not for ever.

A fault that repeats (a client flooding the socket, no file handles left, a device that
keeps failing) must not fill an SD card with identical tracebacks and bury the one line
that matters. Lines are "the same" when logger, level, message template, exception type
and source line match; the text of the arguments may differ. After ``burst`` copies in
``window`` seconds the rest are counted, and the next one let through says how many were
left out. Owns nothing else; :func:`install` puts it on the root logger's handlers.
"""

import logging
import time
from collections.abc import Callable

__all__ = ["RepeatFilter", "install"]


class RepeatFilter(logging.Filter):
    """Pass at most ``burst`` records of one kind per ``window`` seconds.

    :param window: seconds over which copies are counted.
    :param burst: copies let through per window.
    :param clock: a monotonic clock (tests inject one).
    """

    MAX_KINDS = 512

    def __init__(self, window: float = 60.0, burst: int = 3,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self.burst = burst
        self.clock = clock
        self._seen: dict[tuple, list] = {}  # kind -> [window start, passed, left out]

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, record.levelno, str(record.msg), exc, record.pathname,
                record.lineno)
        now = self.clock()
        state = self._seen.get(kind)
        if state is None or now - state[0] >= self.window:
            left_out = state[2] if state else 0
            if state is None and len(self._seen) >= self.MAX_KINDS:
                self._seen.pop(next(iter(self._seen)))
            self._seen[kind] = [now, 1, 0]
            if left_out:
                record.msg = (f"{record.getMessage()} [{left_out} more like this in the "
                              f"last {self.window:.0f} s were not logged]")
                record.args = None
            return True
        if state[1] < self.burst:
            state[1] += 1
            return True
        state[2] += 1
        return False


def install(logger: logging.Logger | None = None, **kwargs) -> RepeatFilter:
    """Add one :class:`RepeatFilter` to every handler of ``logger`` (default: root).

    A filter on a handler sees the records of every logger that propagates to it
    (asyncio's too), which a filter on the root logger itself would not.
    """
    logger = logger or logging.getLogger()
    filt = RepeatFilter(**kwargs)
    for handler in logger.handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt
