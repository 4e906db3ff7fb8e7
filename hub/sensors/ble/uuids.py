"""Bluetooth SIG UUIDs of the health services the hub knows, and dispatch by UUID.

This module owns the 16-bit assigned numbers (Bluetooth SIG "Assigned Numbers",
sections "GATT Services" and "GATT Characteristics"), their 128-bit forms on the SIG
base UUID, the names shown to people, and :func:`parse` / :func:`encode`, which pick
the parser or encoder for a characteristic. It also counts and logs rejected payloads.
It does not scan, connect or subscribe (that is the GATT connector's job).

The 128-bit form of a 16-bit UUID ``xxxx`` is ``0000xxxx-0000-1000-8000-00805f9b34fb``
(Core Specification Vol 3, Part B §2.5.1), the form bleak uses.
"""

from __future__ import annotations

import logging
import uuid as _uuid
from collections import Counter
from typing import Callable, Mapping

from . import parsers as _p
from .parsers import MalformedPayload, Measurement

__all__ = [
    # services
    "HEALTH_THERMOMETER_SERVICE",
    "GLUCOSE_SERVICE",
    "HEART_RATE_SERVICE",
    "BLOOD_PRESSURE_SERVICE",
    "BODY_COMPOSITION_SERVICE",
    "WEIGHT_SCALE_SERVICE",
    "PULSE_OXIMETER_SERVICE",
    "SERVICE_NAMES",
    "SERVICE_MEASUREMENTS",
    # characteristics
    "DATE_TIME",
    "CURRENT_TIME",
    "GLUCOSE_MEASUREMENT",
    "TEMPERATURE_MEASUREMENT",
    "TEMPERATURE_TYPE",
    "INTERMEDIATE_TEMPERATURE",
    "GLUCOSE_MEASUREMENT_CONTEXT",
    "BLOOD_PRESSURE_MEASUREMENT",
    "INTERMEDIATE_CUFF_PRESSURE",
    "HEART_RATE_MEASUREMENT",
    "BODY_SENSOR_LOCATION",
    "BLOOD_PRESSURE_FEATURE",
    "GLUCOSE_FEATURE",
    "RECORD_ACCESS_CONTROL_POINT",
    "PLX_SPOT_CHECK_MEASUREMENT",
    "PLX_CONTINUOUS_MEASUREMENT",
    "PLX_FEATURES",
    "BODY_COMPOSITION_MEASUREMENT",
    "WEIGHT_MEASUREMENT",
    "WEIGHT_SCALE_FEATURE",
    "CHARACTERISTIC_NAMES",
    # functions
    "full_uuid",
    "uuid16",
    "service_name",
    "parse",
    "parse_service_data",
    "parse_advertisement",
    "encode",
    "UnknownUUID",
]

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- services

HEALTH_THERMOMETER_SERVICE = 0x1809
GLUCOSE_SERVICE = 0x1808
HEART_RATE_SERVICE = 0x180D
BLOOD_PRESSURE_SERVICE = 0x1810
BODY_COMPOSITION_SERVICE = 0x181B
WEIGHT_SCALE_SERVICE = 0x181D
PULSE_OXIMETER_SERVICE = 0x1822

# What a person sees on the kiosk ("Pair your Blood pressure monitor").
SERVICE_NAMES = {
    BLOOD_PRESSURE_SERVICE: "Blood pressure monitor",
    HEALTH_THERMOMETER_SERVICE: "Thermometer",
    GLUCOSE_SERVICE: "Glucose meter",
    WEIGHT_SCALE_SERVICE: "Weight scale",
    PULSE_OXIMETER_SERVICE: "Pulse oximeter",
    HEART_RATE_SERVICE: "Heart rate monitor",
    BODY_COMPOSITION_SERVICE: "Body composition scale",
}

# --------------------------------------------------------------------------- characteristics

DATE_TIME = 0x2A08
CURRENT_TIME = 0x2A2B  # Current Time Service (0x1805): the device's clock, read to correct it
GLUCOSE_MEASUREMENT = 0x2A18
TEMPERATURE_MEASUREMENT = 0x2A1C
TEMPERATURE_TYPE = 0x2A1D
INTERMEDIATE_TEMPERATURE = 0x2A1E
GLUCOSE_MEASUREMENT_CONTEXT = 0x2A34
BLOOD_PRESSURE_MEASUREMENT = 0x2A35
INTERMEDIATE_CUFF_PRESSURE = 0x2A36
HEART_RATE_MEASUREMENT = 0x2A37
BODY_SENSOR_LOCATION = 0x2A38
BLOOD_PRESSURE_FEATURE = 0x2A49
GLUCOSE_FEATURE = 0x2A51
RECORD_ACCESS_CONTROL_POINT = 0x2A52
PLX_SPOT_CHECK_MEASUREMENT = 0x2A5E
PLX_CONTINUOUS_MEASUREMENT = 0x2A5F
PLX_FEATURES = 0x2A60
BODY_COMPOSITION_MEASUREMENT = 0x2A9C
WEIGHT_MEASUREMENT = 0x2A9D
WEIGHT_SCALE_FEATURE = 0x2A9E

CHARACTERISTIC_NAMES = {
    DATE_TIME: "Date Time",
    CURRENT_TIME: "Current Time",
    GLUCOSE_MEASUREMENT: "Glucose Measurement",
    TEMPERATURE_MEASUREMENT: "Temperature Measurement",
    TEMPERATURE_TYPE: "Temperature Type",
    INTERMEDIATE_TEMPERATURE: "Intermediate Temperature",
    GLUCOSE_MEASUREMENT_CONTEXT: "Glucose Measurement Context",
    BLOOD_PRESSURE_MEASUREMENT: "Blood Pressure Measurement",
    INTERMEDIATE_CUFF_PRESSURE: "Intermediate Cuff Pressure",
    HEART_RATE_MEASUREMENT: "Heart Rate Measurement",
    BODY_SENSOR_LOCATION: "Body Sensor Location",
    BLOOD_PRESSURE_FEATURE: "Blood Pressure Feature",
    GLUCOSE_FEATURE: "Glucose Feature",
    RECORD_ACCESS_CONTROL_POINT: "Record Access Control Point",
    PLX_SPOT_CHECK_MEASUREMENT: "PLX Spot-check Measurement",
    PLX_CONTINUOUS_MEASUREMENT: "PLX Continuous Measurement",
    PLX_FEATURES: "PLX Features",
    BODY_COMPOSITION_MEASUREMENT: "Body Composition Measurement",
    WEIGHT_MEASUREMENT: "Weight Measurement",
    WEIGHT_SCALE_FEATURE: "Weight Scale Feature",
}

# The measurement characteristics the hub subscribes to, per service. Body Composition
# has no parser yet: such scales also expose the Weight Scale service, used instead.
SERVICE_MEASUREMENTS: dict[int, tuple[int, ...]] = {
    BLOOD_PRESSURE_SERVICE: (BLOOD_PRESSURE_MEASUREMENT,),
    HEALTH_THERMOMETER_SERVICE: (TEMPERATURE_MEASUREMENT,),
    GLUCOSE_SERVICE: (GLUCOSE_MEASUREMENT,),
    WEIGHT_SCALE_SERVICE: (WEIGHT_MEASUREMENT,),
    PULSE_OXIMETER_SERVICE: (PLX_SPOT_CHECK_MEASUREMENT, PLX_CONTINUOUS_MEASUREMENT),
    HEART_RATE_SERVICE: (HEART_RATE_MEASUREMENT,),
    BODY_COMPOSITION_SERVICE: (),
}

_PARSERS: dict[int, Callable[[bytes], Measurement]] = {
    BLOOD_PRESSURE_MEASUREMENT: _p.parse_blood_pressure,
    TEMPERATURE_MEASUREMENT: _p.parse_temperature,
    GLUCOSE_MEASUREMENT: _p.parse_glucose,
    WEIGHT_MEASUREMENT: _p.parse_weight,
    PLX_SPOT_CHECK_MEASUREMENT: _p.parse_plx_spot_check,
    PLX_CONTINUOUS_MEASUREMENT: _p.parse_plx_continuous,
    HEART_RATE_MEASUREMENT: _p.parse_heart_rate,
}
_SERVICE_DATA_PARSERS: dict[int, Callable[[bytes], Measurement]] = {
    WEIGHT_SCALE_SERVICE: _p.parse_weight_scale_service_data,
}
_ENCODERS: dict[type, tuple[int, Callable]] = {
    _p.BloodPressureMeasurement: (BLOOD_PRESSURE_MEASUREMENT, _p.encode_blood_pressure),
    _p.TemperatureMeasurement: (TEMPERATURE_MEASUREMENT, _p.encode_temperature),
    _p.GlucoseMeasurement: (GLUCOSE_MEASUREMENT, _p.encode_glucose),
    _p.WeightMeasurement: (WEIGHT_MEASUREMENT, _p.encode_weight),
    _p.PlxSpotCheckMeasurement: (PLX_SPOT_CHECK_MEASUREMENT, _p.encode_plx_spot_check),
    _p.PlxContinuousMeasurement: (PLX_CONTINUOUS_MEASUREMENT, _p.encode_plx_continuous),
    _p.HeartRateMeasurement: (HEART_RATE_MEASUREMENT, _p.encode_heart_rate),
}

_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


class UnknownUUID(LookupError):
    """A UUID the hub has no parser for (a programming or configuration error, not bad data)."""


def full_uuid(short: int) -> str:
    """The 128-bit string form of a 16-bit SIG UUID, lower case as bleak reports it.

    :param short: e.g. ``0x2A35``.
    :returns: e.g. ``"00002a35-0000-1000-8000-00805f9b34fb"``.
    """
    if not 0 <= short <= 0xFFFF:
        raise ValueError(f"not a 16-bit UUID: {short!r}")
    return f"0000{short:04x}{_BASE_SUFFIX}"


def uuid16(value: int | str | _uuid.UUID) -> int:
    """The 16-bit SIG number of a UUID given in any usual form.

    :param value: ``0x2A35``, ``"2a35"``, ``"0x2A35"``, ``"00002a35-0000-1000-8000-00805f9b34fb"``
        or a :class:`uuid.UUID`.
    :raises ValueError: not a UUID on the Bluetooth SIG base.
    """
    if isinstance(value, int):
        if 0 <= value <= 0xFFFF:
            return value
        raise ValueError(f"not a 16-bit UUID: {value!r}")
    text = str(value).strip().lower()
    if len(text) <= 6:
        try:
            return uuid16(int(text.removeprefix("0x"), 16))
        except ValueError:
            raise ValueError(f"not a 16-bit UUID: {value!r}") from None
    if len(text) == 36 and text.startswith("0000") and text.endswith(_BASE_SUFFIX):
        try:
            return int(text[4:8], 16)
        except ValueError:
            pass
    raise ValueError(f"not a Bluetooth SIG UUID: {value!r}")


def service_name(service: int | str | _uuid.UUID) -> str:
    """The name a person sees for a health service, e.g. ``"Blood pressure monitor"``.

    :raises UnknownUUID: not one of the hub's health services.
    """
    short = uuid16(service)
    try:
        return SERVICE_NAMES[short]
    except KeyError:
        raise UnknownUUID(f"0x{short:04X} is not a health service the hub knows") from None


def _run(parser: Callable[[bytes], Measurement], data: bytes, label: str,
         rejections: Counter | None) -> Measurement:
    try:
        return parser(data)
    except MalformedPayload as exc:
        # The reason names fields, never values; the bytes (health data) only at DEBUG.
        _log.warning("Rejected %s payload of %d bytes: %s", label, len(data), exc.reason)
        _log.debug("Rejected %s payload: %s", label, bytes(data).hex(" "))
        if rejections is not None:
            rejections[exc.characteristic] += 1
        raise


def parse(char_uuid: int | str | _uuid.UUID, data: bytes, *,
          rejections: Counter | None = None) -> Measurement:
    """Parse a health measurement characteristic value, choosing the parser by UUID.

    :param char_uuid: the characteristic's UUID in any form :func:`uuid16` takes.
    :param data: the value as received (bytes or bytearray).
    :param rejections: a counter to add 1 to, keyed by the short characteristic name
        (``"blood pressure"``, ``"glucose"``…), for each rejected payload.
    :returns: the measurement dataclass; call ``.to_reading()`` for the store's dict.
    :raises MalformedPayload: the payload is malformed or carries no reading
        (:class:`~hub.sensors.ble.parsers.NoReading`); logged at WARNING and counted.
    :raises UnknownUUID: no parser for this characteristic.
    """
    short = uuid16(char_uuid)
    parser = _PARSERS.get(short)
    if parser is None:
        raise UnknownUUID(f"no parser for characteristic 0x{short:04X} "
                          f"({CHARACTERISTIC_NAMES.get(short, 'unknown')})")
    return _run(parser, data, CHARACTERISTIC_NAMES[short], rejections)


def parse_service_data(service_uuid: int | str | _uuid.UUID, data: bytes, *,
                       rejections: Counter | None = None) -> Measurement:
    """Parse advertised service data (today: Weight Scale 0x181D) into a measurement.

    :param service_uuid: the service UUID the data is keyed by.
    :param data: the service data after the UUID.
    :param rejections: as for :func:`parse`.
    :raises MalformedPayload: malformed, or no reading; logged and counted.
    :raises UnknownUUID: the hub reads no measurement from this service's data.
    """
    short = uuid16(service_uuid)
    parser = _SERVICE_DATA_PARSERS.get(short)
    if parser is None:
        raise UnknownUUID(f"no service-data parser for service 0x{short:04X}")
    return _run(parser, data, f"{SERVICE_NAMES[short]} service data", rejections)


def parse_advertisement(service_data: Mapping[str, bytes], *,
                        rejections: Counter | None = None) -> list[Measurement]:
    """Every measurement found in an advertisement's service data.

    Entries for other services are skipped; malformed ones are logged, counted and
    skipped, so a scanner callback can call this on every advertisement.

    :param service_data: bleak's ``AdvertisementData.service_data`` (UUID string → bytes).
    :param rejections: as for :func:`parse`.
    """
    found = []
    for key, data in service_data.items():
        try:
            short = uuid16(key)
        except ValueError:
            continue  # a vendor 128-bit UUID
        if short in _SERVICE_DATA_PARSERS:
            try:
                found.append(parse_service_data(short, data, rejections=rejections))
            except MalformedPayload:
                pass  # already logged and counted
    return found


def encode(measurement: Measurement) -> tuple[int, bytes]:
    """Encode a measurement as its characteristic value, for simulated devices and tests.

    :param measurement: any measurement dataclass from :mod:`hub.sensors.ble.parsers`.
    :returns: ``(characteristic 16-bit UUID, value bytes)``.
    :raises ValueError: a value cannot be represented on the wire.
    :raises UnknownUUID: not a measurement type this module knows.
    """
    try:
        char, encoder = _ENCODERS[type(measurement)]
    except KeyError:
        raise UnknownUUID(f"no encoder for {type(measurement).__name__}") from None
    return char, encoder(measurement)
