"""My health: the latest reading of each kind, and a chart of one kind over 7 or 30 days.

Numbers are big, with their unit, the time in words and a status in colour *and*
words (:mod:`hub.ui.vitals`). Two cards per page (they must stay readable on the 7"
screen); Next/Previous show the others. The chart is drawn with Kivy graphics
(:class:`hub.ui.widgets.Chart`) with the normal range shaded.
"""

import datetime as dt

from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, \
    StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from hub.ui import theme, vitals
from hub.ui.i18n import _
from hub.ui.widgets import Body, HubScreen
from hub.ui.words import local, parse_utc, weekday_short, when_words

__all__ = ["HealthScreen", "HealthDetailScreen", "HealthCard", "SCREENS", "CARDS_PER_PAGE"]

CARDS_PER_PAGE = 2


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


class HealthCard(ButtonBehavior, BoxLayout):
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


class HealthScreen(HubScreen):
    """The latest reading of each kind."""

    latest = DictProperty({})
    page = NumericProperty(0)
    pages = NumericProperty(1)
    empty = BooleanProperty(True)

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
        known = [k for k in vitals.KINDS if k in self.latest]
        return known + sorted(k for k in self.latest if k not in vitals.KINDS)

    def rebuild(self, *_a):
        box = self.ids.cards
        box.clear_widgets()
        kinds = self.kinds()
        self.empty = not kinds
        self.pages = max(1, -(-len(kinds) // CARDS_PER_PAGE))
        self.page = min(self.page, self.pages - 1)
        if not kinds:
            box.add_widget(Body(text=_("No measurements yet. When you use your blood pressure "
                                       "monitor or scale, the results appear here.")))
            return
        now = self.app.now()
        for kind in kinds[self.page * CARDS_PER_PAGE:(self.page + 1) * CARDS_PER_PAGE]:
            card = HealthCard(**_card_fields(self.latest[kind], now))
            card.bind(on_release=lambda c: self.open(c.kind))
            box.add_widget(card)

    def open(self, kind: str):
        detail = self.app.screen("health_detail")
        detail.kind = kind
        detail.reading = self.latest.get(kind, {})
        self.app.go("health_detail")

    def turn(self, step: int):
        self.page = (self.page + step) % self.pages
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
