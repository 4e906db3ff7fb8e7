"""Property tests: encode → parse is exact, and no byte string breaks a parser.

* Random valid measurements (random optional fields, hence random flags; values the
  wire format can represent) survive encode → parse with Decimals equal *including
  their exponent*.
* Any ``bytes`` fed to any parser gives a result or :class:`MalformedPayload`, nothing
  else; a result always yields a JSON-safe reading with finite float values.
"""

import dataclasses
import json
import math
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hub.plausibility import ImpossibleReading, screen
from hub.sensors.ble import parsers as p
from hub.sensors.ble import racp, uuids
from hub.sensors.ble.parsers import DeviceTime, MalformedPayload
from hub.sensors.ble.sfloat import FLOAT_MANTISSA_MAX, SFLOAT_MANTISSA_MAX
from hub.sensors.ble.thresholds import Thresholds, check

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_exactly_equal(a, b):
    """Dataclass equality where Decimals must also agree on exponent (2.0 is not 2.00)."""
    assert type(a) is type(b)
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, Decimal):
            assert isinstance(y, Decimal) and x.as_tuple() == y.as_tuple(), (field.name, x, y)
        elif isinstance(x, tuple):
            assert len(x) == len(y) and all(
                u.as_tuple() == v.as_tuple() for u, v in zip(x, y)), (field.name, x, y)
        else:
            assert x == y, (field.name, x, y)


# --------------------------------------------------------------------------- strategies

def optional(strategy):
    return st.none() | strategy


sfloats = st.builds(lambda m, e: Decimal(m).scaleb(e),
                    st.integers(-SFLOAT_MANTISSA_MAX, SFLOAT_MANTISSA_MAX), st.integers(-8, 7))
floats32 = st.builds(lambda m, e: Decimal(m).scaleb(e),
                     st.integers(-FLOAT_MANTISSA_MAX, FLOAT_MANTISSA_MAX), st.integers(-128, 127))
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u24 = st.integers(0, 0xFFFFFF)
# Any in-range parts, including unknown (None) ones and impossible dates (31 February):
# the parser must keep what was sent and never invent or "fix" a date.
device_times = st.builds(
    DeviceTime,
    year=optional(st.integers(1582, 9999)),
    month=optional(st.integers(1, 12)),
    day=optional(st.integers(1, 31)),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
)

blood_pressures = st.builds(
    p.BloodPressureMeasurement,
    systolic=sfloats, diastolic=sfloats, mean_arterial=optional(sfloats),
    unit=st.sampled_from(["mm[Hg]", "kPa"]), time_stamp=optional(device_times),
    pulse_rate=optional(sfloats), user_id=optional(u8), measurement_status=optional(u16),
)
temperatures = st.builds(
    p.TemperatureMeasurement,
    temperature=floats32, unit=st.sampled_from(["Cel", "[degF]"]),
    time_stamp=optional(device_times), temperature_type=optional(u8),
)
glucoses = st.builds(
    p.GlucoseMeasurement,
    sequence_number=u16, base_time=device_times, concentration=sfloats,
    unit=st.sampled_from(["kg/L", "mol/L"]),
    sample_type=st.integers(0, 15).filter(lambda t: t != 10),       # 10: control solution
    sample_location=st.integers(0, 15).filter(lambda loc: loc != 4),  # 4: control solution
    time_offset=optional(st.integers(-0x8000, 0x7FFF)), sensor_status=optional(u16),
    context_follows=st.booleans(),
)


@st.composite
def weights(draw):
    unit = draw(st.sampled_from(["kg", "[lb_av]"]))
    raw = draw(st.integers(0, 0xFFFE))  # 0xFFFF means "unsuccessful"
    weight = Decimal(raw * 5).scaleb(-3) if unit == "kg" else Decimal(raw).scaleb(-2)
    bmi = height = None
    if draw(st.booleans()):
        bmi = Decimal(draw(u16)).scaleb(-1)
        height = Decimal(draw(u16)).scaleb(-3 if unit == "kg" else -1)
    return p.WeightMeasurement(weight, unit, draw(optional(device_times)), draw(optional(u8)),
                               bmi, height)


# Measurement Status without the bits that make it "not a reading" (10, 11, 13, 15).
plx_status = u16.map(lambda s: s & ~(1 << 10 | 1 << 11 | 1 << 13 | 1 << 15))
plx_spot_checks = st.builds(
    p.PlxSpotCheckMeasurement,
    spo2=sfloats, pulse_rate=optional(sfloats), time_stamp=optional(device_times),
    measurement_status=optional(plx_status), device_sensor_status=optional(u24),
    pulse_amplitude_index=optional(sfloats), device_clock_not_set=st.booleans(),
)
plx_continuous = st.builds(
    p.PlxContinuousMeasurement,
    spo2=sfloats, pulse_rate=optional(sfloats),
    spo2_fast=optional(sfloats), pulse_rate_fast=optional(sfloats),
    spo2_slow=optional(sfloats), pulse_rate_slow=optional(sfloats),
    measurement_status=optional(plx_status), device_sensor_status=optional(u24),
    pulse_amplitude_index=optional(sfloats),
)
heart_rates = st.builds(
    p.HeartRateMeasurement,
    heart_rate=st.integers(1, 0xFFFF),
    sensor_contact=st.sampled_from(["not_supported", "not_detected", "detected"]),
    energy_expended=optional(u16),
    rr_intervals=st.lists(u16.map(lambda raw: Decimal(raw) / Decimal(1024)), max_size=8).map(tuple),
)

ROUND_TRIPS = [
    (blood_pressures, p.encode_blood_pressure, p.parse_blood_pressure),
    (temperatures, p.encode_temperature, p.parse_temperature),
    (glucoses, p.encode_glucose, p.parse_glucose),
    (weights(), p.encode_weight, p.parse_weight),
    (weights(), p.encode_weight, p.parse_weight_scale_service_data),
    (plx_spot_checks, p.encode_plx_spot_check, p.parse_plx_spot_check),
    (plx_continuous, p.encode_plx_continuous, p.parse_plx_continuous),
    (heart_rates, p.encode_heart_rate, p.parse_heart_rate),
]


# --------------------------------------------------------------------------- round trips

@SETTINGS
@given(st.data())
def test_encode_then_parse_is_exact_for_every_characteristic(data):
    strategy, encode, parse = data.draw(st.sampled_from(ROUND_TRIPS))
    measurement = data.draw(strategy)
    payload = encode(measurement)
    parsed = parse(payload)
    assert_exactly_equal(parsed, measurement)
    check_reading(parsed.to_reading())


@SETTINGS
@given(blood_pressures)
def test_blood_pressure_round_trip(m):
    assert_exactly_equal(p.parse_blood_pressure(p.encode_blood_pressure(m)), m)


@SETTINGS
@given(glucoses)
def test_glucose_round_trip(m):
    assert_exactly_equal(p.parse_glucose(p.encode_glucose(m)), m)


@SETTINGS
@given(weights())
def test_weight_round_trip(m):
    assert_exactly_equal(p.parse_weight(p.encode_weight(m)), m)


@SETTINGS
@given(heart_rates)
def test_heart_rate_round_trip(m):
    assert_exactly_equal(p.parse_heart_rate(p.encode_heart_rate(m)), m)


@SETTINGS
@given(st.data())
def test_encoded_payloads_with_trailing_bytes_parse_the_same(data):
    strategy, encode, parse = data.draw(st.sampled_from(ROUND_TRIPS[:-1]))  # not HR (RR tail)
    measurement = data.draw(strategy)
    tail = data.draw(st.binary(min_size=1, max_size=8))
    assert_exactly_equal(parse(encode(measurement) + tail), measurement)


# --------------------------------------------------------------------------- arbitrary bytes

PARSERS = [
    p.parse_blood_pressure, p.parse_temperature, p.parse_glucose, p.parse_weight,
    p.parse_weight_scale_service_data, p.parse_plx_spot_check, p.parse_plx_continuous,
    p.parse_heart_rate,
]


def check_reading(reading):
    assert set(reading) == {"kind", "values", "units", "device_time", "extra"}
    assert reading["values"] and set(reading["values"]) == set(reading["units"])
    out_of_range = reading["extra"].get("out_of_range", {})
    for name, v in reading["values"].items():
        # None only for a value beyond the device's range (±INF), and then it says so
        assert (type(v) is float and math.isfinite(v)) or (v is None and name in out_of_range)
    json.dumps(reading, allow_nan=False)
    # What the BLE service does next never fails but with ImpossibleReading (logged).
    try:
        screened = screen(reading)
    except ImpossibleReading:
        return
    check(screened, Thresholds())


@SETTINGS
@given(st.sampled_from(PARSERS), st.binary(max_size=48))
def test_any_bytes_give_a_measurement_or_malformed_payload(parser, data):
    try:
        measurement = parser(data)
    except MalformedPayload:
        return
    check_reading(measurement.to_reading())


@SETTINGS
@given(st.sampled_from(PARSERS), st.integers(0, 0xFF), st.binary(max_size=40))
def test_any_flags_with_any_body_give_a_measurement_or_malformed_payload(parser, flags, body):
    # Plain st.binary() rarely sets many flag bits at once; force the flags byte.
    try:
        measurement = parser(bytes([flags]) + body)
    except MalformedPayload:
        return
    check_reading(measurement.to_reading())


@SETTINGS
@given(st.sampled_from(PARSERS), st.integers(0, 0xFF), st.binary(min_size=4, max_size=40))
def test_whatever_parses_reencodes_to_the_same_measurement(parser, flags, body):
    # Bytes-level idempotence: a parsed measurement re-encodes to an equivalent payload,
    # unless it holds something the (strict) encoder refuses, e.g. an impossible month.
    try:
        measurement = parser(bytes([flags]) + body)
    except MalformedPayload:
        return
    try:
        _, encoded = uuids.encode(measurement)
    except ValueError:
        assume(False)
    assert_exactly_equal(parser(encoded), measurement)


@SETTINGS
@given(st.binary(max_size=12))
def test_racp_any_bytes_give_a_response_or_malformed_payload(data):
    try:
        response = racp.parse_racp_response(data)
    except MalformedPayload:
        return
    assert isinstance(response, (racp.RacpRecordCount, racp.RacpResponse))
    if isinstance(response, racp.RacpResponse):
        assert isinstance(response.description, str) and isinstance(response.request_name, str)


@SETTINGS
@given(st.sampled_from(sorted(uuids.SERVICE_MEASUREMENTS[uuids.PULSE_OXIMETER_SERVICE]
                              + (0x2A35, 0x2A1C, 0x2A18, 0x2A9D, 0x2A37))),
       st.binary(max_size=32))
def test_dispatch_raises_nothing_but_malformed_payload(char, data):
    try:
        uuids.parse(uuids.full_uuid(char), data)
    except MalformedPayload:
        pass


PRIMARY = [
    (blood_pressures, "systolic", p.encode_blood_pressure, p.parse_blood_pressure),
    (blood_pressures, "diastolic", p.encode_blood_pressure, p.parse_blood_pressure),
    (temperatures, "temperature", p.encode_temperature, p.parse_temperature),
    (glucoses, "concentration", p.encode_glucose, p.parse_glucose),
    (plx_spot_checks, "spo2", p.encode_plx_spot_check, p.parse_plx_spot_check),
    (plx_continuous, "spo2", p.encode_plx_continuous, p.parse_plx_continuous),
]


@SETTINGS
@given(st.data())
def test_a_primary_value_beyond_the_device_range_round_trips_and_is_flagged(data):
    from hub.sensors.ble.sfloat import Special

    strategy, field, encode, parse = data.draw(st.sampled_from(PRIMARY))
    special = data.draw(st.sampled_from([Special.PLUS_INFINITY, Special.MINUS_INFINITY]))
    measurement = dataclasses.replace(data.draw(strategy), **{field: special})
    parsed = parse(encode(measurement))
    assert_exactly_equal(parsed, measurement)
    reading = parsed.to_reading()
    check_reading(reading)
    assert reading["extra"]["out_of_range"]
    assert check(reading, Thresholds(enabled=False))  # urgent, even with alerts off
