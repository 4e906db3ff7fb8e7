"""±INF from a health device is "beyond what I can measure" — a glucose meter's HI and LO —
and becomes a reading flagged out of range, never silence (IEEE 11073-20601 §F.8: +INF
0x07FE, −INF 0x0802 in an SFLOAT; 0x007FFFFE, 0x00800002 in a FLOAT)."""

import pytest

from hub.sensors.ble import parsers as p
from hub.sensors.ble.parsers import ABOVE_RANGE, BELOW_RANGE, NoReading
from hub.sensors.ble.thresholds import Thresholds, check


def H(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# GLS record: flags 0x02 (concentration, kg/L), seq 1, base time 2024-01-15 07:30:00,
# concentration, type 1 / location 1 (capillary whole blood, finger).
GLUCOSE = "02 0100 E807010F071E00 {word} 11"


@pytest.mark.parametrize("word, side", [("FE07", ABOVE_RANGE), ("0208", BELOW_RANGE)])
def test_a_glucose_meters_hi_and_lo_are_readings_flagged_out_of_range(word, side):
    reading = p.parse_glucose(H(GLUCOSE.format(word=word))).to_reading()
    assert reading["kind"] == "glucose"
    assert reading["values"] == {"glucose": None, "glucose_mg_dl": None}
    assert reading["extra"]["out_of_range"] == {"glucose": side, "glucose_mg_dl": side}
    assert reading["extra"]["original_values"] == {
        "glucose": "+INF" if side == ABOVE_RANGE else "-INF"}
    assert reading["device_time"] == "2024-01-15T07:30:00"


@pytest.mark.parametrize("word", ["FF07", "0008", "0108"])
def test_nan_nres_and_reserved_are_still_no_reading(word):
    with pytest.raises(NoReading):
        p.parse_glucose(H(GLUCOSE.format(word=word)))


def test_a_glucose_record_whose_status_says_above_range_is_flagged_with_its_number():
    # flags 0x0A: concentration + sensor status; 600 mg/dL = 600E-5 kg/L → 0xB258;
    # status bit 5 "result above device range".
    reading = p.parse_glucose(H("0A 0100 E807010F071E00 58B2 11 2000")).to_reading()
    assert reading["values"]["glucose_mg_dl"] == 600.0
    assert reading["extra"]["out_of_range"]["glucose"] == ABOVE_RANGE


def test_other_devices_out_of_range_values_are_flagged_the_same_way():
    bp = p.parse_blood_pressure(H("00 FE07 5000 FF07")).to_reading()
    assert bp["values"] == {"systolic": None, "diastolic": 80.0}
    assert bp["extra"]["out_of_range"] == {"systolic": ABOVE_RANGE}
    temp = p.parse_temperature(H("00 02008000")).to_reading()
    assert temp["values"] == {"temperature": None}
    assert temp["extra"]["out_of_range"] == {"temperature": BELOW_RANGE}
    spo2 = p.parse_plx_spot_check(H("00 0208 4800")).to_reading()
    assert spo2["values"] == {"spo2": None, "pulse": 72.0}
    assert spo2["extra"]["out_of_range"] == {"spo2": BELOW_RANGE}


def test_encoders_write_hi_and_lo_back_exactly():
    m = p.parse_glucose(H(GLUCOSE.format(word="FE07")))
    assert p.encode_glucose(m) == H(GLUCOSE.format(word="FE07"))


@pytest.mark.parametrize("word, rule", [("FE07", "glucose_above_device_range"),
                                        ("0208", "glucose_below_device_range")])
def test_lo_and_hi_raise_an_urgent_alert_like_a_low_number_does(word, rule):
    reading = p.parse_glucose(H(GLUCOSE.format(word=word))).to_reading()
    alerts = check(reading, Thresholds())
    assert [(a.rule, a.severity) for a in alerts] == [(rule, "urgent")]
    assert alerts[0].values == {"glucose": "above the meter's range" if word == "FE07"
                                else "below the meter's range"}
    # For comparison: 61 mg/dL (61E-5 kg/L = 0xB03D; 3.39 mmol/L) raises glucose_low.
    low = p.parse_glucose(H(GLUCOSE.format(word="3DB0"))).to_reading()
    assert low["values"]["glucose"] == 3.39
    assert [a.rule for a in check(low, Thresholds())] == ["glucose_low"]


def test_out_of_range_on_every_kind_alerts_urgently_even_with_alerts_tuned():
    for payload, parser, rule in [
        ("00 FE07 5000 FF07", p.parse_blood_pressure, "blood_pressure_above_device_range"),
        ("00 02008000", p.parse_temperature, "body_temperature_below_device_range"),
        ("00 0208 4800", p.parse_plx_spot_check, "spo2_below_device_range"),
    ]:
        alerts = check(parser(H(payload)).to_reading(), Thresholds(systolic_high=250))
        assert [a.rule for a in alerts] == [rule]


def test_the_kiosk_shows_lo_and_hi_in_words_and_does_not_crash_on_a_missing_number():
    from hub.ui import vitals

    for word, shown, status in [("0208", "LO", "very_low"), ("FE07", "HI", "very_high")]:
        reading = p.parse_glucose(H(GLUCOSE.format(word=word))).to_reading()
        reading["measured_at"] = "2026-11-25T07:30:00Z"
        assert vitals.value_text(reading) == shown
        assert vitals.classify(reading).key == status
        assert vitals.main_value(reading) == {}
        assert vitals.series([reading]) == {}
    bp = p.parse_blood_pressure(H("00 FE07 5000 FF07")).to_reading()
    assert vitals.value_text(bp) == "HI" and vitals.main_value(bp) == {"diastolic": 80.0}
