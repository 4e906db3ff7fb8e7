"""The SOS screens: countdown, calling, received, someone is coming — red, huge, calm.

Which one shows follows the core's SOS state (see :data:`hub.ui.app.SOS_SCREENS`);
the countdown number counts down locally from the core's ``seconds_left``. CANCEL is
one big press; ending an alarm that already went out ("I am safe now") asks once
more on its own screen, so a stray touch cannot call off real help.
"""

from kivy.properties import StringProperty

from hub.phrases import phrase
from hub.ui import theme
from hub.ui.i18n import _
from hub.ui.widgets import HubScreen
from hub.ui.words import clock_text, local, parse_utc, sentences

__all__ = ["SosCountdownScreen", "SosCallingScreen", "SosReceivedScreen", "SosComingScreen",
           "SosConfirmSafeScreen", "SCREENS"]


class _SosScreen(HubScreen):
    bg_color = theme.rgba(theme.COLOURS["sos"])

    def is_test(self) -> bool:
        return bool(self.app.sos.get("test"))


class SosCountdownScreen(_SosScreen):
    """Calling for help in N seconds — CANCEL."""

    def on_pre_enter(self, *_a):
        self.message = ""

    def spoken_text(self):
        return _("Calling for help in {n} seconds. Press cancel if you are all right.").format(
            n=self.app.countdown)


class SosCallingScreen(_SosScreen):
    """The alarm is going out (or waits for the core to start)."""

    detail = StringProperty("")

    def refresh(self):
        app = self.app
        if app.sos.get("state", "idle") == "idle" and app.sos_pending:
            self.detail = _("The hub is starting. Your call for help goes out as soon as it "
                            "is ready. If you can, also phone for help.")
        elif app.sos.get("escalated"):
            # The very words the core says aloud (one wording on screen and in the ear).
            self.detail = phrase("sos_not_delivered", app.lang)
        else:
            self.detail = _("The hub is sending your alarm to the care centre.")

    def on_language(self):
        self.refresh()

    def spoken_text(self):
        return sentences(_("Calling for help."), self.detail)


class SosReceivedScreen(_SosScreen):
    """The platform has the alarm."""

    def spoken_text(self):
        return sentences(_("Your alarm was received."), _("Help is being arranged."))


class SosComingScreen(_SosScreen):
    """A person took the alarm: "Li Wei is coming"."""

    headline = StringProperty("")
    detail = StringProperty("")

    def refresh(self):
        snap = self.app.sos
        who = (snap.get("responder") or "").strip()
        self.headline = (_("{responder} is coming").format(responder=who) if who
                         else _("Help is coming"))
        when = snap.get("acknowledged_at")
        self.detail = sentences(
            _("Answered at {time}.").format(time=clock_text(local(parse_utc(when))))
            if when else "", _("If you can, unlock the door."))

    def on_language(self):
        self.refresh()

    def spoken_text(self):
        return sentences(self.headline + ("。" if self.app.lang == "zh_CN" else "."),
                         self.detail)


class SosConfirmSafeScreen(_SosScreen):
    """Are you safe now? Yes ends the alarm; No keeps it."""

    def spoken_text(self):
        return sentences(_("Are you safe now?"),
                         _("This ends the alarm and tells the care centre."))


SCREENS = [SosCountdownScreen, SosCallingScreen, SosReceivedScreen, SosComingScreen,
           SosConfirmSafeScreen]
