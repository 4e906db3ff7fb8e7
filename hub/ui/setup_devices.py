"""Setup → Devices: the paired health devices, finding new ones, pairing and forgetting.

The core owns Bluetooth; this screen only calls ``devices.list``, ``devices.scan``,
``devices.pair {address}`` and ``devices.forget {address}``. While those commands are
not in the core yet, it says so in words ("not available yet on this hub") and
never fails.
"""

import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty

from hub.ui.i18n import _
from hub.ui.widgets import BigButton, HubScreen

__all__ = ["SetupDevicesScreen", "SetupScanScreen", "SetupForgetScreen", "SCREENS",
           "device_label", "as_device_list"]

SHOWN = 3
#: "Searching…" stays on the button at least this long, even when the answer is quick.
MIN_BUSY_SECONDS = 1.0


def device_kind(kind: str) -> str:
    """What a device is, in words."""
    k = (kind or "").lower()
    for keys, words in (
        (("blood_pressure", "bpm"), _("Blood pressure monitor")),
        (("scale", "weight", "body_weight", "body_composition"), _("Scale")),
        (("thermometer", "temperature", "body_temperature", "health_thermometer"),
         _("Thermometer")),
        (("oximeter", "spo2", "pulse_oximeter", "plx"), _("Oxygen meter")),
        (("glucose", "glucometer"), _("Blood sugar meter")),
        (("heart_rate",), _("Heart rate monitor")),
    ):
        if k in keys:
            return words
    return kind.replace("_", " ").capitalize() if kind else _("Device")


# The core names a device "<kind in English> <model>" (hub/sensors/ble/devices.py): the
# kind is shown in the family's language on the first line, so it is taken off the name.
_ENGLISH_KINDS = ("Blood pressure monitor", "Thermometer", "Glucose meter", "Weight scale",
                  "Pulse oximeter", "Heart rate monitor", "Body composition scale",
                  "Health device")


def device_label(dev: dict) -> str:
    """``Blood pressure monitor`` on one line (in the UI's language), its model on the next."""
    kind = device_kind(dev.get("kind") or dev.get("type") or "")
    name = (dev.get("name") or dev.get("address") or "").strip()
    for words in _ENGLISH_KINDS:
        if name.lower().startswith(words.lower()):
            name = name[len(words):].strip()
            break
    return f"{kind}\n{name}" if name and name != kind else kind


def as_device_list(result) -> list[dict]:
    """Accept ``[...]`` or ``{"devices": [...]}`` from the core."""
    if isinstance(result, dict):
        result = result.get("devices") or result.get("found") or []
    return [d for d in result or [] if isinstance(d, dict) and d.get("address")]


def _not_available(words: str, code: str) -> str:
    if code == "unknown_command":
        return _("Pairing devices is not available yet on this hub.")
    return words


class _DeviceList(HubScreen):
    """A page of up to three devices as big buttons, with More for the next page."""

    family = True
    page = NumericProperty(0)
    pages = NumericProperty(1)

    def items(self) -> list[dict]:
        return []

    def choose(self, dev: dict):
        pass

    def rebuild(self):
        box = self.ids.list
        box.clear_widgets()
        items = self.items()
        self.pages = max(1, -(-len(items) // SHOWN))
        self.page = min(self.page, self.pages - 1)
        for dev in items[self.page * SHOWN:(self.page + 1) * SHOWN]:
            btn = BigButton(text=device_label(dev), style="card")
            btn.bind(on_release=lambda _b, d=dev: self.choose(d))
            box.add_widget(btn)

    def turn(self, step: int):
        """Next / Previous page; they stop at the first and last page."""
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.rebuild()

    def on_language(self):
        self.rebuild()


class SetupDevicesScreen(_DeviceList):
    """Paired devices; press one to forget it."""

    devices = ListProperty([])
    loading = BooleanProperty(False)

    def refresh(self):
        self.loading = True
        self.message = ""
        self.app.call("devices.list", self.set_devices, self.failed)

    def failed(self, words, code):
        self.loading = False
        self.devices = []
        self.say_message(_not_available(words, code), error=True)

    def set_devices(self, result):
        self.loading = False
        self.devices = as_device_list(result)
        if not self.devices:
            self.say_message(_("No devices paired yet. Press Find new devices."))
        else:
            self.message = ""

    def on_devices(self, *_a):
        self.rebuild()

    def items(self):
        return self.devices

    def choose(self, dev: dict):
        self.app.screen("setup_forget").device = dev
        self.app.go("setup_forget")


class SetupScanScreen(_DeviceList):
    """Devices in reach; press one to pair it."""

    found = ListProperty([])
    scanning = BooleanProperty(False)

    def on_pre_enter(self, *_a):
        self.scan()

    def scan(self):
        """Search (again): the button says "Searching…" for at least a second and the
        list empties, so a press always shows that something happened."""
        if self.app.staged or self.scanning:
            return
        self.page = 0
        self.found = []
        self.scanning = True
        self._started = time.monotonic()
        self.say_message(_("Looking for devices… Put the device in pairing mode now."))
        self.app.call("devices.scan", lambda r: self._after(self.set_found, r),
                      lambda w, c: self._after(self.failed, w, c), lane="slow")

    def _after(self, fn, *args):
        wait = max(0.0, MIN_BUSY_SECONDS - (time.monotonic() - self._started))
        Clock.schedule_once(lambda _dt: fn(*args), wait)

    def failed(self, words, code):
        self.scanning = False
        self.say_message(_not_available(words, code), error=True)

    def set_found(self, result):
        self.scanning = False
        self.found = [d for d in as_device_list(result) if not d.get("paired")]
        self.say_message(_("Press a device to pair it.") if self.found else
                         _("No devices found. Is the device on and in pairing mode?"))

    def on_found(self, *_a):
        self.rebuild()

    def items(self):
        return self.found

    def choose(self, dev: dict):
        self.pair(dev)

    def pair(self, dev: dict):
        """Start pairing; the core tells how it went with ``devices`` pushes."""
        self.say_message(_("Pairing…"))
        self.pairing = dev
        self.app.call("devices.pair", lambda _r: None, self.failed, lane="slow",
                      address=dev["address"], wait=False)

    pairing: dict = {}

    def on_devices_push(self, data: dict):
        """Pairing progress from the core: a PIN to type, paired, or failed."""
        event, address = data.get("event"), data.get("address")
        if event == "passkey_needed":
            self.app.screen("pin").ask_passkey(address)
            self.app.go("pin")
        elif event == "paired":
            dev = data.get("device") or self.pairing or {"address": address}
            self.say_message(_("Paired: {device}.").format(
                device=device_label(dev).replace("\n", " — ")))
            self.found = [d for d in self.found if d.get("address") != address]
        elif event == "pair_failed":
            self.say_message(data.get("error") or _("Pairing did not work. Try again."),
                             error=True)


class SetupForgetScreen(HubScreen):
    """Forget this device?"""

    family = True
    device = DictProperty({})

    def forget(self):
        def done(_r):
            self.app.back()
            self.app.screen("setup_devices").say_message(_("The device was forgotten."))

        self.app.call("devices.forget", done,
                      lambda w, c: self.say_message(_not_available(w, c), error=True),
                      address=self.device.get("address"))


SCREENS = [SetupDevicesScreen, SetupScanScreen, SetupForgetScreen]
