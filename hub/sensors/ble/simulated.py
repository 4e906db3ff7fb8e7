"""Simulated Bluetooth health devices: a :class:`~.backend.Backend` with no radio.

Under ``--simulate`` (``[hub] simulate = true``) and in tests, the hub scans, pairs and
connects to these devices through the same code as real ones, and they send **bytes**
built with the SIG encoders (:func:`hub.sensors.ble.uuids.encode`), so every reading
goes through the real parsers. A device can be told to measure, to send malformed
bytes, to need a PIN, to fail the next connects with a BlueZ-like error, or to drop the
link in the middle of a transfer.

It does not know what the hub does with the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from . import parsers as p
from . import racp
from .sfloat import Special
from .backend import (
    Advertisement,
    Backend,
    Connection,
    DeviceNotFoundError,
    DisconnectedError,
    PairingError,
    PairingHandler,
    TransientError,
)
from .uuids import (
    CURRENT_TIME,
    GLUCOSE_MEASUREMENT,
    RECORD_ACCESS_CONTROL_POINT,
    SERVICE_MEASUREMENTS,
    WEIGHT_SCALE_SERVICE,
    encode,
    full_uuid,
    uuid16,
)

__all__ = ["SimulatedDevice", "SimulatedBackend", "default_devices", "build_measurement"]

log = logging.getLogger(__name__)


@dataclass
class SimulatedDevice:
    """One simulated device.

    :param address: its Bluetooth address.
    :param name: the advertised local name.
    :param service: the SIG health service (16-bit), e.g. ``0x1810``.
    :param broadcast_only: a scale that only puts its weight in advertisements.
    :param passkey: the PIN it "shows" when pairing (None: Just Works).
    :param in_range: advertising and connectable.
    """

    address: str
    name: str
    service: int
    broadcast_only: bool = False
    passkey: int | None = None
    in_range: bool = True
    #: (characteristic, bytes) waiting to be sent on the next connection
    pending: list[tuple[int, bytes]] = field(default_factory=list)
    #: glucose records kept in memory: (sequence number, bytes)
    records: list[tuple[int, bytes]] = field(default_factory=list)
    #: the Weight Scale service data currently broadcast
    service_data: bytes | None = None
    #: errors the next connects raise, e.g. [TransientError("InProgress")]
    fail_next: list[Exception] = field(default_factory=list)
    #: drop the link after sending this many payloads (once)
    drop_after: int | None = None
    bonded: bool = False
    connects: int = 0
    #: a bonded cuff sleeps; it advertises for a while after a measurement (loop time)
    awake_until: float = 0.0
    #: newest glucose record sent to the hub
    sent_up_to: int = 0
    #: RACP indications sent before answering a request (e.g. a late answer to another
    #: request, ``06 00 04 01``), to test that the hub matches answers to requests
    racp_stray: list[bytes] = field(default_factory=list)
    #: send the records but never the RACP response code (a meter that hangs)
    racp_silent: bool = False
    #: the device's clock minus UTC (its time zone and drift); None: no Current Time
    clock: dt.timedelta | None = None

    def now(self) -> dt.datetime:
        """The device's own clock (naive, device-local)."""
        utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        return utc + (self.clock or dt.timedelta(0))

    def advertising(self, now: float) -> bool:
        """Advertising now: in pairing mode (not bonded), broadcasting, or just woke up."""
        return self.in_range and (not self.bonded or self.broadcast_only
                                  or now < self.awake_until)

    def advertisement(self) -> Advertisement:
        """What the device advertises now."""
        data = {}
        if self.service_data is not None:
            data[full_uuid(WEIGHT_SCALE_SERVICE)] = self.service_data
        return Advertisement(address=self.address, name=self.name, rssi=-60,
                             service_uuids=(full_uuid(self.service),), service_data=data,
                             handle=self)


def default_devices() -> list[SimulatedDevice]:
    """The devices ``--simulate`` shows: one of each kind, and the neighbour's scale."""
    meter = SimulatedDevice("5A:11:00:00:00:03", "SIM-GL1", 0x1808,
                            passkey=123456)
    base = dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=1)
    for i, mmol in enumerate(("5.8", "6.4", "7.1"), start=1):
        meter.records.append((i, _glucose_bytes(i, base + dt.timedelta(hours=6 * i),
                                                Decimal(mmol))))
    neighbour = SimulatedDevice("5A:11:00:00:00:66", "SIM-SC9 next door",
                                WEIGHT_SCALE_SERVICE, broadcast_only=True)
    neighbour.service_data = encode(p.WeightMeasurement(Decimal("81.250")))[1]
    scale = SimulatedDevice("5A:11:00:00:00:04", "SIM-SC1", WEIGHT_SCALE_SERVICE,
                            broadcast_only=True)
    scale.service_data = encode(p.WeightMeasurement(Decimal("72.300")))[1]  # last weight shown
    return [
        SimulatedDevice("5A:11:00:00:00:01", "SIM-BP1", 0x1810),
        SimulatedDevice("5A:11:00:00:00:02", "SIM-TH1", 0x1809),
        meter,
        scale,
        SimulatedDevice("5A:11:00:00:00:05", "SIM-OX1", 0x1822),
        neighbour,
    ]


_BEYOND_RANGE = {"HI": Special.PLUS_INFINITY, "LO": Special.MINUS_INFINITY}


def _glucose_bytes(seq: int, when: dt.datetime, mmol: Decimal | Special) -> bytes:
    if isinstance(mmol, Decimal) and mmol:
        mmol = (mmol / 1000).normalize()
    return p.encode_glucose(p.GlucoseMeasurement(
        sequence_number=seq, base_time=p.DeviceTime.from_datetime(when),
        concentration=mmol, unit="mol/L"))


def build_measurement(service: int, values: dict, *, when: dt.datetime | None = None,
                      sequence: int = 1) -> tuple[int, bytes]:
    """Encode a measurement for a device of ``service`` from plain values.

    :param values: e.g. ``{"systolic": 128, "diastolic": 82, "pulse": 70}``,
        ``{"temperature": 36.8}``, ``{"glucose": 5.6}`` (mmol/L), ``{"weight": 70.5}``,
        ``{"spo2": 97, "pulse": 64}``, ``{"heart_rate": 72}``. ``"HI"`` or ``"LO"`` for
        systolic, diastolic, temperature, glucose or spo2 sends +INF / −INF: the device
        says the value is beyond its range (a glucose meter's HI/LO).
    :returns: ``(characteristic, bytes)``.
    :raises ValueError: a value the encoders cannot represent, or an unknown service.
    """
    stamp = p.DeviceTime.from_datetime(when or dt.datetime.now())

    def dec(key, default) -> Decimal | Special:
        value = values.get(key, default)
        if isinstance(value, str) and value.strip().upper() in _BEYOND_RANGE:
            return _BEYOND_RANGE[value.strip().upper()]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{key} must be a number, not {value!r}")
        return Decimal(str(value))

    if service == 0x1810:
        m = p.BloodPressureMeasurement(dec("systolic", 124), dec("diastolic", 79), None,
                                       time_stamp=stamp, pulse_rate=dec("pulse", 68))
    elif service == 0x1809:
        m = p.TemperatureMeasurement(dec("temperature", 36.7), time_stamp=stamp,
                                     temperature_type=3)
    elif service == 0x1808:
        return GLUCOSE_MEASUREMENT, _glucose_bytes(sequence, stamp.to_datetime(),
                                                   dec("glucose", 5.6))
    elif service in (WEIGHT_SCALE_SERVICE, 0x181B):
        kg = round(float(values.get("weight", 70.5)) / 0.005) * 0.005
        m = p.WeightMeasurement(Decimal(f"{kg:.3f}"), time_stamp=stamp)
    elif service == 0x1822:
        m = p.PlxSpotCheckMeasurement(dec("spo2", 97), dec("pulse", 66), time_stamp=stamp)
    elif service == 0x180D:
        m = p.HeartRateMeasurement(int(values.get("heart_rate", 72)))
    else:
        raise ValueError(f"no simulated measurement for service 0x{service:04X}")
    return encode(m)


class _SimConnection(Connection):
    def __init__(self, backend: SimulatedBackend, device: SimulatedDevice):
        self.backend = backend
        self.device = device
        self.address = device.address
        self.disconnected = asyncio.Event()
        self._callbacks: dict[int, Callable[[bytes], None]] = {}
        self._sent = 0
        self._tasks: set[asyncio.Task] = set()

    def characteristics(self) -> set[str]:
        chars = set(SERVICE_MEASUREMENTS.get(self.device.service, ()))
        if self.device.service == 0x1808:
            chars.add(RECORD_ACCESS_CONTROL_POINT)
        if self.device.clock is not None:
            chars.add(CURRENT_TIME)
        return {full_uuid(c) for c in chars}

    def _check(self):
        if self.disconnected.is_set():
            raise DisconnectedError("the device disconnected")

    def _send(self, char: int, data: bytes) -> bool:
        """Deliver one payload; False once the link is gone."""
        if self.disconnected.is_set():
            return False
        callback = self._callbacks.get(char)
        if callback is None:
            return True
        callback(data)
        self._sent += 1
        if self.device.drop_after is not None and self._sent >= self.device.drop_after:
            self.device.drop_after = None
            log.info("simulated %s drops the link mid-transfer", self.address)
            self.disconnected.set()
            return False
        return True

    def _later(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def subscribed(self) -> set[int]:
        """Characteristics the hub subscribed to on this connection."""
        return set(self._callbacks)

    def push(self, char: int, data: bytes) -> None:
        """Send a new measurement on this open connection."""
        self._later(self._deliver([(char, data)]))

    async def start_notify(self, char_uuid: str, callback: Callable[[bytes], None]) -> None:
        self._check()
        char = uuid16(char_uuid)
        self._callbacks[char] = callback
        mine = [(c, d) for c, d in self.device.pending if c == char]
        if mine:
            self.device.pending = [(c, d) for c, d in self.device.pending if c != char]
            self._later(self._deliver(mine))

    async def _deliver(self, items):
        for char, data in items:
            await asyncio.sleep(self.backend.latency)
            if not self._send(char, data):
                return

    async def write(self, char_uuid: str, data: bytes) -> None:
        self._check()
        if uuid16(char_uuid) != RECORD_ACCESS_CONTROL_POINT:
            return
        if data[:2] == racp.report_all_records():
            first = 0
        elif data[:3] == bytes((racp.OpCode.REPORT_STORED_RECORDS,
                                racp.Operator.GREATER_THAN_OR_EQUAL,
                                racp.FilterType.SEQUENCE_NUMBER)):
            first = int.from_bytes(data[3:5], "little")
        else:
            self._later(self._racp_answer(racp.ResponseCode.OP_CODE_NOT_SUPPORTED, data[0]))
            return
        records = [(s, b) for s, b in self.device.records if s >= first]
        self._later(self._send_records(records))

    async def _send_records(self, records):
        for stray in self.device.racp_stray:
            await asyncio.sleep(self.backend.latency)
            self._send(RECORD_ACCESS_CONTROL_POINT, stray)
        for sequence, data in records:
            await asyncio.sleep(self.backend.latency)
            if not self._send(GLUCOSE_MEASUREMENT, data):
                return
            self.device.sent_up_to = max(self.device.sent_up_to, sequence)
        if self.device.racp_silent:
            return
        await self._racp_answer(racp.ResponseCode.SUCCESS if records
                                else racp.ResponseCode.NO_RECORDS_FOUND,
                                racp.OpCode.REPORT_STORED_RECORDS)

    async def _racp_answer(self, code, op):
        await asyncio.sleep(self.backend.latency)
        self._send(RECORD_ACCESS_CONTROL_POINT, bytes((racp.OpCode.RESPONSE_CODE, 0, op, code)))

    async def read(self, char_uuid: str) -> bytes:
        self._check()
        if uuid16(char_uuid) == CURRENT_TIME and self.device.clock is not None:
            return p.encode_current_time(p.DeviceTime.from_datetime(self.device.now()))
        return b""

    async def disconnect(self) -> None:
        dev = self.device
        if not dev.pending and all(s <= dev.sent_up_to for s, _ in dev.records):
            dev.awake_until = 0.0  # sent everything: back to sleep
        self.disconnected.set()
        for task in list(self._tasks):
            task.cancel()
        self.backend.connected.discard(self.address)
        if self.backend.live.get(self.address) is self:
            del self.backend.live[self.address]


class SimulatedBackend(Backend):
    """A room full of simulated devices.

    :param devices: the devices (default: :func:`default_devices`).
    :param advertise_every: seconds between each device's advertisements.
    :param latency: seconds between payloads on a connection.
    """

    name = "simulated"

    def __init__(self, devices: list[SimulatedDevice] | None = None, *,
                 advertise_every: float = 2.0, latency: float = 0.01):
        self.devices = {d.address: d for d in (default_devices() if devices is None
                                               else devices)}
        self.advertise_every = advertise_every
        self.latency = latency
        self.adapter_present = True
        self.connected: set[str] = set()
        self.live: dict[str, _SimConnection] = {}
        self._callback: Callable[[Advertisement], None] | None = None
        self._task: asyncio.Task | None = None
        self._handler: PairingHandler | None = None
        self.scan_starts = 0
        self.removed: list[str] = []

    # -- controls for the demo and tests ------------------------------------------------

    def device(self, address: str) -> SimulatedDevice:
        """The simulated device at ``address``.

        :raises ValueError: no such simulated device.
        """
        try:
            return self.devices[address.upper()]
        except KeyError:
            raise ValueError(f"no simulated device {address}; known: "
                             f"{', '.join(self.devices)}") from None

    def measure(self, address: str, values: dict | None = None, *, raw: bytes | None = None,
                char: int | None = None) -> None:
        """The device takes a measurement (or, with ``raw``, sends those exact bytes).

        A connectable device keeps it for the next connection and advertises at once;
        a broadcast-only scale puts it in its advertisement.
        """
        dev = self.device(address)
        if raw is None:
            sequence = max((s for s, _ in dev.records), default=0) + 1
            char, raw = build_measurement(dev.service, values or {}, sequence=sequence)
        elif char is None:
            char = SERVICE_MEASUREMENTS[dev.service][0] if SERVICE_MEASUREMENTS.get(
                dev.service) else GLUCOSE_MEASUREMENT
        if dev.broadcast_only:
            dev.service_data = raw
        elif dev.service == 0x1808 and char == GLUCOSE_MEASUREMENT:
            sequence = int.from_bytes(raw[1:3], "little") if len(raw) >= 3 else 0
            dev.records.append((sequence, raw))
        else:
            live = self.live.get(dev.address)
            if live is not None and not live.disconnected.is_set() and char in live.subscribed:
                live.push(char, raw)  # measured while connected: sent at once
                return
            dev.pending.append((char, raw))
        self.advertise(address)

    def advertise(self, address: str, *, awake: float = 30.0) -> None:
        """The device wakes up and advertises now, and for ``awake`` seconds."""
        dev = self.device(address)
        with contextlib.suppress(RuntimeError):
            dev.awake_until = asyncio.get_running_loop().time() + awake
        if self._callback and dev.in_range:
            self._callback(dev.advertisement())

    # -- Backend ----------------------------------------------------------------------------

    async def check_adapter(self) -> str:
        if not self.adapter_present:
            from .backend import NoAdapterError
            raise NoAdapterError("simulated adapter removed")
        return "simulated"

    async def start_scan(self, callback: Callable[[Advertisement], None]) -> None:
        await self.check_adapter()
        self._callback = callback
        self.scan_starts += 1
        self._task = asyncio.get_running_loop().create_task(self._advertise_loop())

    async def _advertise_loop(self):
        while True:
            now = asyncio.get_running_loop().time()
            for dev in list(self.devices.values()):
                if dev.advertising(now) and dev.address not in self.connected and self._callback:
                    self._callback(dev.advertisement())
            await asyncio.sleep(self.advertise_every)

    async def stop_scan(self) -> None:
        task, self._task = self._task, None
        self._callback = None
        if task:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def connect(self, target: Advertisement | str, *, pair: bool = False,
                      timeout: float = 20.0) -> Connection:
        address = target.address if isinstance(target, Advertisement) else target
        dev = self.devices.get(address.upper())
        if dev is None or not dev.in_range:
            raise DeviceNotFoundError("the device is not in range")
        dev.connects += 1
        if dev.fail_next:
            raise dev.fail_next.pop(0)
        if dev.broadcast_only:
            raise TransientError("timeout", "the device does not accept connections")
        if pair and not dev.bonded:
            await self._pair(dev)
        await asyncio.sleep(self.latency)
        self.connected.add(dev.address)
        conn = _SimConnection(self, dev)
        self.live[dev.address] = conn
        return conn

    async def _pair(self, dev: SimulatedDevice):
        handler = self._handler
        if handler is None:
            raise PairingError("pairing failed (AuthenticationFailed): no pairing agent")
        if not handler.authorize(dev.address):
            raise PairingError("pairing failed (AuthenticationRejected)")
        if dev.passkey is not None:
            entered = await handler.passkey(dev.address)
            if int(entered) != dev.passkey:
                raise PairingError("pairing failed (AuthenticationFailed): wrong PIN")
        dev.bonded = True
        # after bonding, a device sends what it has: stay awake for the first visit
        dev.awake_until = asyncio.get_running_loop().time() + 5.0

    async def remove_bond(self, address: str) -> None:
        dev = self.devices.get(address.upper())
        self.removed.append(address.upper())
        if dev:
            dev.bonded = False

    async def start_agent(self, handler: PairingHandler, capability: str) -> None:
        self._handler = handler

    async def stop_agent(self) -> None:
        self._handler = None

    async def close(self) -> None:
        await self.stop_scan()
