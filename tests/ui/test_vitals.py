"""Health readings in plain language: number, unit, status in colour and words."""

import pytest

from hub.ui import i18n, theme, vitals


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def bp(sys_, dia):
    return {"kind": "blood_pressure", "values": {"systolic": sys_, "diastolic": dia},
            "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]"}}


@pytest.mark.parametrize("reading, key, words", [
    (bp(120, 78), "normal", "Normal"),
    (bp(138, 80), "high", "A little high"),
    (bp(128, 88), "high", "A little high"),
    (bp(185, 95), "very_high", "Very high — call your doctor"),
    (bp(85, 55), "low", "A little low"),
    ({"kind": "spo2", "values": {"spo2": 91}, "units": {"spo2": "%"}}, "very_low",
     "Very low — call your doctor"),
    ({"kind": "body_temperature", "values": {"temperature": 38.2}}, "high", "A slight fever"),
    ({"kind": "glucose", "values": {"glucose": 2.8}, "units": {"glucose": "mmol/L"}},
     "very_low", "Very low — call your doctor"),
    ({"kind": "glucose", "values": {"glucose": 110}, "units": {"glucose": "mg/dL"}},
     "normal", "Normal"),
    ({"kind": "body_weight", "values": {"weight": 64.5}, "units": {"weight": "kg"}},
     "unknown", "Recorded"),
])
def test_status_has_a_colour_and_words(reading, key, words):
    status = vitals.classify(reading)
    assert (status.key, status.words) == (key, words)
    assert status.key in theme.STATUS_COLOURS


def test_numbers_and_units_as_people_read_them():
    assert vitals.value_text(bp(138.0, 86.0)) == "138/86"
    assert vitals.unit_text(bp(1, 1)) == "mmHg"
    temp = {"kind": "body_temperature", "values": {"temperature": 36.66},
            "units": {"temperature": "Cel"}}
    assert (vitals.value_text(temp), vitals.unit_text(temp)) == ("36.7", "°C")
    hr = {"kind": "heart_rate", "values": {"heart_rate": 72}, "units": {"heart_rate": "/min"}}
    assert vitals.unit_text(hr) == "beats a minute"


def test_spoken_sentence_and_chart_series():
    said = vitals.spoken_reading(bp(138, 86), "this morning, 8:05")
    assert said == "Blood pressure: 138 over 86 mmHg, this morning, 8:05. A little high."
    lines = vitals.series([{**bp(130, 80), "measured_at": "2025-11-25T00:00:00Z"}])
    assert lines == {"systolic": [("2025-11-25T00:00:00Z", 130.0)],
                     "diastolic": [("2025-11-25T00:00:00Z", 80.0)]}
    assert vitals.normal_band("blood_pressure", "systolic") == (90, 135)


def test_a_glucose_value_without_a_unit_is_read_in_the_hubs_unit_mmol_per_litre():
    # 5.6 mmol/L is a normal blood sugar; read as mg/dL it would be "Very low — call
    # your doctor" on the elder's screen while the platform sees a normal value.
    reading = {"kind": "glucose", "values": {"glucose": 5.6}}
    assert vitals.classify(reading).key == "normal"
    assert (vitals.value_text(reading), vitals.unit_text(reading)) == ("5.6", "mmol/L")
