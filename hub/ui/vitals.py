"""Health readings in plain language: the number to show, its unit, and a status in words.

Pure functions (no Kivy), used by the My health screens and their tests. The ranges
are general adult guidance for *home* measurements, chosen to be calm and simple —
"Normal", "A little high", "High — call your doctor" — not a diagnosis. A family or
doctor who wants other limits changes :data:`RANGES` (documented in docs/kiosk.md).

Sources of the limits: home blood pressure — 135/85 mmHg is the usual home
threshold for high (ESH / AHA home-monitoring guidance), 180/110 urgent; SpO₂ —
below 95 % is low and below 92 % needs a doctor; temperature — 38 °C is a fever;
resting heart rate 50–100 /min; capillary glucose 70–140 mg/dL (3.9–7.8 mmol/L)
outside fasting, below 54 mg/dL or above 300 mg/dL urgent.
"""

from dataclasses import dataclass

from hub.plausibility import limits_for
from hub.ui.i18n import _

__all__ = ["KINDS", "RANGES", "Status", "kind_name", "main_value", "unit_text", "classify",
           "value_text", "series", "spoken_reading"]

#: The kinds of reading the hub knows, in the order My health shows them.
KINDS = ("blood_pressure", "heart_rate", "spo2", "body_temperature", "glucose", "body_weight")


@dataclass(frozen=True)
class Range:
    """Limits for one value: below ``very_low`` / ``low`` … above ``high`` / ``very_high``."""

    very_low: float | None
    low: float | None
    high: float | None
    very_high: float | None


#: (kind, value key) → limits. Glucose in mg/dL; mmol/L is converted first.
RANGES = {
    ("blood_pressure", "systolic"): Range(80, 90, 135, 180),
    ("blood_pressure", "diastolic"): Range(40, 60, 85, 110),
    ("heart_rate", "heart_rate"): Range(40, 50, 100, 130),
    ("heart_rate", "pulse"): Range(40, 50, 100, 130),
    ("spo2", "spo2"): Range(92, 95, None, None),
    ("body_temperature", "temperature"): Range(35.0, 36.0, 37.6, 39.0),
    ("glucose", "glucose"): Range(54, 70, 140, 300),
}

_RANK = {"very_low": 0, "low": 1, "normal": 2, "high": 3, "very_high": 4, "unknown": -1}


@dataclass(frozen=True)
class Status:
    """A reading's status: a key for the colour (:data:`hub.ui.theme.STATUS_COLOURS`)
    and the words that always go with it."""

    key: str
    words: str


def kind_name(kind: str) -> str:
    """``Blood pressure`` …"""
    return {
        "blood_pressure": _("Blood pressure"),
        "heart_rate": _("Pulse"),
        "spo2": _("Oxygen"),
        "body_temperature": _("Temperature"),
        "glucose": _("Blood sugar"),
        "body_weight": _("Weight"),
    }.get(kind, kind.replace("_", " "))


def _glucose_unit(reading: dict) -> str:
    """The unit of a reading's ``glucose`` value; without one, the hub's own (mmol/L),
    as the core, the FHIR export and the plausibility table read it."""
    return (reading.get("units") or {}).get("glucose") or limits_for("glucose", "glucose").unit


def _glucose_mg_dl(reading: dict) -> float | None:
    v = reading.get("values", {}).get("glucose")
    if v is None:
        return None
    unit = _glucose_unit(reading)
    return float(v) * 18.016 if unit.lower().startswith("mmol") else float(v)


def main_value(reading: dict) -> dict[str, float]:
    """The values that matter for a reading's status, by key."""
    # None: the device gave no number (e.g. a glucose meter's LO/HI, see _out_of_range).
    values = {k: v for k, v in (reading.get("values") or {}).items() if v is not None}
    kind = reading.get("kind")
    if kind == "blood_pressure":
        return {k: float(values[k]) for k in ("systolic", "diastolic") if k in values}
    if kind == "heart_rate":
        key = "heart_rate" if "heart_rate" in values else "pulse"
        return {key: float(values[key])} if key in values else {}
    if kind == "glucose":
        mg = _glucose_mg_dl(reading)
        return {"glucose": mg} if mg is not None else {}
    for key in ("spo2", "temperature", "weight"):
        if key in values:
            return {key: float(values[key])}
    return {}


def _out_of_range(reading: dict) -> list[str]:
    """``extra["out_of_range"]`` words (hub.sensors.ble.parsers): beyond the device's range."""
    flags = (reading.get("extra") or {}).get("out_of_range")
    return list(flags.values()) if isinstance(flags, dict) else []


def _fmt(v: float, decimals: int) -> str:
    return f"{v:.{decimals}f}" if decimals else f"{round(v):d}"


def value_text(reading: dict) -> str:
    """The big number: ``138/85``, ``72``, ``36.8``, ``96``, ``6.1``, ``64.5``."""
    if _out_of_range(reading):  # beyond the device's range: HI/LO, as the device shows it
        return "HI" if "above_device_range" in _out_of_range(reading) else "LO"
    values = reading.get("values") or {}
    kind = reading.get("kind")
    if kind == "blood_pressure" and "systolic" in values and "diastolic" in values:
        return f"{_fmt(values['systolic'], 0)}/{_fmt(values['diastolic'], 0)}"
    if kind == "heart_rate":
        v = values.get("heart_rate", values.get("pulse"))
        return _fmt(v, 0) if v is not None else "—"
    if kind == "body_temperature" and "temperature" in values:
        return _fmt(values["temperature"], 1)
    if kind == "body_weight" and "weight" in values:
        return _fmt(values["weight"], 1)
    if kind == "spo2" and "spo2" in values:
        return _fmt(values["spo2"], 0)
    if kind == "glucose" and "glucose" in values:
        unit = _glucose_unit(reading)
        return _fmt(values["glucose"], 1 if unit.lower().startswith("mmol") else 0)
    first = next(iter(values.values()), None)
    return str(first) if first is not None else "—"


def unit_text(reading: dict) -> str:
    """The unit a person reads: UCUM ``mm[Hg]`` → ``mmHg``, ``Cel`` → ``°C``, ``/min`` → …"""
    units = reading.get("units") or {}
    kind = reading.get("kind")
    ucum = next(iter(units.values()), "") if units else ""
    if kind == "blood_pressure":
        ucum = units.get("systolic", "mm[Hg]")
    elif kind == "heart_rate":
        ucum = units.get("heart_rate", units.get("pulse", "/min"))
    elif kind == "glucose":
        ucum = _glucose_unit(reading)
    return {
        "mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "/min": _("beats a minute"),
        "{beats}/min": _("beats a minute"), "%": "%", "kg": "kg", "[lb_av]": "lb",
        "mg/dL": "mg/dL", "mmol/L": "mmol/L",
    }.get(ucum, ucum)


def classify(reading: dict) -> Status:
    """The worst status over a reading's values, with its words."""
    kind = reading.get("kind")
    worst = "unknown"
    if _out_of_range(reading):
        worst = "very_high" if "above_device_range" in _out_of_range(reading) else "very_low"
    for key, v in main_value(reading).items():
        rng = RANGES.get((kind, key))
        if rng is None:
            continue
        if rng.very_low is not None and v < rng.very_low:
            s = "very_low"
        elif rng.low is not None and v < rng.low:
            s = "low"
        elif rng.very_high is not None and v >= rng.very_high:
            s = "very_high"
        elif rng.high is not None and v >= rng.high:
            s = "high"
        else:
            s = "normal"
        if worst == "unknown" or abs(_RANK[s] - 2) > abs(_RANK[worst] - 2):
            worst = s
    words = {
        "normal": _("Normal"),
        "low": _("A little low"),
        "high": _("A little high"),
        "very_low": _("Very low — call your doctor"),
        "very_high": _("Very high — call your doctor"),
        "unknown": _("Recorded"),
    }[worst]
    if kind == "body_temperature" and worst in ("high", "very_high"):
        words = _("Fever — call your doctor") if worst == "very_high" else _("A slight fever")
    return Status(worst, words)


def series(readings: list[dict]) -> dict[str, list[tuple[str, float]]]:
    """Chart lines from readings of one kind: value key → [(measured_at, value)]."""
    out: dict[str, list[tuple[str, float]]] = {}
    for r in readings:
        for key, v in main_value(r).items():
            if r.get("kind") == "glucose":
                unit = _glucose_unit(r)
                if unit.lower().startswith("mmol"):
                    v = v / 18.016
            out.setdefault(key, []).append((r["measured_at"], v))
    return out


def normal_band(kind: str, key: str, reading: dict | None = None) -> tuple[float, float] | None:
    """The normal range to shade on a chart, in the reading's own unit."""
    rng = RANGES.get((kind, key))
    if rng is None:
        return None
    lo = rng.low if rng.low is not None else rng.very_low
    hi = rng.high if rng.high is not None else 100.0
    if kind == "glucose" and reading and _glucose_unit(reading).lower().startswith("mmol"):
        return lo / 18.016, hi / 18.016
    return lo, hi


def spoken_reading(reading: dict, when: str) -> str:
    """One sentence for Read aloud: ``Blood pressure 138 over 85 mmHg, this morning, 8:05:
    a little high.``"""
    value = value_text(reading)
    if reading.get("kind") == "blood_pressure" and "/" in value:
        value = _("{a} over {b}").format(a=value.split("/")[0], b=value.split("/")[1])
    return _("{what}: {value} {unit}, {when}. {status}.").format(
        what=kind_name(reading.get("kind", "")), value=value, unit=unit_text(reading),
        when=when, status=classify(reading).words)
