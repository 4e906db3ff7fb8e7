"""The core's Bluetooth extension: from advertisements and notifications to stored readings.

``hub.core`` starts :func:`run_ble` as a supervised task on its asyncio loop. This
module owns the flow that ties the BLE parts together:

* one long-lived scan (:mod:`.scanner`) feeding a table of nearby health devices;
* readings accepted **only from devices paired with this home** (the neighbour's scale
  through the wall is heard, counted and ignored);
* a *visit* (connect → subscribe/fetch → disconnect, :mod:`.connector`) when a paired
  device advertises — cuffs and scales wake for a few seconds after a measurement —
  connecting with the advertisement's own device object, one visit at a time per
  adapter, with bounded retries and per-error backoff;
* Weight Scale service data read straight from advertisements, for scales that only
  broadcast;
* the device's clock read at the start of a visit when it has one (Current Time,
  0x2A2B): ``offset = hub UTC − device clock`` (its time zone and its drift), kept per
  device, so each reading's device time stamp becomes a UTC time,
  ``extra["device_time_utc"]`` (with ``extra["device_clock_offset_s"]``) — the time the
  person was measured, even for records downloaded hours later from memory;
* every payload parsed by the exact SIG parsers (malformed ones logged and counted),
  stored through ``core.add_reading`` (durable before anything else uses it) with a
  deterministic id so a resent memory is stored once, then checked against the
  threshold rules (:mod:`.thresholds`): an ``alert`` event and a calm spoken message;
* pairing and unpairing for the family (:mod:`.agent` decides who may pair), on the
  local API as ``devices.scan``, ``devices.pair``, ``devices.passkey``, ``devices.list``
  and ``devices.forget`` (and ``devices.simulate`` under ``--simulate``).

Under ``[hub] simulate = true`` the backend is :mod:`.simulated`; the rest is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass

from hub.clock import to_rfc3339, utc_now
from hub.config import BleSection
from hub.errors import ApiError
from hub.plausibility import ImpossibleReading, screen
from hub.store import PRIORITY_ALERT, PRIORITY_NORMAL

from . import devices as dev
from . import uuids
from .agent import PairingPolicy
from .backend import (
    NO_ADAPTER_MESSAGE,
    Advertisement,
    Backend,
    BleError,
    NoAdapterError,
    PairingError,
)
from .connector import connect_with_retries, safe_disconnect, visit
from .parsers import MalformedPayload, NoReading, parse_current_time
from .phrases import phrase
from .scanner import Scanner
from .sfloat import Special
from .thresholds import Thresholds, check

__all__ = ["BleService", "run_ble", "make_backend"]

log = logging.getLogger(__name__)

NEARBY_FOR_S = 180.0  # BlueZ forgets an unpaired device it has not seen for ~3 minutes
BROADCAST_REPEAT_S = 600.0  # a scale repeats the same broadcast; store it once
TOUCH_EVERY_S = 60.0  # write last_seen at most this often per device
CONTINUOUS_EVERY_S = 60.0  # keep one continuous reading (heart rate, PLX) a minute per device
CLOCK_OFFSET_VALID_S = 12 * 3600.0  # a device clock read this long ago is read again first


def make_backend(config, settings: BleSection) -> Backend:
    """The simulated backend under ``--simulate``, bleak on BlueZ otherwise."""
    if config.hub.simulate:
        from .simulated import SimulatedBackend

        return SimulatedBackend()
    from .bleak_backend import BleakBackend

    return BleakBackend(settings.adapter or None)


@dataclass
class _Nearby:
    adv: Advertisement
    kind: str | None
    name: str
    seen: float


class BleService:
    """Bluetooth inside the core. Create, then ``await service.run()``.

    :param core: the running :class:`hub.core.Core` (or a stand-in with the same API).
    :param backend: the Bluetooth backend (default: :func:`make_backend`).
    """

    def __init__(self, core, backend: Backend | None = None,
                 settings: BleSection | None = None):
        self.core = core
        self.settings = settings or core.config.ble
        self.backend = backend or make_backend(core.config, self.settings)
        self.policy = PairingPolicy(on_passkey_needed=self._passkey_needed,
                                    passkey_timeout=self.settings.passkey_timeout_s)
        self.scanner = Scanner(self.backend, self.on_advertisement,
                               silent_after=self.settings.scan_watchdog_s)
        self.adapter_lock = asyncio.Lock()  # one connection at a time on the adapter
        self.thresholds = Thresholds()
        self.nearby: dict[str, _Nearby] = {}
        self.paired: dict[str, dict] = {}
        self.pairing: dict[str, dict] = {}
        self.rejections: Counter = Counter()
        self.counters: Counter = Counter()
        self._visits: dict[str, asyncio.Task] = {}
        self._next_visit: dict[str, float] = {}
        self._touched: dict[str, float] = {}
        self._broadcasts: dict[str, tuple[bytes, float]] = {}
        self._spoken: dict[str, float] = {}
        self._woken: set[str] = set()
        self._continuous: dict[str, float] = {}
        # address → (device clock offset in s, monotonic time it was measured)
        self.clock_offsets: dict[str, tuple[int, float]] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- life -------------------------------------------------------------------------

    async def run(self) -> None:
        """Register the API commands, register the agent, scan until cancelled."""
        self.register_commands()
        rows = await self.core.db(dev.list_devices, self.core.store)
        self.paired = {r["address"]: r for r in rows}
        self.thresholds = await self.load_thresholds()
        try:
            await self.backend.start_agent(self.policy, self.settings.agent_capability)
        except BleError as exc:
            log.warning("pairing agent not registered yet (%s); will retry when pairing",
                        getattr(exc, "detail", "") or exc)
        try:
            await self.scanner.run()
        finally:
            for task in [*self._visits.values(), *self._tasks]:
                task.cancel()
            await asyncio.gather(*self._visits.values(), *self._tasks,
                                 return_exceptions=True)
            await self.backend.close()

    async def load_thresholds(self) -> Thresholds:
        """Defaults ← ``[thresholds]`` in config ← the stored ``thresholds`` setting."""
        limits = Thresholds()
        try:
            limits = Thresholds.from_mapping(self.core.config.thresholds,
                                             source="[thresholds]")
        except ValueError as exc:
            log.error("%s; using the default limits", exc)
        stored = await self.core.db(self.core.store.get_setting, "thresholds", None)
        if stored:
            try:
                limits = Thresholds.from_mapping(stored, base=limits,
                                                 source="stored thresholds")
            except ValueError as exc:
                log.error("%s; ignoring them", exc)
        return limits

    def _spawn(self, coro, name: str):
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task):
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.error("Bluetooth task %s failed", task.get_name(), exc_info=task.exception())

    def _push(self, data: dict):
        push = getattr(self.core, "push", None) or getattr(self.core, "_push", None)
        if push:
            push("devices", data)

    # -- advertisements ---------------------------------------------------------------

    def on_advertisement(self, adv: Advertisement) -> None:
        """Every advertisement, on the loop: quick bookkeeping, work goes to tasks."""
        now = time.monotonic()
        address = adv.address.upper()
        info = dev.describe(adv)
        record = self.paired.get(address)
        if info or record:
            kind, name = info or (record["kind"], record["name"])
            self.nearby[address] = _Nearby(adv, kind, name, now)
        if record is None:
            if info and dev.broadcasts_weight(adv):
                self.counters["ignored_unpaired"] += 1
            return
        self._touch(address, now)
        if dev.broadcasts_weight(adv):
            self._spawn(self._broadcast(adv, record), f"ble-broadcast-{address}")
            return
        if address in self._visits or now < self._next_visit.get(address, 0.0):
            return
        task = asyncio.get_running_loop().create_task(self._visit(adv, record),
                                                      name=f"ble-visit-{address}")
        self._visits[address] = task
        task.add_done_callback(lambda t, a=address: self._visit_done(a, t))

    def _touch(self, address: str, now: float):
        if now - self._touched.get(address, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:
            self._touched[address] = now
            self._spawn(self.core.db(dev.touch_device, self.core.store, address),
                        f"ble-touch-{address}")

    def _visit_done(self, address: str, task: asyncio.Task):
        if self._visits.get(address) is task:
            del self._visits[address]
        if not task.cancelled() and task.exception():
            log.error("visit to %s failed", address, exc_info=task.exception())

    async def _broadcast(self, adv: Advertisement, record: dict):
        now = time.monotonic()
        for key, data in adv.service_data.items():
            try:
                if uuids.uuid16(key) != uuids.WEIGHT_SCALE_SERVICE:
                    continue
            except ValueError:
                continue
            last = self._broadcasts.get(adv.address)
            if last and last[0] == data and now - last[1] < BROADCAST_REPEAT_S:
                continue  # the scale repeats its last weight for a while
            self._broadcasts[adv.address] = (data, now)
            await self.handle_payload(record, None, data)

    async def _visit(self, adv: Advertisement, record: dict):
        address = adv.address.upper()
        conn = None
        complete = False
        async with self.adapter_lock:
            try:
                conn = await connect_with_retries(
                    self.backend, adv, attempts=self.settings.connect_attempts,
                    timeout=self.settings.connect_timeout_s)
                self.counters["connections"] += 1
                result = await visit(
                    conn, lambda char, data: self.handle_payload(self.paired.get(
                        address, record), char, data),
                    last_sequence=self.paired.get(address, record).get("last_sequence"),
                    first_wait=self.settings.first_wait_s,
                    max_time=self.settings.visit_max_s)
                complete = result.complete
                if not complete:
                    self.counters["incomplete_visits"] += 1
                if result.racp == "timeout":
                    self.counters["racp_timeouts"] += 1
                log.info("visit to %s: %d payload(s)%s%s", address, result.payloads,
                         "" if complete else ", incomplete",
                         f", RACP {result.racp}" if result.racp else "")
            except BleError as exc:
                self.counters["failed_visits"] += 1
                log.info("could not read %s this time: %s", address, exc)
            finally:
                await safe_disconnect(conn)
        if address in self._woken:  # measured again while we were there
            self._woken.discard(address)
            self._next_visit.pop(address, None)
            return
        self._next_visit[address] = time.monotonic() + (
            self.settings.revisit_after_s if complete else 1.0)

    # -- payloads → readings ----------------------------------------------------------

    async def handle_payload(self, record: dict, char: int | None, data: bytes) -> dict | None:
        """Parse one payload from a paired device and store the reading.

        :param char: the 16-bit characteristic, or None for Weight Scale service data.
        :returns: the stored reading, or None (malformed, no reading, or a duplicate).
        """
        address = record["address"]
        adapter = dev.adapter_for(record.get("name"))
        if adapter is not None and char is not None:
            data = adapter.fix(char, data)
        if char == uuids.CURRENT_TIME:
            self._learn_clock(address, data)
            return None
        try:
            if char is None:
                measurement = uuids.parse_service_data(uuids.WEIGHT_SCALE_SERVICE, data,
                                                       rejections=self.rejections)
            else:
                measurement = uuids.parse(char, data, rejections=self.rejections)
        except NoReading as exc:
            self.counters["no_reading"] += 1
            if char == uuids.GLUCOSE_MEASUREMENT and len(data) >= 3:
                # e.g. a control-solution test: skip it next time too
                await self._advance_sequence(address, int.from_bytes(data[1:3], "little"))
            if isinstance(exc.special, Special):
                await self._measurement_failed(record, exc, data)
            return None
        except MalformedPayload:
            self.counters["malformed"] += 1
            return None
        except uuids.UnknownUUID:
            return None
        return await self.store_measurement(record, measurement, raw=data)

    def _learn_clock(self, address: str, data: bytes) -> None:
        """Remember how far the device's clock is from the hub's UTC clock."""
        try:
            device_now = parse_current_time(data).to_datetime()
        except MalformedPayload as exc:
            log.info("%s: cannot use the device's clock: %s", address, exc.reason)
            self.clock_offsets.pop(address, None)
            return
        hub_now = utc_now().replace(tzinfo=None)
        offset = round((hub_now - device_now).total_seconds())
        self.clock_offsets[address] = (offset, time.monotonic())
        log.info("%s: the device's clock is %+d s from UTC", address, -offset)

    def _device_time_utc(self, address: str, reading: dict) -> None:
        """Add ``device_time_utc`` to a reading whose device's clock offset is known."""
        known = self.clock_offsets.get(address)
        stamp = reading.get("device_time")
        if known is None or not stamp or time.monotonic() - known[1] > CLOCK_OFFSET_VALID_S:
            return
        try:
            local = _dt.datetime.fromisoformat(stamp)
        except ValueError:
            return
        moment = (local + _dt.timedelta(seconds=known[0])).replace(tzinfo=_dt.timezone.utc)
        reading["extra"] = {**(reading.get("extra") or {}),
                            "device_time_utc": to_rfc3339(moment),
                            "device_clock_offset_s": known[0]}

    async def _measurement_failed(self, record: dict, exc: NoReading, data: bytes) -> None:
        """The device measured but has no value (NaN/NRes): record it, never silently."""
        address = record["address"]
        log.warning("%s sent %s with no value (%s); raw payload %s", address,
                    exc.characteristic, exc.reason, data.hex(" "))
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ble:{address}:failed:{data.hex()}"))
        await self.core.record_event("alert", {
            "rule": "measurement_failed", "severity": "info",
            "kind": exc.characteristic, "detail": exc.reason,
            "device": {"address": address, "name": record.get("name"),
                       "kind": record.get("kind")},
        }, event_id=event_id, priority=PRIORITY_NORMAL)

    async def store_measurement(self, record: dict, measurement,
                                raw: bytes | None = None) -> dict | None:
        """Store a parsed measurement (durably, first), then check the thresholds.

        The reading is screened by :mod:`hub.plausibility` first: a physically impossible
        value is logged with the raw payload and counted (``impossible``), never stored.
        """
        address = record["address"]
        reading = measurement.to_reading()
        self._device_time_utc(address, reading)
        try:
            reading = screen(reading)
        except ImpossibleReading as exc:
            self.counters["impossible"] += 1
            log.warning("%s: refused an impossible reading: %s; raw payload %s", address,
                        exc, raw.hex(" ") if raw is not None else "(not kept)")
            sequence = (reading.get("extra") or {}).get("sequence_number")
            if reading["kind"] == "glucose" and sequence is not None:
                await self._advance_sequence(address, int(sequence))
            return None
        if reading["kind"] == "heart_rate" or \
                (reading.get("extra") or {}).get("measurement") == "continuous":
            # Streams of one value a second: keep one a minute, not thousands a day.
            key, now = f"{address}|{reading['kind']}", time.monotonic()
            if now - self._continuous.get(key, -CONTINUOUS_EVERY_S) < CONTINUOUS_EVERY_S:
                self.counters["thinned"] += 1
                return None
            self._continuous[key] = now
        reading["id"] = dev.reading_id(address, reading, received_at=to_rfc3339(utc_now()))
        reading["device"] = {"address": address, "name": record.get("name"),
                             "kind": record.get("kind")}
        stored = await self.core.add_reading(reading)
        sequence = (reading.get("extra") or {}).get("sequence_number")
        if reading["kind"] == "glucose" and sequence is not None:
            await self._advance_sequence(address, int(sequence))
        if stored is None:
            self.counters["duplicates"] += 1
            return None
        self.counters["readings"] += 1
        for alert in check(stored, self.thresholds):
            await self._alert(alert, stored)
        return stored

    async def _advance_sequence(self, address: str, sequence: int):
        await self.core.db(dev.set_last_sequence, self.core.store, address, sequence)
        cached = self.paired.get(address)
        if cached is not None and (cached.get("last_sequence") is None
                                   or cached["last_sequence"] < sequence):
            cached["last_sequence"] = sequence

    async def _alert(self, alert, reading: dict):
        event_id = str(uuid.uuid5(uuid.UUID(reading["id"]), alert.rule))
        extra = reading.get("extra") or {}
        data = {
            "rule": alert.rule, "severity": alert.severity, "reading_id": reading["id"],
            "kind": reading["kind"], "values": alert.values, "limits": alert.limits,
            "device": reading.get("device"), "device_time": reading.get("device_time"),
            "measured_at": reading["measured_at"],
        }
        for key in ("out_of_range", "implausible"):
            if extra.get(key):
                data[key] = extra[key]
        event = await self.core.record_event("alert", data, event_id=event_id,
                                             priority=PRIORITY_ALERT)
        if event.get("duplicate"):
            return
        self.counters["alerts"] += 1
        log.warning("health alert %s raised for a reading from %s", alert.rule,
                    (reading.get("device") or {}).get("address"))
        now = time.monotonic()
        if now - self._spoken.get(alert.rule, -1e12) >= self.thresholds.speak_cooldown_min * 60:
            self._spoken[alert.rule] = now
            self.core.speaker.say(phrase(alert.phrase, self.core.language))

    # -- pairing ----------------------------------------------------------------------

    def _passkey_needed(self, address: str):
        self.pairing[address] = {**self.pairing.get(address, {}), "state": "waiting_for_passkey"}
        self._push({"event": "passkey_needed", "address": address})
        self.core.speaker.say(phrase("enter_pin", self.core.language))

    async def _adapter(self) -> str:
        try:
            return await self.backend.check_adapter()
        except NoAdapterError as exc:
            log.info("no adapter: %s", exc.detail)
            raise ApiError(NO_ADAPTER_MESSAGE) from None

    def nearby_list(self) -> list[dict]:
        """Health devices heard in the last 3 minutes, strongest first."""
        now = time.monotonic()
        out = []
        for address, near in list(self.nearby.items()):
            if now - near.seen > NEARBY_FOR_S:
                del self.nearby[address]
                continue
            out.append({"address": address, "name": near.name, "kind": near.kind,
                        "rssi": near.adv.rssi, "paired": address in self.paired,
                        "seen_s_ago": round(now - near.seen, 1)})
        return sorted(out, key=lambda d: -(d["rssi"] if d["rssi"] is not None else -999))

    async def pair(self, address: str, passkey: int | None = None) -> dict:
        """Pair (bond where needed) with a nearby device and record it as this home's."""
        address = dev.normalise_address(address)
        if address in self.paired:
            return {**self.paired[address], "already_paired": True}
        near = self.nearby.get(address)
        if near is None or time.monotonic() - near.seen > NEARBY_FOR_S or near.kind is None:
            raise ApiError(f"{address} is not a health device seen nearby. Wake it up (take a "
                           "measurement, or hold its Bluetooth button) and scan again.")
        await self._adapter()
        self.pairing[address] = {"state": "pairing", "name": near.name}
        try:
            bonded = False
            if dev.broadcasts_weight(near.adv):
                # The weight shown while pairing is most likely the family member's own:
                # only later broadcasts become readings.
                for data in near.adv.service_data.values():
                    self._broadcasts[address] = (data, time.monotonic())
            else:
                await self._pair_link(near.adv, passkey)
                bonded = True
            record = await self.core.db(dev.add_device, self.core.store, address, near.kind,
                                        near.name, bonded=bonded)
        except (BleError, ValueError) as exc:
            self.pairing[address] = {"state": "failed", "error": str(exc)}
            self._push({"event": "pair_failed", "address": address, "error": str(exc)})
            raise ApiError(f"Could not pair with {near.name}: {exc}") from None
        self.paired[address] = record
        self._next_visit.pop(address, None)
        self.pairing[address] = {"state": "paired", "name": near.name}
        self._push({"event": "paired", "address": address, "device": record})
        self.core.speaker.say(phrase("device_paired", self.core.language, name=near.name))
        log.info("paired %s (%s, bonded=%s)", address, near.kind, bonded)
        return record

    async def _pair_link(self, adv: Advertisement, passkey: int | None):
        async with self.adapter_lock:
            try:
                await self.backend.start_agent(self.policy, self.settings.agent_capability)
            except BleError as exc:
                raise PairingError(f"the pairing agent could not be registered ({exc})") \
                    from None
            conn = None
            with self.policy.expect(adv.address, passkey):
                try:
                    # The connect timeout covers Pair, and with it the family typing a PIN.
                    conn = await connect_with_retries(
                        self.backend, adv, pair=True, attempts=self.settings.connect_attempts,
                        timeout=self.settings.connect_timeout_s + self.settings.passkey_timeout_s)
                finally:
                    await safe_disconnect(conn)

    async def forget(self, address: str) -> dict:
        """Unpair: forget the device here and delete its bond in BlueZ."""
        address = dev.normalise_address(address)
        removed = await self.core.db(dev.forget_device, self.core.store, address)
        if not removed and address not in self.paired:
            raise ApiError(f"{address} is not paired with this hub")
        self.paired.pop(address, None)
        self._next_visit.pop(address, None)
        task = self._visits.pop(address, None)
        if task:
            task.cancel()
        note = None
        async with self.adapter_lock:
            try:
                await self.backend.remove_bond(address)
            except BleError as exc:
                note = f"the Bluetooth bond could not be removed now ({exc})"
                log.warning("forget %s: %s", address, note)
        self._push({"event": "forgotten", "address": address})
        return {"address": address, "forgotten": True, **({"note": note} if note else {})}

    # -- local API ----------------------------------------------------------------------

    def register_commands(self) -> None:
        """Expose the ``devices.*`` commands on the core's local API."""
        reg = self.core.register_command
        reg("devices.scan", self._cmd_scan,
            "nearby health devices by kind and name (args: seconds, default 4)")
        reg("devices.pair", self._cmd_pair,
            "pair a nearby device (args: address, passkey optional, wait default true)")
        reg("devices.passkey", self._cmd_passkey,
            "the PIN shown by a meter that is being paired (args: address, passkey)")
        reg("devices.list", self._cmd_list,
            "paired devices, pairing in progress, Bluetooth counters and limits")
        reg("devices.forget", self._cmd_forget,
            "unpair a device and delete its Bluetooth bond (args: address)")
        if self.backend.name == "simulated":
            reg("devices.simulate", self._cmd_simulate,
                "simulation only: a device measures (args: address, values, raw hex)")

    async def _cmd_scan(self, seconds=4):
        seconds = float(seconds)
        if not 0 <= seconds <= 30:
            raise ValueError("seconds must be 0 to 30")
        adapter = await self._adapter()
        if seconds:
            await asyncio.sleep(seconds)
        return {"adapter": adapter, "scanning": self.scanner.scanning,
                "devices": self.nearby_list()}

    async def _cmd_pair(self, address, passkey=None, wait=True):
        if passkey is not None:
            passkey = _passkey(passkey)
        if wait:
            return await self.pair(address, passkey)
        address = dev.normalise_address(address)
        self.pairing[address] = {"state": "pairing"}
        self._spawn(self._pair_quietly(address, passkey), f"ble-pair-{address}")
        return {"address": address, "state": "pairing"}

    async def _pair_quietly(self, address, passkey):
        with contextlib.suppress(ApiError):
            await self.pair(address, passkey)

    async def _cmd_passkey(self, address, passkey):
        address = dev.normalise_address(address)
        if not self.policy.provide_passkey(address, _passkey(passkey)):
            raise ApiError(f"{address} is not being paired now")
        self.pairing[address] = {**self.pairing.get(address, {}), "state": "pairing"}
        return {"address": address, "accepted": True}

    async def _cmd_list(self):
        rows = await self.core.db(dev.list_devices, self.core.store)
        return {"devices": rows, "pairing": self.pairing,
                "backend": self.backend.name, "scanning": self.scanner.scanning,
                "scan_restarts": self.scanner.restarts, "adapter_error": self.scanner.error,
                "rejected": dict(self.rejections), "counters": dict(self.counters),
                "thresholds": self.thresholds.as_dict()}

    async def _cmd_forget(self, address):
        return await self.forget(address)

    async def _cmd_simulate(self, address, values=None, raw=None, char=None):
        if values is not None and not isinstance(values, dict):
            raise ValueError("values must be an object, e.g. {\"systolic\": 130}")
        data = None
        if raw is not None:
            try:
                data = bytes.fromhex(str(raw))
            except ValueError:
                raise ValueError("raw must be hex bytes, e.g. \"1e8000\"") from None
        char16 = uuids.uuid16(char) if char is not None else None
        # A device with a new measurement wakes up: the revisit pause does not apply.
        self._next_visit.pop(str(address).upper(), None)
        if str(address).upper() in self._visits:
            self._woken.add(str(address).upper())
        self.backend.measure(address, values, raw=data, char=char16)
        return {"address": address.upper(), "queued": True}


def _passkey(value) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError("the PIN is the number shown on the device (up to 6 digits)") from None
    if not 0 <= number <= 999999:
        raise ValueError("the PIN is the number shown on the device (up to 6 digits)")
    return number


async def run_ble(core, *, backend: Backend | None = None) -> None:
    """The core extension: Bluetooth health devices, until the core stops.

    :param core: the running core.
    :param backend: a backend to use instead of the configured one (tests).
    """
    settings = core.config.ble
    if not settings.enabled:
        log.info("Bluetooth is turned off in the configuration ([ble] enabled = false)")
        return
    service = BleService(core, backend, settings)
    core.ble = service
    await service.run()
