"""Family setup (behind the PIN): language, text size, sound, the elder's name, test alarm.

Two pages of at most six big buttons lead to one small page per setting. Every
change goes to the core (``settings.set``), which stores it and pushes it back to
every client, so the kiosk and the voice change language together, at once.
Devices, Wi-Fi, the care centre and diagnostics have their own modules.
"""

from kivy.properties import StringProperty

from hub.ui.i18n import LANGUAGES, _
from hub.ui.widgets import HubScreen

__all__ = ["SetupScreen", "SetupMoreScreen", "SetupLanguageScreen", "SetupTextScreen",
           "SetupSoundScreen", "SetupNameScreen", "SetupTestScreen", "SCREENS",
           "text_size_name"]

VOLUME_STEP, VOLUME_MIN, VOLUME_MAX = 0.1, 0.1, 1.0
RATE_STEP, RATE_MIN, RATE_MAX = 20, 80, 240


def text_size_name(key: str) -> str:
    """normal / large / largest in words."""
    return {"normal": _("Standard"), "large": _("Large"), "largest": _("Largest")}.get(key, key)


class _SetupPage(HubScreen):
    family = True

    def spoken_text(self):
        return ""


class SetupScreen(_SetupPage):
    """Setup, page 1."""

    def refresh(self):
        self.app.call("settings.get", self.app._apply_settings, lambda *_e: None)


class SetupMoreScreen(_SetupPage):
    """Setup, page 2."""


class SetupLanguageScreen(_SetupPage):
    """English / 中文 / 한국어."""

    def choose(self, lang: str):
        self.app.set_setting("language", lang,
                             on_done=lambda _r: self.say_message(LANGUAGES[lang]))


class SetupTextScreen(_SetupPage):
    """Normal / Large / Largest."""

    def choose(self, size: str):
        self.app.set_setting("text_size", size)


class SetupSoundScreen(_SetupPage):
    """Volume and speech speed, in steps."""

    def volume(self) -> float:
        return float(self.app.settings.get("volume", self.app.cfg.audio.volume))

    def rate(self) -> int:
        return int(self.app.settings.get("speech_rate", self.app.cfg.audio.rate))

    def change_volume(self, step: int):
        value = round(min(VOLUME_MAX, max(VOLUME_MIN, self.volume() + step * VOLUME_STEP)), 1)
        self.app.set_setting("volume", value)

    def change_rate(self, step: int):
        value = int(min(RATE_MAX, max(RATE_MIN, self.rate() + step * RATE_STEP)))
        self.app.set_setting("speech_rate", value)

    def try_it(self):
        self.app.read_aloud(_("This is how the hub sounds."))


class SetupNameScreen(_SetupPage):
    """The elder's name, used in the greeting (typed on the kiosk's keyboard)."""

    value = StringProperty("")
    _typed = False

    def on_pre_enter(self, *_a):
        if not self._typed:  # coming back from the keyboard keeps what was typed
            self.value = self.app.elder_name
            self.message = ""
        self._typed = False

    def type_name(self):
        def done(text):
            self._typed = True
            self.value = text

        self.app.screen("text_entry").edit(_("Name"), self.value, "name", done)
        self.app.go("text_entry")

    def save(self):
        name = " ".join(self.value.split())[:40]
        self.app.set_setting("elder_name", name,
                             on_done=lambda _r: self.say_message(_("Saved.")))


class SetupTestScreen(_SetupPage):
    """Send a test alarm, marked as a test all the way to the care centre."""

    def send(self):
        self.app.press_sos(test=True)


SCREENS = [SetupScreen, SetupMoreScreen, SetupLanguageScreen, SetupTextScreen,
           SetupSoundScreen, SetupNameScreen, SetupTestScreen]
