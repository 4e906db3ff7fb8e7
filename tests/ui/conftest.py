"""The kiosk's test harness: a virtual screen, one kiosk app for the session, real cores.

Kivy can create one window per process, so the session has one :class:`KioskApp`
in a 800×480 window on Xvfb. Tests drive it the way Kivy's own tests do: the event
loop is stepped from the test (``EventLoop.idle()``) and touches go through the
window's input path (``kivy.tests.common.UnitTestTouch``). Each test gets its own
real core daemon subprocess (``tests/ui/hooked_core.py``: the real ``hub.core.Core``
plus test-only commands) and points the app at its socket.

The accessibility check and the screenshots run the kiosk in a subprocess of their
own (``python -m hub.ui.screenshots``), at other window sizes.
"""

import datetime as dt
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CoreProcess, write_config

KIOSK_PIN = "2468"


class HookedCore(CoreProcess):
    """A real core with test commands (see hooked_core.py)."""

    extensions = False

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("hooked_core.py")),
                str(self.config_path), *(["--extensions"] if self.extensions else [])]


@pytest.fixture
def hooked_core_factory(tmp_path):
    """Make real cores (not started); all are killed after the test."""
    made: list[HookedCore] = []

    def make(extensions: bool = False, **sections) -> HookedCore:
        sections.setdefault("sos", {"countdown": 10, "button_countdown": 0,
                                    "escalate_after": 30, "escalate_repeat": 10})
        core = HookedCore(write_config(tmp_path, **sections), tmp_path / "state")
        core.extensions = extensions
        made.append(core)
        return core

    yield make
    for core in made:
        core.kill()


@pytest.fixture(scope="session")
def kivy_display(tmp_path_factory):
    """A virtual X screen and a private Kivy home for the whole session."""
    from hub.ui.headless import kivy_environment, virtual_display

    kivy_environment(str(tmp_path_factory.mktemp("kivy-home")))
    with virtual_display(1600, 1000) as display:
        yield display


class Kiosk:
    """The running app, and how a test talks to it."""

    def __init__(self, app):
        from kivy.base import EventLoop

        self.app = app
        self.loop = EventLoop

    def pump(self, seconds: float = 0.0, frames: int = 2):
        """Run the event loop for at least ``frames`` frames and ``seconds`` seconds."""
        end = time.monotonic() + seconds
        n = 0
        while n < frames or time.monotonic() < end:
            self.loop.idle()
            n += 1

    def wait_until(self, predicate, timeout: float = 10.0, what: str = "condition"):
        """Step the app until ``predicate()`` is true; fail with ``what`` otherwise."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.loop.idle()
            if predicate():
                self.pump()
                return
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; screen is "
                             f"{self.app.sm.current!r}")

    @property
    def screen(self):
        return self.app.sm.current_screen

    def find(self, text: str, screen=None):
        """The visible widget on the current screen whose text contains ``text``."""
        root = screen or self.screen
        shown = [w for w in root.walk() if getattr(w, "opacity", 1) and w.width > 1]
        for match in (lambda t: t == text, lambda t: text in t):  # exact first
            for w in shown:
                if match(str(getattr(w, "text", ""))):
                    return w
        texts = [w.text for w in root.walk() if getattr(w, "text", "")]
        raise AssertionError(f"no widget with text {text!r} on {root.name!r}: {texts}")

    def tap(self, widget, *, settled: bool = True):
        """A finger press and release in the middle of ``widget``, through the window.

        :param settled: a deliberate press, long after any earlier one (the button's
            tremor debounce is not in play); False taps as fast as the machine goes.
        """
        from kivy.tests.common import UnitTestTouch

        if settled and hasattr(widget, "_last"):
            widget._last = 0.0
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump()
        touch.touch_up()
        self.pump()
        return touch

    def tap_text(self, text: str):
        """Tap the button showing ``text``."""
        return self.tap(self.find(text))

    def texts(self) -> str:
        """All visible text on the current screen, joined."""
        return " | ".join(str(w.text) for w in self.screen.walk()
                          if getattr(w, "text", "") and w.opacity)


@pytest.fixture(scope="session")
def kiosk_app(kivy_display, tmp_path_factory):
    """One kiosk app for the session, in a 800×480 window."""
    from hub.config import config_from_dict
    from hub.ui.app import configure_kivy

    state = tmp_path_factory.mktemp("kiosk")
    cfg = config_from_dict({"hub": {"state_dir": str(state)},
                            "kiosk": {"setup_pin": KIOSK_PIN, "fullscreen": False,
                                      "width": 800, "height": 480}}, source="test")
    configure_kivy(cfg, fullscreen=False, size=(800, 480))
    from kivy.base import runTouchApp, stopTouchApp

    from hub.ui.app import KioskApp

    app = KioskApp(cfg)
    app._run_prepare()   # what App.run() does before its loop (Kivy's own tests do this)
    runTouchApp(embedded=True)
    kiosk = Kiosk(app)
    kiosk.pump(0.2)
    yield kiosk
    if app.link:
        app.link.shutdown()
    stopTouchApp()


@pytest.fixture
def kiosk(kiosk_app):
    """The session's app, back on a clean Home, English, normal text, daytime."""
    app = kiosk_app.app
    app.now = lambda: dt.datetime.now().astimezone()
    app.prompt = None
    app.confirming_safe = False
    app.sos_pending = False
    app._pending_press = None
    app.notice = ""
    # A caption left by the last test would come back line by line and re-flow Home.
    if app._caption_ev:
        app._caption_ev.cancel()
    app._caption_lines = []
    app.caption = ""
    app.set_language("en")
    app.set_text_size("normal")
    app.sos = {"state": "idle"}
    app.history = []
    app.nav = "home"
    app.route()
    kiosk_app.pump()
    return kiosk_app


@pytest.fixture
def live(kiosk, hooked_core_factory):
    """The app connected to a fresh, real core; returns (kiosk, core, api client)."""
    core = hooked_core_factory().start()
    kiosk.app.connect_to(core.socket)
    kiosk.wait_until(lambda: kiosk.app.connected and kiosk.app.sm.current == "home",
                     what="the kiosk to connect and show Home")
    client = core.client(subscribe=False)
    yield kiosk, core, client
    client.close()
