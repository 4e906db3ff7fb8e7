"""Home: the clock, the date, a greeting, and the few big buttons the elder uses.

Buttons (DESIGN.md: at most six choices): Help (SOS), I'm OK, My health, Messages
(with the unread count), Family setup (PIN), and Read aloud. Services, reminders and
"Call my family" come later with the care-routines work; a 2×3 grid has room for
them once Read aloud moves to the voice process or Setup moves behind a PIN tile.
"""

from hub.ui.i18n import _, ngettext
from hub.ui.words import sentences
from hub.ui.widgets import HubScreen

__all__ = ["HomeScreen", "SCREENS", "messages_label"]


def messages_label(unread: int) -> str:
    """``Messages`` with the unread count on a second line."""
    if unread <= 0:
        return _("Messages")
    return _("Messages") + "\n" + ngettext("{n} new", "{n} new", unread).format(n=unread)


class HomeScreen(HubScreen):
    """The screen the elder sees all day."""

    def spoken_text(self):
        app = self.app
        parts = [app.greeting + ("。" if app.lang == "zh_CN" else "."),
                 _("It is {time}, {date}.").format(time=app.clock_text, date=app.date_text)]
        if app.unread:
            parts.append(ngettext("You have {n} new message.", "You have {n} new messages.",
                                  app.unread).format(n=app.unread))
        parts.append(app.status_text + ("。" if app.lang == "zh_CN" else "."))
        return sentences(*parts)


SCREENS = [HomeScreen]
