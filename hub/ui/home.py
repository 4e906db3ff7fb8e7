"""Home: the clock, the date, a greeting, and the few big buttons the elder uses.

Buttons (DESIGN.md: at most six choices): Help (SOS), I'm OK, My health, Messages
(with the unread count), Family and services, and Read aloud. Family and services
(:mod:`hub.ui.care_services`) leads to services, "Call my family", My requests and
Family setup (PIN); reminders and privacy are in Family setup.

The top-right button is Read aloud, or **Speak** when the family chose it (setting
``home_voice_button``, Family setup page 3) *and* a voice process is connected to the
core (:func:`corner_button`): otherwise it stays Read aloud, so it never does nothing.
Speak sends ``voice.listen``; the button reads "Listening…" while the voice process
reports its window open.
"""

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from hub.ui import theme
from hub.ui.i18n import _, ngettext
from hub.ui.words import sentences
from hub.ui.widgets import HubScreen

__all__ = ["HomeScreen", "SCREENS", "messages_label", "corner_button"]


def messages_label(unread: int) -> str:
    """``Messages`` with the unread count on a second line."""
    if unread <= 0:
        return _("Messages")
    return _("Messages") + "\n" + ngettext("{n} new", "{n} new", unread).format(n=unread)


def corner_button(setting: str, voice_alive: bool, listening: bool) -> str:
    """Home's top-right button: ``read_aloud``, ``speak`` or ``listening``.

    Speak only when the family chose it and a voice process is connected to the core:
    with voice off, crashed or without a model the button reads the screen aloud.
    """
    if setting != "speak" or not voice_alive:
        return "read_aloud"
    return "listening" if listening else "speak"


#: The buttons beside Help, in order; in a short room they come three a page with More.
PAGES = (("ok", "health", "more"), ("messages", "setup", "more"))


class HomeScreen(HubScreen):
    """The screen the elder sees all day.

    When the room below the clock is too short for two rows of two-line labels
    (largest text size, or while the speech caption takes a line), the buttons re-flow
    into one row: Help, then three a page, the third being More / Back — so every
    button stays ≥ 100 px and every label fits, and no text is made smaller.
    """

    compact = BooleanProperty(False)
    page = NumericProperty(0)
    #: The top-right button: read_aloud / speak / listening (bound in home.kv).
    corner = StringProperty("read_aloud")

    def __init__(self, **kw):
        super().__init__(**kw)
        self._arrange_trigger = Clock.create_trigger(self.arrange, 0)
        from kivy.app import App

        app = App.get_running_app()
        if app is not None:
            app.bind(fs_button=self._arrange_trigger, fs_title=self._arrange_trigger,
                     fs_body=self._arrange_trigger, caption=self._arrange_trigger)

    def on_pre_enter(self, *_a):
        self.page = 0
        self.arrange()
        super().on_pre_enter()

    def arrange_later(self, *_a):
        """Re-arrange on the next frame (the rows' room is known once laid out)."""
        trigger = getattr(self, "_arrange_trigger", None)
        if trigger:
            trigger()

    def row_room(self) -> float:
        """Height the button rows have (what the header and status line leave)."""
        box = self.ids.buttons
        return box.height if self.height >= 10 else 1000.0

    def arrange(self, *_a):
        """Normal 2×2 grid, or one row of three a page (see the class docstring)."""
        app = self.app
        if app is None or "grid" not in self.ids:
            return
        # Two lines of a button label, its padding, and the gap between the rows.
        two_lines = 2 * app.fs_button * 1.45 + app.u * 4
        compact = self.row_room() < 2 * max(two_lines, theme.MIN_TOUCH_PX * app.u) + app.u * 10
        self.compact = compact
        grid = self.ids.grid
        if not hasattr(self, "_buttons"):
            # ids are weak references: keep the buttons alive while out of the grid.
            self._buttons = {n: self.ids[n].__self__
                             for n in ("ok", "health", "messages", "setup", "more")}
        want = ([self._buttons[n] for n in PAGES[int(self.page) % 2]] if compact else
                [self._buttons[n] for n in ("ok", "health", "messages", "setup")])
        if list(reversed(grid.children)) != want:
            grid.clear_widgets()
            for w in want:
                grid.add_widget(w)

    def turn(self):
        """More / Back in the one-row arrangement."""
        self.page = (self.page + 1) % 2
        self.arrange()

    @staticmethod
    def corner_text(corner: str, _lang: str = "") -> str:
        """The top-right button's word (``_lang`` only makes the .kv re-evaluate)."""
        if corner == "listening":
            # "Listening…" is 196 px at the 40 px label minimum and the button has 140 px
            # for words: Kivy would cut it anywhere ("Listeni / ng…"), so it is hyphenated.
            return _("Listen-\ning…")
        return _("Speak") if corner == "speak" else _("Read aloud")

    def press_corner(self, corner: str):
        """Read aloud, or Speak: ask the voice process to listen (see :func:`corner_button`)."""
        app = self.app
        if corner == "read_aloud":
            app.read_aloud()
            return

        def failed(_words, _code):
            # Most likely no voice process (the core says so in words): Read aloud again
            # at once; the core's status then says whether voice is there after all.
            app.voice_alive = app.voice_listening = False
            app._ask_status()
            text = _("Voice is not working just now. Please use the buttons.")
            app.show_notice(text, error=True)
            app.read_aloud(text)

        app.call("voice.listen", None, failed)

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
