"""Messages from family and the care centre (the core's inbox), newest first, big text.

The list shows two messages per page as big buttons (who, when, the first
words); opening one shows all of it — in pages if it is long (no scrolling, no
swiping) — marks it read through the core, and can read it aloud.
"""

from kivy.properties import DictProperty, ListProperty, NumericProperty, StringProperty

from hub.ui.i18n import _
from hub.ui.widgets import BigButton, Body, HubScreen, fit_one_line, paginate
from hub.ui.words import parse_utc, when_words

__all__ = ["MessagesScreen", "MessageScreen", "SCREENS", "message_text", "sender"]

PER_PAGE = 2
KINDS = ("message", "reminder", "service_update")


def message_text(msg: dict) -> str:
    """The words of an inbox message, whatever field the platform put them in."""
    data = msg.get("payload") or msg.get("data") or {}
    for key in ("text", "body", "message", "title"):
        if isinstance(data.get(key), str) and data[key].strip():
            return data[key].strip()
    return ""


def sender(msg: dict) -> str:
    """Who sent it, in words."""
    data = msg.get("payload") or msg.get("data") or {}
    who = data.get("from") or data.get("sender") or data.get("author")
    if who:
        return str(who)
    return {"reminder": _("Reminder"), "service_update": _("Care centre")}.get(
        msg.get("kind"), _("Care centre"))


class MessagesScreen(HubScreen):
    """The list."""

    messages = ListProperty([])
    page = NumericProperty(0)
    pages = NumericProperty(1)

    def refresh(self):
        self.app.call("inbox.list", self.set_messages,
                      lambda words, _c: self.say_message(words, error=True))

    def set_messages(self, messages: list):
        self.messages = [m for m in messages or [] if m.get("kind") in KINDS
                         and message_text(m)]
        self.app.unread = sum(1 for m in self.messages if not m.get("read_at"))
        self.message = ""
        self.rebuild()

    def on_language(self):
        self.rebuild()

    def rebuild(self, *_a):
        box = self.ids.list
        box.clear_widgets()
        per = self.per_page()
        self.pages = max(1, -(-len(self.messages) // per))
        self.page = min(self.page, self.pages - 1)
        app = self.app
        now = app.now()
        if not self.messages:
            box.add_widget(Body(text=_("No messages yet.")))
            return
        if box.width < 200:
            return  # not laid out yet; on_width calls again
        width = box.width - app.u * 24  # the button's text width (BigButton: width - 20 u)
        for msg in self.messages[self.page * per:(self.page + 1) * per]:
            when = when_words(parse_utc(msg["received_at"]), now) if msg.get(
                "received_at") else ""
            head = (_("NEW") + " · " if not msg.get("read_at") else "") + \
                _("{sender}, {when}").format(sender=sender(msg), when=when)
            first = fit_one_line(message_text(msg), width, app.fs_button, app.font_name, True)
            head = fit_one_line(head, width, app.fs_button, app.font_name, True)
            btn = BigButton(text=head + "\n" + first, style="card", halign="left")
            btn.bind(on_release=lambda b, m=msg: self.open(m))
            box.add_widget(btn)

    def open(self, msg: dict):
        screen = self.app.screen("message")
        screen.msg = msg
        if not msg.get("read_at"):
            self.app.call("inbox.read", lambda _r: None, lambda *_e: None, id=msg["id"])
            self.app.call("event.record", None, None, kind="message_read",
                          data={"message_id": msg["id"]})
            msg["read_at"] = "now"
            self.app.unread = max(0, self.app.unread - 1)
        self.app.go("message")

    def turn(self, step: int):
        """Next / Previous page; they stop at the first and last page."""
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.rebuild()

    def on_pre_enter(self, *_a):
        self.page = 0
        super().on_pre_enter()

    def per_page(self) -> int:
        """Two messages a page; one when two two-line buttons no longer fit."""
        app = self.app
        need = 2 * (2 * app.fs_button * 1.45 + app.u * 16) + app.u * 8
        return PER_PAGE if self.ids.list.height >= need else 1

    def spoken_text(self):
        if not self.messages:
            return _("No messages.")
        new = sum(1 for m in self.messages if not m.get("read_at"))
        return _("You have {n} messages, {new} new.").format(n=len(self.messages), new=new)


class MessageScreen(HubScreen):
    """One message, whole, in pages if it is long."""

    msg = DictProperty({})
    heading = StringProperty("")
    pages = ListProperty([""])
    page = NumericProperty(0)

    def on_msg(self, *_a):
        self.page = 0
        self.layout_text()

    def on_language(self):
        self.layout_text()

    def on_size(self, *_a):
        self.layout_text()

    def layout_text(self, *_a):
        if not self.msg:
            return
        app = self.app
        when = when_words(parse_utc(self.msg["received_at"]), app.now()) if self.msg.get(
            "received_at") else ""
        self.heading = _("{sender}, {when}").format(sender=sender(self.msg), when=when)
        area = self.ids.text
        if area.width < 50 or area.height < 50:
            return
        self.pages = paginate(message_text(self.msg), area.width, area.height,
                              app.fs_body * 1.3, app.font_name)
        self.page = min(self.page, len(self.pages) - 1)

    def turn(self, step: int):
        """Next / Previous page; they stop at the first and last page."""
        self.page = max(0, min(len(self.pages) - 1, self.page + step))

    def spoken_text(self):
        return f"{self.heading}. {message_text(self.msg)}"


SCREENS = [MessagesScreen, MessageScreen]
