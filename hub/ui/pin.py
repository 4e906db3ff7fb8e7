"""The PIN in front of Setup: Setup is for the family and technicians, not the elder.

The PIN is ``[kiosk] setup_pin`` in the hub's config. After a wrong PIN the screen
says how many tries are left once only two remain ("2 tries left"); five wrong PINs
in a row lock the keypad for 30 seconds, counted down on the screen, with the entry
cleared and the keys disabled. The count of wrong tries and the end of the lockout
(wall-clock time) are kept in the kiosk's own state file
(:mod:`hub.ui.kiosk_state`), so restarting the kiosk does not reset them. This
screen may show more than six buttons (a keypad) — the one exception listed in
:data:`hub.ui.theme.MANY_CHOICES_ALLOWED`.
"""

import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from hub.ui.i18n import _, ngettext
from hub.ui.widgets import HubScreen

__all__ = ["PinScreen", "SCREENS", "MAX_TRIES", "WAIT_SECONDS"]

MAX_TRIES, WAIT_SECONDS = 5, 30.0
#: Say how many tries are left once this few remain.
WARN_AT = 2
MAX_DIGITS = 8


class PinScreen(HubScreen):
    """Enter the family PIN — or, while pairing, the number a health device shows."""

    family = True
    entered = StringProperty("")
    #: ``setup`` (the family PIN) or ``passkey`` (a device's pairing PIN).
    mode = StringProperty("setup")
    address = StringProperty("")
    #: True while the keypad waits after too many wrong PINs.
    locked = BooleanProperty(False)
    _tick_ev = None

    # -- the lockout, kept in the kiosk's state file -----------------------------------

    @property
    def _state(self):
        return self.app.kiosk_state

    def tries(self) -> int:
        """Wrong PINs in a row so far."""
        return int(self._state.get("pin_wrong_tries", 0) or 0)

    def locked_until(self) -> float:
        """Wall-clock time (epoch seconds) the keypad is locked until (0: not locked)."""
        until = float(self._state.get("pin_locked_until", 0) or 0)
        # A clock set back (a Pi has no RTC) must not lock the family out for hours.
        return min(until, time.time() + WAIT_SECONDS)

    def seconds_left(self) -> int:
        left = self.locked_until() - time.time()
        return int(left) + 1 if left > 0 else 0

    def _update_lock(self, *_a):
        left = self.seconds_left() if self.mode == "setup" else 0
        self.locked = left > 0
        if self.locked:
            self.entered = ""
            self.say_message(_("Too many wrong tries. Wait {n} seconds.").format(n=left),
                             error=True)
            if self._tick_ev is None:
                self._tick_ev = Clock.schedule_interval(self._update_lock, 0.5)
        else:
            if self._tick_ev is not None:
                self._tick_ev.cancel()
                self._tick_ev = None
                self.say_message(_("You can try again now."))

    # -- the screen ------------------------------------------------------------------------

    def on_pre_enter(self, *_a):
        self.entered = ""
        self.message = ""
        self._update_lock()

    def on_leave(self, *_a):
        if self._tick_ev is not None:
            self._tick_ev.cancel()
            self._tick_ev = None

    def ask_setup_pin(self):
        """Next time shown: ask for the family's Setup PIN."""
        self.mode = "setup"
        self.address = ""

    def ask_passkey(self, address: str):
        """Next time shown: ask for the PIN the device at ``address`` displays."""
        self.mode = "passkey"
        self.address = address or ""
        self.locked = False

    def cancel(self):
        if self.mode == "passkey":
            self.app.back()
        else:
            self.app.home()

    def key(self, digit: str):
        if self.locked:
            return
        if len(self.entered) < MAX_DIGITS:
            self.entered += digit
        self.message = ""  # the next try has begun: the note about the last one goes

    def delete(self):
        self.entered = self.entered[:-1]

    def submit(self):
        if self.mode == "passkey":
            self._send_passkey()
            return
        self._update_lock()
        if self.locked:
            return
        from hub.provision import check_pin  # setup_pin_hash when provisioned, else setup_pin

        if check_pin(self.app.cfg, self.entered):
            self._state.set("pin_wrong_tries", 0)
            # Kept in memory for this Setup visit only: the core asks for it again on
            # privileged commands (sync.enroll, consent.set; docs/local-api.md, roles).
            self.app.setup_pin = self.entered
            self.entered = ""
            self.app.nav = "home"
            self.app.go("setup", remember=False)
            self.app.history = ["home"]
            return
        tries = self.tries() + 1
        self.entered = ""
        if tries >= MAX_TRIES:
            self._state.set("pin_wrong_tries", 0)
            self._state.set("pin_locked_until", time.time() + WAIT_SECONDS)
            self._update_lock()
            return
        self._state.set("pin_wrong_tries", tries)
        left = MAX_TRIES - tries
        if left <= WARN_AT:
            self.say_message(ngettext("That PIN is not right. {n} try left.",
                                      "That PIN is not right. {n} tries left.",
                                      left).format(n=left), error=True)
        else:
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
