"""The real Bluetooth backend: bleak on BlueZ (D-Bus), behind :class:`~.backend.Backend`.

This module owns the translation between bleak and the hub: bleak's scanner callback
becomes an :class:`~.backend.Advertisement` (keeping bleak's ``BLEDevice`` so the hub
connects with the object the scanner just saw), ``BleakClient`` becomes a
:class:`~.backend.Connection`, and bleak/BlueZ exceptions become the hub's named errors
(``org.bluez.Error.InProgress`` → :class:`~.backend.TransientError` with code
``InProgress``, and so on). It registers the pairing agent (:mod:`.agent`).

It does not retry (that is :mod:`.connector`'s job, with per-error backoff) and never
calls BlueZ ``RemoveDevice`` except from :meth:`BleakBackend.remove_bond`, which only
``devices.forget`` uses — bleak-retry-connector's cache clearing would delete a bond.

bleak talks to whatever ``DBUS_SYSTEM_BUS_ADDRESS`` names, which is how the tests run it
against python-dbusmock's ``bluez5`` template.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from .agent import BluezAgent
from .backend import (
    Advertisement,
    Backend,
    BleError,
    Connection,
    DeviceNotFoundError,
    DisconnectedError,
    NoAdapterError,
    PairingError,
    PairingHandler,
    TransientError,
)

__all__ = ["BleakBackend", "translate_error"]

log = logging.getLogger(__name__)

_PAIRING_ERRORS = {
    "org.bluez.Error.AuthenticationFailed",
    "org.bluez.Error.AuthenticationCanceled",
    "org.bluez.Error.AuthenticationRejected",
    "org.bluez.Error.AuthenticationTimeout",
    "org.bluez.Error.ConnectionAttemptFailed",
}
_NO_BLUEZ = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.AccessDenied",
}


def translate_error(exc: BaseException) -> BleError:
    """The hub's error for a bleak / BlueZ / D-Bus exception."""
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakDBusError,
        BleakDeviceNotFoundError,
        BleakError,
    )

    if isinstance(exc, BleError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return NoAdapterError(str(exc))
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError("the device is not in range (BlueZ has not seen it lately)")
    if isinstance(exc, BleakDBusError):
        name, details = exc.dbus_error, exc.dbus_error_details or ""
        if name in _PAIRING_ERRORS:
            return PairingError(f"pairing failed ({name.rsplit('.', 1)[-1]}). "
                                "Put the device in pairing mode and try again.")
        if name in _NO_BLUEZ:
            return NoAdapterError(f"bluetoothd is not available: {name}")
        if name == "org.freedesktop.DBus.Error.UnknownObject":
            return DeviceNotFoundError("BlueZ no longer knows the device")
        if name == "org.bluez.Error.NotConnected":
            return DisconnectedError("the device disconnected")
        if "not connected" in details.lower():
            return DisconnectedError("the device disconnected")
        short = name.rsplit(".", 1)[-1]
        # org.bluez.Error.Failed carries the useful word in its message
        # ("le-connection-abort-by-local", "Software caused connection abort"…).
        code = details if short == "Failed" and details else short
        if "connection slot" in code or "available connection" in code:
            code = "out-of-slots"
        return TransientError(code, f"Bluetooth error: {short} {details}".strip())
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError (3.11)
        return TransientError("timeout", "the device did not answer in time")
    if isinstance(exc, (EOFError, BrokenPipeError, ConnectionResetError)):
        return TransientError("dbus", f"the D-Bus connection broke: {exc!r}")
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError, PermissionError)):
        return NoAdapterError(f"no system D-Bus: {exc}")
    if isinstance(exc, BleakError):
        text = str(exc)
        if "disconnect" in text.lower():
            return DisconnectedError(text)
        if "BlueZ >= 5.55" in text:
            return NoAdapterError(text)
        return TransientError("bleak", text)
    if isinstance(exc, OSError):
        return NoAdapterError(f"{type(exc).__name__}: {exc}")
    return TransientError(type(exc).__name__, str(exc))


class _BleakConnection(Connection):
    def __init__(self, client, address: str):
        self.client = client
        self.address = address
        self.disconnected = asyncio.Event()

    def characteristics(self) -> set[str]:
        services = self.client.services
        if services is None:
            return set()
        return {c.uuid.lower() for s in services for c in s.characteristics}

    async def start_notify(self, char_uuid: str, callback: Callable[[bytes], None]) -> None:
        def on_value(_char, data: bytearray):
            callback(bytes(data))

        try:
            # StartNotify (not AcquireNotify): some devices notify before the CCCD write is
            # acknowledged, and StartNotify delivers those through PropertiesChanged.
            await self.client.start_notify(char_uuid, on_value,
                                           bluez={"use_start_notify": True})
        except Exception as exc:
            raise translate_error(exc) from exc

    async def write(self, char_uuid: str, data: bytes) -> None:
        try:
            await self.client.write_gatt_char(char_uuid, data, response=True)
        except Exception as exc:
            raise translate_error(exc) from exc

    async def read(self, char_uuid: str) -> bytes:
        try:
            return bytes(await self.client.read_gatt_char(char_uuid))
        except Exception as exc:
            raise translate_error(exc) from exc

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), 10)
        self.disconnected.set()


class BleakBackend(Backend):
    """bleak on BlueZ.

    :param adapter: ``"hci0"``…; empty or None means BlueZ's first powered adapter.
    """

    name = "bluez"

    def __init__(self, adapter: str | None = None):
        self.adapter = adapter or None
        self._scanner = None
        self._agent: BluezAgent | None = None

    def _bluez_args(self) -> dict:
        return {"adapter": self.adapter} if self.adapter else {}

    async def check_adapter(self) -> str:
        from bleak.backends.bluezdbus.manager import get_global_bluez_manager

        try:
            manager = await asyncio.wait_for(get_global_bluez_manager(), 10)
            if self.adapter:
                path = f"/org/bluez/{self.adapter}"
                if path not in manager._adapters:  # noqa: SLF001 (bleak has no public list)
                    raise NoAdapterError(f"adapter {self.adapter} not found")
                return self.adapter
            return manager.get_default_adapter().rsplit("/", 1)[-1]
        except NoAdapterError:
            raise
        except Exception as exc:
            err = translate_error(exc)
            raise (err if isinstance(err, NoAdapterError) else NoAdapterError(str(err))) from exc

    async def start_scan(self, callback: Callable[[Advertisement], None]) -> None:
        from bleak import BleakScanner

        await self.check_adapter()

        def on_detect(device, adv):
            callback(Advertisement(
                address=device.address.upper(),
                name=adv.local_name or device.name,
                rssi=adv.rssi,
                service_uuids=tuple(u.lower() for u in adv.service_uuids),
                service_data={k.lower(): bytes(v) for k, v in adv.service_data.items()},
                manufacturer_data=dict(adv.manufacturer_data),
                handle=device,
            ))

        # No UUID filter: a scale that only puts its weight in service data, or a paired
        # device with a vendor UUID, must still be heard. The hub filters by itself.
        scanner = BleakScanner(detection_callback=on_detect, bluez=self._bluez_args())
        try:
            await scanner.start()
        except Exception as exc:
            raise translate_error(exc) from exc
        self._scanner = scanner

    async def stop_scan(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(scanner.stop(), 10)

    async def connect(self, target: Advertisement | str, *, pair: bool = False,
                      timeout: float = 20.0) -> Connection:
        from bleak import BleakClient

        if isinstance(target, Advertisement):
            device, address = target.handle or target.address, target.address
        else:
            device, address = target, target.upper()
        conn: _BleakConnection | None = None

        def on_disconnect(_client):
            if conn is not None:
                conn.disconnected.set()

        client = BleakClient(device, disconnected_callback=on_disconnect, timeout=timeout,
                             pair=pair, bluez=self._bluez_args())
        conn = _BleakConnection(client, address)
        try:
            # bleak's own timeout covers finding the device and connecting; this one guards
            # a D-Bus call that never answers.
            await asyncio.wait_for(client.connect(), timeout + 10)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise translate_error(exc) from exc
        return conn

    async def remove_bond(self, address: str) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakDeviceNotFoundError

        client = BleakClient(address, bluez=self._bluez_args())
        try:
            await client.unpair()  # BlueZ Adapter1.RemoveDevice: deletes the bond
        except BleakDeviceNotFoundError:
            pass
        except Exception as exc:
            raise translate_error(exc) from exc

    async def start_agent(self, handler: PairingHandler, capability: str) -> None:
        if self._agent is None or self._agent.handler is not handler:
            await self.stop_agent()
            self._agent = BluezAgent(handler, capability)
        try:
            await self._agent.register()
        except BleError:
            raise
        except Exception as exc:
            raise translate_error(exc) from exc

    async def stop_agent(self) -> None:
        if self._agent is not None:
            await self._agent.unregister()

    @property
    def agent_registered(self) -> bool:
        """The pairing agent is registered and its bus is up."""
        return bool(self._agent and self._agent.registered)

    async def close(self) -> None:
        await self.stop_scan()
        await self.stop_agent()
