"""The few widgets every screen is built from: big labelled buttons, text, panels, the chart.

Each one paints its own background colour from :mod:`hub.ui.theme` (``bg_color``),
so the accessibility check can read the colour really behind every text. Sizes come
from the app's scaled font sizes (``app.fs_body`` …), never from numbers in a layout.
Layouts are in ``widgets.kv`` next to this file.
"""

import time
from pathlib import Path

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import (BooleanProperty, ColorProperty, ListProperty, NumericProperty,
                             OptionProperty, StringProperty)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from hub.ui import theme
from hub.ui.linebreak import has_cjk, wrap_lines

__all__ = ["load_kv", "pick", "BigButton", "Body", "FitLabel", "Word", "Tag", "Title", "Panel",
           "Badge", "HubScreen", "Chart",
           "fit_one_line", "paginate", "text_width", "KinsokuMixin"]

_loaded: set[str] = set()


def pick(mapping, key, default=None):
    """``mapping.get(key, default)`` for ``.kv`` files: Kivy re-evaluates ``pick(app.sos,
    'test')`` when ``app.sos`` changes, but not ``app.sos.get('test')`` (a method call
    ends the chain of properties it watches)."""
    return (mapping or {}).get(key, default)


def load_kv(module_file: str) -> None:
    """Load the ``.kv`` file next to a module, once (paths never depend on the cwd)."""
    path = str(Path(module_file).resolve().with_suffix(".kv"))
    if path not in _loaded:
        Builder.load_file(path)
        _loaded.add(path)


class KinsokuMixin:
    """Line breaks by :mod:`hub.ui.linebreak` (CJK rules) for a label with a text width.

    ``keep_lines`` > 0 keeps at most that many lines, the last one ending in "…"
    (the speech caption: it must stay small, the words are heard anyway).
    """

    keep_lines = NumericProperty(0)

    def texture_update(self, *largs):
        text = self.text
        width = self.text_size[0] if self.text_size else None
        if text and width and not self.markup and (self.keep_lines or has_cjk(text)):
            core = self._label
            pad = self.padding[0] + self.padding[2] if len(self.padding) == 4 else \
                2 * self.padding[0]
            room = max(1.0, width - pad - 2)
            lines = wrap_lines(text, room, lambda s: core.get_extents(s)[0])
            if self.keep_lines and len(lines) > self.keep_lines:
                lines = lines[:int(self.keep_lines)]
                last = lines[-1]
                while last and core.get_extents(last + "…")[0] > room:
                    last = last[:-1]
                lines[-1] = last.rstrip() + "…"
            core.text = "\n".join(lines)
        super().texture_update(*largs)


class Panel(BoxLayout):
    """A box that paints its background (``bg_color``)."""

    bg_color = ColorProperty(theme.rgba(theme.COLOURS["background"]))


class Body(KinsokuMixin, Label):
    """Body text: wraps to its width, never smaller than the rule."""

    bg_color = ColorProperty(None, allownone=True)


class FitLabel(KinsokuMixin, Label):
    """Text that uses the biggest font from ``max_font`` down to ``min_font`` that fits
    its width on one line; below that it wraps at ``min_font`` (never smaller)."""

    bg_color = ColorProperty(None, allownone=True)
    max_font = NumericProperty(theme.FONT["title"])
    min_font = NumericProperty(theme.FONT["body"])

    def __init__(self, **kw):
        super().__init__(**kw)
        self._fit_trigger = Clock.create_trigger(self._fit, 0)
        self.bind(text=self._fit_trigger, width=self._fit_trigger, max_font=self._fit_trigger,
                  min_font=self._fit_trigger, font_name=self._fit_trigger)

    def _fit(self, *_a):
        if not self.text or self.width <= 1:
            self.font_size = self.max_font
            return
        lbl = _core_label("", self.max_font, self.font_name, self.bold)
        width = lbl.get_extents(self.text)[0]
        if width <= self.width:
            self.font_size = self.max_font
            return
        # Text width grows in proportion to the font size: scale once, then check. (Each
        # size tried opens the font again in SDL_ttf, ~2.5 MB for a CJK face: try few.)
        size = max(self.min_font, int(self.max_font * self.width / width))
        for _try in range(3):
            if size <= self.min_font or _core_label("", size, self.font_name, self.bold
                                                    ).get_extents(self.text)[0] <= self.width:
                break
            size -= 1
        self.font_size = max(size, self.min_font)


class Title(KinsokuMixin, Label):
    """A screen's title."""

    bg_color = ColorProperty(None, allownone=True)


class Word(Label):
    """A few words on one line, as wide as they are (a unit, a short note)."""

    bg_color = ColorProperty(None, allownone=True)


class Tag(Label):
    """A few words on a coloured background, as wide as they are (a reading's status)."""

    bg_color = ColorProperty(theme.rgba(theme.COLOURS["neutral"]))


class Badge(KinsokuMixin, Label):
    """Words on a coloured background (a reading's status, 'NEW', 'TEST')."""

    bg_color = ColorProperty(theme.rgba(theme.COLOURS["neutral"]))


class BigButton(KinsokuMixin, ButtonBehavior, Label):
    """A big button with a word on it.

    ``style`` picks colours from :data:`hub.ui.theme.BUTTON_STYLES`. A second press
    within ``debounce`` seconds is ignored (a shaky hand often touches twice).
    """

    style = OptionProperty("neutral", options=list(theme.BUTTON_STYLES))
    bg_color = ColorProperty(theme.rgba(theme.COLOURS["neutral"]))
    debounce = NumericProperty(0.6)
    _last = 0.0

    def on_style(self, *_a):
        bg, fg = theme.BUTTON_STYLES[self.style]
        self.bg_color = theme.rgba(bg)
        self.color = theme.rgba(fg)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.on_style()

    def on_touch_down(self, touch):
        if self.disabled or not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        now = time.monotonic()
        if now - self._last < self.debounce:
            return True  # swallow the tremor's second touch
        self._last = now
        return super().on_touch_down(touch)


class HubScreen(Screen):
    """A screen of the kiosk.

    :ivar bg_color: the screen's background.
    :ivar message: a short note or error in words, shown where the layout puts it.
    """

    bg_color = ColorProperty(theme.rgba(theme.COLOURS["background"]))
    message = StringProperty("")
    message_is_error = BooleanProperty(False)
    #: True for screens meant for the family (Setup), not the elder.
    family = False

    @property
    def app(self):
        from kivy.app import App

        return App.get_running_app()

    def spoken_text(self) -> str:
        """What Read aloud says for this screen."""
        return ""

    def refresh(self):
        """Ask the core for this screen's data (called when the screen is shown)."""

    def on_pre_enter(self, *_a):
        self.refresh()

    def say_message(self, text: str, error: bool = False):
        """Show a note (or an error) in words on this screen."""
        self.message_is_error = error
        self.message = text


# -- text that must fit ----------------------------------------------------------------

def _core_label(text: str, font_size: float, font_name: str, bold: bool = False,
                width: float | None = None):
    from kivy.core.text import Label as CoreLabel

    lbl = CoreLabel(text=text, font_size=font_size, font_name=font_name, bold=bold,
                    text_size=(width, None) if width else (None, None))
    lbl.refresh()
    return lbl


def text_width(text: str, font_size: float, font_name: str, bold: bool = False) -> float:
    """How wide ``text`` is on one line (its widest line), in px."""
    lbl = _core_label("", font_size, font_name, bold)
    return max((lbl.get_extents(line)[0] for line in (text or "").split("\n")), default=0)


def fit_one_line(text: str, width: float, font_size: float, font_name: str,
                 bold: bool = False) -> str:
    """``text`` if it fits on one line of ``width`` px, else shortened with ``…``."""
    text = " ".join(text.split())
    lbl = _core_label("", font_size, font_name, bold)
    if lbl.get_extents(text)[0] <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if lbl.get_extents(text[:mid].rstrip() + "…")[0] <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def paginate(text: str, width: float, height: float, font_size: float, font_name: str
             ) -> list[str]:
    """Split ``text`` into pages that each fit ``width`` × ``height`` px when wrapped.

    Lines are broken by :func:`hub.ui.linebreak.wrap_lines` (so no page or line starts
    with "。"), then as many whole lines as fit go on each page.
    """
    text = text.strip()
    if not text:
        return [""]
    lbl = _core_label("", font_size, font_name)
    lines = wrap_lines(text, max(1.0, width - 2), lambda s: lbl.get_extents(s)[0])
    line_h = max(1.0, _core_label("Ag国", font_size, font_name).texture.height)
    per_page = max(1, int(height // line_h))
    pages = ["\n".join(lines[i:i + per_page]).strip("\n")
             for i in range(0, len(lines), per_page)]
    return [p for p in pages if p.strip()] or [""]


# -- the chart -------------------------------------------------------------------------

class Chart(Widget):
    """A small line chart drawn with Kivy graphics: days along the bottom, the normal
    range shaded, each reading a dot, a line joining them.

    :ivar lines: ``[[(epoch_seconds, value), …], …]``, one list per line.
    :ivar bands: ``[(low, high), …]``: the normal range of each line (shaded).
    :ivar start, end: the time span shown (epoch seconds).
    :ivar day_labels: ``[(epoch_seconds, text)]`` under the axis.
    """

    lines = ListProperty([])
    bands = ListProperty([])
    start = NumericProperty(0)
    end = NumericProperty(1)
    day_labels = ListProperty([])
    bg_color = ColorProperty(theme.rgba(theme.COLOURS["card"]))
    font_size = NumericProperty(theme.MIN_BODY_PX)
    font_name = StringProperty("Roboto")
    unit = NumericProperty(1.0)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._labels: list[Label] = []
        self._trigger = Clock.create_trigger(self.redraw, 0)
        self.bind(pos=self._trigger, size=self._trigger, lines=self._trigger,
                  bands=self._trigger, day_labels=self._trigger, font_size=self._trigger,
                  font_name=self._trigger)

    def value_range(self) -> tuple[float, float]:
        values = [v for line in self.lines for _t, v in line]
        for band in self.bands:
            values += list(band)
        if not values:
            return 0.0, 1.0
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.12, abs(hi) * 0.02, 1.0)
        return lo - pad, hi + pad

    def redraw(self, *_a):
        from kivy.graphics import Color, Ellipse, Line, Rectangle

        for lbl in self._labels:
            self.remove_widget(lbl)
        self._labels = []
        self.canvas.clear()
        u = self.unit
        # Room for value labels (e.g. "135") and day names — only when the chart is tall
        # enough; a short chart (under the speech caption) draws its lines alone, inside.
        tall = self.height >= self.font_size * 1.6 * 1.5
        left_w = self.font_size * 3.2 if self.height >= self.font_size * 4.6 else 8 * u
        bottom_h = self.font_size * 1.6 if tall else 4 * u
        x0, y0 = self.x + left_w, self.y + bottom_h
        w, h = max(1.0, self.width - left_w - 8 * u), max(1.0, self.height - bottom_h - 8 * u)
        vlo, vhi = self.value_range()
        span = max(1.0, self.end - self.start)

        def px(t, v):
            return (x0 + (t - self.start) / span * w, y0 + (v - vlo) / (vhi - vlo) * h)

        with self.canvas:
            Color(*self.bg_color)
            Rectangle(pos=self.pos, size=self.size)
            Color(*theme.rgba(theme.COLOURS["chart_band"]))
            for lo, hi in self.bands:
                b0, b1 = max(lo, vlo), min(hi, vhi)
                Rectangle(pos=(x0, px(0, b0)[1]), size=(w, px(0, b1)[1] - px(0, b0)[1]))
            Color(*theme.rgba(theme.COLOURS["chart_axis"]))
            Line(points=[x0, y0 + h, x0, y0, x0 + w, y0], width=1.5 * u)
            colours = (theme.COLOURS["chart_line"], theme.COLOURS["chart_line_2"])
            for i, line in enumerate(self.lines):
                pts = [c for t, v in sorted(line) for c in px(t, v)]
                Color(*theme.rgba(colours[i % len(colours)]))
                if len(pts) >= 4:
                    Line(points=pts, width=2.5 * u)
                r = 7 * u
                for j in range(0, len(pts), 2):
                    Ellipse(pos=(pts[j] - r, pts[j + 1] - r), size=(2 * r, 2 * r))
        # Value labels at the edges of the normal range (or of the data) — only when the
        # chart is tall enough for them (the speech caption may take some of its room).
        marks = sorted({v for band in self.bands for v in band}) or [vlo, vhi]
        if left_w < self.font_size:
            marks = []
        placed: list[float] = []
        for v in marks:
            y = px(0, v)[1]
            if any(abs(y - p) < self.font_size * 1.3 for p in placed):
                continue  # never draw two numbers on top of each other
            placed.append(y)
            text = f"{v:.0f}" if abs(v) >= 20 else f"{v:.1f}"
            self._add_label(text, x0 - 6 * u, px(0, v)[1], anchor="right")
        for t, text in (self.day_labels if tall else []):
            self._add_label(text, px(t, 0)[0], self.y + bottom_h / 2, anchor="center")

    def _add_label(self, text, x, y, anchor):
        lbl = Label(text=text, font_size=self.font_size, font_name=self.font_name,
                    color=theme.rgba(theme.COLOURS["text"]), size_hint=(None, None))
        lbl.texture_update()
        lbl.size = (lbl.texture_size[0] + 2, lbl.texture_size[1])
        lbl.bg_color = self.bg_color
        if anchor == "right":
            lbl.pos = (x - lbl.width, y - lbl.height / 2)
        else:
            lbl.pos = (x - lbl.width / 2, y - lbl.height / 2)
        lbl.x = max(self.x, min(lbl.x, self.right - lbl.width))
        lbl.y = max(self.y, min(lbl.y, self.top - lbl.height))
        self.add_widget(lbl)
        self._labels.append(lbl)
