"""The BLE seam: what the hub needs from a Bluetooth stack, and the errors it may raise.

This module owns the small interface every Bluetooth backend implements — the real one
(:mod:`hub.sensors.ble.bleak_backend`, bleak on BlueZ) and the simulated one
(:mod:`hub.sensors.ble.simulated`, used by ``--simulate`` and the tests) — in the way
gpiozero separates devices from a pin factory: the scanner, connector, pairing and
service code above cannot tell which backend it drives. It also owns the named BLE
errors, so callers know what they can catch. It does not parse payloads
(:mod:`hub.sensors.ble.uuids`) or decide anything about devices.

Everything here runs on the core's asyncio loop. Callbacks a backend calls
(advertisements, notifications) must be quick: they only hand bytes over.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.errors import HubError

__all__ = [
    "NO_ADAPTER_MESSAGE",
    "BleError",
    "NoAdapterError",
    "TransientError",
    "DeviceNotFoundError",
    "PairingError",
    "DisconnectedError",
    "Advertisement",
    "Connection",
    "PairingHandler",
    "Backend",
]

NO_ADAPTER_MESSAGE = ("No Bluetooth adapter found. Is Bluetooth enabled? "
                      "Try: sudo rfkill unblock bluetooth")


class BleError(HubError):
    """Base class of the hub's Bluetooth errors (messages are for people)."""


class NoAdapterError(BleError):
    """No usable adapter: none fitted, powered off, rfkill-blocked, or no bluetoothd.

    ``str(error)`` is always :data:`NO_ADAPTER_MESSAGE`; the technical cause is in
    :attr:`detail` (logged, not shown to the family).
    """

    def __init__(self, detail: str = ""):
        super().__init__(NO_ADAPTER_MESSAGE)
        self.detail = detail


class TransientError(BleError):
    """A failure worth retrying after a pause (BlueZ ``InProgress``, ``NotReady``, an
    aborted LE connection, a timeout, a D-Bus hiccup).

    :param code: a short machine word: ``InProgress``, ``NotReady``,
        ``le-connection-abort-by-local``, ``timeout``, ``out-of-slots``, ``dbus``…
    """

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or f"Bluetooth is busy ({code}); trying again")
        self.code = code


class DeviceNotFoundError(BleError):
    """BlueZ does not know the device (it has not been seen recently)."""


class PairingError(BleError):
    """Pairing was refused, failed authentication, or nobody entered the PIN in time."""


class DisconnectedError(BleError):
    """The device went away in the middle of the work."""


@dataclass(frozen=True)
class Advertisement:
    """One advertisement (or scan response) as the hub needs it.

    :param address: the device's Bluetooth address, upper case ``AA:BB:CC:DD:EE:FF``.
    :param name: the advertised local name, if any.
    :param rssi: signal strength in dBm.
    :param service_uuids: advertised service UUIDs, 128-bit lower-case strings.
    :param service_data: service UUID string → service data bytes.
    :param manufacturer_data: company id → bytes.
    :param handle: the backend's own device object (bleak's ``BLEDevice``): connecting
        with the object the scanner just saw avoids BlueZ's "device not found" after it
        forgets unseen devices (~3 minutes).
    """

    address: str
    name: str | None = None
    rssi: int | None = None
    service_uuids: tuple[str, ...] = ()
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    handle: Any = field(default=None, compare=False, repr=False)


class Connection(abc.ABC):
    """One open GATT connection. Always :meth:`disconnect` when done (adapters hold few)."""

    address: str
    #: set when the link drops, whoever dropped it
    disconnected: asyncio.Event

    @abc.abstractmethod
    def characteristics(self) -> set[str]:
        """UUIDs (128-bit lower-case strings) of every characteristic the device has."""

    @abc.abstractmethod
    async def start_notify(self, char_uuid: str, callback: Callable[[bytes], None]) -> None:
        """Subscribe to notifications or indications; ``callback(data)`` runs on the loop.

        Some devices notify before the subscription is acknowledged; backends must
        deliver those too (BlueZ: ``StartNotify``, not ``AcquireNotify``).
        """

    @abc.abstractmethod
    async def write(self, char_uuid: str, data: bytes) -> None:
        """Write with response (e.g. a RACP request)."""

    @abc.abstractmethod
    async def read(self, char_uuid: str) -> bytes:
        """Read a characteristic value."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Close the link; never raises."""


class PairingHandler(abc.ABC):
    """What the pairing agent asks the hub (see :class:`hub.sensors.ble.agent.PairingPolicy`)."""

    @abc.abstractmethod
    def authorize(self, address: str) -> bool:
        """May this device pair now? (Only the one the family chose on the kiosk.)"""

    @abc.abstractmethod
    async def passkey(self, address: str) -> int:
        """The 6-digit passkey the device shows, entered by the family.

        :raises PairingError: nobody entered it in time, or pairing was cancelled.
        """


class Backend(abc.ABC):
    """A Bluetooth stack the hub can scan, connect, pair and unpair with."""

    #: a word for logs and ``devices.list``: "bluez" or "simulated"
    name: str = "backend"

    @abc.abstractmethod
    async def check_adapter(self) -> str:
        """Describe the adapter in use (e.g. ``"hci0"``).

        :raises NoAdapterError: there is none usable.
        """

    @abc.abstractmethod
    async def start_scan(self, callback: Callable[[Advertisement], None]) -> None:
        """Start one long-lived scan; ``callback`` gets every advertisement.

        :raises NoAdapterError: no adapter.
        :raises TransientError: the stack is busy; try again later.
        """

    @abc.abstractmethod
    async def stop_scan(self) -> None:
        """Stop the scan; never raises."""

    @abc.abstractmethod
    async def connect(self, target: Advertisement | str, *, pair: bool = False,
                      timeout: float = 20.0) -> Connection:
        """Connect (and bond first when ``pair``), services resolved.

        :param target: the advertisement just seen (preferred) or an address.
        :raises TransientError, DeviceNotFoundError, PairingError, NoAdapterError,
            DisconnectedError:
        """

    @abc.abstractmethod
    async def remove_bond(self, address: str) -> None:
        """Delete the device and its bond from the stack. Only ``devices.forget`` calls
        this: the family unpairing is the one reason to throw a bond away."""

    async def start_agent(self, handler: PairingHandler, capability: str) -> None:
        """Register the pairing agent (BlueZ needs one for ``Pair`` to succeed)."""

    async def stop_agent(self) -> None:
        """Unregister the pairing agent; never raises."""

    async def close(self) -> None:
        """Release everything; never raises."""
