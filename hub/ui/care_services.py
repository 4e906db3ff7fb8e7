"""Help at home: services (meals, shopping, repairs…), the elder's requests, and rating them.

Owns the kiosk side of the core's ``service.*`` commands (:mod:`hub.care.services`):

* **Family and services** (``care_menu``): the one Home tile that leads here — I need
  help with…, Call my family, My requests, Family setup (PIN), Back, Read aloud.
* **I need help with…** (``care_services``): the service types from ``service.types``,
  three big labelled buttons a page.
* **Ask for a meal?** (``care_confirm``): one step, Yes / Back; Yes sends
  ``service.request``.
* **My requests** (``care_requests``): service and call-back requests newest first,
  two a page, each with its state in words ("Comes tomorrow at 12:00", "On the way",
  "Done — how was it?"); a finished, unrated one opens the rating.
* **How was it?** (``care_rating``): five drawn faces, each with a word (no emoji font
  is installed, and a face alone would not be a word). It answers the core's
  ``service_rating`` question (``prompt.answer``) or, opened from My requests, sends
  ``service.rate``.

Does not own the life cycle (the core moves requests on from the platform's
``service_update`` inbox messages and speaks them) nor "Call my family"
(:mod:`hub.ui.care_family`).
"""

import datetime as dt
import time

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line
from kivy.properties import (BooleanProperty, DictProperty, ListProperty, NumericProperty,
                             StringProperty)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from hub.ui import theme
from hub.ui.i18n import _
from hub.ui.widgets import BigButton, Body, HubScreen
from hub.ui.words import parse_utc, sentences

__all__ = ["CareMenuScreen", "ServicesScreen", "ServiceConfirmScreen", "RequestsScreen",
           "RatingScreen", "FaceButton", "SCREENS", "service_name", "ask_question",
           "request_heading", "request_state", "face_word", "can_rate"]



def face_word(stars: int) -> str:
    """The word under a face, worst (1) to best (5); the stars sent are 1…5."""
    return {1: _("Very bad"), 2: _("Bad"), 3: _("All right"), 4: _("Quite good"),
            5: _("Very good")}.get(stars, str(stars))


def service_name(key: str) -> str:
    """A service type in words ("A meal"); an unknown type from the platform as it is."""
    return {
        "meals": _("A meal"),
        "shopping": _("Shopping"),
        "repair": _("A repair"),
        "cleaning": _("Cleaning"),
        "company": _("Company"),
        "doctor_visit": _("A doctor's visit"),
    }.get(key, key.replace("_", " ").capitalize())


def ask_question(key: str) -> str:
    """The one confirming question: "Ask for a meal?"."""
    known = {
        "meals": _("Ask for a meal?"),
        "shopping": _("Ask for help with shopping?"),
        "repair": _("Ask for a repair?"),
        "cleaning": _("Ask for help with cleaning?"),
        "company": _("Ask for someone to keep you company?"),
        "doctor_visit": _("Ask for a doctor's visit?"),
    }
    return known.get(key) or _("Ask for {service}?").format(service=service_name(key))


def _local(stamp: str) -> dt.datetime | None:
    try:
        return parse_utc(stamp).astimezone()
    except (TypeError, ValueError):
        return None


def _when(stamp: str, now: dt.datetime) -> str | None:
    """ "today at 12:00" / "tomorrow at 12:00" / "on 27/11 at 12:00"."""
    moment = _local(stamp)
    if moment is None:
        return None
    moment = moment.astimezone(now.tzinfo) if now.tzinfo else moment
    time = f"{moment:%H:%M}"
    if moment.date() == now.date():
        return _("Comes today at {time}").format(time=time)
    if moment.date() == now.date() + dt.timedelta(days=1):
        return _("Comes tomorrow at {time}").format(time=time)
    return _("Comes on {day}/{month} at {time}").format(day=moment.day, month=moment.month,
                                                      time=time)


def request_heading(entry: dict) -> str:
    """What was asked for: "A meal" / "A call from Your daughter"."""
    if entry.get("kind") == "callback":
        return _("A call from {contact}").format(contact=entry.get("contact", ""))
    return service_name(entry.get("service", ""))


def request_state(entry: dict, now: dt.datetime) -> str:
    """Where a request stands, in words."""
    status = entry.get("status", "requested")
    if entry.get("kind") == "callback":
        contact = entry.get("contact", "")
        return {
            "accepted": _("{contact} has been asked to call you."),
            "scheduled": _("{contact} has been asked to call you."),
            "on_the_way": _("{contact} has been asked to call you."),
            "done": _("{contact} has called you back."),
            "cancelled": _("The call could not be arranged. You can ask again."),
        }.get(status, _("{contact} will be asked to call you.")).format(contact=contact)
    if status == "scheduled" and entry.get("at"):
        when = _when(entry["at"], now)
        if when:
            return when
    if status == "done":
        if entry.get("stars"):
            return _("Done — you gave it {stars} of 5").format(stars=entry["stars"])
        return _("Done — how was it?")
    return {
        "requested": _("Asked — waiting for the care centre"),
        "accepted": _("Accepted by the care centre"),
        "scheduled": _("A time is being arranged"),
        "on_the_way": _("On the way"),
        "cancelled": _("Cancelled"),
    }.get(status, _("Asked — waiting for the care centre"))


def can_rate(entry: dict) -> bool:
    """A finished service not rated yet."""
    return (entry.get("kind") == "service" and entry.get("status") == "done"
            and not entry.get("stars"))


class CareMenuScreen(HubScreen):
    """Family and services: where Home's tile leads."""

    def spoken_text(self):
        return sentences(_("Family and services."), _("I need help with…"),
                         _("Call my family"), _("My requests"))


class ServicesScreen(HubScreen):
    """I need help with…: the service types, three a page."""

    services = ListProperty([])
    page = NumericProperty(0)
    shown = ListProperty([])

    def on_pre_enter(self, *_a):
        self.page = 0
        super().on_pre_enter()

    def refresh(self):
        self.app.call("service.types", self.set_services, self._failed)

    def _failed(self, words, _code):
        self.say_message(_("Services are not available on this hub just now."), error=True)

    def set_services(self, services):
        self.services = [s for s in services or [] if isinstance(s, str)]
        self.message = "" if self.services else _("No services are offered here yet.")
        self._show()

    def per_page(self) -> int:
        # Three a page with Back, Read aloud and one of Previous/Next = six choices; a
        # middle page has both Previous and Next, so it holds two.
        return 3 if len(self.services) <= 6 else 2

    def pages(self) -> int:
        return max(1, -(-len(self.services) // self.per_page()))

    def _show(self):
        per = self.per_page()
        self.page = max(0, min(self.page, self.pages() - 1))
        self.shown = self.services[self.page * per:(self.page + 1) * per]

    def turn(self, step: int):
        self.page += step
        self._show()

    def choose(self, index: int):
        if index < len(self.shown):
            self.app.screen("care_confirm").service = self.shown[index]
            self.app.go("care_confirm")

    def spoken_text(self):
        return sentences(_("I need help with…"), *[service_name(s) for s in self.shown])


class ServiceConfirmScreen(HubScreen):
    """Ask for a meal? Yes / Back."""

    service = StringProperty("")
    busy = BooleanProperty(False)

    def on_pre_enter(self, *_a):
        self.message = ""
        self.busy = False

    def confirm(self):
        if self.busy or not self.service:
            return
        self.busy = True
        self.say_message(_("Sending…"))

        def done(entry):
            self.busy = False
            app = self.app
            app.history = ["home", "care_menu"]
            app.nav = "care_requests"
            app.screen("care_requests").say_message(_("Your request has been sent."))
            app.route()

        def failed(words, _code):
            self.busy = False
            self.say_message(_("Could not send that just now. Please try again in a minute."),
                             error=True)

        self.app.call("service.request", done, failed, service=self.service, note="")

    def spoken_text(self):
        return ask_question(self.service)


class RequestsScreen(HubScreen):
    """My requests, newest first, two a page."""

    requests = ListProperty([])
    page = NumericProperty(0)
    pages = NumericProperty(1)

    def on_pre_enter(self, *_a):
        self.page = 0
        super().on_pre_enter()

    def on_leave(self, *_a):
        self.message = ""

    def refresh(self):
        self.app.call("service.list", self.set_requests,
                      lambda words, _c: self.say_message(
                          _("Your requests cannot be shown just now."), error=True))

    def on_inbox(self, message: dict):
        """A platform update moved a request on: ask again once the core has applied it."""
        if message.get("kind") == "service_update":
            # The core applies the update in a task of its own: look twice.
            Clock.schedule_once(lambda _dt: self.refresh(), 0.3)
            Clock.schedule_once(lambda _dt: self.refresh(), 1.5)

    def set_requests(self, requests):
        self.requests = [r for r in requests or [] if isinstance(r, dict)]
        self.rebuild()

    def on_language(self):
        self.rebuild()

    def rebuild(self, *_a):
        if "list" not in self.ids:
            return
        box = self.ids.list
        box.clear_widgets()
        per = self.per_page()
        self.pages = max(1, -(-len(self.requests) // per))
        self.page = max(0, min(self.page, self.pages - 1))
        if not self.requests:
            box.add_widget(Body(text=_("You have not asked for anything yet.")))
            return
        now = self.app.now()
        for entry in self.requests[self.page * per:(self.page + 1) * per]:
            text = request_heading(entry) + "\n" + request_state(entry, now)
            if can_rate(entry):
                item = BigButton(text=text, style="ok")
                item.bind(on_release=lambda _b, e=entry: self.rate(e))
            else:
                item = Body(text=text, bg_color=theme.rgba(theme.COLOURS["card"]),
                            font_size=self.app.fs_title, halign="center",
                            padding=(self.app.u * 12, self.app.u * 6))
            box.add_widget(item)

    def per_page(self) -> int:
        """Two requests a page; one when two two-line buttons no longer fit."""
        app = self.app
        need = 2 * (2 * max(app.fs_button, app.fs_title) * 1.45 + app.u * 16) + app.u * 8
        return 2 if self.ids.list.height >= need or self.ids.list.height < 10 else 1

    def rate(self, entry: dict):
        screen = self.app.screen("care_rating")
        screen.ask_for(entry)
        self.app.go("care_rating")

    def turn(self, step: int):
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.rebuild()

    def spoken_text(self):
        if not self.requests:
            return _("You have not asked for anything yet.")
        now, per = self.app.now(), self.per_page()
        return sentences(*[request_heading(e) + ": " + request_state(e, now)
                           for e in self.requests[self.page * per:(self.page + 1) * per]])


class Face(Widget):
    """A face drawn with lines: ``mood`` 0 (very unhappy) … 4 (very happy)."""

    mood = NumericProperty(2)
    ink = ListProperty([0, 0, 0, 1])

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw, mood=self._draw, ink=self._draw)

    def _draw(self, *_a):
        self.canvas.clear()
        r = max(4.0, min(self.width, self.height) / 2 - 4)
        cx, cy = self.center
        lw = max(2.0, r / 12)
        with self.canvas:
            Color(*self.ink)
            Line(circle=(cx, cy, r), width=lw)
            eye = r / 8
            for dx in (-r * 0.35, r * 0.35):
                Ellipse(pos=(cx + dx - eye, cy + r * 0.25 - eye), size=(2 * eye, 2 * eye))
            # The mouth: a curve from frown (mood 0) through a straight line (2) to a smile.
            bend = (self.mood - 2) / 2.0 * r * 0.3
            points = []
            for i in range(13):
                t = i / 12.0
                x = cx - r * 0.45 + t * r * 0.9
                y = cy - r * 0.35 - bend * (1 - (2 * t - 1) ** 2)
                points += [x, y]
            Line(points=points, width=lw)


class FaceButton(ButtonBehavior, BoxLayout):
    """One rating: a drawn face with its word under it. Like every big button, a second
    touch within ``debounce`` seconds is ignored (a shaky hand often touches twice)."""

    stars = NumericProperty(3)
    text = StringProperty("")
    bg_color = ListProperty(theme.rgba(theme.COLOURS["card"]))
    debounce = NumericProperty(0.6)
    _last = 0.0

    def on_touch_down(self, touch):
        if self.disabled or not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        now = time.monotonic()
        if now - self._last < self.debounce:
            return True
        self._last = now
        return super().on_touch_down(touch)


class RatingScreen(HubScreen):
    """How was it? Five faces. Answers the core's question, or rates from My requests."""

    entry = DictProperty({})
    from_prompt = BooleanProperty(False)
    heading = StringProperty("")

    def ask_for(self, entry: dict):
        """Rate this request (opened from My requests)."""
        self.from_prompt = False
        self.sent = False
        self.entry = dict(entry)
        self.heading = _("How was it? {service}").format(
            service=service_name(entry.get("service", "")))
        self.message = ""

    def refresh(self):
        prompt = self.app.prompt
        if prompt and prompt.get("kind") == "service_rating":
            if self.from_prompt is False or self.entry or prompt.get("id") != getattr(
                    self, "prompt_id", None):
                self.sent = False
            self.prompt_id = prompt.get("id")
            self.from_prompt = True
            self.entry = {}
            self.heading = prompt.get("question") or _("How was it? Press a face.")
            self.message = ""

    def on_pre_enter(self, *_a):
        self.sent = False
        super().on_pre_enter()

    def choose(self, stars: int):
        app = self.app
        if getattr(self, "sent", False):
            return  # one rating per question; the first face pressed counts
        self.sent = True
        if self.from_prompt and app.prompt and app.prompt.get("kind") == "service_rating":
            prompt_id = app.prompt.get("id")

            def answered(_r):
                if app.prompt and app.prompt.get("id") == prompt_id:
                    app.prompt = None
                app.show_notice(_("Thank you for telling us."))
                app.route()

            app.call("prompt.answer", answered, self._failed, id=prompt_id,
                     answer=str(stars), source="touch")
            return
        request_id = self.entry.get("request_id")
        if not request_id:
            return

        def rated(_entry):
            app.screen("care_requests").say_message(_("Thank you for telling us."))
            app.back()

        app.call("service.rate", rated, self._failed, request_id=request_id, stars=stars,
                 comment="")

    def _failed(self, words, _code):
        self.sent = False
        self.say_message(_("Could not send that just now. Please try again in a minute."),
                         error=True)

    def not_now(self):
        """Not now: the question is put away (the rating can be given later from My
        requests); from My requests, simply back."""
        app = self.app
        if self.from_prompt and app.prompt:
            app.screen("prompt").later()
            return
        app.back()

    def spoken_text(self):
        return sentences(self.heading, *[face_word(n) for n in range(1, 6)])


SCREENS = [CareMenuScreen, ServicesScreen, ServiceConfirmScreen, RequestsScreen,
           RatingScreen]
