"""When to try again: exponential backoff with full jitter, capped.

Full jitter spreads the retries of many hubs after a platform outage instead of
having them all return at once: ``sleep = uniform(0, min(cap, base * 2**attempt))``
(AWS Architecture Blog, "Exponential Backoff And Jitter"). ``Retry-After`` parsing
lives with the HTTP code in :mod:`hub.sync.client`.
"""

import random

__all__ = ["full_jitter", "Backoff"]


def full_jitter(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Return a wait in seconds for the ``attempt``-th consecutive failure (0-based).

    :param base: the first ceiling, seconds.
    :param cap: the largest ceiling, seconds.
    """
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return (rng or random).uniform(0, ceiling)


class Backoff:
    """Consecutive-failure counter that hands out full-jitter waits.

    :param base: the first ceiling, seconds.
    :param cap: the largest ceiling, seconds.
    :param rng: a random source (seeded in tests).
    """

    def __init__(self, *, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def failed(self, retry_after: float | None = None) -> float:
        """Count a failure and return how long to wait.

        A ``Retry-After`` from the platform is honoured, but never beyond ``cap``:
        a hub in someone's home must not go quiet for hours because of one header.
        """
        wait = full_jitter(self.failures, base=self.base, cap=self.cap, rng=self._rng)
        self.failures += 1
        if retry_after is not None:
            wait = min(max(retry_after, 0.0), self.cap)
        return wait

    def succeeded(self):
        """Reset after a success."""
        self.failures = 0
