"""Pairing decisions, and the BlueZ pairing agent that carries them out over D-Bus.

This module owns two things:

* :class:`PairingPolicy` — who may pair and with which passkey. Only the device the
  family chose on the kiosk (or with ``hub devices pair``) is authorised, and only while
  that pairing runs; a passkey shown by a meter is asked from the kiosk
  (``devices.passkey``) or given in advance (``devices.pair`` with ``passkey``).
* :class:`BluezAgent` — an ``org.bluez.Agent1`` object on the system bus (dbus-fast,
  which bleak already uses) that BlueZ calls during ``Pair``. Without a registered agent
  ``Pair`` fails on current BlueZ (``AuthenticationFailed``), which is why bleak's
  ``pair()`` alone does not work for many cuffs and meters.

Capability: the hub registers as ``KeyboardOnly`` by default. With a device that has no
display or keys (most cuffs, scales) BlueZ then uses *Just Works* and the agent
confirms it automatically (what a ``NoInputNoOutput`` agent would do); with a meter that
shows a 6-digit PIN (some Accu-Chek models) BlueZ asks for the passkey, and the family
types it on the kiosk. See BlueZ ``doc/org.bluez.Agent.rst`` and Core Spec Vol 3 Part H
§2.3.5.1 (pairing method selection from both IO capabilities).

It does not scan, connect or store anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable

from .backend import PairingError, PairingHandler

__all__ = ["PairingPolicy", "BluezAgent", "CAPABILITIES", "address_from_path",
           "AGENT_PATH"]

log = logging.getLogger(__name__)

CAPABILITIES = ("KeyboardOnly", "NoInputNoOutput", "KeyboardDisplay", "DisplayYesNo",
                "DisplayOnly")
AGENT_PATH = "/org/elderhub/pairing_agent"
_DEV_RE = re.compile(r"/dev_([0-9A-Fa-f]{2}(?:_[0-9A-Fa-f]{2}){5})")


def address_from_path(path: str) -> str:
    """``/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`` → ``AA:BB:CC:DD:EE:FF`` (BlueZ's naming)."""
    m = _DEV_RE.search(path)
    return m.group(1).replace("_", ":").upper() if m else path


class PairingPolicy(PairingHandler):
    """Who may pair now, and the passkeys the family enters.

    :param on_passkey_needed: called (on the loop) with the address when a device asks
        for a passkey that was not given in advance — the service pushes it to the kiosk.
    :param passkey_timeout: seconds to wait for the family to type the PIN.
    """

    def __init__(self, on_passkey_needed: Callable[[str], None] | None = None,
                 passkey_timeout: float = 120.0):
        self.on_passkey_needed = on_passkey_needed
        self.passkey_timeout = passkey_timeout
        self._expected: dict[str, int | None] = {}
        self._waiting: dict[str, asyncio.Future] = {}

    @contextlib.contextmanager
    def expect(self, address: str, passkey: int | None = None):
        """Authorise ``address`` (optionally with its passkey) for the ``with`` block."""
        address = address.upper()
        self._expected[address] = passkey
        try:
            yield
        finally:
            self._expected.pop(address, None)
            fut = self._waiting.pop(address, None)
            if fut and not fut.done():
                fut.cancel()

    @property
    def waiting_for_passkey(self) -> list[str]:
        """Addresses whose pairing waits for a passkey from the kiosk."""
        return [a for a, f in self._waiting.items() if not f.done()]

    def authorize(self, address: str) -> bool:
        """True only for the device being paired now."""
        return address.upper() in self._expected

    async def passkey(self, address: str) -> int:
        """The passkey given in advance, or one typed on the kiosk within the timeout."""
        address = address.upper()
        if address not in self._expected:
            raise PairingError(f"{address} is not being paired")
        given = self._expected[address]
        if given is not None:
            return given
        fut = asyncio.get_running_loop().create_future()
        self._waiting[address] = fut
        if self.on_passkey_needed:
            try:
                self.on_passkey_needed(address)
            except Exception:
                log.exception("passkey notification failed")
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.passkey_timeout)
        except asyncio.TimeoutError:
            raise PairingError("nobody entered the PIN shown on the device in time") from None
        except asyncio.CancelledError:
            raise PairingError("pairing was cancelled") from None
        finally:
            self._waiting.pop(address, None)

    def provide_passkey(self, address: str, passkey: int) -> bool:
        """The family typed the PIN. Returns False if no pairing was waiting for it."""
        address = address.upper()
        if not 0 <= int(passkey) <= 999999:
            raise ValueError("the PIN is a number of up to 6 digits")
        if address in self._expected and self._expected[address] is None:
            self._expected[address] = int(passkey)
        fut = self._waiting.get(address)
        if fut is None or fut.done():
            return address in self._expected
        fut.set_result(int(passkey))
        return True


def _agent_interface():
    """Build the dbus-fast ServiceInterface class (imported lazily: only on BlueZ)."""
    from dbus_fast import DBusError
    from dbus_fast.service import ServiceInterface, method

    rejected = "org.bluez.Error.Rejected"
    canceled = "org.bluez.Error.Canceled"

    class _Agent1(ServiceInterface):
        """org.bluez.Agent1 (BlueZ doc/org.bluez.Agent.rst)."""

        def __init__(self, handler: PairingHandler):
            super().__init__("org.bluez.Agent1")
            self.handler = handler

        def _check(self, device: str) -> str:
            address = address_from_path(device)
            if not self.handler.authorize(address):
                log.warning("refused a pairing request from %s: not the device being paired",
                            address)
                raise DBusError(rejected, "this hub pairs only the device chosen on its screen")
            return address

        @method()
        def Release(self):  # noqa: N802 (D-Bus names)
            log.info("BlueZ released the pairing agent")

        @method()
        async def RequestPinCode(self, device: "o") -> "s":  # noqa: F821,N802
            address = self._check(device)
            try:
                return f"{await self.handler.passkey(address):06d}"
            except PairingError as exc:
                raise DBusError(canceled, str(exc)) from None

        @method()
        def DisplayPinCode(self, device: "o", pincode: "s"):  # noqa: F821,N802
            self._check(device)

        @method()
        async def RequestPasskey(self, device: "o") -> "u":  # noqa: F821,N802
            address = self._check(device)
            try:
                return await self.handler.passkey(address)
            except PairingError as exc:
                raise DBusError(canceled, str(exc)) from None

        @method()
        def DisplayPasskey(self, device: "o", passkey: "u", entered: "q"):  # noqa: F821,N802
            self._check(device)

        @method()
        def RequestConfirmation(self, device: "o", passkey: "u"):  # noqa: F821,N802
            # Numeric comparison / Just Works: the family already chose this device.
            self._check(device)

        @method()
        def RequestAuthorization(self, device: "o"):  # noqa: F821,N802
            self._check(device)

        @method()
        def AuthorizeService(self, device: "o", uuid: "s"):  # noqa: F821,N802
            self._check(device)

        @method()
        def Cancel(self):  # noqa: N802
            log.info("BlueZ cancelled a pairing request")

    return _Agent1


class BluezAgent:
    """Our ``org.bluez.Agent1`` on the system bus, registered as BlueZ's default agent.

    :param handler: the pairing policy.
    :param capability: one of :data:`CAPABILITIES`.
    """

    def __init__(self, handler: PairingHandler, capability: str = "KeyboardOnly"):
        if capability not in CAPABILITIES:
            raise ValueError(f"agent capability must be one of {', '.join(CAPABILITIES)}")
        self.handler = handler
        self.capability = capability
        self._bus = None

    @property
    def registered(self) -> bool:
        """Registered and its bus still connected."""
        return self._bus is not None and self._bus.connected

    async def register(self) -> None:
        """Export the agent and make it BlueZ's default.

        :raises OSError, dbus_fast.DBusError: no system bus, or bluetoothd refused.
        """
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        if self.registered:
            return
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        try:
            bus.export(AGENT_PATH, _agent_interface()(self.handler))
            for member, signature, body in (
                    ("RegisterAgent", "os", [AGENT_PATH, self.capability]),
                    ("RequestDefaultAgent", "o", [AGENT_PATH])):
                reply = await bus.call(Message(
                    destination="org.bluez", path="/org/bluez",
                    interface="org.bluez.AgentManager1", member=member,
                    signature=signature, body=body))
                if reply.message_type == MessageType.ERROR and not (
                        member == "RegisterAgent"
                        and reply.error_name == "org.bluez.Error.AlreadyExists"):
                    raise PairingError(f"BlueZ refused {member}: {reply.error_name} "
                                       f"{' '.join(map(str, reply.body))}")
        except BaseException:
            bus.disconnect()
            raise
        self._bus = bus
        log.info("pairing agent registered with BlueZ (%s)", self.capability)

    async def unregister(self) -> None:
        """Unregister and close the bus; never raises."""
        from dbus_fast import Message

        bus, self._bus = self._bus, None
        if bus is None:
            return
        with contextlib.suppress(Exception):
            if bus.connected:
                await asyncio.wait_for(bus.call(Message(
                    destination="org.bluez", path="/org/bluez",
                    interface="org.bluez.AgentManager1", member="UnregisterAgent",
                    signature="o", body=[AGENT_PATH])), 2)
        with contextlib.suppress(Exception):
            bus.disconnect()
