"""One table of what a health value can be: the hub's single answer to "is this possible?".

This module owns the physiological limits every reading is screened against before it
is stored, whether it came from a Bluetooth device (:mod:`hub.sensors.ble.service`) or
from a client of the local API (``reading.add`` in :mod:`hub.core`). It does not store,
alert or speak: :func:`screen` returns the reading with its flags, or raises.

Two bands per value, in the hub's own unit (the unit a reading names is converted
first, exactly):

* **possible** — outside it the value cannot belong to a living person being measured
  (SpO2 150 %, a heart rate of 0, a negative systolic pressure, a systolic pressure not
  above the diastolic). Such a reading is **rejected** with :class:`ImpossibleReading`,
  a one-line error that names the value, the unit and the limit.
* **plausible** — outside it the value is possible but rare enough that a person should
  look at it before trusting it (a probe slipped, a cuff on the wrong arm, a
  thermometer in a cold room). Such a reading is **stored and flagged**:
  ``extra["implausible"] = {"<value name>": "<why, in words>"}``. Alerts still fire
  for it — a true SpO2 of 65 % is an emergency even if it is rare.

Where the limits come from (values are deliberately wide: a home hub must never refuse
a real measurement):

========================  ============  ==============  ==========================================
value                     possible      plausible       why
========================  ============  ==============  ==========================================
systolic mm[Hg]           > 0, ≤ 400    60 – 260        cuffs measure about 0–300; the highest
                                                        recorded pressures are near 370
diastolic mm[Hg]          > 0, ≤ 300    30 – 160        below systolic, always
mean arterial mm[Hg]      > 0, ≤ 350    40 – 200
heart rate, pulse /min    > 0, ≤ 350    30 – 220        0 is "no signal" (HRS); a strap or
                                                        oximeter never reports a live 0
SpO2 %                    > 0, ≤ 100    70 – 100        a saturation is a fraction; oximeters
                                                        are calibrated only down to ~70 %
body temperature Cel      > 10, ≤ 50    32 – 42.5       lowest survived ~13.7 °C, highest ~46.5 °C
body weight kg            > 0, ≤ 700    20 – 300
BMI kg/m2                 > 0, ≤ 300    10 – 80
height m                  > 0.2, ≤ 3    0.9 – 2.3
glucose mmol/L            > 0, ≤ 200    1.1 – 33.3      meters read ~0.6–33.3 mmol/L; beyond is
                                                        LO/HI (a flag, not a number)
glucose mg/dL             > 0, ≤ 3604   20 – 600        the same limits in mg/dL (× 18.016)
========================  ============  ==============  ==========================================

The alert thresholds (:mod:`hub.sensors.ble.thresholds`) may only be set inside the
*possible* band of their value, and the kiosk's colour bands (:mod:`hub.ui.vitals`)
lie inside the *plausible* band; ``tests/ble/test_plausibility.py`` checks both, so the
three tables cannot drift apart.

A value may be ``None`` ("the device gave no number"), for example a glucose meter's
LO/HI, which the parsers flag in ``extra["out_of_range"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ImpossibleReading", "Limits", "LIMITS", "limits_for", "screen", "check_values"]


class ImpossibleReading(ValueError):
    """A reading holds a value no living person can have; it is not stored.

    :param message: one line naming the value, what it was and the limit.
    :param name: the value's name (``"spo2"``), if one value is at fault.
    """

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Limits:
    """The bands of one value, in ``unit``.

    :param unit: the hub's UCUM unit for the value.
    :param above: possible values are strictly greater than this.
    :param at_most: possible values are at most this.
    :param plausible: (low, high), inclusive; outside it the reading is flagged.
    :param words: how a person names the value in an error message.
    """

    unit: str
    above: float
    at_most: float
    plausible: tuple[float, float]
    words: str


_BP = "mm[Hg]"
_PULSE = Limits("/min", 0, 350, (30, 220), "pulse")

#: (kind, value name) → limits. A value not in the table is stored unchecked.
LIMITS: dict[tuple[str, str], Limits] = {
    ("blood_pressure", "systolic"): Limits(_BP, 0, 400, (60, 260), "systolic pressure"),
    ("blood_pressure", "diastolic"): Limits(_BP, 0, 300, (30, 160), "diastolic pressure"),
    ("blood_pressure", "mean_arterial"): Limits(_BP, 0, 350, (40, 200), "mean arterial pressure"),
    ("blood_pressure", "pulse"): _PULSE,
    ("heart_rate", "heart_rate"): Limits("/min", 0, 350, (30, 220), "heart rate"),
    ("heart_rate", "pulse"): _PULSE,
    ("spo2", "spo2"): Limits("%", 0, 100, (70, 100), "oxygen saturation (SpO2)"),
    ("spo2", "pulse"): _PULSE,
    ("body_temperature", "temperature"): Limits("Cel", 10, 50, (32, 42.5), "body temperature"),
    ("body_weight", "weight"): Limits("kg", 0, 700, (20, 300), "body weight"),
    ("body_weight", "bmi"): Limits("kg/m2", 0, 300, (10, 80), "BMI"),
    ("body_weight", "height"): Limits("m", 0.2, 3, (0.9, 2.3), "height"),
    ("glucose", "glucose"): Limits("mmol/L", 0, 200, (1.1, 33.3), "blood glucose"),
    ("glucose", "glucose_mg_dl"): Limits("mg/dL", 0, 3604, (20, 600), "blood glucose"),
}

_MG_DL_PER_MMOL_L = Decimal("18.016")  # glucose, 180.16 g/mol (as hub.sensors.ble.parsers)

# (from unit, to unit) → exact conversion. A reading from the API may name another unit.
_CONVERT = {
    ("mg/dL", "mmol/L"): lambda v: v / _MG_DL_PER_MMOL_L,
    ("mmol/L", "mg/dL"): lambda v: v * _MG_DL_PER_MMOL_L,
    ("kPa", "mm[Hg]"): lambda v: v * Decimal("7.50062"),
    ("[degF]", "Cel"): lambda v: (v - 32) * 5 / 9,
    ("[lb_av]", "kg"): lambda v: v * Decimal("0.45359237"),
    ("g", "kg"): lambda v: v / 1000,
    ("cm", "m"): lambda v: v / 100,
    ("[in_i]", "m"): lambda v: v * Decimal("0.0254"),
    ("{beats}/min", "/min"): lambda v: v,
}


def limits_for(kind: str, name: str) -> Limits | None:
    """The limits of one value of one kind of reading, or None if the hub has none."""
    return LIMITS.get((kind, name))


def _fmt(value: float) -> str:
    return f"{value:g}"


def _in_hub_unit(kind: str, name: str, value: float, unit: str | None,
                 limits: Limits) -> float:
    if unit is None or unit == limits.unit:
        return value
    convert = _CONVERT.get((unit, limits.unit))
    if convert is None:
        raise ImpossibleReading(
            f"{kind} reading: {name} is in {unit!r}, a unit the hub cannot check; "
            f"send it in {limits.unit}", name)
    return float(convert(Decimal(repr(value))))


def check_values(kind: str, values: dict, units: dict | None = None) -> dict[str, str]:
    """Check each value of a reading against :data:`LIMITS`.

    :param kind: the reading's kind, e.g. ``"spo2"``.
    :param values: value name → number (or None: no number).
    :param units: value name → UCUM unit; a missing unit means the hub's own.
    :returns: the flags, value name → why it is implausible (empty when all is well).
    :raises ImpossibleReading: a value is not a finite number, or is physically impossible.
    """
    units = units if isinstance(units, dict) else {}
    flags: dict[str, str] = {}
    converted: dict[str, float] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ImpossibleReading(
                f"{kind} reading: {name} must be a number, not {value!r}", name)
        if not math.isfinite(value):
            raise ImpossibleReading(
                f"{kind} reading: {name} must be a finite number, not {value!r}", name)
        limits = limits_for(kind, name)
        if limits is None:
            continue
        unit = units.get(name)
        hub_value = _in_hub_unit(kind, name, float(value), unit, limits)
        converted[name] = hub_value
        shown = f"{_fmt(value)} {unit or limits.unit}"
        if not limits.above < hub_value <= limits.at_most:
            raise ImpossibleReading(
                f"{kind} reading: {limits.words} of {shown} is not possible "
                f"(it must be above {_fmt(limits.above)} and at most "
                f"{_fmt(limits.at_most)} {limits.unit}); nothing was stored", name)
        low, high = limits.plausible
        if not low <= hub_value <= high:
            side = "below" if hub_value < low else "above"
            flags[name] = (f"{limits.words} of {shown} is {side} the plausible range "
                           f"{_fmt(low)}–{_fmt(high)} {limits.unit}: check the device")
    if kind == "blood_pressure" and "systolic" in converted and "diastolic" in converted \
            and converted["systolic"] <= converted["diastolic"]:
        raise ImpossibleReading(
            f"blood_pressure reading: systolic {_fmt(values['systolic'])} must be above "
            f"diastolic {_fmt(values['diastolic'])}; were they swapped? Nothing was stored",
            "systolic")
    return flags


def screen(reading: dict) -> dict:
    """Screen a reading before it is stored.

    :param reading: the reading dict (``kind``, ``values``, optional ``units``/``extra``).
    :returns: the reading, unchanged when all is well, or a copy with
        ``extra["implausible"]`` set to the flags, and with the hub's own unit written
        in for each checked value that came without one (so no reader has to guess:
        a glucose number of 5.6 means mmol/L everywhere, not mg/dL on one screen).
        Calling it again on its own result gives the same result.
    :raises ImpossibleReading: a value is physically impossible (see :func:`check_values`).
    """
    values = reading.get("values")
    if not isinstance(values, dict):
        return reading  # the store names this error itself
    kind = str(reading.get("kind"))
    flags = check_values(kind, values, reading.get("units"))
    units = reading.get("units") if isinstance(reading.get("units"), dict) else {}
    missing = {name: limits_for(kind, name).unit for name in values
               if name not in units and limits_for(kind, name) is not None}
    if missing:
        reading = {**reading, "units": {**units, **missing}}
    extra = reading.get("extra") if isinstance(reading.get("extra"), dict) else {}
    if not flags:
        if "implausible" not in extra:
            return reading
        extra = {k: v for k, v in extra.items() if k != "implausible"}
        return {**reading, "extra": extra}
    return {**reading, "extra": {**extra, "implausible": flags}}
