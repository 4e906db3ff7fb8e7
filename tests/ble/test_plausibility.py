"""One plausibility table for every reading: impossible values are refused with a clear
error, possible-but-rare ones are stored and flagged — through the real local API of a
real core process, and consistently with the alert thresholds and the kiosk's bands."""

import dataclasses

import pytest

from hub.errors import ApiError
from hub.plausibility import LIMITS, ImpossibleReading, check_values, screen
from hub.sensors.ble.thresholds import Thresholds
from hub.ui.vitals import RANGES

IMPOSSIBLE = [
    ({"kind": "spo2", "values": {"spo2": 150}}, "not possible"),
    ({"kind": "heart_rate", "values": {"heart_rate": 0}}, "heart rate of 0"),
    ({"kind": "blood_pressure", "values": {"systolic": -120, "diastolic": 80}},
     "systolic pressure of -120"),
    ({"kind": "blood_pressure", "values": {"systolic": 80, "diastolic": 120}},
     "must be above diastolic"),
    ({"kind": "body_temperature", "values": {"temperature": 370}}, "body temperature"),
    ({"kind": "glucose", "values": {"glucose": 5000}, "units": {"glucose": "mg/dL"}},
     "blood glucose of 5000 mg/dL"),
    ({"kind": "spo2", "values": {"spo2": float("nan")}}, "finite number"),
    ({"kind": "spo2", "values": {"spo2": "97"}}, "must be a number"),
    ({"kind": "spo2", "values": {"spo2": 97}, "units": {"spo2": "furlongs"}}, "furlongs"),
]


@pytest.mark.parametrize("reading, words", IMPOSSIBLE)
def test_impossible_values_are_refused_with_a_one_line_error(reading, words):
    with pytest.raises(ImpossibleReading, match=words) as info:
        screen(reading)
    assert "\n" not in str(info.value)


def test_possible_but_rare_values_are_flagged_not_refused():
    reading = {"kind": "spo2", "values": {"spo2": 65, "pulse": 72},
               "extra": {"measurement": "spot_check"}}
    screened = screen(reading)
    assert set(screened["extra"]["implausible"]) == {"spo2"}
    assert "below the plausible range 70–100 %" in screened["extra"]["implausible"]["spo2"]
    assert screened["extra"]["measurement"] == "spot_check"
    assert screen(screened) == screened  # idempotent: the core screens BLE readings again
    assert "implausible" not in reading.get("extra")  # the caller's dict is not changed


def test_units_are_converted_before_checking():
    assert check_values("glucose", {"glucose": 100}, {"glucose": "mg/dL"}) == {}
    assert check_values("body_temperature", {"temperature": 98.6},
                        {"temperature": "[degF]"}) == {}
    assert "glucose" in check_values("glucose", {"glucose": 700}, {"glucose": "mg/dL"})


def test_a_value_without_a_number_is_allowed():
    assert check_values("glucose", {"glucose": None, "glucose_mg_dl": None}) == {}


def test_every_alert_threshold_can_be_set_only_inside_the_possible_range():
    """A threshold outside what is possible would never fire (or always fire)."""
    keys = {"systolic_high": ("blood_pressure", "systolic"),
            "diastolic_high": ("blood_pressure", "diastolic"),
            "spo2_low": ("spo2", "spo2"), "glucose_low": ("glucose", "glucose"),
            "temperature_high": ("body_temperature", "temperature")}
    defaults = Thresholds()
    for key, (lo, hi) in Thresholds._RANGES.items():
        if key not in keys:
            continue
        limits = LIMITS[keys[key]]
        assert limits.above < lo and hi <= limits.at_most, key
        default = getattr(defaults, key)
        assert limits.plausible[0] <= default <= limits.plausible[1], key
    assert set(keys) <= {f.name for f in dataclasses.fields(Thresholds)}


def test_the_kiosk_colour_bands_lie_inside_the_plausible_range():
    for (kind, key), band in RANGES.items():
        limits = LIMITS[(kind, key if kind != "glucose" else "glucose_mg_dl")]
        for edge in (band.very_low, band.low, band.high, band.very_high):
            if edge is not None:
                assert limits.plausible[0] <= edge <= limits.plausible[1], (kind, key, edge)


@pytest.mark.slow
def test_reading_add_refuses_the_impossible_and_flags_the_rare_through_the_real_api(core):
    with core.client() as c:
        for reading, words in IMPOSSIBLE[:4]:
            with pytest.raises(ApiError, match=words):
                c.request("reading.add", reading=reading)
        stored = c.request("reading.add", reading={"kind": "heart_rate",
                                                   "values": {"heart_rate": 25}})
        assert "below the plausible range" in stored["extra"]["implausible"]["heart_rate"]
        latest = c.request("readings.latest")
        assert set(latest) == {"heart_rate"}  # nothing impossible was stored
        assert latest["heart_rate"]["extra"]["implausible"] == stored["extra"]["implausible"]


@pytest.mark.slow
def test_a_reading_without_units_is_stored_with_the_hubs_own_units(core):
    # A glucose meter typed in through the API as "5.6" means mmol/L (the hub's unit):
    # stored that way, every reader (kiosk, FHIR, alerts) sees the same unit.
    with core.client() as c:
        stored = c.request("reading.add", reading={"kind": "glucose",
                                                   "values": {"glucose": 5.6}})
        assert stored["units"] == {"glucose": "mmol/L"}
        kept = c.request("reading.add", reading={
            "kind": "glucose", "values": {"glucose": 101}, "units": {"glucose": "mg/dL"}})
        assert kept["units"] == {"glucose": "mg/dL"}
        assert c.request("readings.latest")["glucose"]["units"] == {"glucose": "mg/dL"}


def test_screening_twice_gives_the_same_reading():
    once = screen({"kind": "glucose", "values": {"glucose": 5.6, "note": 1}})
    assert once["units"] == {"glucose": "mmol/L"}  # "note" has no limits: no unit guessed
    assert screen(once) == once
