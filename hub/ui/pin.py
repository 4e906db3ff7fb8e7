"""The PIN in front of Setup: Setup is for the family and technicians, not the elder.

The PIN is ``[kiosk] setup_pin`` in the hub's config. Five wrong PINs in a row make
the keypad wait 30 seconds. This screen may show more than six buttons (a keypad
is ten digits) — the one exception listed in :data:`hub.ui.theme.MANY_CHOICES_ALLOWED`.
"""

import hmac
import time

from kivy.properties import StringProperty

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["PinScreen", "SCREENS"]

MAX_TRIES, WAIT_SECONDS = 5, 30.0


class PinScreen(HubScreen):
    """Enter the family PIN — or, while pairing, the number a health device shows."""

    family = True
    entered = StringProperty("")
    #: ``setup`` (the family PIN) or ``passkey`` (a device's pairing PIN).
    mode = StringProperty("setup")
    address = StringProperty("")
    _tries = 0
    _locked_until = 0.0

    def on_pre_enter(self, *_a):
        self.entered = ""
        self.message = ""

    def ask_setup_pin(self):
        """Next time shown: ask for the family's Setup PIN."""
        self.mode = "setup"
        self.address = ""

    def ask_passkey(self, address: str):
        """Next time shown: ask for the PIN the device at ``address`` displays."""
        self.mode = "passkey"
        self.address = address or ""

    def cancel(self):
        if self.mode == "passkey":
            self.app.back()
        else:
            self.app.home()

    def key(self, digit: str):
        if len(self.entered) < 8:
            self.entered += digit
        self.message = ""

    def delete(self):
        self.entered = self.entered[:-1]

    def submit(self):
        if self.mode == "passkey":
            self._send_passkey()
            return
        now = time.monotonic()
        if now < self._locked_until:
            self.say_message(_("Too many wrong tries. Wait {n} seconds.").format(
                n=int(self._locked_until - now) + 1), error=True)
            return
        pin = self.app.cfg.kiosk.setup_pin
        if hmac.compare_digest(self.entered.encode(), pin.encode()):
            self._tries = 0
            self.entered = ""
            self.app.nav = "home"
            self.app.go("setup", remember=False)
            self.app.history = ["home"]
            return
        self._tries += 1
        self.entered = ""
        if self._tries >= MAX_TRIES:
            self._tries = 0
            self._locked_until = now + WAIT_SECONDS
        self.say_message(_("That PIN is not right. Please try again."), error=True)

    def _send_passkey(self):
        digits, address = self.entered, self.address
        self.entered = ""

        def done(_r):
            self.app.back()
            self.app.screen("setup_scan").say_message(_("Pairing…"))

        self.app.call("devices.passkey", done,
                      lambda words, _c: self.say_message(words, error=True),
                      address=address, passkey=digits)

    def spoken_text(self):
        if self.mode == "passkey":
            return _("Type the number shown on the device.")
        return _("Family setup. Enter the PIN.")


SCREENS = [PinScreen]
