"""Setup → Check the hub: the same checks as ``hub doctor`` (through the core), in pages.

Each check shows as "OK", "Check" or "Problem" with the core's detail and hint.
The details are the core's words (English): this page is for technicians too.
"""

from kivy.properties import ListProperty, NumericProperty

from hub import __version__
from hub.ui.i18n import _
from hub.ui.widgets import HubScreen, paginate

__all__ = ["DiagnosticsScreen", "SCREENS", "check_lines"]


def check_lines(checks: list[dict]) -> str:
    """The checks as text, one paragraph each."""
    level_words = {"OK": _("Good"), "WARN": _("Check"), "FAIL": _("Problem")}
    out = []
    for c in checks:
        line = f"{level_words.get(c.get('level'), c.get('level'))} — {c.get('name')}: " \
               f"{c.get('detail', '')}"
        if c.get("hint") and c.get("level") != "OK":
            line += f" → {c['hint']}"
        out.append(line)
    return "\n".join(out)


class DiagnosticsScreen(HubScreen):
    """The doctor's checks."""

    family = True
    pages = ListProperty([""])
    page = NumericProperty(0)
    text = ""

    def refresh(self):
        self.set_text(_("Checking…"))
        self.app.call("doctor", self.done, lambda words, _c: self.set_text(words), lane="slow")

    def done(self, checks):
        head = _("Kiosk version {version}.").format(version=__version__)
        self.set_text(head + "\n" + check_lines(checks or []))

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
        self.page = (self.page + step) % len(self.pages)


SCREENS = [DiagnosticsScreen]
