"""Setup → Check the hub: the same checks as ``hub doctor`` (through the core), in pages.

Each check shows as "Good", "Check" or "Problem" with its name in the family's
language ("Saved data", "Sound"…). The core's details and hints are technical English
with file paths: they are for a technician and stay behind the **Details** button.
"""

from kivy.properties import BooleanProperty, ListProperty, NumericProperty

from hub import __version__
from hub.ui.i18n import _
from hub.ui.widgets import HubScreen, paginate

__all__ = ["DiagnosticsScreen", "SCREENS", "check_lines", "check_name"]

#: hub doctor's check names → words for the family (hub/doctor.py).
_NAMES = {
    "config": lambda: _("Settings"), "config file": lambda: _("Settings file"),
    "setup pin": lambda: _("Family PIN"), "database": lambda: _("Saved data"),
    "disk": lambda: _("Storage space"), "sd card": lambda: _("Memory card"),
    "core socket": lambda: _("Hub service"), "display": lambda: _("Screen"),
    "touch": lambda: _("Touchscreen"), "audio out": lambda: _("Speaker"),
    "audio in": lambda: _("Microphone"), "mic level": lambda: _("Microphone level"),
    "bluetooth": lambda: _("Bluetooth"), "devices": lambda: _("Health devices"),
    "gpio": lambda: _("Help button wiring"), "clock": lambda: _("Clock"),
    "platform": lambda: _("Care centre connection"), "token": lambda: _("Care centre link"),
}


def check_name(name: str) -> str:
    """A check's name in the family's words (the technical name if it is a new check)."""
    words = _NAMES.get(name)
    return words() if words else name


def check_lines(checks: list[dict], details: bool = False) -> str:
    """The checks as text, one paragraph each; with ``details`` the technician's words."""
    level_words = {"OK": _("Good"), "WARN": _("Check"), "FAIL": _("Problem")}
    out = []
    for c in checks:
        line = f"{level_words.get(c.get('level'), c.get('level'))} — {check_name(c.get('name'))}"
        if details:
            line += f": {c.get('detail', '')}"
            if c.get("hint") and c.get("level") != "OK":
                line += f" — {c['hint']}"
        out.append(line)
    return "\n".join(out)


class DiagnosticsScreen(HubScreen):
    """The doctor's checks."""

    family = True
    pages = ListProperty([""])
    page = NumericProperty(0)
    #: Show the technical details (English, as hub doctor prints them).
    details = BooleanProperty(False)
    text = ""
    checks: list = []

    def refresh(self):
        self.checks = []
        self.set_text(_("Checking…"))
        self.app.call("doctor", self.done, lambda words, _c: self.set_text(words), lane="slow")

    def done(self, checks):
        self.checks = list(checks or [])
        self.show_checks()

    def show_checks(self):
        head = _("Kiosk version {version}.").format(version=__version__)
        self.set_text(head + "\n" + check_lines(self.checks, self.details))

    def toggle_details(self):
        self.details = not self.details
        if self.checks:
            self.show_checks()

    def on_language(self):
        if self.checks:
            self.show_checks()

    def set_text(self, text: str):
        self.text = text
        self.page = 0
        self.layout_text()

    def on_size(self, *_a):
        self.layout_text()

    def layout_text(self, *_a):
        area = self.ids.text
        if area.width < 50 or area.height < 50:
            return
        self.pages = paginate(self.text, area.width, area.height, self.app.fs_body,
                              self.app.font_name)
        self.page = min(self.page, len(self.pages) - 1)

    def turn(self, step: int):
        """Next / Previous page; they stop at the first and last page."""
        self.page = max(0, min(len(self.pages) - 1, self.page + step))


SCREENS = [DiagnosticsScreen]
