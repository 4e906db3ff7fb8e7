"""Family setup, page 3: the care routines (reminders, privacy), Home's top-right button,
and the hub check.

Reached from Setup page 2's **More**; a page of five big buttons. The pages it leads
to are :mod:`hub.ui.care_reminders` and :mod:`hub.ui.care_consent`. **Home button**
switches Home's top-right button between Read aloud (the default: every screen can be
read aloud) and Speak (the voice listens for a command; shown only while the voice
process is running, see :func:`hub.ui.home.corner_button`).
"""

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen, pick

__all__ = ["CareSetupScreen", "SCREENS", "home_button_label", "home_button_note"]


def home_button_label(setting: str) -> str:
    """``Home button`` and what it is now, on two lines."""
    return _("Home button") + "\n" + (_("Speak") if setting == "speak" else _("Read aloud"))


def home_button_note(setting: str, voice_alive: bool) -> str:
    """Why Home still shows Read aloud although Speak was chosen (voice not running)."""
    if setting == "speak" and not voice_alive:
        return _("Voice is not running now: Home shows Read aloud until it is.")
    return ""


class CareSetupScreen(HubScreen):
    """Reminders, Privacy, Check the hub, Home button, Back."""

    family = True

    def refresh(self):
        self.app.call("settings.get", self.app._apply_settings, lambda *_e: None)

    def toggle_home_button(self):
        """Read aloud ↔ Speak on Home (stored by the core, pushed back to the kiosk)."""
        app = self.app
        now = pick(app.settings, "home_voice_button", "read_aloud")
        self.message = ""
        app.set_setting("home_voice_button", "read_aloud" if now == "speak" else "speak")


SCREENS = [CareSetupScreen]
