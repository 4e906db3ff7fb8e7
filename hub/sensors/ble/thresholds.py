"""Threshold rules on health readings: which values the care centre must hear about.

This module owns the limits, their documented defaults, how config and the platform
override them, and :func:`check`, a pure function from a reading to the alerts it
raises. It does not store, speak or send (the BLE service does, through the core).

Defaults and their sources (all overridable, because a doctor may set other limits for
one person):

==========================  ===========  =====================================================
rule                        default      source
==========================  ===========  =====================================================
systolic (mm[Hg])           ≥ 180        2017 ACC/AHA hypertension guideline (Whelton et al.,
diastolic (mm[Hg])          ≥ 120        Hypertension 2018;71:e13–e115): "hypertensive crisis",
                                         systolic > 180 and/or diastolic > 120 — the AHA tells
                                         people to wait 5 minutes, measure again and call their
                                         doctor. The hub alerts at the boundary itself.
SpO2 (%)                    < 90         WHO *Pulse Oximetry Training Manual* (2011): SpO2 below
                                         90 % is hypoxaemia needing prompt treatment.
glucose (mmol/L)            < 3.9        ADA *Standards of Care in Diabetes*, "Glycemic Goals
                                         and Hypoglycemia": level 1 hypoglycaemia is
                                         < 70 mg/dL (3.9 mmol/L).
body temperature (Cel)      ≥ 38.5       Chosen default (issue 4): fever is usually ≥ 38.0 °C,
                                         and older people mount lower fevers (IDSA guideline
                                         for fever in long-term-care residents, High et al.,
                                         Clin Infect Dis 2009;48:149–171: a single oral
                                         > 37.8 °C). 38.5 °C avoids alarms from ear and
                                         forehead thermometers' scatter; lower it for a frail
                                         elder in ``[thresholds] temperature_high``.
==========================  ===========  =====================================================

Order of precedence: defaults ← ``[thresholds]`` in the config file ← the stored setting
``thresholds`` (a JSON object written when the platform sends new limits).

Out of the device's range: a reading whose ``extra["out_of_range"]`` says a value is
above or below what the device can measure (a glucose meter's HI/LO, IEEE 11073 ±INF)
always raises an **urgent** alert ``<kind>_above_device_range`` /
``<kind>_below_device_range`` — whatever the limits, and even with alerts turned off,
because the hub cannot know how far beyond the range the person is. A LO glucose is at
least as serious as any number that raises ``glucose_low``.

Each limit can be set only inside what is physically possible for its value, as defined
by the one plausibility table, :mod:`hub.plausibility` (a test keeps them consistent).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Thresholds", "Alert", "check"]


@dataclass(frozen=True)
class Thresholds:
    """The limits in force.

    :param enabled: raise alerts at all.
    :param systolic_high: alert when systolic ≥ this (mm[Hg]).
    :param diastolic_high: alert when diastolic ≥ this (mm[Hg]).
    :param spo2_low: alert when SpO2 < this (%).
    :param glucose_low: alert when glucose < this (mmol/L).
    :param temperature_high: alert when body temperature ≥ this (Cel).
    :param speak_cooldown_min: say the same alert aloud at most once in this many
        minutes (a cuff resending its memory must not talk for a minute); every alert
        is still recorded and sent.
    """

    enabled: bool = True
    systolic_high: float = 180.0
    diastolic_high: float = 120.0
    spo2_low: float = 90.0
    glucose_low: float = 3.9
    temperature_high: float = 38.5
    speak_cooldown_min: float = 10.0

    _RANGES = {
        "systolic_high": (90.0, 300.0),
        "diastolic_high": (50.0, 200.0),
        "spo2_low": (50.0, 100.0),
        "glucose_low": (1.0, 10.0),
        "temperature_high": (36.0, 43.0),
        "speak_cooldown_min": (0.0, 1440.0),
    }

    @classmethod
    def from_mapping(cls, data: Any, *, base: Thresholds | None = None,
                     source: str = "thresholds") -> Thresholds:
        """Overlay ``data`` (e.g. a config section or platform message) on ``base``.

        :raises ValueError: an unknown key or a value out of its range, named.
        """
        base = base or cls()
        if data is None:
            return base
        if dataclasses.is_dataclass(data):
            data = dataclasses.asdict(data)
        if not isinstance(data, dict):
            raise ValueError(f"{source} must be a table of limits")
        known = {f.name for f in dataclasses.fields(cls)}
        changes = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{source}: unknown key {key!r}; known: {', '.join(sorted(known))}")
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError(f"{source}: enabled must be true or false")
                changes[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{source}: {key} must be a number, not {value!r}")
            lo, hi = cls._RANGES[key]
            if not lo <= value <= hi:
                raise ValueError(f"{source}: {key} = {value} is out of range {lo} to {hi}")
            changes[key] = float(value)
        return dataclasses.replace(base, **changes)

    def as_dict(self) -> dict:
        """The limits as a plain dict (for ``devices.list`` and the docs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Alert:
    """One broken limit.

    :param rule: ``blood_pressure_high``, ``spo2_low``, ``glucose_low``, ``temperature_high``.
    :param phrase: the key of what is said aloud (:mod:`hub.sensors.ble.phrases`).
    :param values: the values that broke the limit.
    :param limits: the limits they were compared with.
    :param severity: ``"high"`` for a broken limit, ``"urgent"`` for a value beyond the
        device's range.
    """

    rule: str
    phrase: str
    values: dict
    limits: dict
    severity: str = "high"


_RANGE_WORDS = {"above_device_range": "above", "below_device_range": "below"}
_DEVICE_WORDS = {"glucose": "meter", "blood_pressure": "cuff", "body_temperature": "thermometer",
                 "spo2": "oximeter"}
# Phrases for a value beyond the device's range, by kind and side (hub.sensors.ble.phrases).
_RANGE_PHRASES = {("glucose", "above"): "glucose_hi", ("glucose", "below"): "glucose_lo"}


def _out_of_range(reading: dict) -> list[Alert]:
    """One urgent alert per direction a reading's values are beyond the device's range."""
    flags = (reading.get("extra") or {}).get("out_of_range")
    if not isinstance(flags, dict):
        return []
    kind = str(reading.get("kind"))
    device = _DEVICE_WORDS.get(kind, "device")
    by_side: dict[str, dict] = {}
    for name, flag in flags.items():
        side = _RANGE_WORDS.get(flag)
        if side is None or name == "glucose_mg_dl":  # the same drop in another unit
            continue
        by_side.setdefault(side, {})[name] = f"{side} the {device}'s range"
    return [Alert(f"{kind}_{side}_device_range",
                  _RANGE_PHRASES.get((kind, side), "out_of_range"),
                  values, {"device_range": side}, severity="urgent")
            for side, values in sorted(by_side.items())]


def check(reading: dict, limits: Thresholds) -> list[Alert]:
    """The alerts a reading raises (empty when all is well or alerts are off).

    A value beyond the device's range raises an urgent alert even when alerts are off.
    """
    out = _out_of_range(reading)
    if not limits.enabled:
        return out
    kind, values = reading.get("kind"), reading.get("values") or {}
    if kind == "blood_pressure":
        sys_, dia = values.get("systolic"), values.get("diastolic")
        if (sys_ is not None and sys_ >= limits.systolic_high) or \
                (dia is not None and dia >= limits.diastolic_high):
            out.append(Alert("blood_pressure_high", "bp_high",
                             {"systolic": sys_, "diastolic": dia},
                             {"systolic_high": limits.systolic_high,
                              "diastolic_high": limits.diastolic_high}))
    elif kind == "spo2":
        spo2 = values.get("spo2")
        if spo2 is not None and spo2 < limits.spo2_low:
            out.append(Alert("spo2_low", "spo2_low", {"spo2": spo2},
                             {"spo2_low": limits.spo2_low}))
    elif kind == "glucose":
        glucose = values.get("glucose")
        if glucose is not None and glucose < limits.glucose_low:
            out.append(Alert("glucose_low", "glucose_low", {"glucose": glucose},
                             {"glucose_low": limits.glucose_low}))
    elif kind == "body_temperature":
        temp = values.get("temperature")
        if temp is not None and temp >= limits.temperature_high:
            out.append(Alert("temperature_high", "temperature_high", {"temperature": temp},
                             {"temperature_high": limits.temperature_high}))
    return out
