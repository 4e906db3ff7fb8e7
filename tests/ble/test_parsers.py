"""Worked byte vectors for each health characteristic, written by hand from the specs.

Each vector cites the GATT Specification Supplement (GSS) section by title; the byte
layout is flags, then mandatory fields, then optional fields in flag-bit order, all
little-endian. SFLOAT/FLOAT words are worked out in tests/ble/test_sfloat.py.
"""

import json
import logging
import math
from collections import Counter
from decimal import Decimal

import pytest

from hub.sensors.ble import parsers as p
from hub.sensors.ble import racp, uuids
from hub.sensors.ble.parsers import DeviceTime, MalformedPayload, NoReading
from hub.sensors.ble.sfloat import Special

D = Decimal
H = bytes.fromhex


def same(a: Decimal, b: Decimal) -> bool:
    return a.as_tuple() == b.as_tuple()


def check_reading_shape(reading: dict) -> None:
    """The store's reading dict: exact keys, float values, a unit per value, JSON-safe."""
    assert set(reading) == {"kind", "values", "units", "device_time", "extra"}
    assert reading["values"] and set(reading["values"]) == set(reading["units"])
    for value in reading["values"].values():
        assert type(value) is float and math.isfinite(value)
    assert reading["device_time"] is None or len(reading["device_time"]) == 19
    json.dumps(reading, allow_nan=False)


# ============================================================ Blood Pressure Measurement
# GSS "Blood Pressure Measurement": flags (b0 kPa, b1 time stamp, b2 pulse rate,
# b3 user id, b4 measurement status), systolic, diastolic, MAP (SFLOAT), optionals.

# flags 0x1E: mmHg, time stamp, pulse, user id, status.
# 120 = 0x0078; 80 = 0x0050; 93.3 = 933 × 10^-1 = 0xF3A5;
# 2024-03-15 14:30:05 = E8 07 03 0F 0E 1E 05; pulse 72 = 0x0048; user 1; status 0x0001.
BP_FULL = H("1E 7800 5000 A5F3 E807030F0E1E05 4800 01 0100")


def test_blood_pressure_mmhg_with_every_optional_field():
    m = p.parse_blood_pressure(BP_FULL)
    assert (m.systolic, m.diastolic) == (D(120), D(80)) and same(m.mean_arterial, D("93.3"))
    assert m.unit == "mm[Hg]" and m.pulse_rate == 72 and m.user_id == 1
    assert m.time_stamp == DeviceTime(2024, 3, 15, 14, 30, 5)
    assert m.status_words == ["body_movement"]
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "blood_pressure",
        "values": {"systolic": 120.0, "diastolic": 80.0, "mean_arterial": 93.3, "pulse": 72.0},
        "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]", "mean_arterial": "mm[Hg]",
                  "pulse": "/min"},
        "device_time": "2024-03-15T14:30:05",
        "extra": {"user_id": 1, "measurement_status": ["body_movement"]},
    }


def test_blood_pressure_in_kpa_is_converted_and_keeps_the_original():
    # flags 0x01 (kPa); 16.0 = 0xF0A0, 10.7 = 107 × 10^-1 = 0xF06B, 12.5 = 0xF07D.
    m = p.parse_blood_pressure(H("01 A0F0 6BF0 7DF0"))
    assert m.unit == "kPa" and same(m.systolic, D("16.0"))
    reading = m.to_reading()
    check_reading_shape(reading)
    # 16.0 × 7.50062 = 120.0099; 10.7 × 7.50062 = 80.2566; 12.5 × 7.50062 = 93.7578
    assert reading["values"] == {"systolic": 120.0, "diastolic": 80.3, "mean_arterial": 93.8}
    assert reading["extra"]["original_unit"] == "kPa"
    assert reading["extra"]["original_values"] == {"systolic": "16.0", "diastolic": "10.7",
                                                   "mean_arterial": "12.5"}
    assert reading["device_time"] is None


def test_blood_pressure_status_bits_in_words():
    # status 0x002E: b1 cuff loose, b2 irregular pulse, b3-4 = 01 pulse above range, b5 position.
    m = p.parse_blood_pressure(H("10 7800 5000 5D00 2E00"))
    assert m.status_words == ["cuff_too_loose", "irregular_pulse",
                              "pulse_rate_above_upper_limit", "improper_measurement_position"]
    assert p.parse_blood_pressure(H("10 7800 5000 5D00 1000")).status_words == [
        "pulse_rate_below_lower_limit"]


@pytest.mark.parametrize("word, special", [("FF07", Special.NAN), ("0008", Special.NRES),
                                           ("0108", Special.RESERVED)])
def test_blood_pressure_with_a_special_systolic_is_no_reading(word, special):
    with pytest.raises(NoReading) as err:
        p.parse_blood_pressure(H(f"00 {word} 5000 5D00"))
    assert err.value.field == "systolic" and err.value.special is special
    assert str(err.value).startswith("blood pressure: systolic is ")


def test_blood_pressure_with_nan_diastolic_is_no_reading():
    with pytest.raises(NoReading, match="diastolic is NaN"):
        p.parse_blood_pressure(H("00 7800 FF07 5D00"))


def test_blood_pressure_without_mean_arterial_pressure_still_counts():
    # Many cuffs send NaN for MAP: the reading stands, without mean_arterial.
    m = p.parse_blood_pressure(H("04 7800 5000 FF07 FF07"))
    assert m.mean_arterial is None and m.pulse_rate is None  # NaN pulse: absent too
    assert m.to_reading()["values"] == {"systolic": 120.0, "diastolic": 80.0}


def test_blood_pressure_message_names_the_missing_field_and_the_byte():
    with pytest.raises(MalformedPayload) as err:
        p.parse_blood_pressure(H("02 7800 5000 5D00"))
    assert str(err.value) == (
        "blood pressure: flags say time stamp present but payload ends at byte 7")
    assert err.value.characteristic == "blood pressure"


def test_blood_pressure_user_id_unknown_is_not_reported():
    m = p.parse_blood_pressure(H("08 7800 5000 5D00 FF"))
    assert m.user_id == 0xFF and "user_id" not in m.to_reading()["extra"]


# ============================================================ Temperature Measurement
# GSS "Temperature Measurement": flags (b0 °F, b1 time stamp, b2 type), FLOAT, optionals.

# flags 0x07; 98.6 °F = 986 × 10^-1 = 0xFF0003DA; 2024-12-31 23:59:59; type 6 (mouth).
TEMP_FULL = H("07 DA0300FF E8070C1F173B3B 06")


def test_temperature_in_fahrenheit_with_time_and_type():
    m = p.parse_temperature(TEMP_FULL)
    assert same(m.temperature, D("98.6")) and m.unit == "[degF]" and m.temperature_type == 6
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "body_temperature",
        "values": {"temperature": 37.0},
        "units": {"temperature": "Cel"},
        "device_time": "2024-12-31T23:59:59",
        "extra": {"original_unit": "[degF]", "original_values": {"temperature": "98.6"},
                  "temperature_type": "mouth"},
    }


def test_temperature_in_celsius_minimal():
    m = p.parse_temperature(H("00 6E0100FF"))  # 36.6 = 366 × 10^-1
    assert same(m.temperature, D("36.6")) and m.unit == "Cel"
    assert m.to_reading()["values"] == {"temperature": 36.6}
    assert m.to_reading()["extra"] == {}


def test_temperature_with_year_zero_keeps_the_time_unknown():
    # Date Time year 0 = unknown: the parts stay None, no date is invented.
    m = p.parse_temperature(H("02 6E0100FF 0000 05 11 08 00 00"))
    assert m.time_stamp == DeviceTime(None, 5, 17, 8, 0, 0)
    assert m.to_reading()["device_time"] is None


@pytest.mark.parametrize("stamp", ["E807 00 11 08 00 00",   # month 0 (unknown)
                                   "E807 05 00 08 00 00",   # day 0 (unknown)
                                   "E807 0D 11 08 00 00",   # month 13 (invalid)
                                   "E807 02 1E 08 00 00",   # 30 February
                                   "E807 05 11 18 00 00",   # hour 24
                                   "0100 01 01 00 00 00"])  # year 1 (< 1582)
def test_temperature_with_an_incomplete_or_impossible_time_has_no_device_time(stamp):
    m = p.parse_temperature(H("02 6E0100FF" + stamp))
    assert m.to_reading()["device_time"] is None


@pytest.mark.parametrize("word", ["FFFF7F00", "00008000", "01008000"])
def test_temperature_special_float_is_no_reading(word):
    with pytest.raises(NoReading, match="temperature is "):
        p.parse_temperature(H("00" + word))


# ============================================================ Glucose Measurement
# GSS "Glucose Measurement": flags (b0 time offset, b1 concentration + type/location,
# b2 mol/L, b3 sensor status, b4 context follows), sequence number, base time,
# time offset (sint16 min), concentration (SFLOAT), type|location<<4, status.

# flags 0x1B; seq 1; 2024-01-15 07:30:00; offset +5 min; 95 × 10^-5 kg/L = 0xB05F;
# type 1 capillary whole blood, location 1 finger = 0x11; status 0x0001 battery low.
GLUCOSE_FULL = H("1B 0100 E807010F071E00 0500 5FB0 11 0100")


def test_glucose_in_kg_per_litre_with_every_optional_field():
    m = p.parse_glucose(GLUCOSE_FULL)
    assert m.sequence_number == 1 and m.unit == "kg/L" and same(m.concentration, D("0.00095"))
    assert m.time_offset == 5 and m.context_follows and m.status_words == ["device_battery_low"]
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "glucose",
        # 0.00095 kg/L × 100000 = 95 mg/dL; 95 / 18.016 = 5.273 mmol/L
        "values": {"glucose": 5.27, "glucose_mg_dl": 95.0},
        "units": {"glucose": "mmol/L", "glucose_mg_dl": "mg/dL"},
        "device_time": "2024-01-15T07:35:00",  # base time + offset
        "extra": {"sequence_number": 1, "sample_type": "capillary_whole_blood",
                  "sample_location": "finger", "context_follows": True,
                  "original_unit": "kg/L", "original_values": {"glucose": "0.00095"},
                  "time_offset_minutes": 5, "base_time": "2024-01-15T07:30:00",
                  "sensor_status": ["device_battery_low"]},
    }


def test_glucose_in_mol_per_litre():
    # flags 0x06; seq 0x0102; 2023-06-01 12:00:00; 56 × 10^-4 mol/L = 0xC038;
    # type 2 capillary plasma, location 1 finger = 0x12.
    m = p.parse_glucose(H("06 0201 E70706010C0000 38C0 12"))
    assert m.sequence_number == 0x0102 and m.unit == "mol/L" and same(m.concentration, D("0.0056"))
    reading = m.to_reading()
    check_reading_shape(reading)
    # 0.0056 mol/L = 5.6 mmol/L; × 18.016 = 100.89 mg/dL
    assert reading["values"] == {"glucose": 5.6, "glucose_mg_dl": 100.9}
    assert reading["extra"]["sample_type"] == "capillary_plasma"
    assert reading["device_time"] == "2023-06-01T12:00:00"


def test_glucose_time_offset_is_signed():
    m = p.parse_glucose(H("03 0100 E807010F071E00 C4FF 5FB0 11"))  # offset 0xFFC4 = -60
    assert m.time_offset == -60 and m.to_reading()["device_time"] == "2024-01-15T06:30:00"


def test_glucose_with_unknown_base_time_has_no_device_time():
    m = p.parse_glucose(H("03 0100 00000000000000 0500 5FB0 11"))
    assert m.base_time == DeviceTime(None, None, None) and m.to_reading()["device_time"] is None


def test_glucose_without_concentration_is_no_reading():
    with pytest.raises(NoReading, match="record 7 carries no concentration"):
        p.parse_glucose(H("10 0700 E807010F071E00"))


def test_glucose_control_solution_test_is_no_reading():
    with pytest.raises(NoReading, match="control-solution"):
        p.parse_glucose(H("02 0100 E807010F071E00 5FB0 1A"))  # type 10
    with pytest.raises(NoReading, match="control-solution"):
        p.parse_glucose(H("02 0100 E807010F071E00 5FB0 41"))  # location 4


def test_glucose_nan_concentration_is_no_reading_and_tells_which():
    with pytest.raises(NoReading) as err:
        p.parse_glucose(H("0A 0100 E807010F071E00 FF07 11 0400"))  # NaN, "sample too small"
    assert err.value.special is Special.NAN


# ============================================================ Weight Measurement
# GSS "Weight Measurement": flags (b0 imperial, b1 time stamp, b2 user id, b3 BMI and
# height), weight uint16 (0.005 kg | 0.01 lb), optionals; BMI 0.1 kg/m2, height
# 0.001 m | 0.1 in.

# flags 0x0E; 70.5 kg / 0.005 = 14100 = 0x3714; 2024-02-29 06:45:00; user 3;
# BMI 23.0 = 230 = 0x00E6; height 1.750 m = 1750 = 0x06D6.
WEIGHT_FULL = H("0E 1437 E807021D062D00 03 E600 D606")


def test_weight_si_with_every_optional_field():
    m = p.parse_weight(WEIGHT_FULL)
    assert same(m.weight, D("70.500")) and same(m.height, D("1.750")) and same(m.bmi, D("23.0"))
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "body_weight",
        "values": {"weight": 70.5, "bmi": 23.0, "height": 1.75},
        "units": {"weight": "kg", "bmi": "kg/m2", "height": "m"},
        "device_time": "2024-02-29T06:45:00",
        "extra": {"user_id": 3},
    }


def test_weight_imperial_is_converted_to_kilograms():
    # flags 0x01; 155.40 lb = 15540 = 0x3CB4 → × 0.45359237 = 70.4883 kg.
    m = p.parse_weight(H("01 B43C"))
    assert m.unit == "[lb_av]" and same(m.weight, D("155.40"))
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading["values"] == {"weight": 70.488}
    assert reading["extra"] == {"original_unit": "[lb_av]", "original_values": {"weight": "155.40"}}


def test_weight_imperial_height_is_in_inches():
    # flags 0x09; 155.40 lb; BMI 22.9 = 0x00E5; height 69.0 in = 690 = 0x02B2 → 1.7526 m.
    m = p.parse_weight(H("09 B43C E500 B202"))
    assert same(m.height, D("69.0")) and m.height_unit == "[in_i]"
    reading = m.to_reading()
    assert reading["values"] == {"weight": 70.488, "bmi": 22.9, "height": 1.753}
    assert reading["extra"]["original_values"] == {"weight": "155.40", "height": "69.0"}


def test_weight_unsuccessful_is_no_reading():
    with pytest.raises(NoReading, match="unsuccessful"):
        p.parse_weight(H("00 FFFF"))


def test_weight_scale_service_data_in_an_advertisement():
    # Weight Scale service 0x181D service data = a Weight Measurement value.
    m = p.parse_weight_scale_service_data(H("00 1437"))
    assert m.weight == D("70.5")
    service_data = {uuids.full_uuid(0x181D): H("00 1437"),
                    "0000fe95-0000-1000-8000-00805f9b34fb": b"\x01",   # another service
                    "12345678-1234-5678-1234-567812345678": b"\x02"}  # a vendor UUID
    assert uuids.parse_advertisement(service_data) == [m]
    with pytest.raises(MalformedPayload, match="^weight scale advertisement: "):
        p.parse_weight_scale_service_data(H("00 14"))


# ============================================================ PLX Spot-check Measurement
# GSS "PLX Spot-check Measurement": flags (b0 time stamp, b1 measurement status, b2
# device and sensor status, b3 PAI, b4 device clock not set), SpO2, PR (SFLOAT),
# optionals: Date Time, uint16, uint24, SFLOAT.

# flags 0x0F; SpO2 97, PR 64; 2024-07-04 09:15:30; status 0x0080 validated data;
# device status 0x000020 low perfusion; PAI 2.5 = 25 × 10^-1 = 0xF019.
PLX_SPOT_FULL = H("0F 6100 4000 E8070704090F1E 8000 200000 19F0")


def test_plx_spot_check_with_every_optional_field():
    m = p.parse_plx_spot_check(PLX_SPOT_FULL)
    assert (m.spo2, m.pulse_rate) == (D(97), D(64)) and same(m.pulse_amplitude_index, D("2.5"))
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "spo2",
        "values": {"spo2": 97.0, "pulse": 64.0},
        "units": {"spo2": "%", "pulse": "/min"},
        "device_time": "2024-07-04T09:15:30",
        "extra": {"measurement_status": ["validated_data"],
                  "device_sensor_status": ["low_perfusion"],
                  "pulse_amplitude_index": 2.5, "measurement": "spot_check"},
    }


def test_plx_spot_check_with_clock_not_set_drops_the_time_stamp():
    m = p.parse_plx_spot_check(H("11 6100 4000 D0070101000000"))
    assert m.device_clock_not_set and m.time_stamp == DeviceTime(2000, 1, 1)
    assert m.to_reading()["device_time"] is None
    assert m.to_reading()["extra"]["device_clock_not_set"] is True


def test_plx_spot_check_with_nan_pulse_keeps_spo2():
    reading = p.parse_plx_spot_check(H("00 6100 FF07")).to_reading()
    assert reading["values"] == {"spo2": 97.0} and reading["units"] == {"spo2": "%"}


def test_plx_spot_check_with_nan_spo2_is_no_reading():
    with pytest.raises(NoReading, match="SpO2 is NaN"):
        p.parse_plx_spot_check(H("00 FF07 4000"))


@pytest.mark.parametrize("status, word", [("0004", "data_for_demonstration"),
                                          ("0008", "data_for_testing"),
                                          ("0020", "measurement_unavailable"),
                                          ("0080", "invalid_measurement")])
def test_plx_status_saying_not_a_real_measurement_is_no_reading(status, word):
    with pytest.raises(NoReading, match=word):
        p.parse_plx_spot_check(H("02 6100 4000" + status))


# ============================================================ PLX Continuous Measurement
# GSS "PLX Continuous Measurement": flags (b0 SpO2PR-Fast, b1 SpO2PR-Slow, b2 status,
# b3 device and sensor status, b4 PAI), SpO2PR-Normal, optionals in that order.

# flags 0x1F; normal 96/70; fast 95/71; slow 97/69; status 0x0100 fully qualified;
# device status 0; PAI 1.2 = 12 × 10^-1 = 0xF00C.
PLX_CONT_FULL = H("1F 6000 4600 5F00 4700 6100 4500 0001 000000 0CF0")


def test_plx_continuous_with_every_optional_field():
    m = p.parse_plx_continuous(PLX_CONT_FULL)
    assert (m.spo2_fast, m.pulse_rate_fast, m.spo2_slow, m.pulse_rate_slow) == (95, 71, 97, 69)
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "spo2",
        "values": {"spo2": 96.0, "pulse": 70.0},
        "units": {"spo2": "%", "pulse": "/min"},
        "device_time": None,
        "extra": {"measurement_status": ["fully_qualified_data"], "device_sensor_status": [],
                  "pulse_amplitude_index": 1.2, "measurement": "continuous",
                  "spo2_fast": 95.0, "pulse_rate_fast": 71.0, "spo2_slow": 97.0,
                  "pulse_rate_slow": 69.0},
    }


def test_plx_continuous_nan_fast_values_are_absent():
    m = p.parse_plx_continuous(H("01 6000 4600 FF07 FF07"))
    assert m.spo2_fast is None and m.pulse_rate_fast is None


# ============================================================ Heart Rate Measurement
# GSS "Heart Rate Measurement": flags (b0 uint16 value, b1-2 sensor contact, b3 energy
# expended, b4 RR intervals), value, energy (uint16 kJ), RR intervals (uint16, 1/1024 s).

# flags 0x1F: uint16, contact detected (0b11), energy, RR; 72 bpm; 1000 kJ;
# RR 1024/1024 = 1.0 s and 870/1024 = 0.849609375 s.
HR_FULL = H("1F 4800 E803 0004 6603")
HR_FULL_UINT8 = H("1E 48 E803 0004 6603")  # the same with a uint8 value (flags b0 clear)


def test_heart_rate_with_every_optional_field():
    m = p.parse_heart_rate(HR_FULL)
    assert m.heart_rate == 72 and m.sensor_contact == "detected" and m.energy_expended == 1000
    assert m.rr_intervals == (D(1), D("0.849609375"))
    reading = m.to_reading()
    check_reading_shape(reading)
    assert reading == {
        "kind": "heart_rate",
        "values": {"heart_rate": 72.0},
        "units": {"heart_rate": "/min"},
        "device_time": None,
        "extra": {"sensor_contact": "detected", "energy_expended_kj": 1000,
                  "rr_intervals": [1.0, 0.849609375], "rr_intervals_unit": "s"},
    }


def test_heart_rate_uint8_minimal():
    m = p.parse_heart_rate(H("00 48"))
    assert m.heart_rate == 72 and m.sensor_contact == "not_supported" and m.rr_intervals == ()


@pytest.mark.parametrize("flags, contact", [("00", "not_supported"), ("02", "not_supported"),
                                            ("04", "not_detected"), ("06", "detected")])
def test_heart_rate_sensor_contact_status(flags, contact):
    assert p.parse_heart_rate(H(flags + "48")).sensor_contact == contact


def test_heart_rate_rr_flag_needs_at_least_one_interval():
    with pytest.raises(MalformedPayload,
                       match="flags say RR interval present but payload ends at byte 2"):
        p.parse_heart_rate(H("10 48"))


def test_heart_rate_odd_byte_after_rr_intervals_is_ignored():
    assert p.parse_heart_rate(H("10 48 0004 01")).rr_intervals == (D(1),)


def test_heart_rate_zero_is_no_reading():
    with pytest.raises(NoReading, match="heart rate is 0"):
        p.parse_heart_rate(H("04 00"))


# ============================================================ rules shared by all parsers

FULL_PAYLOADS = [
    (p.parse_blood_pressure, BP_FULL),
    (p.parse_temperature, TEMP_FULL),
    (p.parse_glucose, GLUCOSE_FULL),
    (p.parse_weight, WEIGHT_FULL),
    (p.parse_weight_scale_service_data, WEIGHT_FULL),
    (p.parse_plx_spot_check, PLX_SPOT_FULL),
    (p.parse_plx_continuous, PLX_CONT_FULL),
    (p.parse_heart_rate, HR_FULL),
]
IDS = [parser.__name__ for parser, _ in FULL_PAYLOADS]


@pytest.mark.parametrize("parser, payload", FULL_PAYLOADS, ids=IDS)
def test_every_truncation_of_a_full_payload_parses_or_is_malformed(parser, payload):
    # Cut one byte at a time. With every flag set, only the heart rate (whose RR
    # intervals run to the end) may parse short; everything else must say where it ended.
    full = parser(payload)
    for length in range(len(payload)):
        prefix = payload[:length]
        try:
            result = parser(prefix)
        except NoReading:
            pytest.fail(f"a truncated payload is malformed, not 'no reading': {prefix.hex()}")
        except MalformedPayload as exc:
            expected = "empty payload" if length == 0 else f"ends at byte {length}"
            assert expected in str(exc), (length, str(exc))
        else:
            assert parser is p.parse_heart_rate and length >= 6, length
            assert result.heart_rate == full.heart_rate


@pytest.mark.parametrize("parser, payload", FULL_PAYLOADS, ids=IDS)
def test_trailing_bytes_are_ignored(parser, payload):
    if parser is p.parse_heart_rate:
        payload = H("0E 4800 E803")  # RR intervals would absorb the tail; test without them
    assert parser(payload + H("AA BB CC DD")) == parser(payload)


@pytest.mark.parametrize(
    "parser, payload, reserved",
    [
        (p.parse_blood_pressure, H("00 7800 5000 5D00"), 0xE0),
        (p.parse_temperature, H("00 6E0100FF"), 0xF8),
        (p.parse_glucose, H("02 0100 E807010F071E00 5FB0 11"), 0xE0),
        (p.parse_weight, H("00 1437"), 0xF0),
        (p.parse_plx_spot_check, H("00 6100 4000"), 0xE0),
        (p.parse_plx_continuous, H("00 6000 4600"), 0xE0),
        (p.parse_heart_rate, H("00 48"), 0xE0),
    ],
)
def test_reserved_flag_bits_are_ignored(parser, payload, reserved):
    assert parser(bytes([payload[0] | reserved]) + payload[1:]) == parser(payload)


@pytest.mark.parametrize("parser, payload", FULL_PAYLOADS, ids=IDS)
def test_bytearray_and_memoryview_parse_like_bytes(parser, payload):
    assert parser(bytearray(payload)) == parser(memoryview(payload)) == parser(payload)


@pytest.mark.parametrize("parser, payload", FULL_PAYLOADS, ids=IDS)
def test_encoders_reproduce_the_hand_written_vectors(parser, payload):
    # The simulator sends bytes made by the encoders: they must be the spec's bytes.
    if parser is p.parse_heart_rate:
        payload = HR_FULL_UINT8  # the encoder writes uint8 whenever the value fits (HRS)
    _, encoded = uuids.encode(parser(payload))
    assert encoded == payload


def test_heart_rate_encoder_uses_uint16_only_above_255():
    assert p.encode_heart_rate(p.HeartRateMeasurement(300)) == H("01 2C01")
    assert p.parse_heart_rate(HR_FULL) == p.parse_heart_rate(HR_FULL_UINT8)


def test_simulated_devices_can_send_a_failed_measurement_and_plain_floats():
    failed = p.encode_blood_pressure(p.BloodPressureMeasurement(Special.NAN, D(80), D(93)))
    assert failed == H("00 FF07 5000 5D00")
    with pytest.raises(NoReading):
        p.parse_blood_pressure(failed)
    assert p.encode_weight(p.WeightMeasurement(70.1)) == H("00 C436")  # 70.1 / 0.005 = 14020 = 0x36C4
    with pytest.raises(ValueError, match="not a multiple of the resolution"):
        p.encode_weight(p.WeightMeasurement(D("70.001")))


def test_errors_survive_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(NoReading("glucose", "glucose concentration", "x",
                                                Special.PLUS_INFINITY)))
    assert (str(error), error.field, error.special) == ("glucose: x", "glucose concentration",
                                                        Special.PLUS_INFINITY)


def test_a_non_bytes_argument_is_a_type_error_not_a_payload_problem():
    with pytest.raises(TypeError):
        p.parse_heart_rate(5)  # bytes(5) would be five zero bytes


# ============================================================ Record Access Control Point
# GSS "Record Access Control Point"; GLS "Record Access Control Point procedures".


def test_racp_requests():
    assert racp.report_all_records() == H("01 01")
    assert racp.report_records_from(0x1234) == H("01 03 01 34 12")
    assert racp.report_records_from(5) == H("01 03 01 05 00")
    assert racp.report_number_of_records() == H("04 01")
    assert racp.report_number_of_records_from(0x0102) == H("04 03 01 02 01")
    assert racp.report_last_record() == H("01 06")
    assert racp.abort_operation() == H("03 00")
    with pytest.raises(ValueError):
        racp.report_records_from(0x10000)


def test_racp_number_of_records_response():
    assert racp.parse_racp_response(H("05 00 2C 01")) == racp.RacpRecordCount(300)


def test_racp_response_codes():
    ok = racp.parse_racp_response(H("06 00 01 01"))
    assert ok.success and not ok.is_error and ok.request_name == "report stored records"
    ok.raise_for_error()
    none = racp.parse_racp_response(H("06 00 01 06"))
    assert none.no_records_found and not none.is_error
    none.raise_for_error()
    refused = racp.parse_racp_response(H("06 00 01 04"))
    assert refused.is_error and refused.description == "operator not supported"
    with pytest.raises(racp.RacpError,
                       match="report stored records failed: operator not supported"):
        refused.raise_for_error()
    assert racp.parse_racp_response(H("06 00 04 0A")).description == "reserved response code 10"
    assert racp.parse_racp_response(H("06 00 04 0A")).is_error


@pytest.mark.parametrize("payload", ["", "05", "05 00 01", "06 00 01", "01 01", "FF 00 00 00"])
def test_racp_malformed_responses(payload):
    with pytest.raises(MalformedPayload, match="^record access control point: "):
        racp.parse_racp_response(H(payload))


# ============================================================ UUIDs and dispatch


def test_uuid_forms():
    assert uuids.full_uuid(0x2A35) == "00002a35-0000-1000-8000-00805f9b34fb"
    for form in (0x2A35, "2a35", "0x2A35", "00002A35-0000-1000-8000-00805F9B34FB"):
        assert uuids.uuid16(form) == 0x2A35
    with pytest.raises(ValueError):
        uuids.uuid16("12345678-1234-5678-1234-567812345678")
    assert uuids.service_name(uuids.full_uuid(0x1810)) == "Blood pressure monitor"
    assert {uuids.service_name(s) for s in uuids.SERVICE_NAMES} == set(uuids.SERVICE_NAMES.values())
    with pytest.raises(uuids.UnknownUUID):
        uuids.service_name(0x180F)


@pytest.mark.parametrize(
    "char, payload, kind",
    [(0x2A35, BP_FULL, "blood_pressure"), (0x2A1C, TEMP_FULL, "body_temperature"),
     (0x2A18, GLUCOSE_FULL, "glucose"), (0x2A9D, WEIGHT_FULL, "body_weight"),
     (0x2A5E, PLX_SPOT_FULL, "spo2"), (0x2A5F, PLX_CONT_FULL, "spo2"),
     (0x2A37, HR_FULL, "heart_rate")],
)
def test_parse_dispatches_by_characteristic_uuid(char, payload, kind):
    measurement = uuids.parse(uuids.full_uuid(char), payload)
    assert measurement.to_reading()["kind"] == kind
    encoded_char, encoded = uuids.encode(measurement)
    assert encoded_char == char and uuids.parse(char, encoded) == measurement


def test_parse_of_an_unknown_characteristic_is_a_lookup_error():
    with pytest.raises(uuids.UnknownUUID):
        uuids.parse(0x2A19, b"\x64")  # Battery Level: not a health measurement


def test_rejections_are_counted_and_logged_without_values(caplog):
    counter: Counter = Counter()
    with caplog.at_level(logging.DEBUG, logger="hub.sensors.ble.uuids"):
        with pytest.raises(MalformedPayload):
            uuids.parse(0x2A35, H("02 7800 5000 5D00"), rejections=counter)
        with pytest.raises(NoReading):
            uuids.parse(0x2A35, H("00 FF07 5000 5D00"), rejections=counter)
        uuids.parse(0x2A35, BP_FULL, rejections=counter)
    assert counter == Counter({"blood pressure": 2})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "flags say time stamp present but payload ends at byte 7" in warnings[0].getMessage()
    assert all("78 00" not in r.getMessage() for r in warnings)  # bytes only at DEBUG
    assert all(r.levelno != logging.INFO for r in caplog.records)


def test_advertisement_rejections_are_counted_and_skipped():
    counter: Counter = Counter()
    found = uuids.parse_advertisement({uuids.full_uuid(0x181D): H("00 FFFF")}, rejections=counter)
    assert found == [] and counter == Counter({"weight scale advertisement": 1})


def test_service_measurements_cover_every_parser():
    characteristics = {c for chars in uuids.SERVICE_MEASUREMENTS.values() for c in chars}
    assert characteristics == {0x2A35, 0x2A1C, 0x2A18, 0x2A9D, 0x2A5E, 0x2A5F, 0x2A37}
    assert set(uuids.SERVICE_MEASUREMENTS) == set(uuids.SERVICE_NAMES)


# ============================================================ Current Time (0x2A2B)
# GSS "Current Time": Date Time (7) + Day of Week + Fractions256 + Adjust Reason = 10 bytes.


def test_current_time_is_the_devices_date_time():
    stamp = p.parse_current_time(H("EA07 0B 19 0E 1E 2D 03 00 00"))  # 2026-11-25 14:30:45, Wed
    assert stamp == DeviceTime(2026, 11, 25, 14, 30, 45)
    assert p.encode_current_time(stamp) == H("EA07 0B 19 0E 1E 2D 03 00 00")


@pytest.mark.parametrize("payload, words", [("EA07 0B 19", "ends at byte 4"),
                                            ("0000 00 00 0E 1E 2D 00 00 00", "not set")])
def test_current_time_that_is_short_or_unset_is_malformed(payload, words):
    with pytest.raises(MalformedPayload, match=words):
        p.parse_current_time(H(payload))
