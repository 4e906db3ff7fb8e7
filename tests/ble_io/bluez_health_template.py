"""python-dbusmock template: BlueZ (the ``bluez5`` template) plus GATT health devices.

Loaded by the mock server process (``python -m dbusmock --system --template THIS_FILE``),
not by pytest. It extends dbusmock's ``bluez5`` template with what the hub's tests need
and ``bluez5`` lacks:

* ``AgentManager1`` that remembers *who* registered an agent, so ``Device1.Pair`` calls
  the agent back like bluetoothd: ``RequestPasskey`` for a device that shows a PIN,
  ``RequestAuthorization`` (Just Works) otherwise; no agent → ``AuthenticationFailed``;
* health devices with ``GattService1`` / ``GattCharacteristic1`` objects (``StartNotify``,
  ``WriteValue``, a ``Value`` property whose ``PropertiesChanged`` is a notification);
  queued measurements are sent *inside* ``StartNotify``, before its reply — the
  "notifies before the subscription is acknowledged" devices;
* a glucose meter answering the Record Access Control Point (records ≥ N, then
  ``06 00 01 01``), a link that can drop mid-transfer, errors injected into the next
  ``Connect``/``Pair`` calls (``org.bluez.Error.InProgress``…), advertisements as
  ``PropertiesChanged`` on RSSI / ServiceData.

Control methods are on ``/`` under ``org.bluez.Mock``.
"""

import dbus
import dbus.service

from dbusmock import OBJECT_MANAGER_IFACE, mockobject
from dbusmock.templates import bluez5
from dbusmock.templates.bluez5 import (  # noqa: F401  (picked up by AddTemplate)
    BUS_NAME,
    IS_OBJECT_MANAGER,
    MAIN_OBJ,
    SYSTEM_BUS,
    AddAdapter,
    PairDevice,
    RemoveAdapter,
)

BLUEZ_MOCK_IFACE = "org.bluez.Mock"
AGENT_MANAGER_IFACE = "org.bluez.AgentManager1"
AGENT_IFACE = "org.bluez.Agent1"
DEVICE_IFACE = "org.bluez.Device1"
SERVICE_IFACE = "org.bluez.GattService1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"
BASE = "-0000-1000-8000-00805f9b34fb"

# service → [(characteristic, flags)]
GATT = {
    0x1810: [(0x2A35, ["indicate"])],
    0x1809: [(0x2A1C, ["indicate"])],
    0x1808: [(0x2A18, ["notify"]), (0x2A52, ["write", "indicate"])],
    0x181D: [(0x2A9D, ["indicate"])],
    0x1822: [(0x2A5E, ["indicate"])],
}


def uuid128(short):
    return f"0000{short:04x}{BASE}"


def error(name, text=""):
    return dbus.exceptions.DBusException(text or name, name=name)


class AgentManager(mockobject.DBusMockObject):
    """/org/bluez with AgentManager1 that records the agent's bus name."""

    @dbus.service.method(AGENT_MANAGER_IFACE, in_signature="os", out_signature="",
                         sender_keyword="sender")
    def RegisterAgent(self, path, capability, sender=None):
        key = (str(sender), str(path))
        if key in self.agents:
            raise error("org.bluez.Error.AlreadyExists", "agent already registered")
        self.agents[key] = str(capability)
        if self.default_agent is None:
            self.default_agent = key
        self.log(f"RegisterAgent {path} {capability} from {sender}")

    @dbus.service.method(AGENT_MANAGER_IFACE, in_signature="o", out_signature="",
                         sender_keyword="sender")
    def RequestDefaultAgent(self, path, sender=None):
        key = (str(sender), str(path))
        if key not in self.agents:
            raise error("org.bluez.Error.DoesNotExist", "agent not registered")
        self.default_agent = key

    @dbus.service.method(AGENT_MANAGER_IFACE, in_signature="o", out_signature="",
                         sender_keyword="sender")
    def UnregisterAgent(self, path, sender=None):
        key = (str(sender), str(path))
        self.agents.pop(key, None)
        if self.default_agent == key:
            self.default_agent = next(iter(self.agents), None)


class HealthDevice(mockobject.DBusMockObject):
    """A BLE health device as BlueZ shows it (Device1)."""

    def setup(self, passkey, service):
        self.passkey = passkey
        self.service = service
        self.pending = {}  # char path → [bytes]
        self.records = []  # (sequence, bytes)
        self.fail = {}  # method → [error names]
        self.drop_after = 0
        self.sent = 0
        self.calls = []
        self.chars = {}  # short uuid → HealthChar

    def _maybe_fail(self, method):
        errors = self.fail.get(method)
        if errors:
            name = errors.pop(0)
            raise error(name, "injected by the test")

    def set_connected(self, connected):
        if connected:
            self.UpdateProperties(DEVICE_IFACE, {"Connected": dbus.Boolean(True)})
            self.UpdateProperties(DEVICE_IFACE, {"ServicesResolved": dbus.Boolean(True)})
        else:
            self.UpdateProperties(DEVICE_IFACE, {"ServicesResolved": dbus.Boolean(False)})
            self.UpdateProperties(DEVICE_IFACE, {"Connected": dbus.Boolean(False)})

    def connected(self):
        return bool(self.props[DEVICE_IFACE]["Connected"])

    def send(self, char, value):
        """Notify/indicate one value; False when the link dropped after it."""
        if not self.connected():
            return False
        char.UpdateProperties(CHAR_IFACE, {"Value": dbus.Array(value, signature="y")})
        self.sent += 1
        if self.drop_after and self.sent >= self.drop_after:
            self.drop_after = 0
            self.set_connected(False)
            return False
        return True

    @dbus.service.method(DEVICE_IFACE, in_signature="", out_signature="")
    def Connect(self):
        self.calls.append("Connect")
        self._maybe_fail("Connect")
        if self.connected():
            raise error("org.bluez.Error.AlreadyConnected", "Already Connected")
        self.sent = 0
        self.set_connected(True)

    @dbus.service.method(DEVICE_IFACE, in_signature="", out_signature="")
    def Disconnect(self):
        self.calls.append("Disconnect")
        if not self.connected():
            raise error("org.bluez.Error.NotConnected", "Not Connected")
        self.set_connected(False)

    @dbus.service.method(DEVICE_IFACE, in_signature="", out_signature="")
    def Pair(self):
        self.calls.append("Pair")
        self._maybe_fail("Pair")
        if self.props[DEVICE_IFACE]["Paired"]:
            raise error("org.bluez.Error.AlreadyExists", "Already Paired")
        manager = mockobject.objects["/org/bluez"]
        if manager.default_agent is None:
            # what current bluetoothd answers when nobody can confirm the pairing
            raise error("org.bluez.Error.AuthenticationFailed", "Authentication Failed")
        owner, path = manager.default_agent
        agent = self.connection.get_object(owner, path, introspect=False)
        device = dbus.ObjectPath(self.path)
        try:
            if self.passkey:
                self.calls.append("Agent.RequestPasskey")
                entered = agent.RequestPasskey(device, dbus_interface=AGENT_IFACE, timeout=60)
                if int(entered) != self.passkey:
                    raise error("org.bluez.Error.AuthenticationFailed", "wrong passkey")
            else:
                self.calls.append("Agent.RequestAuthorization")
                agent.RequestAuthorization(device, dbus_interface=AGENT_IFACE, timeout=30)
        except dbus.exceptions.DBusException as exc:
            if exc.get_dbus_name() in ("org.bluez.Error.Rejected", "org.bluez.Error.Canceled"):
                raise error("org.bluez.Error.AuthenticationRejected", exc.get_dbus_message())
            raise
        self.UpdateProperties(DEVICE_IFACE, {"Paired": dbus.Boolean(True),
                                             "Bonded": dbus.Boolean(True)})
        self.sent = 0
        self.set_connected(True)

    @dbus.service.method(DEVICE_IFACE, in_signature="", out_signature="")
    def CancelPairing(self):
        self.calls.append("CancelPairing")


class HealthChar(mockobject.DBusMockObject):
    """A GattCharacteristic1 of a health device."""

    def setup(self, device, short):
        self.device = device
        self.short = short

    @dbus.service.method(CHAR_IFACE, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        return self.props[CHAR_IFACE]["Value"]

    @dbus.service.method(CHAR_IFACE, in_signature="", out_signature="")
    def StartNotify(self):
        dev = self.device
        dev.calls.append(f"StartNotify {self.short:04x}")
        if not dev.connected():
            raise error("org.bluez.Error.Failed", "Not connected")
        self.UpdateProperties(CHAR_IFACE, {"Notifying": dbus.Boolean(True)})
        # Sent before the reply: the hub must already be listening.
        for value in dev.pending.pop(self.path, []):
            if not dev.send(self, value):
                break

    @dbus.service.method(CHAR_IFACE, in_signature="", out_signature="")
    def StopNotify(self):
        self.UpdateProperties(CHAR_IFACE, {"Notifying": dbus.Boolean(False)})

    @dbus.service.method(CHAR_IFACE, in_signature="aya{sv}", out_signature="")
    def WriteValue(self, value, options):
        dev = self.device
        data = bytes(value)
        dev.calls.append(f"WriteValue {self.short:04x} {data.hex()}")
        if not dev.connected():
            raise error("org.bluez.Error.Failed", "Not connected")
        if self.short != 0x2A52:
            return
        if data[:2] == b"\x01\x01":
            first = 0
        elif data[:3] == b"\x01\x03\x01" and len(data) >= 5:
            first = int.from_bytes(data[3:5], "little")
        else:
            dev.send(self, bytes([6, 0, data[0] if data else 0, 2]))
            return
        records = [v for s, v in sorted(dev.records) if s >= first]
        measurement = dev.chars[0x2A18]
        for record in records:
            if not dev.send(measurement, record):
                return  # dropped mid-transfer: no RACP answer
        dev.send(self, bytes([6, 0, 1, 1 if records else 6]))


def load(mock, parameters):
    bluez5.load(mock, parameters)
    old = mockobject.objects.pop("/org/bluez")
    old.remove_from_connection()
    mock.AddObject("/org/bluez", AGENT_MANAGER_IFACE, {}, [], mock_class=AgentManager)
    manager = mockobject.objects["/org/bluez"]
    manager.AddMethods("org.bluez.ProfileManager1", [("RegisterProfile", "osa{sv}", "", ""),
                                                     ("UnregisterProfile", "o", "", "")])
    manager.agents = {}
    manager.default_agent = None
    manager.agent_paths = []
    manager.capabilities = {}
    manager.enable_advertise_api = parameters.get("enable_advertise_api", True)
    manager.enable_monitor_api = parameters.get("enable_monitor_api", True)


def _emit_added(path, interface, props):
    mockobject.objects["/"].EmitSignal(OBJECT_MANAGER_IFACE, "InterfacesAdded", "oa{sa{sv}}",
                                       [dbus.ObjectPath(path), {interface: props}])


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="sssqu", out_signature="s")
def AddHealthDevice(self, adapter, address, name, service, passkey):
    """Add a health device advertising ``service`` (16-bit), with its GATT objects.

    ``passkey`` 0 means Just Works; otherwise the PIN the device "shows".
    """
    adapter_path = "/org/bluez/" + adapter
    path = adapter_path + "/dev_" + address.replace(":", "_").upper()
    props = {
        "Address": dbus.String(address), "AddressType": dbus.String("public"),
        "Name": dbus.String(name), "Alias": dbus.String(name),
        "Appearance": dbus.UInt16(0), "Icon": dbus.String(""),
        "UUIDs": dbus.Array([uuid128(service)], signature="s"),
        "Paired": dbus.Boolean(False), "Bonded": dbus.Boolean(False),
        "Connected": dbus.Boolean(False), "Trusted": dbus.Boolean(False),
        "Blocked": dbus.Boolean(False), "LegacyPairing": dbus.Boolean(False),
        "Adapter": dbus.ObjectPath(adapter_path), "RSSI": dbus.Int16(-70),
        "TxPower": dbus.Int16(0),
        "ManufacturerData": dbus.Dictionary({}, signature="qv"),
        "ServiceData": dbus.Dictionary({}, signature="sv"),
        "ServicesResolved": dbus.Boolean(False),
    }
    self.AddObject(path, DEVICE_IFACE, props, [], mock_class=HealthDevice)
    device = mockobject.objects[path]
    device.setup(int(passkey), int(service))
    _emit_added(path, DEVICE_IFACE, props)
    handle = 0x10
    spath = f"{path}/service{handle:04x}"
    sprops = {"UUID": dbus.String(uuid128(service)), "Device": dbus.ObjectPath(path),
              "Primary": dbus.Boolean(True), "Includes": dbus.Array([], signature="o")}
    self.AddObject(spath, SERVICE_IFACE, sprops, [])
    _emit_added(spath, SERVICE_IFACE, sprops)
    for short, flags in GATT.get(int(service), []):
        handle += 2
        cpath = f"{spath}/char{handle:04x}"
        cprops = {"UUID": dbus.String(uuid128(short)), "Service": dbus.ObjectPath(spath),
                  "Flags": dbus.Array(flags, signature="s"),
                  "Value": dbus.Array([], signature="y"), "Notifying": dbus.Boolean(False)}
        self.AddObject(cpath, CHAR_IFACE, cprops, [], mock_class=HealthChar)
        char = mockobject.objects[cpath]
        char.setup(device, short)
        device.chars[short] = char
        _emit_added(cpath, CHAR_IFACE, cprops)
    return path


def _device(path):
    return mockobject.objects[str(path)]


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="ona{sv}", out_signature="")
def Advertise(self, device_path, rssi, service_data):
    """The device advertises (BlueZ updates RSSI, and ServiceData when it changes)."""
    changes = {"RSSI": dbus.Int16(rssi)}
    if service_data:
        changes["ServiceData"] = dbus.Dictionary(
            {k: dbus.Array(bytes(v), signature="y") for k, v in service_data.items()},
            signature="sv")
    _device(device_path).UpdateProperties(DEVICE_IFACE, changes)


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="oqay", out_signature="")
def QueueMeasurement(self, device_path, char, value):
    """Keep a measurement to send when the hub subscribes to ``char`` (16-bit)."""
    dev = _device(device_path)
    dev.pending.setdefault(dev.chars[int(char)].path, []).append(bytes(value))


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="oqay", out_signature="")
def AddRecord(self, device_path, sequence, value):
    """Store a glucose record in the meter's memory."""
    _device(device_path).records.append((int(sequence), bytes(value)))


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="ossu", out_signature="")
def FailNext(self, device_path, method, error_name, count):
    """The next ``count`` calls of ``method`` fail with ``error_name``."""
    _device(device_path).fail.setdefault(str(method), []).extend([str(error_name)] * count)


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="ou", out_signature="")
def DropAfter(self, device_path, count):
    """Drop the link after sending ``count`` more values on the next connection."""
    _device(device_path).drop_after = int(count)


@dbus.service.method(BLUEZ_MOCK_IFACE, in_signature="o", out_signature="as")
def DeviceCalls(self, device_path):
    """What the hub called on the device, in order."""
    return dbus.Array(_device(device_path).calls, signature="s")
