"""My health: the latest reading of each kind, and a chart of one kind over 7 or 30 days.

Numbers are big, with their unit, the time in words and a status in colour *and*
words (:mod:`hub.ui.vitals`). Readings out of range come first, and the screen always
opens on its first page. Two cards per page — one, laid out across, when the room is
short (largest text, the speech caption); Next/Previous show the others, "page 2 of 3". The chart is drawn with Kivy graphics
(:class:`hub.ui.widgets.Chart`) with the normal range shaded.
"""

import datetime as dt

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, \
    StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.gridlayout import GridLayout

from hub.ui import theme, vitals
from hub.ui.i18n import _
from hub.ui.widgets import Body, HubScreen
from hub.ui.words import local, parse_utc, weekday_short, when_words

__all__ = ["HealthScreen", "HealthDetailScreen", "HealthCard", "SCREENS", "CARDS_PER_PAGE"]

CARDS_PER_PAGE = 2
#: Which statuses come first on My health.
URGENCY = {"very_low": 0, "very_high": 0, "low": 1, "high": 1, "unknown": 2, "normal": 3}


def _card_fields(reading: dict, now: dt.datetime) -> dict:
    status = vitals.classify(reading)
    bg, fg = theme.STATUS_COLOURS[status.key]
    return {
        "kind": reading.get("kind", ""),
        "name": vitals.kind_name(reading.get("kind", "")),
        "value": vitals.value_text(reading),
        "unit": vitals.unit_text(reading),
        "status": status.words,
        "status_bg": theme.rgba(bg),
        "status_fg": theme.rgba(fg),
        "when": when_words(parse_utc(reading["measured_at"]), now),
    }


#: What each chart line is called in the legend.
LINE_NAMES = {"systolic": lambda: _("upper number"),
              "diastolic": lambda: _("lower number")}


def chart_legend(kind: str, keys: list[str], days: int) -> str:
    """The chart's legend as Kivy markup: "━ upper number (systolic)" in the first line's
    colour, "━ lower number (diastolic)" in the second's, then the period and what the
    green band means. One line needs no name: the kind's own name is shown."""
    colours = (theme.COLOURS["chart_line"], theme.COLOURS["chart_line_2"])
    period = _("last 7 days") if days <= 7 else _("last 30 days")
    if len(keys) > 1:
        parts = [f"[color={colours[i % 2].lstrip('#')}][b]— {LINE_NAMES[k]() if k in LINE_NAMES else k}[/b][/color]"
                 for i, k in enumerate(keys)]
    else:
        parts = [f"[b]{vitals.kind_name(kind)}[/b]"]
    return "  ".join(parts) + "  " + period + "; " + _("green: normal range")


class HealthCard(ButtonBehavior, GridLayout):
    """One kind's latest reading; pressing it opens the chart."""

    kind = StringProperty("")
    name = StringProperty("")
    value = StringProperty("")
    unit = StringProperty("")
    status = StringProperty("")
    status_bg = ListProperty(theme.rgba(theme.COLOURS["neutral"]))
    status_fg = ListProperty(theme.rgba(theme.COLOURS["text"]))
    when = StringProperty("")
    bg_color = ListProperty(theme.rgba(theme.COLOURS["card"]))
    #: One card a page, laid out across (name and number left, status and time right).
    wide = BooleanProperty(False)


class HealthScreen(HubScreen):
    """The latest reading of each kind."""

    latest = DictProperty({})
    page = NumericProperty(0)
    pages = NumericProperty(1)
    empty = BooleanProperty(True)
    wide = BooleanProperty(False)

    def refresh(self):
        self.app.call("readings.latest", self.set_latest,
                      lambda words, _c: self.say_message(words, error=True))

    def set_latest(self, latest: dict):
        self.latest = dict(latest or {})
        self.message = ""
        self.rebuild()

    def add_reading(self, reading: dict):
        kind = reading.get("kind")
        old = self.latest.get(kind)
        if not old or reading.get("measured_at", "") >= old.get("measured_at", ""):
            latest = dict(self.latest)
            latest[kind] = reading
            self.set_latest(latest)

    def on_language(self):
        self.rebuild()

    def kinds(self) -> list[str]:
        """Kinds in the order shown: readings that need attention first ("Very low —
        call your doctor" before "A little high" before normal), then the usual order."""
        known = [k for k in vitals.KINDS if k in self.latest]
        order = known + sorted(k for k in self.latest if k not in vitals.KINDS)
        return sorted(order, key=lambda k: (URGENCY.get(
            vitals.classify(self.latest[k]).key, 3), order.index(k)))

    def on_pre_enter(self, *_a):
        self.page = 0  # always open on the first page: the readings that matter most
        self.rebuild()
        super().on_pre_enter()

    def per_page(self) -> int:
        """Two cards a page; one (laid out across) when the room is short."""
        app = self.app
        room = self.ids.cards.height
        # name + big number + status + time, each at its size, plus padding
        need = (app.fs_button + app.fs_number + 2 * app.fs_body) * 1.45 + app.u * 40
        return CARDS_PER_PAGE if room <= 1 or room >= need else 1

    def on_size(self, *_a):
        Clock.schedule_once(self.rebuild, 0)

    def rebuild(self, *_a):
        box = self.ids.cards
        box.clear_widgets()
        kinds = self.kinds()
        self.empty = not kinds
        per = self.per_page()
        self.wide = per == 1
        self.pages = max(1, -(-len(kinds) // per))
        self.page = min(self.page, self.pages - 1)
        if not kinds:
            box.add_widget(Body(text=_("No measurements yet. When you use your blood pressure "
                                       "monitor or scale, the results appear here.")))
            return
        now = self.app.now()
        for kind in kinds[self.page * per:(self.page + 1) * per]:
            card = HealthCard(wide=self.wide, **_card_fields(self.latest[kind], now))
            card.bind(on_release=lambda c: self.open(c.kind))
            box.add_widget(card)

    def open(self, kind: str):
        detail = self.app.screen("health_detail")
        detail.kind = kind
        detail.reading = self.latest.get(kind, {})
        self.app.go("health_detail")

    def turn(self, step: int):
        """Next / Previous page (they stop at the ends; no wrapping round)."""
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.rebuild()

    def spoken_text(self):
        if not self.latest:
            return _("No measurements yet.")
        now = self.app.now()
        return " ".join(vitals.spoken_reading(self.latest[k], when_words(
            parse_utc(self.latest[k]["measured_at"]), now)) for k in self.kinds())


class HealthDetailScreen(HubScreen):
    """One kind: the latest value big, and a chart of the last 7 (or 30) days."""

    kind = StringProperty("")
    reading = DictProperty({})
    days = NumericProperty(7)
    fields = DictProperty({})
    readings = ListProperty([])
    #: Kivy markup: each line's name in the line's colour, then the green band.
    legend = StringProperty("")

    def refresh(self):
        if not self.kind:
            return
        self._fill()
        since = (self.app.now() - dt.timedelta(days=self.days)).astimezone(dt.timezone.utc)
        self.app.call("readings.list", self.set_readings,
                      lambda words, _c: self.say_message(words, error=True),
                      kind=self.kind, since=since.strftime("%Y-%m-%dT%H:%M:%SZ"), limit=2000)

    def set_readings(self, readings: list):
        self.readings = list(readings or [])
        if self.readings:
            newest = max(self.readings, key=lambda r: r.get("measured_at", ""))
            if newest.get("measured_at", "") >= self.reading.get("measured_at", ""):
                self.reading = newest
        self._fill()
        self.draw_chart()

    def add_reading(self, reading: dict):
        if reading.get("kind") == self.kind:
            self.set_readings([*self.readings, reading])

    def on_language(self):
        self._fill()
        self.draw_chart()

    def _fill(self):
        if self.reading:
            self.fields = _card_fields(self.reading, self.app.now())

    def toggle_days(self):
        self.days = 30 if self.days == 7 else 7
        self.refresh()

    def draw_chart(self):
        chart = self.ids.chart
        now = self.app.now()
        today = now.date()
        first = today - dt.timedelta(days=self.days - 1)
        start = dt.datetime.combine(first, dt.time(0), tzinfo=now.tzinfo).timestamp()
        end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0),
                                  tzinfo=now.tzinfo).timestamp()
        lines, bands = [], []
        for key, points in vitals.series(self.readings).items():
            lines.append([(local(parse_utc(t)).timestamp(), v) for t, v in points])
            band = vitals.normal_band(self.kind, key, self.reading)
            if band:
                bands.append(band)
        labels = []
        step = 1 if self.days <= 7 else 7
        for i in range(0, self.days, step):
            day = first + dt.timedelta(days=i)
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=now.tzinfo).timestamp()
            text = (weekday_short(day) if self.days <= 7 else
                    _("{day}/{month}").format(day=day.day, month=day.month))
            labels.append((noon, text))
        self.legend = chart_legend(self.kind, list(vitals.series(self.readings)), self.days)
        chart.start, chart.end = start, end
        chart.bands = bands
        chart.lines = lines
        chart.day_labels = labels

    def spoken_text(self):
        if not self.reading:
            return ""
        when = when_words(parse_utc(self.reading["measured_at"]), self.app.now())
        return vitals.spoken_reading(self.reading, when)


SCREENS = [HealthScreen, HealthDetailScreen]
