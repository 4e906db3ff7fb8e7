"""Map the hub's health readings and SOS alarms to HL7 FHIR R4 resources, as plain JSON dicts.

This module owns the FHIR *shape* of what the hub knows: one reading becomes one or
more ``Observation`` resources conforming to the FHIR Vital Signs profile
(hl7.org/fhir/R4/observation-vitalsigns.html), many readings become a ``Bundle``
(built in memory, or streamed to a file for large exports), and an SOS alarm becomes a
``Communication``. It does not send anything (that is the outbox and the platform
client), read the store, or parse device bytes; it has no I/O except the file object
handed to :func:`write_bundle`.

The choices below are part of the wire contract. Platforms deduplicate on them, so
changing any of them re-creates every reading ever sent.

Identifiers
    Every resource carries one identifier with system ``urn:ietf:rfc:3986`` (FHIR's
    system for "the value is itself a URI"). The reading's main observation has the
    value ``urn:uuid:<reading id>``: the hub's own idempotency key (lower case). An
    observation *derived* from the same reading (the pulse a blood-pressure cuff or
    oximeter reports, BMI and height from a scale, glucose in mg/dL) gets
    ``urn:uuid:<uuid5(reading id, part)>``, where *part* is the name of the value
    (``"pulse"``, ``"bmi"``, ``"height"``, ``"glucose_mg_dl"``). The values are stable
    across calls and across hubs, unique per observation, and recomputable by the
    platform (:func:`observation_identifier`). A suffix such as ``urn:uuid:<id>#pulse``
    was rejected: it is not a UUID URN any more, and ``#`` ends the query part of the
    conditional-create URL (``ifNoneExist``) unless escaped, so a server that reads it
    naively would search for the wrong identifier and store the reading twice. The
    same ``urn:uuid`` value is used as the entry's ``fullUrl`` in bundles.

Time
    ``effectiveDateTime`` is when the person was measured. A device's own time stamp
    is device-local with no zone, and its clock drifts or was never set, so it is used
    only once corrected: when the hub read the device's clock (Current Time, 0x2A2B) on
    the same connection, it knows ``offset = hub UTC − device clock`` and the reading
    carries ``extra["device_time_utc"]`` = device time + offset (see
    :mod:`hub.sensors.ble.service`). Then a record downloaded hours later from a glucose
    meter's memory is exported at the hour it was measured. Without a known offset the
    hub does not guess a time zone: ``effectiveDateTime`` is ``measured_at``, the time
    the hub received the reading. Either way ``issued`` is ``measured_at`` (the receive
    time, UTC), and the device time is kept, exactly as sent, in the ``device-time``
    extension (:data:`EXT_DEVICE_TIME`, ``valueString``).

Values beyond the device's range
    A glucose meter's LO/HI (IEEE 11073 −INF/+INF) is stored with the value ``None`` and
    ``extra["out_of_range"]``. Its observation has no ``valueQuantity`` but a
    ``dataAbsentReason`` (``negative-infinity`` / ``positive-infinity``, whose text says
    "below/above the meter's measuring range") and the ``interpretation`` ``<`` / ``>``
    ("off scale low/high", v3 ObservationInterpretation). A number the meter flags as
    its range limit keeps its value with the ``comparator`` ``>=`` / ``<=``.

Glucose sample
    The LOINC code follows the fluid the meter measured (GLS "Type"):
    capillary whole blood 14743-9 / 41653-7 ("in Capillary blood by Glucometer"),
    any plasma 14749-6 / 2345-7 ("in Serum or Plasma"), other whole blood
    15074-8 / 2339-0 ("in Blood"), interstitial fluid 105272-9 / 99504-3 (a CGM); the
    first of each pair is mmol/L, the second mg/dL. A reading that does not say (e.g.
    typed in through the local API) is taken as capillary blood from a glucometer. The
    sample location (finger, alternate site, earlobe) is the ``bodySite`` text.

Clock state
    Every observation and SOS carries the :data:`EXT_HUB_CLOCK` extension with
    ``valueCode`` ``synchronised``, ``not-synchronised`` or ``unknown``. When it is
    not ``synchronised``, a ``note`` also says in words that the time may be wrong,
    so a person reading the record sees it too.

Devices
    ``Observation.device`` is a logical reference (no Device resource needs to
    exist): identifier system ``http://hl7.org/fhir/sid/eui-48/bluetooth`` and the
    address in EUI-48 form ``AA-BB-CC-DD-EE-FF``, as in the HL7 Personal Health
    Device IG, with the device's name as ``display``. The hub itself is named with
    the core ``observation-gatewayDevice`` extension.
"""

import copy
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from hub.errors import HubError

__all__ = [
    "FhirMappingError",
    "IDENTIFIER_SYSTEM",
    "BLUETOOTH_ADDRESS_SYSTEM",
    "HUB_ID_SYSTEM",
    "EXT_HUB_CLOCK",
    "EXT_DEVICE_TIME",
    "EXT_GATEWAY_DEVICE",
    "READING_KINDS",
    "FHIR_ID",
    "patient_reference",
    "observation_identifier",
    "reading_to_observations",
    "reading_to_observation",
    "observations_bundle",
    "write_bundle",
    "sos_to_communication",
]


class FhirMappingError(HubError, ValueError):
    """A reading or event cannot be expressed in FHIR; the message names its id and the problem."""


LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"

#: Identifier system of every resource made here: the value is a ``urn:uuid:`` URI.
IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
#: Bluetooth device addresses as EUI-48 (HL7 Personal Health Device IG, PhdDevice).
BLUETOOTH_ADDRESS_SYSTEM = "http://hl7.org/fhir/sid/eui-48/bluetooth"
#: The hub's own id, as given to the mapper (gateway device, SOS sender).
HUB_ID_SYSTEM = "urn:hub:hub-id"
#: Core R4 extension naming the gateway that forwarded an observation.
EXT_GATEWAY_DEVICE = "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"
#: Hub extension: was the hub clock NTP-synchronised when the fact was recorded.
EXT_HUB_CLOCK = "urn:hub:fhir:StructureDefinition:hub-clock"
#: Hub extension: the device's own time stamp, device-local, exactly as it sent it.
EXT_DEVICE_TIME = "urn:hub:fhir:StructureDefinition:device-time"

_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
_VITALSIGNS = _PROFILE + "vitalsigns"

_CLOCK_CODES = {True: "synchronised", False: "not-synchronised", None: "unknown"}
_CLOCK_NOTES = {
    False: "The time may be wrong: the hub's clock was not synchronised when this was recorded.",
    None: "The time may be wrong: the hub could not tell whether its clock was synchronised.",
}

# A FHIR dateTime with a time (hl7.org/fhir/R4/datatypes.html#dateTime): seconds are
# required and so is the zone; Python's fromisoformat alone accepts forms FHIR does not.
_DATETIME_WITH_ZONE = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))"
)
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_ABOVE, _BELOW = "above_device_range", "below_device_range"
# extra["out_of_range"] word → (data-absent-reason, interpretation, comparator, words)
_OUT_OF_RANGE = {
    _ABOVE: ("positive-infinity", (">", "Off scale high"), ">=", "above"),
    _BELOW: ("negative-infinity", ("<", "Off scale low"), "<=", "below"),
}
_DEVICE_WORDS = {"glucose": "meter", "blood_pressure": "cuff", "body_temperature": "thermometer",
                 "spo2": "oximeter"}

#: A FHIR resource id (hl7.org/fhir/R4/datatypes.html#id). ASCII only: ``\w`` would
#: also take "_" and non-ASCII letters, which FHIR does not allow.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)


def patient_reference(value: str) -> str:
    """Check a patient given as ``Patient/<id>`` or a bare ``<id>``; return the reference.

    :param value: what a person or the platform gave.
    :returns: ``"Patient/<id>"``.
    :raises ValueError: the id does not match the FHIR id pattern ``[A-Za-z0-9-.]{1,64}``
        (the message says so), or the reference is to another resource type.
    """
    text = value if isinstance(value, str) else ""
    fhir_id = text[len("Patient/"):] if text.startswith("Patient/") else text
    if "/" in fhir_id or not FHIR_ID.fullmatch(fhir_id):
        raise ValueError(
            f"{value!r} is not a FHIR patient: give Patient/<id> or <id>, where the id is "
            "1 to 64 of A-Z a-z 0-9 - . (FHIR id: [A-Za-z0-9-.]{1,64})")
    return f"Patient/{fhir_id}"


@dataclass(frozen=True)
class _Measure:
    """A LOINC-coded quantity, the UCUM units its profile allows, and where it belongs."""

    codings: tuple[tuple[str, str], ...]  # (LOINC code, display); the first is the profile's
    text: str
    units: Mapping[str, str] = field(default_factory=dict)  # UCUM code → human-readable unit
    hub_unit: str = ""  # what the hub stores when a reading's ``units`` leaves it out
    rescale: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # unit → (code, 10**n)
    profile: str | None = None  # the specific R4 vital-signs profile, if there is one
    category: str = "vital-signs"


def _measure(code, display, units, hub_unit=None, **kw) -> _Measure:
    return _Measure(((code, display),), display, units, hub_unit or next(iter(units)), **kw)


# LOINC codes and UCUM units: hl7.org/fhir/R4/observation-vitalsigns.html, table of
# vital signs, and the required unit value sets of each profile (ucum-vitals-common,
# ucum-bodytemp, ucum-bodyweight, ucum-bodylength).
_SYSTOLIC = _measure("8480-6", "Systolic blood pressure", {"mm[Hg]": "mmHg"})
_DIASTOLIC = _measure("8462-4", "Diastolic blood pressure", {"mm[Hg]": "mmHg"})
_MEAN_ARTERIAL = _measure("8478-0", "Mean blood pressure", {"mm[Hg]": "mmHg"})
_BP_PANEL = _Measure(
    (("85354-9", "Blood pressure panel with all children optional"),),
    "Blood pressure",
    profile=_PROFILE + "bp",
)
_HEART_RATE = _measure(
    "8867-4", "Heart rate", {"/min": "beats/minute"}, profile=_PROFILE + "heartrate"
)
_BODY_TEMPERATURE = _measure(
    "8310-5", "Body temperature", {"Cel": "C", "[degF]": "degF"}, profile=_PROFILE + "bodytemp"
)
_BODY_WEIGHT = _measure(
    "29463-7",
    "Body weight",
    {"kg": "kg", "g": "g", "[lb_av]": "lb"},
    profile=_PROFILE + "bodyweight",
)
_BMI = _measure(
    "39156-5", "Body mass index (BMI) [Ratio]", {"kg/m2": "kg/m2"}, profile=_PROFILE + "bmi"
)
# The R4 bodyheight profile allows only cm and [in_i] (required binding, ucum-bodylength);
# the hub stores metres, so they are rescaled exactly (decimal, not float arithmetic).
_BODY_HEIGHT = _measure(
    "8302-2",
    "Body height",
    {"cm": "cm", "[in_i]": "in"},
    hub_unit="m",
    rescale={"m": ("cm", 2)},
    profile=_PROFILE + "bodyheight",
)
# The oxygensat profile requires 2708-6; 59408-5 says how it was measured (pulse oximetry).
_SPO2 = _Measure(
    (
        ("2708-6", "Oxygen saturation in Arterial blood"),
        ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    ),
    "Oxygen saturation",
    {"%": "%"},
    "%",
    profile=_PROFILE + "oxygensat",
)
# Glucose is a laboratory result, not a vital sign: no vital-signs profile applies.
def _glucose(molar: str, mass: str, system: str) -> tuple[_Measure, _Measure]:
    return (
        _measure(molar, f"Glucose [Moles/volume] in {system}", {"mmol/L": "mmol/L"},
                 category="laboratory"),
        _measure(mass, f"Glucose [Mass/volume] in {system}", {"mg/dL": "mg/dL"},
                 category="laboratory"),
    )


# LOINC by sample (GSS "Glucose Measurement", Type): loinc.org; gematik HDDT value sets
# "Blood Glucose Measurement" and "Continuous Glucose Measurement".
_GLUCOSE_CAPILLARY = _glucose("14743-9", "41653-7", "Capillary blood by Glucometer")
_GLUCOSE_BLOOD = _glucose("15074-8", "2339-0", "Blood")
_GLUCOSE_PLASMA = _glucose("14749-6", "2345-7", "Serum or Plasma")
_GLUCOSE_ISF = _glucose("105272-9", "99504-3", "Interstitial fluid")
_GLUCOSE_MOLAR, _GLUCOSE_MASS = _GLUCOSE_CAPILLARY
_GLUCOSE_BY_SAMPLE = {
    "capillary_whole_blood": _GLUCOSE_CAPILLARY,
    "capillary_plasma": _GLUCOSE_PLASMA,
    "venous_whole_blood": _GLUCOSE_BLOOD,
    "venous_plasma": _GLUCOSE_PLASMA,
    "arterial_whole_blood": _GLUCOSE_BLOOD,
    "arterial_plasma": _GLUCOSE_PLASMA,
    "undetermined_whole_blood": _GLUCOSE_BLOOD,
    "undetermined_plasma": _GLUCOSE_PLASMA,
    "interstitial_fluid": _GLUCOSE_ISF,
}
_SAMPLE_SITES = {
    "finger": "Finger",
    "alternate_site_test": "Alternate site (not a fingertip)",
    "earlobe": "Earlobe",
}


@dataclass(frozen=True)
class _Kind:
    """How one kind of reading maps: its main observation, then one per optional extra value."""

    main: _Measure
    value: str | None = None  # the main value's name; None for a panel
    components: tuple[tuple[str, _Measure, bool], ...] = ()  # (name, measure, required)
    derived: tuple[tuple[str, _Measure], ...] = ()  # (value name = identifier part, measure)

    def required(self) -> list[str]:
        if self.value:
            return [self.value]
        return [name for name, _, needed in self.components if needed]


_KINDS = {
    "blood_pressure": _Kind(
        _BP_PANEL,
        components=(
            ("systolic", _SYSTOLIC, True),
            ("diastolic", _DIASTOLIC, True),
            ("mean_arterial", _MEAN_ARTERIAL, False),
        ),
        # A cuff's pulse is a heart rate of its own, not a BP component (8867-4 is not
        # in the bp profile's component slices).
        derived=(("pulse", _HEART_RATE),),
    ),
    "heart_rate": _Kind(_HEART_RATE, "heart_rate"),
    "body_temperature": _Kind(_BODY_TEMPERATURE, "temperature"),
    "body_weight": _Kind(_BODY_WEIGHT, "weight", derived=(("bmi", _BMI), ("height", _BODY_HEIGHT))),
    "spo2": _Kind(_SPO2, "spo2", derived=(("pulse", _HEART_RATE),)),
    # One blood drop, two units: each observation carries the LOINC code of its unit,
    # so a platform keeps the code it charts and never counts the drop twice.
    "glucose": _Kind(_GLUCOSE_MOLAR, "glucose", derived=(("glucose_mg_dl", _GLUCOSE_MASS),)),
}

#: The reading kinds this module maps.
READING_KINDS = tuple(_KINDS)


def observation_identifier(reading_id: str, part: str | None = None) -> str:
    """Return the identifier value (and ``fullUrl``) of one observation made from a reading.

    :param reading_id: the reading's UUID.
    :param part: None for the reading's main observation; the value's name (``"pulse"``,
        ``"bmi"``, ``"height"``, ``"glucose_mg_dl"``) for an observation derived from it.
    :returns: ``urn:uuid:<reading id>`` or ``urn:uuid:<uuid5(reading id, part)>``.
    :raises ValueError: the reading id is not a UUID.
    """
    base = uuid.UUID(reading_id)
    return f"urn:uuid:{base if part is None else uuid.uuid5(base, part)}"


def reading_to_observations(reading: Mapping, *, patient_ref: str, hub_id: str) -> list[dict]:
    """Map one stored health reading to its FHIR R4 Observations.

    The first observation is the reading's main measure (the BP panel, the weight, …);
    the others are values the same device reported alongside it (pulse, BMI, height,
    glucose in mg/dL), each an observation of its own with its own identifier.

    :param reading: the reading dict as the store keeps it.
    :param patient_ref: the FHIR reference of the elder, e.g. ``"Patient/123"``.
    :param hub_id: this hub's id, named as the gateway device.
    :returns: Observations as plain JSON-ready dicts.
    :raises FhirMappingError: unknown kind, missing or non-numeric value, a unit the
        profile does not allow, or a bad id or time stamp.
    :raises ValueError: ``patient_ref`` or ``hub_id`` is empty.
    """
    if not patient_ref or not hub_id:
        raise ValueError(
            f"patient_ref ({patient_ref!r}) and hub_id ({hub_id!r}) are both needed; "
            "is the hub enrolled with the care platform?"
        )
    rid = _reading_id(reading)
    kind = _KINDS.get(reading.get("kind"))
    if kind is None:
        raise FhirMappingError(
            f"reading {rid}: unknown kind {reading.get('kind')!r}; "
            f"known kinds: {', '.join(READING_KINDS)}"
        )
    values = reading.get("values")
    if not isinstance(values, Mapping):
        raise FhirMappingError(f"reading {rid}: 'values' must be a dict of name → number")
    extra = reading.get("extra") if isinstance(reading.get("extra"), Mapping) else {}
    flags = extra.get("out_of_range") if isinstance(extra.get("out_of_range"), Mapping) else {}
    out_of_range = {k: v for k, v in flags.items() if v in _OUT_OF_RANGE}
    if reading["kind"] == "glucose":
        molar, mass = _GLUCOSE_BY_SAMPLE.get(extra.get("sample_type"), _GLUCOSE_CAPILLARY)
        kind = _Kind(molar, "glucose", derived=(("glucose_mg_dl", mass),))
    present = {name for name, v in values.items() if v is not None} | set(out_of_range)
    missing = [name for name in kind.required() if name not in present]
    if missing:
        raise FhirMappingError(
            f"reading {rid}: a {reading['kind']} reading needs the value(s) "
            f"{', '.join(kind.required())}; missing: {', '.join(missing)}"
        )
    common = _common(reading, rid, patient_ref=patient_ref, hub_id=hub_id)
    site = _SAMPLE_SITES.get(extra.get("sample_location")) if reading["kind"] == "glucose" \
        else None

    def value(name: str, measure: _Measure) -> dict:
        return _value(reading, rid, name, measure, out_of_range.get(name))

    main = _observation(rid, None, kind.main, common)
    if kind.value:
        main.update(value(kind.value, kind.main))
    else:
        # A panel has no value of its own: vs-2 is met by its components
        # (hl7.org/fhir/R4/observation-vitalsigns.html, "bp" profile).
        main["component"] = [
            {"code": _code(measure), **value(name, measure)}
            for name, measure, _ in kind.components
            if name in present
        ]
    observations = [main]
    for name, measure in kind.derived:
        if name in present:
            derived = _observation(rid, name, measure, common)
            derived.update(value(name, measure))
            observations.append(derived)
    if site:
        for observation in observations:
            observation["bodySite"] = {"text": site}
    return observations


def reading_to_observation(reading: Mapping, *, patient_ref: str, hub_id: str) -> dict:
    """Map a reading to its main Observation only (pulse, BMI, … are left out).

    Use :func:`reading_to_observations` to send everything a reading holds.

    :param reading: the reading dict as the store keeps it.
    :param patient_ref: the FHIR reference of the elder.
    :param hub_id: this hub's id.
    :raises FhirMappingError: as :func:`reading_to_observations`.
    """
    return reading_to_observations(reading, patient_ref=patient_ref, hub_id=hub_id)[0]


def observations_bundle(
    readings: Iterable[Mapping],
    *,
    patient_ref: str,
    hub_id: str,
    bundle_type: str = "collection",
) -> dict:
    """Build a Bundle of every observation of the given readings, in memory.

    In a ``"transaction"`` bundle each entry is a conditional create
    (``ifNoneExist`` on its identifier), so sending the same readings again stores
    nothing new. For large exports use :func:`write_bundle`, which gives the same JSON.

    :param readings: the readings, in the order they should appear.
    :param patient_ref: the FHIR reference of the elder.
    :param hub_id: this hub's id.
    :param bundle_type: ``"collection"`` or ``"transaction"``.
    :raises FhirMappingError: a reading cannot be mapped (nothing is returned).
    """
    bundle = _bundle_header(bundle_type)
    entries = list(_entries(readings, patient_ref, hub_id, bundle_type, on_error=None))
    if entries:  # FHIR JSON forbids empty arrays (hl7.org/fhir/R4/json.html)
        bundle["entry"] = entries
    return bundle


def write_bundle(
    fp: TextIO,
    readings: Iterable[Mapping],
    *,
    patient_ref: str,
    hub_id: str,
    bundle_type: str = "collection",
    on_error: Callable[[FhirMappingError], None] | None = None,
) -> int:
    """Stream a Bundle of the readings' observations to a text file, one entry at a time.

    Only one reading's observations are in memory at once, so ``readings`` can be a
    generator over the whole store. The JSON is the same as :func:`observations_bundle`.

    If a reading cannot be mapped and ``on_error`` is None, :class:`FhirMappingError`
    propagates and the file is left incomplete: write to a temporary file and rename
    it when this returns.

    :param fp: a text file open for writing; it is not closed.
    :param readings: the readings, in the order they should appear.
    :param patient_ref: the FHIR reference of the elder.
    :param hub_id: this hub's id.
    :param bundle_type: ``"collection"`` or ``"transaction"``.
    :param on_error: called with the error for each reading that cannot be mapped,
        which is then left out; None to stop at the first one.
    :returns: the number of entries (observations) written.
    """
    header = json.dumps(_bundle_header(bundle_type), separators=(",", ":"))
    fp.write(header[:-1])  # leave the object open for "entry"
    count = 0
    for entry in _entries(readings, patient_ref, hub_id, bundle_type, on_error=on_error):
        fp.write(',"entry":[' if count == 0 else ",")
        fp.write(json.dumps(entry, separators=(",", ":"), allow_nan=False))
        count += 1
    fp.write("]}" if count else "}")
    return count


def sos_to_communication(
    event: Mapping, *, patient_ref: str | None = None, hub_id: str | None = None
) -> dict:
    """Map an SOS alarm to an R4 Communication with priority ``stat``.

    :param event: ``{"id", "occurred_at", "clock_synced", "kind": "sos", "payload": {...}}``;
        ``payload["source"]`` (button, touch, voice), if there, is named in the text.
    :param patient_ref: the FHIR reference of the elder, if known.
    :param hub_id: this hub's id, given as the sender, if known.
    :raises FhirMappingError: not an SOS event, or a bad id or time stamp.
    """
    eid = _reading_id(event, what="event")
    if event.get("kind") != "sos":
        raise FhirMappingError(f"event {eid}: kind is {event.get('kind')!r}, expected 'sos'")
    sent = _datetime(event, eid, "occurred_at", what="event")
    payload = event.get("payload") or {}
    source = payload.get("source") if isinstance(payload, Mapping) else None
    text = "SOS alarm from the home hub" + (f" (raised by {source})" if source else "")
    communication = {
        "resourceType": "Communication",
        "extension": [_clock_extension(event)],
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{eid}"}],
        "status": "completed",
        # communication-category "alert": a notification requiring attention now.
        "category": [{"coding": [{"system": COMMUNICATION_CATEGORY, "code": "alert"}]}],
        "priority": "stat",
        "sent": sent,
        "payload": [{"contentString": text}],
    }
    if patient_ref:
        communication["subject"] = {"reference": patient_ref}
    if hub_id:
        communication["sender"] = _hub_reference(hub_id)
    if _clock_state(event) is not True:
        communication["note"] = [{"text": _CLOCK_NOTES[_clock_state(event)]}]
    return communication


# --- helpers ---------------------------------------------------------------------------


def _reading_id(thing: Mapping, what: str = "reading") -> str:
    rid = thing.get("id") if isinstance(thing, Mapping) else None
    try:
        return str(uuid.UUID(rid))
    except (TypeError, ValueError, AttributeError):
        raise FhirMappingError(f"{what} id {rid!r} is not a UUID") from None


def _datetime(thing: Mapping, rid: str, key: str, what: str = "reading") -> str:
    stamp = thing.get(key)
    if not isinstance(stamp, str) or not _DATETIME_WITH_ZONE.fullmatch(stamp):
        raise FhirMappingError(
            f"{what} {rid}: {key} {stamp!r} is not an RFC 3339 time with a zone "
            "(e.g. 2026-11-25T08:05:00Z)"
        )
    return stamp


def _common(reading: Mapping, rid: str, *, patient_ref: str, hub_id: str) -> dict:
    """What every observation of one reading shares: subject, time, device, clock state."""
    device_time = reading.get("device_time")
    extensions = [_clock_extension(reading)]
    if device_time is not None:
        extensions.append({"url": EXT_DEVICE_TIME, "valueString": str(device_time)})
    extensions.append({"url": EXT_GATEWAY_DEVICE, "valueReference": _hub_reference(hub_id)})
    received = _datetime(reading, rid, "measured_at")
    extra = reading.get("extra") if isinstance(reading.get("extra"), Mapping) else {}
    measured = received
    if extra.get("device_time_utc") is not None:
        # the device's own time, corrected by the clock offset the hub measured
        measured = _datetime(extra, rid, "device_time_utc")
    common = {
        "extension": extensions,
        "subject": {"reference": patient_ref},
        "effectiveDateTime": measured,
        "issued": received,
    }
    device = reading.get("device")
    if device is not None:
        if not isinstance(device, Mapping):
            raise FhirMappingError(f"reading {rid}: 'device' must be a dict or None")
        common["device"] = _device_reference(device)
    notes = []
    clock = _clock_state(reading)
    if clock is not True:
        text = _CLOCK_NOTES[clock]
        if device_time is not None:
            text += f" The device's own time stamp was {device_time} (its local time)."
        notes.append({"text": text})
    implausible = extra.get("implausible")
    if isinstance(implausible, Mapping):
        notes += [{"text": f"The hub flagged this value as implausible: {why}"}
                  for why in implausible.values() if isinstance(why, str) and why.strip()]
    if notes:
        common["note"] = notes
    return common


def _clock_state(thing: Mapping) -> bool | None:
    """True, False, or None for anything else (unknown)."""
    state = thing.get("clock_synced")
    return state if isinstance(state, bool) else None


def _clock_extension(thing: Mapping) -> dict:
    return {"url": EXT_HUB_CLOCK, "valueCode": _CLOCK_CODES[_clock_state(thing)]}


def _hub_reference(hub_id: str) -> dict:
    return {
        "type": "Device",
        "identifier": {"system": HUB_ID_SYSTEM, "value": str(hub_id)},
        "display": "Home hub",
    }


def _device_reference(device: Mapping) -> dict:
    ref: dict = {"type": "Device"}
    address = device.get("address")
    if address:
        if _MAC.fullmatch(address):
            ref["identifier"] = {
                "system": BLUETOOTH_ADDRESS_SYSTEM,
                "value": address.upper().replace(":", "-"),
            }
        else:  # not a BD_ADDR (e.g. a simulated device): keep it, without claiming a system
            ref["identifier"] = {"value": address}
    if device.get("name"):
        ref["display"] = device["name"]
    return ref


def _code(measure: _Measure) -> dict:
    codings = [{"system": LOINC, "code": code, "display": shown} for code, shown in measure.codings]
    return {"coding": codings, "text": measure.text}


def _observation(rid: str, part: str | None, measure: _Measure, common: dict) -> dict:
    # A deep copy: sibling observations of one reading must not share nested dicts.
    shared = copy.deepcopy(common)
    observation: dict = {"resourceType": "Observation"}
    if measure.profile:
        observation["meta"] = {"profile": [_VITALSIGNS, measure.profile]}
    observation["extension"] = shared["extension"]
    observation["identifier"] = [
        {"system": IDENTIFIER_SYSTEM, "value": observation_identifier(rid, part)}
    ]
    observation["status"] = "final"
    observation["category"] = [
        {"coding": [{"system": OBSERVATION_CATEGORY, "code": measure.category}]}
    ]
    observation["code"] = _code(measure)
    observation["subject"] = shared["subject"]
    observation["effectiveDateTime"] = shared["effectiveDateTime"]
    observation["issued"] = shared["issued"]
    for optional in ("device", "note"):
        if optional in shared:
            observation[optional] = shared[optional]
    return observation


def _value(reading: Mapping, rid: str, name: str, measure: _Measure,
           out_of_range: str | None) -> dict:
    """The value part of an observation or component: a quantity, or why there is none."""
    if out_of_range is None:
        return {"valueQuantity": _quantity(reading, rid, name, measure)}
    absent, (code, display), comparator, side = _OUT_OF_RANGE[out_of_range]
    interpretation = [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}],
                       "text": f"{side.capitalize()} the device's measuring range"}]
    if reading["values"].get(name) is not None:
        # The number the device sent is its range limit: the true value is beyond it.
        quantity = _quantity(reading, rid, name, measure)
        return {"valueQuantity": {"value": quantity["value"], "comparator": comparator,
                                  **{k: quantity[k] for k in ("unit", "system", "code")}},
                "interpretation": interpretation}
    device = _DEVICE_WORDS.get(reading.get("kind"), "device")
    return {
        "dataAbsentReason": {
            "coding": [{"system": DATA_ABSENT_REASON, "code": absent,
                        "display": absent.replace("-", " ").capitalize()}],
            "text": f"{side.capitalize()} the {device}'s measuring range "
                    f"({'HI' if side == 'above' else 'LO'}): no number",
        },
        "interpretation": interpretation,
    }


def _quantity(reading: Mapping, rid: str, name: str, measure: _Measure) -> dict:
    value = reading["values"].get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FhirMappingError(f"reading {rid}: value {name} = {value!r} is not a finite number")
    units = reading.get("units")
    unit = units.get(name, measure.hub_unit) if isinstance(units, Mapping) else measure.hub_unit
    if unit in measure.rescale:
        unit, power = measure.rescale[unit]
        value = float(Decimal(repr(value)).scaleb(power))
    if unit not in measure.units:
        raise FhirMappingError(
            f"reading {rid}: {name} is in {unit!r}; the FHIR profile allows "
            f"{', '.join(measure.units)} (UCUM)"
        )
    return {"value": value, "unit": measure.units[unit], "system": UCUM, "code": unit}


def _bundle_header(bundle_type: str) -> dict:
    if bundle_type not in ("collection", "transaction"):
        raise ValueError(f"bundle_type must be 'collection' or 'transaction', not {bundle_type!r}")
    return {"resourceType": "Bundle", "type": bundle_type}


def _entries(
    readings: Iterable[Mapping],
    patient_ref: str,
    hub_id: str,
    bundle_type: str,
    on_error: Callable[[FhirMappingError], None] | None,
) -> Iterator[dict]:
    for reading in readings:
        try:
            observations = reading_to_observations(reading, patient_ref=patient_ref, hub_id=hub_id)
        except FhirMappingError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        for observation in observations:
            identifier = observation["identifier"][0]
            entry = {"fullUrl": identifier["value"], "resource": observation}
            if bundle_type == "transaction":
                # Conditional create (hl7.org/fhir/R4/http.html#ccreate): no match → 201,
                # one match → 200 and nothing stored, so a replayed batch is harmless.
                # The value is [0-9a-f:-] only, so it needs no URL escaping.
                entry["request"] = {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
                }
            yield entry
