"""The kiosk application: screens, what the core pushes, and where the elder is.

:func:`run_kiosk` is what ``hub kiosk`` calls. :class:`KioskApp` owns the app-wide
state the layouts bind to (language, font, scaled sizes, the SOS snapshot, the sync
line, unread messages, the caption of what the hub is saying) and decides which
screen is on top:

1. an open SOS alarm (or a press still waiting for the core) — always first;
2. "Starting…" while the core cannot be reached (with a Help button that works);
3. an open question from the core (a check-in prompt);
4. otherwise the screen the elder or family navigated to.

Everything from the core arrives through :class:`hub.ui.link.CoreLink`, already on
Kivy's main thread. Nothing here opens the database, GPIO or Bluetooth.
"""

import contextlib
import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Callable

from hub.config import Config

__all__ = ["KioskApp", "run_kiosk", "SOS_SCREENS"]

log = logging.getLogger(__name__)

#: SOS state → screen.
SOS_SCREENS = {"countdown": "sos_countdown", "raised": "sos_calling",
               "delivered": "sos_received", "acknowledged": "sos_coming"}


def configure_kivy(config: Config, *, fullscreen: bool | None = None, size=None):
    """Window settings; must run before Kivy creates its window."""
    from kivy.config import Config as KivyConfig

    k = config.kiosk
    full = k.fullscreen if fullscreen is None else fullscreen
    width, height = size or (k.width, k.height)
    KivyConfig.set("graphics", "width", str(width))
    KivyConfig.set("graphics", "height", str(height))
    KivyConfig.set("graphics", "fullscreen", "auto" if full else "0")
    KivyConfig.set("graphics", "borderless", "1" if full else "0")
    KivyConfig.set("graphics", "resizable", "0" if full else "1")
    KivyConfig.set("graphics", "show_cursor", "0" if full else "1")
    KivyConfig.set("kivy", "exit_on_escape", "0")      # no way out for the elder
    # No docked on-screen keyboard: Setup has its own large one (hub/ui/keyboard.py).
    KivyConfig.set("kivy", "keyboard_mode", "system")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")  # no red multitouch dots


def run_kiosk(cfg: Config) -> int:
    """Run the full-screen kiosk until the process is stopped; the CLI's exit code."""
    configure_kivy(cfg)
    app = KioskApp(cfg)
    app.run()
    return 0


# Kivy is imported only after configure_kivy() had its chance (see hub/ui/__init__.py).
from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.properties import (BooleanProperty, DictProperty, NumericProperty,  # noqa: E402
                             StringProperty)
from kivy.uix.floatlayout import FloatLayout  # noqa: E402
from kivy.uix.screenmanager import NoTransition, ScreenManager  # noqa: E402

from hub.ui import i18n, theme  # noqa: E402
from hub.ui.i18n import _  # noqa: E402
from hub.ui.link import CoreLink  # noqa: E402


class LazyScreenManager(ScreenManager):
    """A ScreenManager that builds a screen the first time it is asked to show it."""

    #: ``factory(name)``: build and add the screen called ``name`` (set by the app).
    factory = None

    def on_current(self, instance, value):
        if value and self.factory is not None and not self.has_screen(value):
            self.factory(value)
        return super().on_current(instance, value)


class KioskRoot(FloatLayout):
    """The window's content: the screens, a caption bar and the night veil (app.kv)."""


def _hhmm(value: str) -> dt.time:
    h, m = value.split(":")
    return dt.time(int(h), int(m))


class KioskApp(App):
    """The kiosk.

    :param config: the hub's validated configuration.
    :param connect: connect to the core (False for screenshots and layout checks).
    :param now: the local wall clock, injectable.
    :param state_path: the kiosk's own state file (:mod:`hub.ui.kiosk_state`).
    """

    title = "Home hub"
    lang = StringProperty("en")
    font_name = StringProperty("Roboto")
    scale = NumericProperty(1.0)
    text_factor = NumericProperty(1.0)
    u = NumericProperty(1.0)
    fs_body = NumericProperty(theme.FONT["body"])
    fs_button = NumericProperty(theme.FONT["button"])
    fs_title = NumericProperty(theme.FONT["title"])
    fs_number = NumericProperty(theme.FONT["number"])
    fs_clock = NumericProperty(theme.FONT["clock"])
    fs_sos = NumericProperty(theme.FONT["sos"])
    fs_countdown = NumericProperty(theme.FONT["countdown"])

    connected = BooleanProperty(False)
    elder_name = StringProperty("")
    settings = DictProperty({})
    sos = DictProperty({"state": "idle"})
    sos_pending = BooleanProperty(False)
    countdown = NumericProperty(0)
    sync = DictProperty({})
    waiting = NumericProperty(-1)
    unread = NumericProperty(0)
    caption = StringProperty("")
    notice = StringProperty("")
    notice_is_error = BooleanProperty(False)
    dimmed = BooleanProperty(False)
    clock_text = StringProperty("")
    date_text = StringProperty("")
    greeting = StringProperty("")
    status_text = StringProperty("")
    #: A voice process is connected to the core / its listening window is open (the
    #: core's ``voice`` push): Home's Speak button shows only while ``voice_alive``.
    voice_alive = BooleanProperty(False)
    voice_listening = BooleanProperty(False)

    def __init__(self, config: Config, *, connect: bool = True,
                 now: Callable[[], dt.datetime] | None = None, state_path=None, **kw):
        super().__init__(**kw)
        from hub.ui.kiosk_state import KioskState

        self.cfg = config
        #: What outlives a kiosk restart (the PIN lockout): hub.ui.kiosk_state.
        self.kiosk_state = KioskState(state_path)
        self._connect = connect
        #: No core and no side effects (screenshots, layout checks): see hub.ui.stage.
        self.staged = not connect
        self.now = now or (lambda: dt.datetime.now().astimezone())
        self.fonts: dict[str, str] = {}
        self.link: CoreLink | None = None
        self.nav = "home"           # where the elder/family is, when nothing overrides it
        self.history: list[str] = []
        self.prompt: dict | None = None
        #: The setup PIN typed on the PIN pad, for this Setup visit only (never stored):
        #: the core wants it with privileged commands such as sync.enroll.
        self.setup_pin = ""
        #: Questions the core still waits on (ids), also those put off with "Ask me later".
        self.open_prompts: set = set()
        self.confirming_safe = False
        self._countdown_end: float | None = None
        self._pending_press: str | None = None
        self._pending_test = False
        self._stopping = False
        self._last_touch = time.monotonic()
        #: Since when the core has been out of reach (monotonic); see StartingScreen.
        self.core_away_since = time.monotonic()
        self._caption_ev = None
        self._caption_lines: list[str] = []
        self._notice_ev = None
        self._status_trigger = None
        self.set_language(config.hub.language)
        self.elder_name = config.hub.elder_name

    # -- building -------------------------------------------------------------------

    def build(self):
        # SDL turns SIGTERM into a window-close request, which the kiosk refuses (the elder
        # must not close it); systemd's stop must still work, so handle the signals here,
        # before the window exists (SDL then leaves them alone) and before the core link
        # starts (a stop may come as soon as the kiosk is seen connected).
        import signal

        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread (never in the kiosk)
                signal.signal(signum, self._on_stop_signal)
        if self._connect and self.link is None:
            # Reach for the core first: it answers while the window and the layouts are
            # made (its answers wait in Kivy's clock until the first frame; issue 12).
            self.connect_to(self.cfg.socket_path)
        from kivy.core.window import Window

        from hub.ui import fonts
        from hub.ui.widgets import load_kv

        self.fonts = fonts.register_fonts()
        self._pick_font()
        import importlib

        from hub.ui import widgets

        # Only the code and layouts of the safety path (Starting, Home, the SOS screens,
        # the question) load before the first frame; the other screens' load just after
        # it (load_all_screens), or at once if one is asked for sooner (issue 12: start-up).
        modules = tuple(importlib.import_module("hub.ui." + m) for m in FIRST_MODULES)
        # Layouts: the shared widgets first, then one .kv per screen module, then the window.
        for module in (widgets, *modules):
            load_kv(module.__file__)
        load_kv(__file__)
        root = KioskRoot()
        sm: ScreenManager = root.ids.sm
        sm.transition = NoTransition()  # no sliding: nothing moves that the elder did not move
        # Screens are built when first shown and released back on Home (start time and
        # memory, issue 12); the safety path — Starting, Home, the SOS screens and the
        # question — is built now, so an alarm never waits for a layout.
        self._screen_classes = screen_classes(modules)
        self._all_loaded = False
        self.root = root
        sm.factory = self.screen
        for name in EAGER_SCREENS:
            if name in self._screen_classes:
                sm.add_widget(self._screen_classes[name]())
        sm.current = "starting" if self._connect else "home"
        Window.bind(size=self._on_window_size, on_request_close=self._refuse_close)
        Window.bind(on_touch_down=self._any_touch)
        Window.bind(on_flip=self._after_first_frame)
        # Should no Home frame come (the core is away), load the rest after a while anyway.
        Clock.schedule_once(lambda _dt: self.load_all_screens(), LOAD_REST_AFTER)
        self._on_window_size(Window, Window.size)
        return root

    def _after_first_frame(self, *_a):
        """Once a frame showing more than "Starting…" is on the glass, load the rest."""
        from kivy.core.window import Window

        if self.root is None or self.sm.current == "starting":
            return
        Window.unbind(on_flip=self._after_first_frame)
        Clock.schedule_once(lambda _dt: self.load_all_screens(), 0.2)

    def load_all_screens(self):
        """Import every screen module and load its layout (once; quick when done)."""
        if self._all_loaded:
            return
        self._all_loaded = True
        import importlib

        from hub.ui.widgets import load_kv

        modules = tuple(importlib.import_module("hub.ui." + m) for m in LATER_MODULES)
        for module in modules:
            load_kv(module.__file__)
        self._screen_classes.update(screen_classes(modules))
        Clock.schedule_once(_give_memory_back, 0.5)  # what parsing left on the heap

    @property
    def sm(self) -> ScreenManager:
        return self.root.ids.sm

    def screen(self, name: str, create: bool = True):
        """The screen called ``name``, built now if it was not (None if ``create`` is False
        and it is not built)."""
        if self.sm.has_screen(name):
            return self.sm.get_screen(name)
        if not create:
            return None
        if name not in self._screen_classes:
            self.load_all_screens()
        screen = self._screen_classes[name]()
        self.sm.add_widget(screen)
        return screen

    def release_screens(self):
        """Drop the screens built on demand (back on Home): their widgets, textures and
        bindings go; the next visit builds them again and asks the core afresh."""
        dropped = 0
        for screen in list(self.sm.screens):
            if screen.name not in EAGER_SCREENS and screen is not self.sm.current_screen:
                self.sm.remove_widget(screen)
                dropped += 1
        if dropped:
            Clock.schedule_once(_give_memory_back, 0.5)

    def on_start(self):
        self._status_trigger = Clock.create_trigger(self._ask_status, 0.5)
        self._tick(0)
        Clock.schedule_interval(self._tick, 1.0)
        Clock.schedule_interval(self._countdown_tick, 0.1)
        Clock.schedule_interval(self._retry_pending_press, 1.0)
        Clock.schedule_interval(lambda _dt: self._ask_status(), 30.0)
        if self._connect and self.link is None:
            self.connect_to(self.cfg.socket_path)
        elif self._connect:
            self.route()  # connect_to() ran in build(), before there were screens

    def connect_to(self, socket_path):
        """Talk to the core at ``socket_path`` (at start; tests point it at their core)."""
        self.connected = False
        self.core_away_since = time.monotonic()
        self._connect, self.staged = True, False
        if self.link is None:
            self.link = CoreLink(socket_path, on_push=self.on_core_push,
                                 on_connected=self.on_core_connected,
                                 on_disconnected=self.on_core_disconnected)
            self.link.start()
        else:
            self.link.retarget(socket_path)
        self.route()

    def on_stop(self):
        if self.link:
            self.link.shutdown()

    def _on_stop_signal(self, signum, _frame):
        log.info("signal %s: stopping the kiosk", signum)
        self._stopping = True
        Clock.schedule_once(lambda _dt: self.stop(), 0)

    def _refuse_close(self, *_a, **_kw):
        # The elder cannot close the kiosk (Escape, a window manager's close); systemd can.
        return not self._stopping

    # -- sizes and language -------------------------------------------------------------

    def _on_window_size(self, _win, size):
        self.scale = theme.scale_for(*size)
        self._update_fonts()

    def on_text_factor(self, *_a):
        self._update_fonts()

    def _update_fonts(self):
        self.u = self.scale
        f = self.scale * self.text_factor
        for key, px in theme.FONT.items():
            # A larger text size grows sentences, titles and the SOS words; button labels,
            # numbers and the clock are already ≥ 40 px and keep their size. Nothing ever
            # gets smaller: the layouts re-flow instead (theme.GROWS, audit checks it).
            grow = f if key in theme.GROWS else self.scale
            setattr(self, "fs_" + key, round(px * grow, 1))

    def set_language(self, lang: str):
        """Switch every text and the font at once (no restart)."""
        i18n.set_language(lang)
        self.lang = i18n.language()
        if self.fonts:
            self._pick_font()
        self._tick(0)

    def _pick_font(self, *_a):
        """The font of the language in use. English is drawn with Kivy's own Roboto (a
        small Latin font: every size opened of a CJK face costs SDL_ttf ~2.5 MB) unless
        the elder's name needs Chinese or Korean glyphs; Chinese and Korean each load
        their own Noto CJK face, and only when that language is in use."""
        from hub.ui.linebreak import has_cjk

        if not self.fonts:
            return
        if self.lang == "en" and not has_cjk(self.elder_name):
            self.font_name = "Roboto"
        else:
            self.font_name = self.fonts.get(self.lang, self.font_name)

    def on_elder_name(self, *_a):
        self._pick_font()

    def _update_status(self, *_a):
        from hub.ui.words import status_line

        self.status_text = status_line(self.sync, self.waiting if self.waiting >= 0 else None,
                                       self.connected or not self._connect)

    def on_sync(self, *_a):
        self._update_status()

    def on_waiting(self, *_a):
        self._update_status()

    def on_connected(self, *_a):
        self._update_status()

    def on_lang(self, *_a):
        self._update_status()
        if self.root:
            for screen in self.sm.screens:
                hook = getattr(screen, "on_language", None)
                if hook:
                    hook()

    def set_text_size(self, size: str):
        """normal / large / largest."""
        self.text_factor = theme.TEXT_SIZES.get(size, 1.0)

    # -- the clock, night dimming -----------------------------------------------------------

    def _tick(self, _dt):
        from hub.ui import words

        now = self.now()
        self.clock_text = words.clock_text(now)
        self.date_text = words.date_text(now)
        self.greeting = words.greeting(now, self.elder_name)
        self._update_dim(now)

    def is_night(self, now: dt.datetime) -> bool:
        """True between ``[kiosk] dim_start`` and ``dim_end`` (across midnight too)."""
        start, end, t = _hhmm(self.cfg.kiosk.dim_start), _hhmm(self.cfg.kiosk.dim_end), now.time()
        return (start <= t < end) if start < end else (t >= start or t < end)

    def _update_dim(self, now):
        busy = self.sos.get("state", "idle") != "idle" or self.sos_pending or self.prompt
        awake = time.monotonic() - self._last_touch < theme.WAKE_SECONDS
        self.dimmed = bool(self.is_night(now) and not busy and not awake)

    def _any_touch(self, *_a):
        self._last_touch = time.monotonic()
        if self.dimmed:
            self.dimmed = False
        return False  # never swallow a touch: a dimmed Help button still works

    # -- navigation ---------------------------------------------------------------------

    def go(self, name: str, *, remember: bool = True):
        """Show a screen the person chose (Back returns from it)."""
        if remember and self.nav != name:
            self.history.append(self.nav)
        self.nav = name
        if name == "home":
            self.history.clear()
        self.route()

    def back(self):
        """Return to the previous screen (Home if none)."""
        self.nav = self.history.pop() if self.history else "home"
        self.route()

    def home(self):
        """Straight back to Home."""
        self.history.clear()
        self.nav = "home"
        self.route()

    def route(self):
        """Put the right screen on top (see the module docstring for the order)."""
        if not self.root:
            return
        state = self.sos.get("state", "idle")
        if state in SOS_SCREENS:
            want = SOS_SCREENS[state]
            if state != "countdown" and self.confirming_safe:
                want = "sos_confirm_safe"
        elif self.sos_pending:
            want = "sos_calling"
        elif self._connect and not self.connected:
            want = "starting"
        elif self.prompt and self.prompt.get("open", True):
            # A rating (five faces) has its own screen: hub/ui/care_services.py.
            want = "care_rating" if self.prompt.get("kind") == "service_rating" else "prompt"
        else:
            want = self.nav
        if self.nav == "home":
            self.setup_pin = ""  # leaving Setup forgets the PIN typed for it
        if self.sm.current != want:
            self.sm.current = want  # built on first use (LazyScreenManager)
            if want == "home":
                self.release_screens()
        else:
            self.sm.current_screen.refresh()
        self._update_dim(self.now())

    # -- talking to the core -----------------------------------------------------------------

    def call(self, cmd: str, on_done=None, on_error=None, *, lane: str = "normal", **args):
        """Send a command to the core; callbacks run on the main thread."""
        if self.link is None:
            return  # screenshots and layout checks: no core
        self.link.call(cmd, on_done, on_error, lane=lane, **args)

    def on_core_connected(self, hello: dict):
        self.connected = True
        if hello.get("language"):
            self.set_language(hello["language"])
        if hello.get("elder_name") is not None:
            self.elder_name = hello["elder_name"] or self.cfg.hub.elder_name
        if hello.get("sync"):
            self.sync = hello["sync"]
        self.call("settings.get", self._apply_settings)
        self._ask_status()
        self._ask_unread()
        self._retry_pending_press()
        self.route()

    def on_core_disconnected(self, reason: str):
        # An open alarm stays on screen (the core keeps it and raises it on its own);
        # everything else gives way to "Starting…" until the core is back.
        if self.connected:
            self.core_away_since = time.monotonic()
        self.connected = False
        self.voice_alive = self.voice_listening = False  # known again on reconnect
        self.route()

    def on_core_push(self, topic: str, data: dict):
        handler = getattr(self, "_push_" + topic, None)
        if handler:
            handler(data)

    def _push_sos(self, snap: dict):
        previous = self.sos.get("state", "idle")
        self.sos = dict(snap)
        state = snap.get("state", "idle")
        if state == "countdown" and snap.get("seconds_left") is not None:
            self._countdown_end = time.monotonic() + float(snap["seconds_left"])
            self._countdown_tick(0)
        elif state != "countdown":
            self._countdown_end = None
        if state in ("idle", "countdown"):
            self.confirming_safe = False
        if state != "idle":
            self.sos_pending = False
            self._pending_press = None
        if state == "idle" and previous != "idle":
            last = (snap.get("last") or {}).get("state")
            if last == "cancelled":
                self.show_notice(_("Cancelled. No alarm was sent."))
            elif last == "resolved":
                self.show_notice(_("The alarm is over. Take care."))
            self.history.clear()
            self.nav = "home"
        self.route()

    def _push_sync(self, data: dict):
        self.sync = dict(data)
        if self._status_trigger:
            self._status_trigger()

    def _push_reading(self, reading: dict):
        for name in ("health", "health_detail"):
            screen = self.screen(name, create=False)
            if hasattr(screen, "add_reading"):
                screen.add_reading(reading)

    def _push_inbox(self, message: dict):
        self._ask_unread()
        hook = getattr(self.sm.current_screen, "on_inbox", None)  # e.g. My requests
        if hook:
            hook(message)
        if self.sm.current == "messages":
            self.sm.current_screen.refresh()

    def _push_devices(self, data: dict):
        scan = self.screen("setup_scan", create=data.get("event") == "passkey_needed")
        if scan is not None:
            scan.on_devices_push(data)
        if data.get("event") in ("paired", "forgotten") and self.sm.current == "setup_devices":
            self.sm.current_screen.refresh()

    def _push_say(self, data: dict):
        text = (data.get("text") or "").strip()
        if not text:
            return
        self.show_caption(text)

    def show_caption(self, text: str):
        """Show what the hub says as a one-line caption that follows the speech, line by
        line (like film subtitles), so the bar stays one line high: the screen below it
        gives up that line and re-flows (app.kv), nothing is covered."""
        from hub.ui.linebreak import wrap_lines
        from hub.ui.widgets import _core_label

        if self._caption_ev:
            self._caption_ev.cancel()
        bar = self.root.ids.caption if self.root else None
        width = (bar.width if bar and bar.width > 100 else 800 * self.u) - 34 * self.u
        lbl = _core_label("", self.fs_body, self.font_name)
        lines = wrap_lines(text, width, lambda s: lbl.get_extents(s)[0]) or [text]
        self._caption_lines = [ln for ln in lines if ln.strip()]
        self._next_caption_line()

    def _next_caption_line(self, *_a):
        if not self._caption_lines:
            self.caption = ""
            return
        line = self._caption_lines.pop(0)
        self.caption = line
        # About as long as it takes to say it (≈ 12 letters a second, 2.5 s at least).
        seconds = max(2.5, len(line) / 12.0 + 0.8)
        self._caption_ev = Clock.schedule_once(self._next_caption_line, seconds)

    def _push_voice(self, data: dict):
        # {alive, listening}, pushed on subscribe (after hello: hello's copy may be older)
        # and on every change; a {listen: true} request is for the voice process.
        if "alive" in data:
            self.voice_alive = bool(data["alive"])
            self.voice_listening = bool(data.get("listening")) and self.voice_alive

    def _push_settings(self, data: dict):
        self._apply_settings(data)

    def _push_prompt(self, data: dict):
        if data.get("open", True) and data.get("question"):
            self.prompt = dict(data)
            self.open_prompts.add(data.get("id"))
            self.screen("prompt").show(self.prompt)
        else:
            self.open_prompts.discard(data.get("id"))
            if self.prompt and data.get("id") == self.prompt.get("id"):
                self.prompt = None
        self.route()

    def _apply_settings(self, settings: dict):
        self.settings.update(settings)
        if "language" in settings:
            self.set_language(settings["language"])
        if "text_size" in settings:
            self.set_text_size(settings["text_size"])
        if "elder_name" in settings:
            self.elder_name = settings["elder_name"] or ""
            self._tick(0)

    def _ask_status(self, *_a):
        def done(status):
            self.waiting = int((status.get("outbox") or {}).get("depth", 0))
            sync = status.get("sync") or {}
            if sync.get("state") and not self.sync.get("state"):
                self.sync = {"state": sync["state"], "message": sync.get("message", "")}
            if isinstance((status.get("core") or {}).get("voice"), dict):
                self._push_voice(status["core"]["voice"])  # e.g. after a failed Speak
        self.call("status", done, lambda *_e: None)

    def _ask_unread(self):
        def done(messages):
            self.unread = sum(1 for m in messages or [] if m.get("kind") in MESSAGE_KINDS
                              and not m.get("read_at"))
        self.call("inbox.list", done, lambda *_e: None)

    # -- what the elder does -----------------------------------------------------------------

    def press_sos(self, test: bool = False):
        """Help: start the countdown through the core. If the core is not there yet, the
        press is kept and sent (with the same id, so never twice) as soon as it is."""
        press_id = self._pending_press or str(uuid.uuid4())
        self._pending_press = press_id
        self._pending_test = test
        if not self.connected:
            self.sos_pending = True
            self.route()
        self._send_press()

    def _send_press(self):
        press_id = self._pending_press
        if not press_id:
            return

        def done(snap):
            if self._pending_press == press_id:
                self._pending_press = None
                self.sos_pending = False
            if snap and snap.get("state") and snap["state"] != "idle":
                self._push_sos({k: v for k, v in snap.items()
                                if k not in ("press_id", "duplicate")})

        def failed(words, _code):
            if self._pending_press == press_id:
                self.sos_pending = True
                self.route()

        if self.link is None:
            return
        self.call("sos.press", done, failed, lane="sos", source="touch", id=press_id,
                  test=self._pending_test)

    def _retry_pending_press(self, *_a):
        if self._pending_press and self.connected:
            self._send_press()

    def cancel_sos(self):
        """CANCEL during the countdown."""
        if self.sos_pending and self.sos.get("state", "idle") == "idle":
            self._pending_press = None
            self.sos_pending = False
            self.show_notice(_("Cancelled. No alarm was sent."))
            self.route()
            return
        self.call("sos.cancel", self._push_sos_result, self._sos_error, lane="sos",
                  source="touch")

    def ask_safe(self):
        """'I am safe now' after the alarm went out: ask once more on its own screen."""
        self.confirming_safe = True
        self.route()

    def keep_calling(self):
        """No, I am not safe: back to the alarm's screen."""
        self.confirming_safe = False
        self.route()

    def safe_now(self):
        """Yes, I am safe: end the alarm through the core."""
        self.confirming_safe = False
        self.call("sos.cancel", self._push_sos_result, self._sos_error, lane="sos",
                  source="touch")

    def _push_sos_result(self, result):
        self.call("sos.state", self._push_sos, lambda *_e: None, lane="sos")

    def _sos_error(self, words, _code):
        self.sm.current_screen.say_message(words, error=True)

    def _countdown_tick(self, _dt):
        if self._countdown_end is None:
            return
        left = max(0.0, self._countdown_end - time.monotonic())
        shown = int(-(-left // 1))  # ceil: 10 … 1, never 0 while counting
        if shown != self.countdown:
            self.countdown = max(shown, 0)

    def check_in(self):
        """I'm OK: record a check-in through the core."""
        def done(_event):
            self.show_notice(_("Thank you. Your family will see that you are well."))

        def failed(words, _code):
            self.show_notice(_("Could not record that just now. Please try again in a minute."),
                             error=True)

        self.call("checkin", done, failed, id=str(uuid.uuid4()), source="touch")

    def open_setup(self):
        """Family setup: the PIN keypad first."""
        self.screen("pin").ask_setup_pin()
        self.go("pin")

    def read_aloud(self, text: str | None = None):
        """Have the core say this screen (or ``text``) aloud."""
        text = text if text is not None else self.sm.current_screen.spoken_text()
        if not text:
            return
        self.call("say", None, lambda words, _c: self.sm.current_screen.say_message(
            _("Cannot speak just now."), error=True), text=text)

    def set_setting(self, key: str, value, on_done=None):
        """Change a family setting through the core (it pushes the change back)."""
        def done(result):
            self._apply_settings(result or {key: value})
            if on_done:
                on_done(result)

        def failed(words, _code):
            self.sm.current_screen.say_message(words, error=True)

        self.call("settings.set", done, failed, key=key, value=value)

    def show_notice(self, text: str, *, error: bool = False, seconds: float = 20.0):
        """A short note on Home (a thank-you, a cancelled alarm)."""
        self.notice = text
        self.notice_is_error = error
        if self._notice_ev:
            self._notice_ev.cancel()
        self._notice_ev = Clock.schedule_once(lambda _dt: setattr(self, "notice", ""), seconds)


def _give_memory_back(*_a):
    """Collect the released screens and hand freed heap back to the system (glibc keeps
    it otherwise, and the kiosk's RSS would only ever grow)."""
    import ctypes
    import gc

    gc.collect(0)  # the young generation only: a full collection could stall a frame
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


#: Screen modules whose code and layouts load before the first frame (the safety path).
FIRST_MODULES = ("starting", "home", "sos", "prompt")
#: The others, loaded just after the first frame (in this order: a later .kv may use an
#: earlier one's rules).
LATER_MODULES = ("health", "messages", "pin", "setup", "setup_devices", "setup_network",
                 "diagnostics", "keyboard", "care_services", "care_family", "care_setup",
                 "care_reminders", "care_consent")
#: Seconds after build when the other screens load even if no Home frame came.
LOAD_REST_AFTER = 10.0

#: Screens built at start and never released: the safety path must never wait.
EAGER_SCREENS = ("starting", "home", "sos_countdown", "sos_calling", "sos_received",
                 "sos_coming", "sos_confirm_safe", "prompt")


def screen_classes(modules) -> dict:
    """Screen name → class, from each module's SCREENS and the ``name:`` in its .kv."""
    import re
    from pathlib import Path

    out = {}
    for module in modules:
        kv = Path(module.__file__).with_suffix(".kv")
        text = kv.read_text(encoding="utf-8") if kv.exists() else ""
        names = dict(re.findall(r"^<(\w+)>:\s*\n\s+name:\s*'(\w+)'", text, re.M))
        for cls in module.SCREENS:
            name = names.get(cls.__name__) or getattr(cls, "screen_name", None)
            if name is None:  # a screen whose name is set in Python: build it to ask
                name = cls().name
            out[name] = cls
    return out


#: Inbox kinds shown under Messages (acknowledgements are shown on the SOS screens).
MESSAGE_KINDS = ("message", "reminder", "service_update")


def main():  # pragma: no cover - `python -m hub.ui.app` for developers
    from hub.config import load_config

    cfg = load_config(os.environ.get("HUB_CONFIG"))
    raise SystemExit(run_kiosk(cfg))


if __name__ == "__main__":  # pragma: no cover
    main()
