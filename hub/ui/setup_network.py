"""Setup → Wi-Fi (through ``nmcli``) and Setup → Care centre (enrolling with the platform).

Wi-Fi is the one thing the kiosk does itself (NetworkManager is the system's, not the
core's); it runs ``nmcli`` on a worker thread and shows its answer in words, or says
plainly that NetworkManager is missing. Enrolling goes through the core
(``sync.enroll {url, code}``): the core keeps the device token, never the kiosk.
"""

import threading
import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from hub.ui import wifi
from hub.ui.i18n import _
from hub.ui.widgets import BigButton, HubScreen

__all__ = ["SetupWifiScreen", "SetupWifiJoinScreen", "SetupEnrollScreen", "SCREENS"]

SHOWN = 3


def _in_background(work, done, failed):
    """Run ``work()`` on a thread; ``done(result)`` / ``failed(words)`` on the main thread."""
    def run():
        try:
            result = work()
        except wifi.WifiError as exc:
            words = str(exc)
            Clock.schedule_once(lambda _dt: failed(words), 0)
            return
        except Exception as exc:  # noqa: BLE001 - shown to the family, never raised
            words = str(exc)
            Clock.schedule_once(lambda _dt: failed(words), 0)
            return
        Clock.schedule_once(lambda _dt: done(result), 0)

    threading.Thread(target=run, name="wifi", daemon=True).start()


class SetupWifiScreen(HubScreen):
    """Networks in reach."""

    family = True
    networks = ListProperty([])
    busy = BooleanProperty(False)

    def on_pre_enter(self, *_a):
        self.scan()

    def scan(self):
        if self.busy or self.app.staged:
            return
        self.busy = True
        self.networks = []
        self.say_message(_("Looking for Wi-Fi networks…"))
        started = time.monotonic()

        def later(fn):
            # "Searching…" stays at least a second: a quick answer still shows a change.
            return lambda result: Clock.schedule_once(
                lambda _dt: fn(result), max(0.0, 1.0 - (time.monotonic() - started)))

        _in_background(wifi.scan, later(self.found), later(self.failed))

    def found(self, networks):
        self.busy = False
        self.networks = networks
        self.say_message(_("Press your network.") if networks else _("No Wi-Fi networks found."))

    def failed(self, words):
        self.busy = False
        self.say_message(words, error=True)

    def on_networks(self, *_a):
        self.rebuild()

    def on_language(self):
        self.rebuild()

    def rebuild(self):
        box = self.ids.list
        box.clear_widgets()
        for net in self.networks[:SHOWN]:
            label = net["ssid"] + ("\n" + _("connected") if net.get("active") else "")
            btn = BigButton(text=label, style="card")
            btn.bind(on_release=lambda _b, n=net: self.choose(n))
            box.add_widget(btn)

    def choose(self, net: dict):
        self.app.screen("setup_wifi_join").network = net
        self.app.go("setup_wifi_join")


class SetupWifiJoinScreen(HubScreen):
    """The chosen network's password, then Connect."""

    family = True
    network = DictProperty({})
    password = StringProperty("")
    _typed = False

    def on_pre_enter(self, *_a):
        if not self._typed:
            self.password = ""
            self.message = ""
        self._typed = False

    def type_password(self):
        def done(text):
            self._typed = True
            self.password = text

        self.app.screen("text_entry").edit(_("Wi-Fi password"), self.password, "password",
                                           done)
        self.app.go("text_entry")

    def join(self):
        password = self.password
        ssid = self.network.get("ssid", "")
        self.say_message(_("Connecting…"))
        _in_background(lambda: wifi.connect(ssid, password),
                       lambda _out: self.say_message(_("Connected to {network}.").format(
                           network=ssid)),
                       lambda words: self.say_message(words, error=True))


class SetupEnrollScreen(HubScreen):
    """Link this hub to the care centre: its address and the code it gave the family."""

    family = True
    url = StringProperty("")
    code = StringProperty("")

    def type_field(self, which: str):
        """Open the keyboard for the address or the code."""
        title = _("Address, e.g. https://care.example.org") if which == "url" else \
            _("Enrollment code")

        def done(text):
            setattr(self, which, text.replace(" ", ""))

        self.app.screen("text_entry").edit(title, getattr(self, which), which, done)
        self.app.go("text_entry")

    def enroll(self):
        url = self.url.strip()
        code = self.code.strip()
        if not url or not code:
            self.say_message(_("Please fill in both the address and the code."), error=True)
            return
        self.say_message(_("Linking to the care centre…"))

        def failed(words, code_):
            if code_ == "unknown_command":
                words = _("Linking to a care centre is not available yet on this hub.")
            self.say_message(words, error=True)

        self.app.call("sync.enroll", lambda _r: self.say_message(
            _("This hub is now linked to the care centre.")), failed, lane="slow",
            url=url, code=code, pin=self.app.setup_pin)


SCREENS = [SetupWifiScreen, SetupWifiJoinScreen, SetupEnrollScreen]
