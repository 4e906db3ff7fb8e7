"""Privacy in family setup (behind the PIN): what the hub shares with the care centre.

One plain-language screen: "Alarms are always sent.", then four on/off switches, each
with one sentence — health, check-ins, activity at home, services — and Save, which
sends ``consent.set`` (the core records the choice with its time, tells the platform,
and withholds what is queued in a category switched off: :mod:`hub.care.consent`).
Nothing is changed until Save; Back leaves the choice as it was.
"""

from kivy.properties import BooleanProperty, DictProperty

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["ConsentScreen", "SCREENS", "CATEGORIES", "category_sentence"]

#: The categories the core knows (hub.care.consent.CATEGORIES), in the order shown.
CATEGORIES = ("health", "checkins", "activity", "services")


def category_sentence(key: str) -> str:
    """One sentence saying what a category is."""
    return {"health": _("Health: readings, medicines."),
            "checkins": _("Check-ins: “I'm OK” daily."),
            "activity": _("Activity: movement at home."),
            "services": _("Services: requests, ratings.")}.get(key, key)


class ConsentScreen(HubScreen):
    """Four switches and Save."""

    family = True
    consent = DictProperty({c: True for c in CATEGORIES})
    changed = BooleanProperty(False)

    def refresh(self):
        self.changed = False

        def got(record):
            self.consent = {c: bool((record or {}).get(c, True)) for c in CATEGORIES}
            if not (record or {}).get("chosen", True):
                self.say_message(_("Not chosen yet: everything is shared."))

        self.app.call("consent.get", got, lambda words, _c: self.say_message(
            _("Privacy choices are not available on this hub just now."), error=True))

    def on_pre_enter(self, *_a):
        self.message = ""
        super().on_pre_enter()

    def toggle(self, key: str):
        self.consent = {**self.consent, key: not self.consent.get(key, True)}
        self.changed = True
        self.message = ""

    def switch_text(self, key: str, consent) -> str:
        return _("On") if consent.get(key, True) else _("Off")

    def save(self):
        choice = {c: bool(self.consent.get(c, True)) for c in CATEGORIES}

        def done(_record):
            self.changed = False
            self.say_message(_("Saved."))

        def failed(words, _code):
            self.say_message(words, error=True)

        self.app.call("consent.set", done, failed, consent=choice)

    def spoken_text(self):
        parts = [_("Alarms are always sent.")]
        for c in CATEGORIES:
            parts.append(category_sentence(c) + " " + self.switch_text(c, self.consent) + ".")
        return " ".join(parts)


SCREENS = [ConsentScreen]
