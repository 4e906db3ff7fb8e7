"""Call my family: ask the care platform to have a family member call the elder back.

The contacts are a fixed list of relations, the same on every hub (my daughter, my
son, my grandchild, someone in my family): the core has no setting for named family
contacts yet, and the platform's family record says who the daughter is. The
contact is sent in the hub's language ("Your daughter", "您的女儿", "따님") because the
core speaks it back ("Your daughter will be asked to call you.").

After the press the state is shown in words on its own screen and follows the
platform's ``service_update`` messages for the call-back (``accepted``: the family
member was asked; ``done``: they called). Does not own the call-back's life cycle
(:mod:`hub.care.services`).
"""

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, ListProperty

from hub.ui.care_services import request_state
from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["FamilyScreen", "CalledScreen", "SCREENS", "CONTACTS", "contact_button",
           "contact_words"]

#: The relations offered, in order.
CONTACTS = ("daughter", "son", "grandchild", "family")


def contact_button(key: str) -> str:
    """The words on a contact's button: "My daughter"."""
    return {"daughter": _("My daughter"), "son": _("My son"),
            "grandchild": _("My grandchild"),
            "family": _("Someone in my family")}.get(key, key)


def contact_words(key: str) -> str:
    """The contact as sent and said: "Your daughter"."""
    return {"daughter": _("Your daughter"), "son": _("Your son"),
            "grandchild": _("Your grandchild"),
            "family": _("Someone in your family")}.get(key, key)


class FamilyScreen(HubScreen):
    """Who should call? Four relations, Back, Read aloud."""

    contacts = ListProperty(list(CONTACTS))
    busy = BooleanProperty(False)

    def on_pre_enter(self, *_a):
        self.message = ""
        self.busy = False

    def call_back(self, index: int):
        if self.busy or index >= len(self.contacts):
            return
        self.busy = True
        contact = contact_words(self.contacts[index])

        def done(entry):
            self.busy = False
            app = self.app
            app.screen("care_called").entry = dict(entry or {"contact": contact,
                                                             "kind": "callback"})
            app.history = ["home", "care_menu"]
            app.nav = "care_called"
            app.route()

        def failed(words, _code):
            self.busy = False
            self.say_message(_("Could not send that just now. Please try again in a minute."),
                             error=True)

        self.app.call("family.call", done, failed, contact=contact)

    def spoken_text(self):
        return _("Who should call you?") + " " + ", ".join(contact_button(c)
                                                          for c in self.contacts)


class CalledScreen(HubScreen):
    """The call-back's state in words, following the platform's updates."""

    entry = DictProperty({})

    def state_text(self) -> str:
        if not self.entry:
            return ""
        return request_state({"kind": "callback", **self.entry}, self.app.now())

    def refresh(self):
        request_id = self.entry.get("request_id")
        if not request_id:
            return

        def got(requests):
            for found in requests or []:
                if found.get("request_id") == request_id:
                    self.entry = dict(found)

        self.app.call("service.list", got, lambda *_e: None)

    def on_inbox(self, message: dict):
        if message.get("kind") == "service_update":
            Clock.schedule_once(lambda _dt: self.refresh(), 0.3)
            Clock.schedule_once(lambda _dt: self.refresh(), 1.5)

    def spoken_text(self):
        return self.state_text()


SCREENS = [FamilyScreen, CalledScreen]
