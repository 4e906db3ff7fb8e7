"""Pure parsers and encoders for Bluetooth SIG health measurement characteristics.

This module owns the byte layout of the measurement characteristics the hub reads
(Blood Pressure 0x2A35, Temperature 0x2A1C, Glucose 0x2A18, Weight 0x2A9D, PLX
Spot-check 0x2A5E, PLX Continuous 0x2A5F, Heart Rate 0x2A37, and Weight Scale service
data in advertisements), their unit normalisation, and the hub's common reading dict.
It does not own UUIDs or dispatch (:mod:`hub.sensors.ble.uuids`), the Record Access
Control Point (:mod:`hub.sensors.ble.racp`), logging/counting rejections, or anything
that talks to a radio: every function here takes bytes or a dataclass and returns.

Field layouts follow the Bluetooth *GATT Specification Supplement* (GSS; sections are
cited by their title and ``org.bluetooth.characteristic.*`` identifier, because the
section numbers change between GSS revisions) and the service specifications (BLS,
HTS, GLS, WSS, PLXS, HRS).

Rules every parser keeps:

* Reserved flag bits and bytes after the last field are ignored (forward compatibility:
  newer revisions of a characteristic only add fields at the end).
* A payload that is too short for what its flags announce raises
  :class:`MalformedPayload`, whose message names the field and the byte where the
  payload ends. No other exception escapes a parser for any ``bytes`` input.
* *No reading*: when the device itself says there is no valid value of the person, the
  parser raises :class:`NoReading` (a subclass of :class:`MalformedPayload`), so a NaN is
  never stored as a number and callers have one path for "nothing to store". That is:
  a special SFLOAT/FLOAT NaN, NRes or reserved in the primary value (systolic,
  diastolic, temperature, SpO2, glucose concentration), weight 0xFFFF ("measurement
  unsuccessful"), a glucose record without a concentration, a glucose control-solution
  test, a PLX record flagged unavailable/invalid/demonstration/testing, and a heart rate
  of 0. A special value in a *secondary* field (mean arterial pressure, pulse rate,
  pulse amplitude index, PLX fast/slow values) only makes that field ``None``.
* *Out of range*: ±INF in a primary value is the device saying "above/below what I can
  measure" — a glucose meter's HI and LO, a thermometer's "Hi"/"Lo". That is a fact about
  the person, often an urgent one, so it is **not** "no reading": the dataclass keeps the
  :class:`~hub.sensors.ble.sfloat.Special` and ``to_reading()`` gives the value as
  ``None`` with ``extra["out_of_range"] = {"<value>": "above_device_range" |
  "below_device_range"}`` (:data:`ABOVE_RANGE`, :data:`BELOW_RANGE`). A glucose record
  whose Sensor Status Annunciation says "result above/below device range" is flagged the
  same way, keeping the number the meter sent (its range limit).
* Values keep the device's precision as :class:`~decimal.Decimal` in the dataclasses;
  ``to_reading()`` gives floats in the hub's units (mm[Hg], Cel, kg, mmol/L + mg/dL)
  and keeps the device's own value and unit beside when it converted.

Encoders (``encode_*``) are the parsers' exact inverses and write only spec-valid
payloads; flags follow from which optional fields are set. For simulated devices they
also accept a :class:`~hub.sensors.ble.sfloat.Special` in an SFLOAT/FLOAT field (to send
a failed measurement) and floats (taken by their shortest repr, 36.6 → 36.6).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .sfloat import Special, decode_float, decode_sfloat, encode_float, encode_sfloat

__all__ = [
    # errors
    "MalformedPayload",
    "NoReading",
    # shared types
    "DeviceTime",
    # measurements
    "BloodPressureMeasurement",
    "TemperatureMeasurement",
    "GlucoseMeasurement",
    "WeightMeasurement",
    "PlxSpotCheckMeasurement",
    "PlxContinuousMeasurement",
    "HeartRateMeasurement",
    "Measurement",
    # parsers
    "parse_blood_pressure",
    "parse_temperature",
    "parse_glucose",
    "parse_weight",
    "parse_weight_scale_service_data",
    "parse_plx_spot_check",
    "parse_plx_continuous",
    "parse_heart_rate",
    "parse_current_time",
    # encoders
    "encode_blood_pressure",
    "encode_temperature",
    "encode_glucose",
    "encode_weight",
    "encode_plx_spot_check",
    "encode_plx_continuous",
    "encode_heart_rate",
    "encode_current_time",
    # conversion factors
    "KPA_TO_MMHG",
    "LB_TO_KG",
    "INCH_TO_M",
    "GLUCOSE_MG_DL_PER_MMOL_L",
    # out of the device's range
    "ABOVE_RANGE",
    "BELOW_RANGE",
]


# --------------------------------------------------------------------------- errors


class MalformedPayload(ValueError):
    """A characteristic value cannot be decoded, or carries no reading.

    ``str(error)`` reads ``"<characteristic>: <reason>"``, e.g. ``"blood pressure: flags
    say time stamp present but payload ends at byte 7"``.

    :param characteristic: short name of what was parsed (also the rejection-counter key).
    :param reason: what is wrong, in words a technician can act on.
    """

    def __init__(self, characteristic: str, reason: str) -> None:
        super().__init__(f"{characteristic}: {reason}")
        self.characteristic = characteristic
        self.reason = reason

    def __reduce__(self):  # keep it picklable (e.g. across a process pool)
        return type(self), (self.characteristic, self.reason)


class NoReading(MalformedPayload):
    """The payload is well formed but the device reports no valid value of the person.

    :param characteristic: short name of what was parsed.
    :param field: the field that carries no value, e.g. ``"systolic"``.
    :param reason: why, e.g. ``"systolic is NaN (the device has no valid value)"``.
    :param special: the IEEE 11073 special value, when that is the cause; ``+INF`` on a
        glucose meter means "HI", so a caller may still want to tell someone.
    """

    def __init__(
        self, characteristic: str, field: str, reason: str, special: Special | None = None
    ) -> None:
        super().__init__(characteristic, reason)
        self.field = field
        self.special = special

    def __reduce__(self):
        return type(self), (self.characteristic, self.field, self.reason, self.special)


# Short names: the prefix of error messages and the key of the rejection counter.
BLOOD_PRESSURE = "blood pressure"
TEMPERATURE = "temperature"
GLUCOSE = "glucose"
WEIGHT = "weight"
WEIGHT_ADVERTISEMENT = "weight scale advertisement"
PLX_SPOT_CHECK = "pulse oximeter spot-check"
PLX_CONTINUOUS = "pulse oximeter continuous"
HEART_RATE = "heart rate"
CURRENT_TIME = "current time"

# --------------------------------------------------------------------------- units

# UCUM codes, used both for the device's unit in the dataclasses and in readings.
MMHG, KPA = "mm[Hg]", "kPa"
CEL, DEG_F = "Cel", "[degF]"
KG, LB = "kg", "[lb_av]"
METRE, INCH = "m", "[in_i]"
KG_PER_L, MOL_PER_L = "kg/L", "mol/L"
MMOL_PER_L, MG_PER_DL = "mmol/L", "mg/dL"
PER_MIN, PERCENT, KG_PER_M2 = "/min", "%", "kg/m2"

KPA_TO_MMHG = Decimal("7.50062")
LB_TO_KG = Decimal("0.45359237")
INCH_TO_M = Decimal("0.0254")
# Glucose molar mass 180.16 g/mol: 1 mmol/L = 180.16 mg/L = 18.016 mg/dL.
GLUCOSE_MG_DL_PER_MMOL_L = Decimal("18.016")

# Decimal places kept after a unit conversion: about one digit finer than the device's
# own resolution (0.1 kPa = 0.75 mmHg, 0.1 °F = 0.06 °C, 0.01 lb = 0.005 kg), so a
# converted value does not pretend to a precision the device never had.
_PLACES = {MMHG: 1, CEL: 2, KG: 3, METRE: 3, MMOL_PER_L: 2, MG_PER_DL: 1}


def _converted(value: Decimal, unit: str) -> float:
    # float() first: FLOAT exponents reach 10**127, beyond what quantize() allows.
    return round(float(value), _PLACES[unit])


# --------------------------------------------------------------------------- time


@dataclass(frozen=True, slots=True)
class DeviceTime:
    """A Date Time field as the device sent it.

    GSS "Date Time" (org.bluetooth.characteristic.date_time).

    Seven bytes: year (uint16 LE, 1582..9999, 0 = unknown), month (1..12, 0 = unknown),
    day (1..31, 0 = unknown), hours, minutes, seconds. An unknown part is ``None``;
    nothing is invented. The time is device-local, with no time zone.

    :param year: 1582..9999, or None when the device does not know it.
    :param month: 1..12, or None.
    :param day: 1..31, or None.
    :param hours: 0..23.
    :param minutes: 0..59.
    :param seconds: 0..59.
    """

    year: int | None
    month: int | None
    day: int | None
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> DeviceTime:
        """Build from a naive (device-local) :class:`datetime.datetime`; drops microseconds."""
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second)

    def to_datetime(self) -> _dt.datetime | None:
        """The naive device-local datetime, or None if a part is unknown or not a real date."""
        if self.year is None or self.month is None or self.day is None or self.year < 1582:
            return None
        try:
            return _dt.datetime(
                self.year, self.month, self.day, self.hours, self.minutes, self.seconds
            )
        except (ValueError, OverflowError):
            return None

    def isoformat(self) -> str | None:
        """``"YYYY-MM-DDTHH:MM:SS"`` (device-local), or None when not a complete valid time."""
        value = self.to_datetime()
        return None if value is None else value.isoformat(timespec="seconds")

    def to_bytes(self) -> bytes:
        """Encode as the 7-byte Date Time field.

        :raises ValueError: a part is outside the range the GSS allows.
        """
        year = 0 if self.year is None else self.year
        month = 0 if self.month is None else self.month
        day = 0 if self.day is None else self.day
        if not (year == 0 or 1582 <= year <= 9999):
            raise ValueError(f"Date Time year must be 1582..9999 or None, not {self.year!r}")
        for name, value, high in (("month", month, 12), ("day", day, 31)):
            if not 0 <= value <= high:
                raise ValueError(f"Date Time {name} must be 1..{high} or None, not {value!r}")
        for name, value, high in (("hours", self.hours, 23), ("minutes", self.minutes, 59),
                                  ("seconds", self.seconds, 59)):
            if not 0 <= value <= high:
                raise ValueError(f"Date Time {name} must be 0..{high}, not {value!r}")
        rest = (month, day, self.hours, self.minutes, self.seconds)
        return year.to_bytes(2, "little") + bytes(rest)


# --------------------------------------------------------------------------- reading bytes


class _Reader:
    """Walks a payload field by field; every short read becomes a MalformedPayload."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # A programming error, not device data: bytes(5) would silently be 5 zeros.
            raise TypeError(f"{what}: expected bytes, got {type(data).__name__}")
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def _take(self, size: int, field: str, flagged: bool) -> int:
        start = self.pos
        end = start + size
        if end > len(self.data):
            length = len(self.data)
            if length == 0:
                reason = "empty payload"
            elif flagged:
                reason = f"flags say {field} present but payload ends at byte {length}"
            else:
                reason = (f"payload ends at byte {length}, inside the mandatory {field} "
                          f"(bytes {start}..{end - 1})")
            raise MalformedPayload(self.what, reason)
        self.pos = end
        return start

    def u8(self, field: str, flagged: bool = False) -> int:
        return self.data[self._take(1, field, flagged)]

    def u16(self, field: str, flagged: bool = False) -> int:
        i = self._take(2, field, flagged)
        return self.data[i] | (self.data[i + 1] << 8)

    def s16(self, field: str, flagged: bool = False) -> int:
        value = self.u16(field, flagged)
        return value - 0x10000 if value & 0x8000 else value

    def u24(self, field: str, flagged: bool = False) -> int:
        i = self._take(3, field, flagged)
        return int.from_bytes(self.data[i:i + 3], "little")

    def sfloat(self, field: str, flagged: bool = False) -> Decimal | Special:
        return decode_sfloat(self.u16(field, flagged))

    def float32(self, field: str, flagged: bool = False) -> Decimal | Special:
        i = self._take(4, field, flagged)
        return decode_float(int.from_bytes(self.data[i:i + 4], "little"))

    def date_time(self, field: str, flagged: bool = False) -> DeviceTime:
        i = self._take(7, field, flagged)
        d = self.data
        year = d[i] | (d[i + 1] << 8)
        return DeviceTime(year or None, d[i + 2] or None, d[i + 3] or None,
                          d[i + 4], d[i + 5], d[i + 6])

    def remaining(self) -> int:
        return len(self.data) - self.pos


def _primary(what: str, field: str, value: Decimal | Special) -> Decimal | Special:
    """A value the reading cannot exist without.

    NaN, NRes and reserved mean no reading (:class:`NoReading`). ±INF is kept: the device
    measured, and the value is beyond its range (see "Out of range" above).
    """
    if value in _OUT_OF_RANGE:
        return value
    if isinstance(value, Special):
        reason = f"{field} is {value.value} (the device has no valid value)"
        raise NoReading(what, field, reason, value)
    return value


#: ``extra["out_of_range"]`` words: the value is beyond what the device can measure.
ABOVE_RANGE = "above_device_range"
BELOW_RANGE = "below_device_range"
_OUT_OF_RANGE = {Special.PLUS_INFINITY: ABOVE_RANGE, Special.MINUS_INFINITY: BELOW_RANGE}


def _number(value: Decimal | Special) -> Decimal | None:
    """The Decimal, or None for an out-of-range special (the reading says which way)."""
    return None if isinstance(value, Special) else value


def _out_of_range(values: dict[str, Decimal | Special | None]) -> dict[str, str]:
    """Value name → ABOVE_RANGE / BELOW_RANGE, for the values that are ±INF."""
    return {name: _OUT_OF_RANGE[v] for name, v in values.items() if v in _OUT_OF_RANGE}


def _secondary(value: Decimal | Special) -> Decimal | None:
    """A value the reading can do without: a special value just means absent."""
    return None if isinstance(value, Special) else value


def _words(bits: int, table: dict[int, str]) -> list[str]:
    """Names of the set bits of ``bits`` that ``table`` knows, in bit order."""
    return [name for bit, name in table.items() if bits >> bit & 1]


def _dec(value: Decimal | Special) -> str:
    """A Decimal as a JSON-safe string that keeps its exponent ("16.0", "1.2E-4");
    a special value as its 11073 name ("+INF")."""
    return value.value if isinstance(value, Special) else str(value)


# --------------------------------------------------------------------------- writing bytes


def _u8(value: int, name: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be 0..255, not {value!r}")
    return bytes((value,))


def _u16(value: int, name: str) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{name} must be 0..65535, not {value!r}")
    return value.to_bytes(2, "little")


def _s16(value: int, name: str) -> bytes:
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{name} must be -32768..32767, not {value!r}")
    return value.to_bytes(2, "little", signed=True)


def _u24(value: int, name: str) -> bytes:
    if not 0 <= value <= 0xFFFFFF:
        raise ValueError(f"{name} must be 0..0xFFFFFF, not {value!r}")
    return value.to_bytes(3, "little")


def _sf(value: Decimal | Special | None) -> bytes:
    """SFLOAT bytes; None (an absent secondary value in a mandatory slot) becomes NaN."""
    return encode_sfloat(Special.NAN if value is None else value).to_bytes(2, "little")


def _scaled(value: Decimal, step: Decimal, name: str) -> int:
    """The uint16 count of ``step`` in ``value``; it must be exact (e.g. weight / 0.005 kg)."""
    count = (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)) / step
    if count != count.to_integral_value():
        raise ValueError(f"{name} {value} is not a multiple of the resolution {step}")
    return int(count)


# =========================================================================== Blood pressure

_BP_STATUS = {
    0: "body_movement",
    1: "cuff_too_loose",
    2: "irregular_pulse",
    # bits 3-4 are a two-bit field, decoded separately
    5: "improper_measurement_position",
}
_BP_PULSE_RANGE = {1: "pulse_rate_above_upper_limit", 2: "pulse_rate_below_lower_limit"}


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    """A Blood Pressure Measurement (0x2A35), values in the device's unit.

    :param systolic: systolic pressure in ``unit``.
    :param diastolic: diastolic pressure in ``unit``.
    :param mean_arterial: mean arterial pressure in ``unit``; None when the device sent a
        special value (many cuffs do not compute it).
    :param unit: ``"mm[Hg]"`` or ``"kPa"`` (flags bit 0).
    :param time_stamp: the device's own time of measurement, if sent.
    :param pulse_rate: beats per minute, if sent and valid.
    :param user_id: the device's user index, if sent; 255 means "unknown user".
    :param measurement_status: the raw Measurement Status bits, if sent.
    """

    systolic: Decimal | Special
    diastolic: Decimal | Special
    mean_arterial: Decimal | None = None
    unit: str = MMHG
    time_stamp: DeviceTime | None = None
    pulse_rate: Decimal | None = None
    user_id: int | None = None
    measurement_status: int | None = None

    @property
    def status_words(self) -> list[str]:
        """The Measurement Status bits in words (BLS "Measurement Status")."""
        if self.measurement_status is None:
            return []
        status = self.measurement_status
        words = _words(status & 0b111, _BP_STATUS)
        pulse_range = _BP_PULSE_RANGE.get(status >> 3 & 0b11)  # 3 is reserved
        position = _words(status & 0b100000, _BP_STATUS)
        return words + ([pulse_range] if pulse_range else []) + position

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: pressures in mm[Hg], pulse in /min."""
        names = ("systolic", "diastolic", "mean_arterial")
        raw = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        numbers = {n: _number(v) for n, v in raw.items()}
        if self.unit == KPA:
            values = {n: None if v is None else _converted(v * KPA_TO_MMHG, MMHG)
                      for n, v in numbers.items()}
        else:
            values = {n: None if v is None else float(v) for n, v in numbers.items()}
        units = {n: MMHG for n in values}
        if self.pulse_rate is not None:
            values["pulse"] = float(self.pulse_rate)
            units["pulse"] = PER_MIN
        extra: dict[str, Any] = {}
        if self.user_id is not None and self.user_id != 0xFF:
            extra["user_id"] = self.user_id
        if self.measurement_status is not None:
            extra["measurement_status"] = self.status_words
        if self.unit != MMHG:
            extra["original_unit"] = self.unit
            extra["original_values"] = {n: _dec(v) for n, v in raw.items()}
        if _out_of_range(raw):
            extra["out_of_range"] = _out_of_range(raw)
        return _reading("blood_pressure", values, units, self.time_stamp, extra)


def parse_blood_pressure(data: bytes) -> BloodPressureMeasurement:
    """Parse a Blood Pressure Measurement value (0x2A35).

    GSS "Blood Pressure Measurement"
    (org.bluetooth.characteristic.blood_pressure_measurement); Blood Pressure Service
    (BLS), "Blood Pressure Measurement". Flags: bit 0 kPa (else mmHg), bit 1 time stamp,
    bit 2 pulse rate, bit 3 user id, bit 4 measurement status; bits 5-7 reserved. Then
    systolic, diastolic, mean arterial pressure (SFLOAT each), and the optional fields
    in flag order.

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: systolic or diastolic is NaN, NRes or reserved (±INF is kept:
        out of the cuff's range).
    """
    r = _Reader(data, BLOOD_PRESSURE)
    flags = r.u8("flags")
    systolic = r.sfloat("systolic")
    diastolic = r.sfloat("diastolic")
    mean_arterial = r.sfloat("mean arterial pressure")
    time_stamp = r.date_time("time stamp", True) if flags & 0x02 else None
    pulse_rate = _secondary(r.sfloat("pulse rate", True)) if flags & 0x04 else None
    user_id = r.u8("user id", True) if flags & 0x08 else None
    status = r.u16("measurement status", True) if flags & 0x10 else None
    return BloodPressureMeasurement(
        systolic=_primary(BLOOD_PRESSURE, "systolic", systolic),
        diastolic=_primary(BLOOD_PRESSURE, "diastolic", diastolic),
        mean_arterial=_secondary(mean_arterial),
        unit=KPA if flags & 0x01 else MMHG,
        time_stamp=time_stamp,
        pulse_rate=pulse_rate,
        user_id=user_id,
        measurement_status=status,
    )


def encode_blood_pressure(m: BloodPressureMeasurement) -> bytes:
    """Encode a Blood Pressure Measurement value; the inverse of :func:`parse_blood_pressure`.

    Flags are derived from which optional fields are set; a None mean arterial pressure
    is written as NaN (the field itself is mandatory).

    :raises ValueError: a value cannot be represented, or the unit is unknown.
    """
    if m.unit not in (MMHG, KPA):
        raise ValueError(f"blood pressure unit must be {MMHG!r} or {KPA!r}, not {m.unit!r}")
    flags = (
        (m.unit == KPA) * 0x01
        | (m.time_stamp is not None) * 0x02
        | (m.pulse_rate is not None) * 0x04
        | (m.user_id is not None) * 0x08
        | (m.measurement_status is not None) * 0x10
    )
    out = bytearray((flags,))
    out += _sf(m.systolic) + _sf(m.diastolic) + _sf(m.mean_arterial)
    if m.time_stamp is not None:
        out += m.time_stamp.to_bytes()
    if m.pulse_rate is not None:
        out += _sf(m.pulse_rate)
    if m.user_id is not None:
        out += _u8(m.user_id, "user id")
    if m.measurement_status is not None:
        out += _u16(m.measurement_status, "measurement status")
    return bytes(out)


# =========================================================================== Temperature

# GSS "Temperature Type" (org.bluetooth.characteristic.temperature_type).
TEMPERATURE_TYPES = {
    1: "armpit",
    2: "body",
    3: "ear",
    4: "finger",
    5: "gastrointestinal_tract",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum",
}


@dataclass(frozen=True, slots=True)
class TemperatureMeasurement:
    """A Temperature Measurement (0x2A1C), value in the device's unit.

    :param temperature: the temperature in ``unit`` (an IEEE 11073 FLOAT on the wire).
    :param unit: ``"Cel"`` or ``"[degF]"`` (flags bit 0).
    :param time_stamp: the device's own time of measurement, if sent.
    :param temperature_type: the raw Temperature Type code (1 armpit … 9 tympanum), if sent.
    """

    temperature: Decimal | Special
    unit: str = CEL
    time_stamp: DeviceTime | None = None
    temperature_type: int | None = None

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: temperature in Cel."""
        extra: dict[str, Any] = {}
        number = _number(self.temperature)
        if number is None:
            celsius = None
            extra["out_of_range"] = _out_of_range({"temperature": self.temperature})
        elif self.unit == DEG_F:
            celsius = _converted((number - 32) * 5 / 9, CEL)
        else:
            celsius = float(number)
        if self.unit == DEG_F:
            extra["original_unit"] = DEG_F
            extra["original_values"] = {"temperature": _dec(self.temperature)}
        if self.temperature_type is not None:
            extra["temperature_type"] = TEMPERATURE_TYPES.get(
                self.temperature_type, f"reserved_{self.temperature_type}"
            )
        return _reading("body_temperature", {"temperature": celsius}, {"temperature": CEL},
                        self.time_stamp, extra)


def parse_temperature(data: bytes) -> TemperatureMeasurement:
    """Parse a Temperature Measurement value (0x2A1C).

    GSS "Temperature Measurement"
    (org.bluetooth.characteristic.temperature_measurement); Health Thermometer Service
    (HTS), "Temperature Measurement". Flags: bit 0 Fahrenheit (else Celsius), bit 1 time
    stamp, bit 2 temperature type; bits 3-7 reserved. Then the temperature as a 32-bit
    FLOAT and the optional fields in flag order.

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: the temperature is NaN, NRes or reserved (±INF is kept).
    """
    r = _Reader(data, TEMPERATURE)
    flags = r.u8("flags")
    value = r.float32("temperature")
    time_stamp = r.date_time("time stamp", True) if flags & 0x02 else None
    temperature_type = r.u8("temperature type", True) if flags & 0x04 else None
    return TemperatureMeasurement(
        temperature=_primary(TEMPERATURE, "temperature", value),
        unit=DEG_F if flags & 0x01 else CEL,
        time_stamp=time_stamp,
        temperature_type=temperature_type,
    )


def encode_temperature(m: TemperatureMeasurement) -> bytes:
    """Encode a Temperature Measurement value; the inverse of :func:`parse_temperature`.

    :raises ValueError: a value cannot be represented, or the unit is unknown.
    """
    if m.unit not in (CEL, DEG_F):
        raise ValueError(f"temperature unit must be {CEL!r} or {DEG_F!r}, not {m.unit!r}")
    flags = (m.unit == DEG_F) * 0x01 | (m.time_stamp is not None) * 0x02 | (
        m.temperature_type is not None) * 0x04
    out = bytearray((flags,))
    out += encode_float(m.temperature).to_bytes(4, "little")
    if m.time_stamp is not None:
        out += m.time_stamp.to_bytes()
    if m.temperature_type is not None:
        out += _u8(m.temperature_type, "temperature type")
    return bytes(out)


# =========================================================================== Glucose

# GSS "Glucose Measurement", fields Type, Sample Location, Sensor Status Annunciation.
GLUCOSE_SAMPLE_TYPES = {
    1: "capillary_whole_blood",
    2: "capillary_plasma",
    3: "venous_whole_blood",
    4: "venous_plasma",
    5: "arterial_whole_blood",
    6: "arterial_plasma",
    7: "undetermined_whole_blood",
    8: "undetermined_plasma",
    9: "interstitial_fluid",
    10: "control_solution",
}
GLUCOSE_SAMPLE_LOCATIONS = {
    1: "finger",
    2: "alternate_site_test",
    3: "earlobe",
    4: "control_solution",
    15: "not_available",
}
_GLUCOSE_STATUS = {
    0: "device_battery_low",
    1: "sensor_malfunction",
    2: "sample_size_insufficient",
    3: "strip_insertion_error",
    4: "strip_type_incorrect",
    5: "result_above_device_range",
    6: "result_below_device_range",
    7: "sensor_temperature_too_high",
    8: "sensor_temperature_too_low",
    9: "sensor_read_interrupted",
    10: "general_device_fault",
    11: "time_fault",
}
_CONTROL_SOLUTION_TYPE = 10
_CONTROL_SOLUTION_LOCATION = 4


@dataclass(frozen=True, slots=True)
class GlucoseMeasurement:
    """A Glucose Measurement record (0x2A18), concentration in the device's unit.

    :param sequence_number: the record's sequence number (RACP filters on it).
    :param base_time: the device's Base Time (mandatory on the wire; parts may be unknown).
    :param concentration: the concentration in ``unit``.
    :param unit: ``"kg/L"`` or ``"mol/L"`` (flags bit 2).
    :param sample_type: raw Type code (low nibble), 1 capillary whole blood …
    :param sample_location: raw Sample Location code (high nibble), 1 finger … 15 n/a.
    :param time_offset: minutes to add to the base time, if sent.
    :param sensor_status: raw Sensor Status Annunciation bits, if sent.
    :param context_follows: the meter will send a Glucose Measurement Context (0x2A34)
        with the same sequence number.
    """

    sequence_number: int
    base_time: DeviceTime
    concentration: Decimal | Special
    unit: str = KG_PER_L
    sample_type: int = 1
    sample_location: int = 1
    time_offset: int | None = None
    sensor_status: int | None = None
    context_follows: bool = False

    def measurement_time(self) -> _dt.datetime | None:
        """Base time plus time offset (GLS: the user-facing time), or None if unknown."""
        base = self.base_time.to_datetime()
        if base is None:
            return None
        try:
            return base + _dt.timedelta(minutes=self.time_offset or 0)
        except OverflowError:
            return None

    @property
    def status_words(self) -> list[str]:
        """The Sensor Status Annunciation bits in words."""
        return [] if self.sensor_status is None else _words(self.sensor_status, _GLUCOSE_STATUS)

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: glucose in mmol/L and mg/dL."""
        number = _number(self.concentration)
        mmol_value: float | None
        mg_value: float | None
        if number is None:
            mmol_value = mg_value = None
        elif self.unit == MOL_PER_L:
            mmol = number * 1000
            mmol_value = float(mmol)
            mg_value = _converted(mmol * GLUCOSE_MG_DL_PER_MMOL_L, MG_PER_DL)
        else:
            mg = number * 100000
            mg_value = float(mg)
            mmol_value = _converted(mg / GLUCOSE_MG_DL_PER_MMOL_L, MMOL_PER_L)
        extra: dict[str, Any] = {
            "sequence_number": self.sequence_number,
            "sample_type": GLUCOSE_SAMPLE_TYPES.get(
                self.sample_type, f"reserved_{self.sample_type}"),
            "sample_location": GLUCOSE_SAMPLE_LOCATIONS.get(
                self.sample_location, f"reserved_{self.sample_location}"),
            "context_follows": self.context_follows,
            "original_unit": self.unit,
            "original_values": {"glucose": _dec(self.concentration)},
        }
        if self.time_offset is not None:
            extra["time_offset_minutes"] = self.time_offset
            extra["base_time"] = self.base_time.isoformat()
        if self.sensor_status is not None:
            extra["sensor_status"] = self.status_words
        side = _OUT_OF_RANGE.get(self.concentration)
        if side is None and "result_above_device_range" in self.status_words:
            side = ABOVE_RANGE  # the number sent is the meter's upper limit
        elif side is None and "result_below_device_range" in self.status_words:
            side = BELOW_RANGE
        if side is not None:
            extra["out_of_range"] = {"glucose": side, "glucose_mg_dl": side}
        when = self.measurement_time()
        return {
            "kind": "glucose",
            "values": {"glucose": mmol_value, "glucose_mg_dl": mg_value},
            "units": {"glucose": MMOL_PER_L, "glucose_mg_dl": MG_PER_DL},
            "device_time": None if when is None else when.isoformat(timespec="seconds"),
            "extra": extra,
        }


def parse_glucose(data: bytes) -> GlucoseMeasurement:
    """Parse a Glucose Measurement value (0x2A18).

    GSS "Glucose Measurement" (org.bluetooth.characteristic.glucose_measurement);
    Glucose Service (GLS), "Glucose Measurement". Flags: bit 0 time offset, bit 1
    concentration + type/sample location, bit 2 mol/L (else kg/L), bit 3 sensor status
    annunciation, bit 4 context information follows; bits 5-7 reserved. Then sequence
    number (uint16), base time (Date Time), time offset (sint16 minutes), concentration
    (SFLOAT), type (low nibble) and sample location (high nibble), sensor status
    (uint16).

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: no concentration, a NaN/NRes/reserved concentration, or a
        control-solution test. ±INF (the meter's HI/LO) is kept as out of range.
    """
    r = _Reader(data, GLUCOSE)
    flags = r.u8("flags")
    sequence_number = r.u16("sequence number")
    base_time = r.date_time("base time")
    time_offset = r.s16("time offset", True) if flags & 0x01 else None
    if flags & 0x02:
        concentration = r.sfloat("glucose concentration", True)
        type_location = r.u8("type-sample location", True)
    else:
        concentration, type_location = None, 0
    status = r.u16("sensor status annunciation", True) if flags & 0x08 else None
    if concentration is None:
        raise NoReading(GLUCOSE, "glucose concentration",
                        f"record {sequence_number} carries no concentration (flags bit 1 clear)")
    sample_type, sample_location = type_location & 0x0F, type_location >> 4
    if sample_type == _CONTROL_SOLUTION_TYPE or sample_location == _CONTROL_SOLUTION_LOCATION:
        # A meter check with control solution, not the person's blood: never a reading.
        raise NoReading(GLUCOSE, "type-sample location",
                        f"record {sequence_number} is a control-solution test, not a blood sample")
    return GlucoseMeasurement(
        sequence_number=sequence_number,
        base_time=base_time,
        concentration=_primary(GLUCOSE, "glucose concentration", concentration),
        unit=MOL_PER_L if flags & 0x04 else KG_PER_L,
        sample_type=sample_type,
        sample_location=sample_location,
        time_offset=time_offset,
        sensor_status=status,
        context_follows=bool(flags & 0x10),
    )


def encode_glucose(m: GlucoseMeasurement) -> bytes:
    """Encode a Glucose Measurement value; the inverse of :func:`parse_glucose`.

    :raises ValueError: a value cannot be represented, or the unit is unknown.
    """
    if m.unit not in (KG_PER_L, MOL_PER_L):
        raise ValueError(f"glucose unit must be {KG_PER_L!r} or {MOL_PER_L!r}, not {m.unit!r}")
    if not (0 <= m.sample_type <= 15 and 0 <= m.sample_location <= 15):
        raise ValueError("glucose sample type and location must each be 0..15")
    flags = (
        (m.time_offset is not None) * 0x01
        | 0x02
        | (m.unit == MOL_PER_L) * 0x04
        | (m.sensor_status is not None) * 0x08
        | bool(m.context_follows) * 0x10
    )
    out = bytearray((flags,))
    out += _u16(m.sequence_number, "sequence number") + m.base_time.to_bytes()
    if m.time_offset is not None:
        out += _s16(m.time_offset, "time offset")
    out += _sf(m.concentration) + bytes((m.sample_location << 4 | m.sample_type,))
    if m.sensor_status is not None:
        out += _u16(m.sensor_status, "sensor status annunciation")
    return bytes(out)


# =========================================================================== Weight

_WEIGHT_STEP = {KG: Decimal("0.005"), LB: Decimal("0.01")}
_HEIGHT_STEP = {KG: Decimal("0.001"), LB: Decimal("0.1")}
_HEIGHT_UNIT = {KG: METRE, LB: INCH}
_BMI_STEP = Decimal("0.1")
_WEIGHT_UNSUCCESSFUL = 0xFFFF


@dataclass(frozen=True, slots=True)
class WeightMeasurement:
    """A Weight Measurement (0x2A9D), values in the device's units.

    :param weight: the weight in ``unit`` (0.005 kg or 0.01 lb resolution on the wire).
    :param unit: ``"kg"`` (SI, height in m) or ``"[lb_av]"`` (imperial, height in inches).
    :param time_stamp: the device's own time of measurement, if sent.
    :param user_id: the scale's user index, if sent; 255 means "unknown user".
    :param bmi: body mass index in kg/m2 (0.1 resolution), sent together with ``height``.
    :param height: height in m (0.001) or inches (0.1), following ``unit``.
    """

    weight: Decimal
    unit: str = KG
    time_stamp: DeviceTime | None = None
    user_id: int | None = None
    bmi: Decimal | None = None
    height: Decimal | None = None

    @property
    def height_unit(self) -> str:
        """``"m"`` for SI, ``"[in_i]"`` for imperial."""
        return _HEIGHT_UNIT.get(self.unit, METRE)

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: weight in kg, BMI in kg/m2, height in m."""
        extra: dict[str, Any] = {}
        if self.unit == LB:
            values = {"weight": _converted(self.weight * LB_TO_KG, KG)}
            original = {"weight": _dec(self.weight)}
        else:
            values, original = {"weight": float(self.weight)}, {}
        units = {"weight": KG}
        if self.bmi is not None:
            values["bmi"] = float(self.bmi)
            units["bmi"] = KG_PER_M2
        if self.height is not None:
            if self.unit == LB:
                values["height"] = _converted(self.height * INCH_TO_M, METRE)
                original["height"] = _dec(self.height)
            else:
                values["height"] = float(self.height)
            units["height"] = METRE
        if self.user_id is not None and self.user_id != 0xFF:
            extra["user_id"] = self.user_id
        if original:
            extra["original_unit"] = self.unit
            extra["original_values"] = original
            if "height" in original:
                extra["original_height_unit"] = INCH
        return _reading("body_weight", values, units, self.time_stamp, extra)


def parse_weight(data: bytes) -> WeightMeasurement:
    """Parse a Weight Measurement value (0x2A9D).

    GSS "Weight Measurement" (org.bluetooth.characteristic.weight_measurement); Weight
    Scale Service (WSS), "Weight Measurement". Flags: bit 0 imperial (lb, in; else kg,
    m), bit 1 time stamp, bit 2 user id, bit 3 BMI and height; bits 4-7 reserved. Weight
    is a uint16 of 0.005 kg or 0.01 lb; 0xFFFF means "measurement unsuccessful" (WSS).
    BMI is a uint16 of 0.1 kg/m2; height a uint16 of 0.001 m or 0.1 in.

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: the weight is 0xFFFF (measurement unsuccessful).
    """
    return _parse_weight(data, WEIGHT)


def _parse_weight(data: bytes, what: str) -> WeightMeasurement:
    r = _Reader(data, what)
    flags = r.u8("flags")
    raw_weight = r.u16("weight")
    time_stamp = r.date_time("time stamp", True) if flags & 0x02 else None
    user_id = r.u8("user id", True) if flags & 0x04 else None
    if flags & 0x08:
        raw_bmi = r.u16("BMI", True)
        raw_height = r.u16("height", True)
    else:
        raw_bmi = raw_height = None
    if raw_weight == _WEIGHT_UNSUCCESSFUL:
        raise NoReading(what, "weight",
                        "weight is 0xFFFF (the scale says the measurement was unsuccessful)")
    imperial = bool(flags & 0x01)
    # Decimal(raw * step mantissa).scaleb(): exact, and the exponent shows the resolution.
    weight = Decimal(raw_weight).scaleb(-2) if imperial else Decimal(raw_weight * 5).scaleb(-3)
    return WeightMeasurement(
        weight=weight,
        unit=LB if imperial else KG,
        time_stamp=time_stamp,
        user_id=user_id,
        bmi=None if raw_bmi is None else Decimal(raw_bmi).scaleb(-1),
        height=None if raw_height is None else Decimal(raw_height).scaleb(-1 if imperial else -3),
    )


def parse_weight_scale_service_data(data: bytes) -> WeightMeasurement:
    """Parse Weight Scale service data (0x181D) from an advertisement.

    Some scales broadcast their Weight Measurement value as Service Data (AD type 0x16)
    for the Weight Scale service instead of, or as well as, indicating it over a
    connection. ``data`` is the service data *after* the 16-bit UUID, i.e. bleak's
    ``AdvertisementData.service_data["0000181d-0000-1000-8000-00805f9b34fb"]``; its layout
    is the Weight Measurement characteristic's (see :func:`parse_weight`).

    :param data: the service data bytes for UUID 0x181D.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: the weight is 0xFFFF.
    """
    return _parse_weight(data, WEIGHT_ADVERTISEMENT)


def encode_weight(m: WeightMeasurement) -> bytes:
    """Encode a Weight Measurement value; the inverse of :func:`parse_weight`.

    The same bytes serve as Weight Scale service data in an advertisement.

    :raises ValueError: a value is not a multiple of its resolution or out of range, BMI
        and height are not both set or both None, or the unit is unknown.
    """
    if m.unit not in (KG, LB):
        raise ValueError(f"weight unit must be {KG!r} or {LB!r}, not {m.unit!r}")
    if (m.bmi is None) != (m.height is None):
        raise ValueError("weight: BMI and height are sent together (one flag); set both or neither")
    raw_weight = _scaled(m.weight, _WEIGHT_STEP[m.unit], "weight")
    if raw_weight == _WEIGHT_UNSUCCESSFUL:
        raise ValueError("weight: 0xFFFF is reserved for 'measurement unsuccessful'")
    flags = (
        (m.unit == LB) * 0x01
        | (m.time_stamp is not None) * 0x02
        | (m.user_id is not None) * 0x04
        | (m.bmi is not None) * 0x08
    )
    out = bytearray((flags,))
    out += _u16(raw_weight, "weight")
    if m.time_stamp is not None:
        out += m.time_stamp.to_bytes()
    if m.user_id is not None:
        out += _u8(m.user_id, "user id")
    if m.bmi is not None and m.height is not None:
        out += _u16(_scaled(m.bmi, _BMI_STEP, "BMI"), "BMI")
        out += _u16(_scaled(m.height, _HEIGHT_STEP[m.unit], "height"), "height")
    return bytes(out)


# =========================================================================== Pulse oximeter

# GSS "PLX Spot-check Measurement" / "PLX Continuous Measurement": Measurement Status (uint16).
_PLX_MEASUREMENT_STATUS = {
    5: "measurement_ongoing",
    6: "early_estimated_data",
    7: "validated_data",
    8: "fully_qualified_data",
    9: "data_from_measurement_storage",
    10: "data_for_demonstration",
    11: "data_for_testing",
    12: "calibration_ongoing",
    13: "measurement_unavailable",
    14: "questionable_measurement",
    15: "invalid_measurement",
}
# Bits after which the device itself says the value is not a measurement of the person.
_PLX_NOT_A_READING = {10: "data_for_demonstration", 11: "data_for_testing",
                      13: "measurement_unavailable", 15: "invalid_measurement"}
# Device and Sensor Status (uint24); bits 16-23 reserved.
_PLX_DEVICE_STATUS = {
    0: "extended_display_update_ongoing",
    1: "equipment_malfunction",
    2: "signal_processing_irregularity",
    3: "inadequate_signal",
    4: "poor_signal",
    5: "low_perfusion",
    6: "erratic_signal",
    7: "nonpulsatile_signal",
    8: "questionable_pulse",
    9: "signal_analysis_ongoing",
    10: "sensor_interference",
    11: "sensor_unconnected_to_user",
    12: "unknown_sensor_connected",
    13: "sensor_displaced",
    14: "sensor_malfunctioning",
    15: "sensor_disconnected",
}


def _plx_check_status(what: str, status: int | None) -> None:
    if status is None:
        return
    for bit, word in _PLX_NOT_A_READING.items():
        if status >> bit & 1:
            raise NoReading(what, "measurement status", f"measurement status says {word}")


def _plx_extra(status: int | None, device_status: int | None,
               pai: Decimal | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if status is not None:
        extra["measurement_status"] = _words(status, _PLX_MEASUREMENT_STATUS)
    if device_status is not None:
        extra["device_sensor_status"] = _words(device_status, _PLX_DEVICE_STATUS)
    if pai is not None:
        extra["pulse_amplitude_index"] = float(pai)
    return extra


def _spo2_values(spo2: Decimal | Special, pulse: Decimal | None
                 ) -> tuple[dict[str, float | None], dict[str, str]]:
    number = _number(spo2)
    values: dict[str, float | None] = {"spo2": None if number is None else float(number)}
    units = {"spo2": PERCENT}
    if pulse is not None:
        values["pulse"] = float(pulse)
        units["pulse"] = PER_MIN
    return values, units


@dataclass(frozen=True, slots=True)
class PlxSpotCheckMeasurement:
    """A PLX Spot-check Measurement (0x2A5E).

    :param spo2: oxygen saturation in %.
    :param pulse_rate: pulse rate in /min; None when the device sent a special value.
    :param time_stamp: the device's own time of measurement, if sent.
    :param measurement_status: raw Measurement Status bits, if sent.
    :param device_sensor_status: raw Device and Sensor Status bits (24), if sent.
    :param pulse_amplitude_index: PAI in %, if sent and valid.
    :param device_clock_not_set: flags bit 4: the time stamp is not a real time.
    """

    spo2: Decimal | Special
    pulse_rate: Decimal | None = None
    time_stamp: DeviceTime | None = None
    measurement_status: int | None = None
    device_sensor_status: int | None = None
    pulse_amplitude_index: Decimal | None = None
    device_clock_not_set: bool = False

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: spo2 in %, pulse in /min."""
        values, units = _spo2_values(self.spo2, self.pulse_rate)
        extra = _plx_extra(self.measurement_status, self.device_sensor_status,
                           self.pulse_amplitude_index)
        extra["measurement"] = "spot_check"
        if _out_of_range({"spo2": self.spo2}):
            extra["out_of_range"] = _out_of_range({"spo2": self.spo2})
        if self.device_clock_not_set:
            extra["device_clock_not_set"] = True
        # A clock that was never set gives a time stamp that is not a time: drop it.
        when = None if self.device_clock_not_set else self.time_stamp
        return _reading("spo2", values, units, when, extra)


def parse_plx_spot_check(data: bytes) -> PlxSpotCheckMeasurement:
    """Parse a PLX Spot-check Measurement value (0x2A5E).

    GSS "PLX Spot-check Measurement"
    (org.bluetooth.characteristic.plx_spot_check_measurement); Pulse Oximeter Service
    (PLXS), "PLX Spot-check Measurement". Flags: bit 0 time stamp, bit 1 measurement
    status, bit 2 device and sensor status, bit 3 pulse amplitude index, bit 4 device
    clock is not set; bits 5-7 reserved. Then SpO2 and PR (SFLOAT each) and the optional
    fields in flag order (uint16 status, uint24 device status, SFLOAT PAI).

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: SpO2 is NaN/NRes/reserved, or the status says the value is not
        real. ±INF is kept as out of range.
    """
    r = _Reader(data, PLX_SPOT_CHECK)
    flags = r.u8("flags")
    spo2 = r.sfloat("SpO2")
    pulse = r.sfloat("pulse rate")
    time_stamp = r.date_time("time stamp", True) if flags & 0x01 else None
    status = r.u16("measurement status", True) if flags & 0x02 else None
    device_status = r.u24("device and sensor status", True) if flags & 0x04 else None
    pai = _secondary(r.sfloat("pulse amplitude index", True)) if flags & 0x08 else None
    _plx_check_status(PLX_SPOT_CHECK, status)
    return PlxSpotCheckMeasurement(
        spo2=_primary(PLX_SPOT_CHECK, "SpO2", spo2),
        pulse_rate=_secondary(pulse),
        time_stamp=time_stamp,
        measurement_status=status,
        device_sensor_status=device_status,
        pulse_amplitude_index=pai,
        device_clock_not_set=bool(flags & 0x10),
    )


def encode_plx_spot_check(m: PlxSpotCheckMeasurement) -> bytes:
    """Encode a PLX Spot-check Measurement value; the inverse of :func:`parse_plx_spot_check`.

    A None pulse rate is written as NaN (the field itself is mandatory).

    :raises ValueError: a value cannot be represented.
    """
    flags = (
        (m.time_stamp is not None) * 0x01
        | (m.measurement_status is not None) * 0x02
        | (m.device_sensor_status is not None) * 0x04
        | (m.pulse_amplitude_index is not None) * 0x08
        | bool(m.device_clock_not_set) * 0x10
    )
    out = bytearray((flags,))
    out += _sf(m.spo2) + _sf(m.pulse_rate)
    if m.time_stamp is not None:
        out += m.time_stamp.to_bytes()
    if m.measurement_status is not None:
        out += _u16(m.measurement_status, "measurement status")
    if m.device_sensor_status is not None:
        out += _u24(m.device_sensor_status, "device and sensor status")
    if m.pulse_amplitude_index is not None:
        out += _sf(m.pulse_amplitude_index)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    """A PLX Continuous Measurement (0x2A5F); no time stamp on the wire.

    :param spo2: SpO2PR-Normal oxygen saturation in %.
    :param pulse_rate: SpO2PR-Normal pulse rate in /min; None when special.
    :param spo2_fast: SpO2PR-Fast saturation, if sent and valid.
    :param pulse_rate_fast: SpO2PR-Fast pulse rate, if sent and valid.
    :param spo2_slow: SpO2PR-Slow saturation, if sent and valid.
    :param pulse_rate_slow: SpO2PR-Slow pulse rate, if sent and valid.
    :param measurement_status: raw Measurement Status bits, if sent.
    :param device_sensor_status: raw Device and Sensor Status bits (24), if sent.
    :param pulse_amplitude_index: PAI in %, if sent and valid.
    """

    spo2: Decimal | Special
    pulse_rate: Decimal | None = None
    spo2_fast: Decimal | None = None
    pulse_rate_fast: Decimal | None = None
    spo2_slow: Decimal | None = None
    pulse_rate_slow: Decimal | None = None
    measurement_status: int | None = None
    device_sensor_status: int | None = None
    pulse_amplitude_index: Decimal | None = None

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: SpO2PR-Normal as spo2/pulse; fast/slow in extra."""
        values, units = _spo2_values(self.spo2, self.pulse_rate)
        extra = _plx_extra(self.measurement_status, self.device_sensor_status,
                           self.pulse_amplitude_index)
        extra["measurement"] = "continuous"
        if _out_of_range({"spo2": self.spo2}):
            extra["out_of_range"] = _out_of_range({"spo2": self.spo2})
        for name in ("spo2_fast", "pulse_rate_fast", "spo2_slow", "pulse_rate_slow"):
            value = getattr(self, name)
            if value is not None:
                extra[name] = float(value)
        return _reading("spo2", values, units, None, extra)


def parse_plx_continuous(data: bytes) -> PlxContinuousMeasurement:
    """Parse a PLX Continuous Measurement value (0x2A5F).

    GSS "PLX Continuous Measurement"
    (org.bluetooth.characteristic.plx_continuous_measurement); Pulse Oximeter Service
    (PLXS), "PLX Continuous Measurement". Flags: bit 0 SpO2PR-Fast, bit 1 SpO2PR-Slow,
    bit 2 measurement status, bit 3 device and sensor status, bit 4 pulse amplitude
    index; bits 5-7 reserved. Then SpO2PR-Normal (two SFLOATs) and the optional fields
    in flag order.

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags.
    :raises NoReading: the normal SpO2 is NaN/NRes/reserved, or the status says the
        value is not real. ±INF is kept as out of range.
    """
    r = _Reader(data, PLX_CONTINUOUS)
    flags = r.u8("flags")
    spo2 = r.sfloat("SpO2")
    pulse = r.sfloat("pulse rate")
    fast = slow = (None, None)
    if flags & 0x01:
        fast = (_secondary(r.sfloat("SpO2PR-Fast", True)),
                _secondary(r.sfloat("SpO2PR-Fast", True)))
    if flags & 0x02:
        slow = (_secondary(r.sfloat("SpO2PR-Slow", True)),
                _secondary(r.sfloat("SpO2PR-Slow", True)))
    status = r.u16("measurement status", True) if flags & 0x04 else None
    device_status = r.u24("device and sensor status", True) if flags & 0x08 else None
    pai = _secondary(r.sfloat("pulse amplitude index", True)) if flags & 0x10 else None
    _plx_check_status(PLX_CONTINUOUS, status)
    return PlxContinuousMeasurement(
        spo2=_primary(PLX_CONTINUOUS, "SpO2", spo2),
        pulse_rate=_secondary(pulse),
        spo2_fast=fast[0],
        pulse_rate_fast=fast[1],
        spo2_slow=slow[0],
        pulse_rate_slow=slow[1],
        measurement_status=status,
        device_sensor_status=device_status,
        pulse_amplitude_index=pai,
    )


def encode_plx_continuous(m: PlxContinuousMeasurement) -> bytes:
    """Encode a PLX Continuous Measurement value; the inverse of :func:`parse_plx_continuous`.

    A fast or slow pair is written when either of its values is set (the other as NaN).

    :raises ValueError: a value cannot be represented.
    """
    has_fast = m.spo2_fast is not None or m.pulse_rate_fast is not None
    has_slow = m.spo2_slow is not None or m.pulse_rate_slow is not None
    flags = (
        has_fast * 0x01
        | has_slow * 0x02
        | (m.measurement_status is not None) * 0x04
        | (m.device_sensor_status is not None) * 0x08
        | (m.pulse_amplitude_index is not None) * 0x10
    )
    out = bytearray((flags,))
    out += _sf(m.spo2) + _sf(m.pulse_rate)
    if has_fast:
        out += _sf(m.spo2_fast) + _sf(m.pulse_rate_fast)
    if has_slow:
        out += _sf(m.spo2_slow) + _sf(m.pulse_rate_slow)
    if m.measurement_status is not None:
        out += _u16(m.measurement_status, "measurement status")
    if m.device_sensor_status is not None:
        out += _u24(m.device_sensor_status, "device and sensor status")
    if m.pulse_amplitude_index is not None:
        out += _sf(m.pulse_amplitude_index)
    return bytes(out)


# =========================================================================== Heart rate

# Flags bits 1-2, Sensor Contact Status: 0 and 1 both mean "not supported".
_SENSOR_CONTACT = {0: "not_supported", 1: "not_supported", 2: "not_detected", 3: "detected"}
_SENSOR_CONTACT_BITS = {"not_supported": 0, "not_detected": 2, "detected": 3}
_RR_RESOLUTION = Decimal(1024)


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """A Heart Rate Measurement (0x2A37).

    :param heart_rate: beats per minute (uint8 or uint16 on the wire).
    :param sensor_contact: ``"not_supported"``, ``"not_detected"`` or ``"detected"``.
    :param energy_expended: cumulative kJ since the last reset, if sent.
    :param rr_intervals: RR intervals in seconds (exact: 1/1024 s resolution), oldest first.
    """

    heart_rate: int
    sensor_contact: str = "not_supported"
    energy_expended: int | None = None
    rr_intervals: tuple[Decimal, ...] = ()

    def to_reading(self) -> dict[str, Any]:
        """The hub's common reading dict: heart_rate in /min; RR intervals (s) in extra."""
        extra: dict[str, Any] = {"sensor_contact": self.sensor_contact}
        if self.energy_expended is not None:
            extra["energy_expended_kj"] = self.energy_expended
        if self.rr_intervals:
            extra["rr_intervals"] = [float(v) for v in self.rr_intervals]
            extra["rr_intervals_unit"] = "s"
        return _reading("heart_rate", {"heart_rate": float(self.heart_rate)},
                        {"heart_rate": PER_MIN}, None, extra)


def parse_heart_rate(data: bytes) -> HeartRateMeasurement:
    """Parse a Heart Rate Measurement value (0x2A37).

    GSS "Heart Rate Measurement" (org.bluetooth.characteristic.heart_rate_measurement);
    Heart Rate Service (HRS), "Heart Rate Measurement". Flags: bit 0 uint16 value (else
    uint8), bits 1-2 sensor contact status, bit 3 energy expended (uint16 kJ), bit 4 RR
    intervals; bits 5-7 reserved. RR intervals (uint16, 1/1024 s) fill the rest of the
    payload, so a lone odd byte at the end is ignored like any trailing byte.

    :param data: the characteristic value.
    :raises MalformedPayload: too short for its flags (RR flag needs at least one interval).
    :raises NoReading: the heart rate is 0 (straps send it when they have no signal).
    """
    r = _Reader(data, HEART_RATE)
    flags = r.u8("flags")
    heart_rate = r.u16("heart rate value") if flags & 0x01 else r.u8("heart rate value")
    energy = r.u16("energy expended", True) if flags & 0x08 else None
    rr: tuple[Decimal, ...] = ()
    if flags & 0x10:
        count = max(r.remaining() // 2, 1)  # at least one, or the short read reports it
        rr = tuple(Decimal(r.u16("RR interval", True)) / _RR_RESOLUTION for _ in range(count))
    if heart_rate == 0:
        raise NoReading(HEART_RATE, "heart rate value",
                        "heart rate is 0 (no signal from the sensor)")
    return HeartRateMeasurement(
        heart_rate=heart_rate,
        sensor_contact=_SENSOR_CONTACT[flags >> 1 & 0b11],
        energy_expended=energy,
        rr_intervals=rr,
    )


def encode_heart_rate(m: HeartRateMeasurement) -> bytes:
    """Encode a Heart Rate Measurement value; the inverse of :func:`parse_heart_rate`.

    The value is written as uint8 when it fits, else uint16 (HRS recommends uint8).
    RR intervals must be whole multiples of 1/1024 s.

    :raises ValueError: a value is out of range, or the sensor contact word is unknown.
    """
    if m.sensor_contact not in _SENSOR_CONTACT_BITS:
        raise ValueError(f"sensor_contact must be one of {sorted(_SENSOR_CONTACT_BITS)}")
    wide = m.heart_rate > 0xFF
    flags = (
        wide * 0x01
        | _SENSOR_CONTACT_BITS[m.sensor_contact] << 1
        | (m.energy_expended is not None) * 0x08
        | bool(m.rr_intervals) * 0x10
    )
    out = bytearray((flags,))
    out += _u16(m.heart_rate, "heart rate") if wide else _u8(m.heart_rate, "heart rate")
    if m.energy_expended is not None:
        out += _u16(m.energy_expended, "energy expended")
    for interval in m.rr_intervals:
        out += _u16(_scaled(interval, 1 / _RR_RESOLUTION, "RR interval"), "RR interval")
    return bytes(out)


# =========================================================================== Current Time


def parse_current_time(data: bytes) -> DeviceTime:
    """Parse a Current Time value (0x2A2B): the device's own clock, device-local.

    GSS "Current Time" (org.bluetooth.characteristic.current_time); Current Time Service
    (CTS). Exact Time 256 = Day Date Time (Date Time, 7 bytes, + Day of Week) +
    Fractions256, then Adjust Reason: 10 bytes. Only the Date Time is used: the hub
    compares it with its own UTC clock to learn the device's clock offset.

    :param data: the characteristic value.
    :raises MalformedPayload: shorter than the Date Time, or a time that is not a date
        (a clock that was never set: year/month/day unknown).
    """
    r = _Reader(data, CURRENT_TIME)
    stamp = r.date_time("date time")
    if stamp.to_datetime() is None:
        raise MalformedPayload(CURRENT_TIME, "the device's clock is not set (no valid date)")
    return stamp


def encode_current_time(stamp: DeviceTime, adjust_reason: int = 0) -> bytes:
    """Encode a Current Time value (the inverse of :func:`parse_current_time`).

    :raises ValueError: a part of the time is out of range.
    """
    when = stamp.to_datetime()
    day_of_week = 0 if when is None else when.isoweekday()  # 1 = Monday … 7 = Sunday
    return stamp.to_bytes() + bytes((day_of_week, 0, _u8(adjust_reason, "adjust reason")[0]))


# =========================================================================== shared


Measurement = (
    BloodPressureMeasurement
    | TemperatureMeasurement
    | GlucoseMeasurement
    | WeightMeasurement
    | PlxSpotCheckMeasurement
    | PlxContinuousMeasurement
    | HeartRateMeasurement
)
"""Any measurement a parser returns; each has ``to_reading()``."""


def _reading(kind: str, values: dict[str, float | None], units: dict[str, str],
             time_stamp: DeviceTime | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The hub's common reading dict (the caller adds id, measured_at and device)."""
    return {
        "kind": kind,
        "values": values,
        "units": units,
        "device_time": None if time_stamp is None else time_stamp.isoformat(),
        "extra": extra,
    }
