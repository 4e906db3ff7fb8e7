"""One long-lived scan, with a watchdog that restarts it when it falls silent.

This module owns keeping a scan running for the life of the core: start it, notice when
nothing has been heard for a while (``silent_after``, ~90 s as in Home Assistant's
habluetooth scanner watchdog — BlueZ discovery can stop delivering without any error),
restart it, and wait quietly when there is no adapter, retrying now and then. It also
keeps the table of *nearby* devices the kiosk lists.

It does not decide what an advertisement means; it hands each one to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from .backend import Advertisement, Backend, BleError, NoAdapterError

__all__ = ["Scanner"]

log = logging.getLogger(__name__)


class Scanner:
    """Keep ``backend`` scanning and feed ``on_advertisement``.

    :param silent_after: restart the scan when nothing was heard for this many seconds.
    :param retry_after: seconds between attempts when the adapter is missing or busy.
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, backend: Backend, on_advertisement: Callable[[Advertisement], None], *,
                 silent_after: float = 90.0, retry_after: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.backend = backend
        self.on_advertisement = on_advertisement
        self.silent_after = silent_after
        self.retry_after = retry_after
        self.clock = clock
        self.last_heard: float | None = None
        self.scanning = False
        self.restarts = 0
        self.error: str | None = None
        self.advertisements = 0

    def _heard(self, adv: Advertisement):
        self.last_heard = self.clock()
        self.advertisements += 1
        try:
            self.on_advertisement(adv)
        except Exception:  # one odd advertisement must not stop the scan
            log.exception("handling an advertisement from %s failed", adv.address)

    async def run(self) -> None:
        """Scan until cancelled."""
        told_no_adapter = False
        try:
            while True:
                try:
                    await self.backend.start_scan(self._heard)
                except NoAdapterError as exc:
                    self.error = str(exc)
                    if not told_no_adapter:
                        log.warning("%s (%s). Will keep checking every %.0f s.", exc,
                                    exc.detail, self.retry_after)
                        told_no_adapter = True
                    await asyncio.sleep(self.retry_after)
                    continue
                except BleError as exc:
                    self.error = str(exc)
                    log.warning("could not start scanning: %s; retrying in %.0f s", exc,
                                self.retry_after)
                    await asyncio.sleep(self.retry_after)
                    continue
                if told_no_adapter:
                    log.warning("Bluetooth adapter found; scanning for health devices")
                told_no_adapter = False
                self.error = None
                self.scanning = True
                self.last_heard = self.clock()
                log.info("scanning for health devices (%s)", self.backend.name)
                await self._watch()
                self.scanning = False
                self.restarts += 1
                await self.backend.stop_scan()
        finally:
            self.scanning = False
            with contextlib.suppress(Exception):
                await asyncio.shield(self.backend.stop_scan())

    async def _watch(self):
        """Return when the scan has been silent for too long."""
        step = max(0.05, min(self.silent_after / 4, 10.0))
        while True:
            await asyncio.sleep(step)
            silent = self.clock() - (self.last_heard or 0.0)
            if silent >= self.silent_after:
                log.warning("no advertisement heard for %.0f s; restarting the scan", silent)
                return
