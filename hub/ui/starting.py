"""The "Starting…" screen: shown while the core cannot be reached, instead of an error.

The Help button on it works: the press is kept by the app and sent to the core the
moment it answers (see :meth:`hub.ui.app.KioskApp.press_sos`).
"""

import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen
from hub.ui.words import sentences

__all__ = ["StartingScreen", "SCREENS", "SLOW_AFTER"]

#: After this many seconds without the core, say that it takes longer than usual.
SLOW_AFTER = 90.0


class StartingScreen(HubScreen):
    """Starting… please wait (and, if it lasts, who to call)."""

    slow = BooleanProperty(False)
    _ev = None

    def on_enter(self, *_a):
        self._check()
        self._ev = Clock.schedule_interval(self._check, 5.0)

    def on_leave(self, *_a):
        if self._ev:
            self._ev.cancel()

    def _check(self, *_a):
        self.slow = time.monotonic() - self.app.core_away_since > SLOW_AFTER

    def spoken_text(self):
        return sentences(_("The hub is starting. Please wait a moment."),
                         _("This is taking longer than usual. If it does not start soon, "
                           "call your family.") if self.slow else "")


SCREENS = [StartingScreen]
