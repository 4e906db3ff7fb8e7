"""Connect to a paired device, collect its measurements, disconnect.

This module owns the connection robustness the hub copies from bleak-retry-connector's
``establish_connection`` (bounded attempts, a backoff chosen by the error) — without its
service-cache clearing, which on BlueZ removes the device and with it the bond — and
one *visit* to a device: subscribe to its measurement characteristics, fetch stored
glucose records incrementally through the Record Access Control Point, wait until the
device is done, disconnect. Adapters hold only a few links at once (Broadcom ~7, CSR ~5)
so a visit never keeps a connection open. Callers serialise visits per adapter.

It hands raw bytes to a callback and does not parse, store or decide anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import racp
from .backend import (
    Advertisement,
    Backend,
    BleError,
    Connection,
    DisconnectedError,
    TransientError,
)
from .parsers import MalformedPayload
from .uuids import (
    CURRENT_TIME,
    RECORD_ACCESS_CONTROL_POINT,
    SERVICE_MEASUREMENTS,
    full_uuid,
    uuid16,
)

__all__ = ["backoff_for", "connect_with_retries", "visit", "safe_disconnect", "VisitResult",
           "MEASUREMENT_CHARACTERISTICS", "MAX_ATTEMPTS"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
MEASUREMENT_CHARACTERISTICS = frozenset(c for chars in SERVICE_MEASUREMENTS.values()
                                        for c in chars)

# Seconds to wait before the next attempt, by error code (bleak-retry-connector uses
# 0.25 s for D-Bus and transient errors, 4 s when the adapter is out of connection
# slots). InProgress means BlueZ is busy with another connect on this adapter: give it
# a moment; NotReady means the adapter is powering up.
_BACKOFF = {
    "InProgress": 1.0,
    "NotReady": 2.0,
    "le-connection-abort-by-local": 0.25,
    "br-connection-canceled": 0.25,
    "timeout": 0.25,
    "dbus": 0.25,
    "out-of-slots": 4.0,
}
_DEFAULT_BACKOFF = 0.5


def backoff_for(error: BleError) -> float | None:
    """Seconds to wait before retrying after ``error``; None when retrying cannot help
    (pairing refused, no adapter, device gone — it will advertise again)."""
    if isinstance(error, TransientError):
        return _BACKOFF.get(error.code, _DEFAULT_BACKOFF)
    if isinstance(error, DisconnectedError):
        return 0.0
    return None


async def connect_with_retries(backend: Backend, target: Advertisement | str, *,
                               pair: bool = False, attempts: int = MAX_ATTEMPTS,
                               timeout: float = 20.0,
                               sleep: Callable[[float], Awaitable] = asyncio.sleep
                               ) -> Connection:
    """Connect with bounded retries and per-error backoff.

    :raises BleError: the last error, once retrying is pointless or attempts run out.
    """
    address = target.address if isinstance(target, Advertisement) else target
    for attempt in range(1, attempts + 1):
        try:
            return await backend.connect(target, pair=pair, timeout=timeout)
        except BleError as exc:
            wait = backoff_for(exc)
            if wait is None or attempt == attempts:
                log.info("connecting to %s failed after %d attempt(s): %s", address, attempt,
                         exc)
                raise
            log.info("connecting to %s: %s (attempt %d of %d); retrying in %.2f s",
                     address, getattr(exc, "code", type(exc).__name__), attempt, attempts,
                     wait)
            await sleep(wait)
    raise AssertionError("unreachable")


@dataclass
class VisitResult:
    """What one visit did.

    :param payloads: notifications/indications handed to the callback.
    :param complete: the device finished (RACP success / no records, or it hung up
        after sending, or went quiet) rather than dropping mid-transfer.
    :param racp: the RACP outcome in words, for glucose meters: the response code's
        words (``"success"``, ``"no records found"``, …) or ``"timeout"`` when the meter
        never answered the request.
    :param notes: what else happened, in words.
    """

    payloads: int = 0
    complete: bool = False
    racp: str | None = None
    notes: list[str] = field(default_factory=list)


async def visit(conn: Connection, on_payload: Callable[[int, bytes], Awaitable[None]], *,
                last_sequence: int | None = None, first_wait: float = 10.0,
                quiet: float = 2.0, max_time: float = 60.0,
                racp_timeout: float = 30.0) -> VisitResult:
    """Subscribe, collect, and return once the device is done; does not disconnect.

    Payloads are processed in arrival order, one at a time, by ``on_payload(char, data)``
    (``char`` is the 16-bit UUID); the notification callback itself only queues bytes.
    When the device has a Current Time characteristic (0x2A2B) it is read first and
    handed over the same way (``char`` = 0x2A2B), so the caller can learn the device's
    clock offset before the records with the device's time stamps arrive.

    :param last_sequence: newest glucose record already stored; the meter is asked for
        records with sequence ≥ last+1 (GLS "Report stored records", operator ≥,
        filter type sequence number). None asks for all records.
    :param first_wait: seconds to wait for a first payload (a cuff sends its reading
        and its memory right after the subscription).
    :param quiet: after a payload, the device is done when this long passes in silence.
    :param max_time: hard limit for the whole visit.
    """
    result = VisitResult()
    queue: asyncio.Queue = asyncio.Queue()
    racp_answer: asyncio.Future = asyncio.get_running_loop().create_future()
    present = {_short(u) for u in conn.characteristics()}
    wanted = sorted(MEASUREMENT_CHARACTERISTICS & present)
    has_racp = RECORD_ACCESS_CONTROL_POINT in present

    def on_measurement(char: int):
        def callback(data: bytes):
            queue.put_nowait((char, data))
        return callback

    # The op code of the request in flight. GLS "Record Access Control Point procedures":
    # the procedure ends with the Response Code (06 00 <request op> <code>) for *that* op
    # code; anything else (a late answer to an earlier request, a Number of Stored
    # Records response) is not the end of this procedure.
    waiting_for = racp.OpCode.REPORT_STORED_RECORDS

    def on_racp(data: bytes):
        try:
            answer = racp.parse_racp_response(data)
        except MalformedPayload as exc:
            log.warning("%s: ignoring a RACP indication: %s", conn.address, exc.reason)
            return
        if isinstance(answer, racp.RacpResponse) and answer.request_op_code == waiting_for:
            if not racp_answer.done():
                racp_answer.set_result(answer)
            return
        what = (f"a response to {answer.request_name} ({answer.description})"
                if isinstance(answer, racp.RacpResponse)
                else f"a number of stored records ({answer.count})")
        log.info("%s: ignoring %s from the record access control point while waiting for "
                 "the answer to %s", conn.address, what, racp.op_name(waiting_for))

    async def consume():
        while True:
            char, data = await queue.get()
            try:
                await on_payload(char, data)
            except Exception:  # one bad payload must not end the visit
                log.exception("%s: handling a payload of 0x%04X failed", conn.address, char)
            finally:
                result.payloads += 1
                queue.task_done()

    consumer = asyncio.create_task(consume())
    started = time.monotonic()
    try:
        if not wanted:
            result.notes.append("no health measurement characteristic on this device")
            result.complete = True
            return result
        if CURRENT_TIME in present:
            try:
                clock = await asyncio.wait_for(conn.read(full_uuid(CURRENT_TIME)), 10)
            except (BleError, asyncio.TimeoutError) as exc:
                result.notes.append(f"could not read the device's clock: {exc or 'timeout'}")
            else:
                # Handled now, not queued: it is not a measurement, and must not count
                # as one when deciding that the device has gone quiet.
                try:
                    await on_payload(CURRENT_TIME, bytes(clock))
                except Exception:
                    log.exception("%s: handling the device's clock failed", conn.address)
        for char in wanted:
            await conn.start_notify(full_uuid(char), on_measurement(char))
        if has_racp:
            await conn.start_notify(full_uuid(RECORD_ACCESS_CONTROL_POINT), on_racp)
            request = (racp.report_all_records() if last_sequence is None
                       else racp.report_records_from(min(last_sequence + 1, 0xFFFF)))
            await conn.write(full_uuid(RECORD_ACCESS_CONTROL_POINT), request)
            result.complete, result.racp = await _wait_racp(conn, racp_answer, racp_timeout,
                                                            waiting_for, result)
        else:
            result.complete = await _wait_quiet(conn, queue, result, first_wait, quiet,
                                                max(0.0, max_time - (time.monotonic() -
                                                                     started)))
    except DisconnectedError:
        result.notes.append("disconnected mid-transfer")
        result.complete = False
    finally:
        # Whatever happened, what already arrived is stored before the visit ends.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(queue.join()), 10)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    return result


async def _wait_racp(conn: Connection, answer: asyncio.Future, timeout: float,
                     request: racp.OpCode, result: VisitResult) -> tuple[bool, str]:
    dropped = asyncio.create_task(conn.disconnected.wait())
    try:
        done, _ = await asyncio.wait({answer, dropped}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        dropped.cancel()
    if answer in done:
        response: racp.RacpResponse = answer.result()
        if response.is_error:
            log.warning("%s: %s", conn.address, racp.RacpError(response))
        return not response.is_error, response.description
    if done:
        raise DisconnectedError("the meter disconnected before finishing its records")
    note = f"no answer to {racp.op_name(request)} within {timeout:g} s"
    log.warning("%s: record access control point timeout: %s; records that came are kept, "
                "the rest are fetched next visit", conn.address, note)
    result.notes.append(note)
    # Ask the meter to stop (GLS "Abort Operation"), so it does not stream into a link
    # the hub is about to close. It may not answer; that changes nothing.
    with contextlib.suppress(BleError, asyncio.TimeoutError):
        await asyncio.wait_for(conn.write(full_uuid(RECORD_ACCESS_CONTROL_POINT),
                                          racp.abort_operation()), 2)
    return False, "timeout"


async def _wait_quiet(conn: Connection, queue: asyncio.Queue, result: VisitResult,
                      first_wait: float, quiet: float, limit: float) -> bool:
    """Wait until the device hangs up, or is quiet after sending, or time runs out."""
    end = time.monotonic() + limit
    seen = 0
    last_change = time.monotonic()
    while True:
        now = time.monotonic()
        got = result.payloads + queue.qsize()
        if got != seen:
            seen, last_change = got, now
        if conn.disconnected.is_set():
            return seen > 0  # cuffs hang up once they have sent everything
        if seen and now - last_change >= quiet:
            return True
        if not seen and now - last_change >= first_wait:
            return True  # nothing to send (e.g. woke without a new measurement)
        if now >= end:
            # A device that never stops (a heart-rate strap being worn) gave its share;
            # one that sent nothing in all that time did not finish.
            return seen > 0
        await asyncio.sleep(0.05)


def _short(uuid: str) -> int:
    try:
        return uuid16(uuid)
    except ValueError:
        return -1  # a vendor characteristic


async def safe_disconnect(conn: Connection | None) -> None:
    """Disconnect, whatever state the link is in."""
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.disconnect()

