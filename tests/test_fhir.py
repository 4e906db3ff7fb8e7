"""FHIR R4 mapping of readings and SOS alarms (hub/sync/fhir.py).

Resources are validated with an independent library, fhir.resources' R4B models
(R4B has the same Observation, Bundle and Communication as R4). Those models check
structure only — not codes, bindings, profiles or the JSON rule against empty arrays —
so :func:`check_fhir_rules` checks what the Vital Signs profile adds, by hand.
"""

import io
import json
import uuid

import pytest

pytest.importorskip("fhir.resources", minversion="8")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.communication import Communication  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402

from hub.errors import HubError  # noqa: E402
from hub.sync.fhir import (  # noqa: E402
    BLUETOOTH_ADDRESS_SYSTEM,
    EXT_DEVICE_TIME,
    EXT_GATEWAY_DEVICE,
    EXT_HUB_CLOCK,
    HUB_ID_SYSTEM,
    IDENTIFIER_SYSTEM,
    READING_KINDS,
    FhirMappingError,
    observation_identifier,
    observations_bundle,
    reading_to_observation,
    reading_to_observations,
    sos_to_communication,
    write_bundle,
)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VS = "http://hl7.org/fhir/StructureDefinition/"
PATIENT = "Patient/elder-17"
HUB = "hub-0042"

# Every value each kind can carry, with the hub's units.
FULL = {
    "blood_pressure": (
        {"systolic": 128.0, "diastolic": 82.0, "mean_arterial": 97.3, "pulse": 64.0},
        {"systolic": "mm[Hg]", "diastolic": "mm[Hg]", "mean_arterial": "mm[Hg]", "pulse": "/min"},
    ),
    "heart_rate": ({"heart_rate": 71.0}, {"heart_rate": "/min"}),
    "body_temperature": ({"temperature": 36.6}, {"temperature": "Cel"}),
    "body_weight": (
        {"weight": 61.4, "bmi": 22.3, "height": 1.66},
        {"weight": "kg", "bmi": "kg/m2", "height": "m"},
    ),
    "spo2": ({"spo2": 97.0, "pulse": 68.0}, {"spo2": "%", "pulse": "/min"}),
    "glucose": (
        {"glucose": 6.1, "glucose_mg_dl": 110.0},
        {"glucose": "mmol/L", "glucose_mg_dl": "mg/dL"},
    ),
}

# kind → [(LOINC code(s), UCUM code or None for a panel, specific profile or None, category)]
EXPECTED = {
    "blood_pressure": [
        (["85354-9"], None, "bp", "vital-signs"),
        (["8867-4"], "/min", "heartrate", "vital-signs"),
    ],
    "heart_rate": [(["8867-4"], "/min", "heartrate", "vital-signs")],
    "body_temperature": [(["8310-5"], "Cel", "bodytemp", "vital-signs")],
    "body_weight": [
        (["29463-7"], "kg", "bodyweight", "vital-signs"),
        (["39156-5"], "kg/m2", "bmi", "vital-signs"),
        (["8302-2"], "cm", "bodyheight", "vital-signs"),
    ],
    "spo2": [
        (["2708-6", "59408-5"], "%", "oxygensat", "vital-signs"),
        (["8867-4"], "/min", "heartrate", "vital-signs"),
    ],
    "glucose": [
        (["14743-9"], "mmol/L", None, "laboratory"),
        (["41653-7"], "mg/dL", None, "laboratory"),
    ],
}


def make_reading(template="blood_pressure", **changes):
    """A reading of kind ``template`` with every value it can carry; ``changes`` override keys."""
    values, units = FULL[template]
    reading = {
        "id": str(uuid.uuid4()),
        "kind": template,
        "measured_at": "2026-11-25T08:05:00Z",
        "clock_synced": True,
        "device_time": "2026-11-25T09:05:00",
        "device": {"address": "aa:bb:cc:dd:ee:0f", "name": "A&D UA-651", "kind": template},
        "values": dict(values),
        "units": dict(units),
        "extra": {},
    }
    reading.update(changes)
    return reading


def observations(reading):
    return reading_to_observations(reading, patient_ref=PATIENT, hub_id=HUB)


def codes(resource):
    return [c["code"] for c in resource["code"]["coding"]]


def extension(resource, url):
    found = [e for e in resource.get("extension", []) if e["url"] == url]
    assert len(found) <= 1, f"extension {url} repeated"
    return found[0] if found else None


def check_fhir_rules(value, path="$"):
    """What fhir.resources does not check: FHIR JSON forbids empty arrays, objects and strings,
    and the Vital Signs profile's own rules (hl7.org/fhir/R4/observation-vitalsigns.html)."""
    if isinstance(value, dict):
        assert value, f"{path}: empty object"
        for key, item in value.items():
            check_fhir_rules(item, f"{path}.{key}")
        if value.get("resourceType") == "Observation":
            check_observation_rules(value, path)
        if "valueQuantity" in value:
            quantity = value["valueQuantity"]
            assert set(quantity) - {"comparator"} == {"value", "unit", "system", "code"}, path
            assert quantity["system"] == UCUM, path
    elif isinstance(value, list):
        assert value, f"{path}: empty array"
        for i, item in enumerate(value):
            check_fhir_rules(item, f"{path}[{i}]")
    elif isinstance(value, str):
        assert value.strip(), f"{path}: empty string"


def check_observation_rules(obs, path):
    assert obs["status"] == "final", path
    assert obs["subject"] == {"reference": PATIENT}, path
    assert obs["effectiveDateTime"], path
    assert all(c["system"] == LOINC for c in obs["code"]["coding"]), path
    # vs-2: a value, components (a panel), or a data-absent reason — exactly one.
    assert [k in obs for k in ("valueQuantity", "component", "dataAbsentReason")].count(
        True) == 1, path
    # obs-6: dataAbsentReason only when there is no value.
    for part in [obs, *obs.get("component", [])]:
        assert not ("dataAbsentReason" in part and "valueQuantity" in part), path
    categories = [
        c["code"] for cat in obs["category"] for c in cat["coding"] if c["system"] == CATEGORY
    ]
    if VS + "vitalsigns" in obs.get("meta", {}).get("profile", []):
        assert categories == ["vital-signs"], path
    for component in obs.get("component", []):
        assert component["code"]["coding"][0]["system"] == LOINC, path
        # obs-7: a component's code is never the observation's own code.
        assert codes(component) != codes(obs), path


def validate_observation(obs):
    check_fhir_rules(obs)
    Observation.model_validate(obs)


# --- every kind ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", READING_KINDS)
def test_every_kind_maps_to_valid_r4_observations_with_exact_codes(kind):
    result = observations(make_reading(kind))
    assert len(result) == len(EXPECTED[kind])
    for obs, (loinc, ucum, profile, category) in zip(result, EXPECTED[kind]):
        validate_observation(obs)
        assert codes(obs) == loinc
        assert obs["category"][0]["coding"][0] == {"system": CATEGORY, "code": category}
        if profile:
            assert obs["meta"]["profile"] == [VS + "vitalsigns", VS + profile]
        else:
            assert "meta" not in obs  # glucose: no vital-signs profile applies
        if ucum:
            assert obs["valueQuantity"]["code"] == ucum
            assert obs["valueQuantity"]["system"] == UCUM


def test_every_kind_is_covered_by_this_test_file():
    assert set(READING_KINDS) == set(FULL) == set(EXPECTED)


def test_blood_pressure_panel_has_systolic_diastolic_and_mean_components():
    obs = reading_to_observation(make_reading("blood_pressure"), patient_ref=PATIENT, hub_id=HUB)
    assert codes(obs) == ["85354-9"]
    assert "valueQuantity" not in obs
    by_code = {codes(c)[0]: c["valueQuantity"] for c in obs["component"]}
    assert by_code == {
        "8480-6": {"value": 128.0, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        "8462-4": {"value": 82.0, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        "8478-0": {"value": 97.3, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
    }


def test_blood_pressure_without_optional_values_is_one_panel_of_two_components():
    reading = make_reading("blood_pressure", values={"systolic": 140.0, "diastolic": 90.0})
    (obs,) = observations(reading)
    validate_observation(obs)
    assert [codes(c)[0] for c in obs["component"]] == ["8480-6", "8462-4"]


@pytest.mark.parametrize("kind", ["blood_pressure", "spo2"])
def test_pulse_from_a_cuff_or_oximeter_becomes_its_own_heart_rate_observation(kind):
    main, pulse = observations(make_reading(kind))
    assert codes(pulse) == ["8867-4"]
    assert pulse["valueQuantity"] == {
        "value": FULL[kind][0]["pulse"],
        "unit": "beats/minute",
        "system": UCUM,
        "code": "/min",
    }
    assert pulse["meta"]["profile"] == [VS + "vitalsigns", VS + "heartrate"]
    assert all("8867-4" not in codes(c) for c in main.get("component", []))
    assert pulse["device"] == main["device"]
    assert pulse["effectiveDateTime"] == main["effectiveDateTime"]


def test_spo2_carries_pulse_oximetry_as_a_second_coding():
    obs = observations(make_reading("spo2"))[0]
    assert obs["code"]["coding"] == [
        {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
        {
            "system": LOINC,
            "code": "59408-5",
            "display": "Oxygen saturation in Arterial blood by Pulse oximetry",
        },
    ]
    assert obs["valueQuantity"] == {"value": 97.0, "unit": "%", "system": UCUM, "code": "%"}


def test_body_weight_bmi_and_height_are_separate_observations_and_height_is_in_cm():
    weight, bmi, height = observations(make_reading("body_weight"))
    assert weight["valueQuantity"] == {"value": 61.4, "unit": "kg", "system": UCUM, "code": "kg"}
    assert bmi["valueQuantity"] == {"value": 22.3, "unit": "kg/m2", "system": UCUM, "code": "kg/m2"}
    # The R4 bodyheight profile allows only cm and [in_i]; 1.66 m is exactly 166 cm.
    assert height["valueQuantity"] == {"value": 166.0, "unit": "cm", "system": UCUM, "code": "cm"}


def test_body_weight_alone_is_one_observation():
    reading = make_reading("body_weight", values={"weight": 70.0}, units={"weight": "kg"})
    assert [codes(o) for o in observations(reading)] == [["29463-7"]]


def test_glucose_is_laboratory_in_both_units():
    molar, mass = observations(make_reading("glucose"))
    assert molar["category"][0]["coding"][0]["code"] == "laboratory"
    assert molar["valueQuantity"] == {
        "value": 6.1,
        "unit": "mmol/L",
        "system": UCUM,
        "code": "mmol/L",
    }
    assert codes(mass) == ["41653-7"]
    assert mass["valueQuantity"] == {
        "value": 110.0,
        "unit": "mg/dL",
        "system": UCUM,
        "code": "mg/dL",
    }


def test_temperature_in_fahrenheit_is_allowed_by_the_profile():
    reading = make_reading(
        "body_temperature", values={"temperature": 98.1}, units={"temperature": "[degF]"}
    )
    (obs,) = observations(reading)
    validate_observation(obs)
    assert obs["valueQuantity"]["code"] == "[degF]"


def test_units_left_out_default_to_the_hubs_units():
    reading = make_reading("body_weight", units={})
    assert [o["valueQuantity"]["code"] for o in observations(reading)] == ["kg", "kg/m2", "cm"]


# --- identifiers ---------------------------------------------------------------------


def test_identifiers_are_unique_and_the_same_on_every_call():
    readings = [make_reading(kind) for kind in READING_KINDS]
    first = [o["identifier"] for r in readings for o in observations(r)]
    second = [o["identifier"] for r in readings for o in observations(json.loads(json.dumps(r)))]
    assert first == second
    values = [i[0]["value"] for i in first]
    assert len(values) == len(set(values)) == sum(len(EXPECTED[k]) for k in READING_KINDS)
    assert all(i == [{"system": IDENTIFIER_SYSTEM, "value": i[0]["value"]}] for i in first)


def test_main_identifier_is_the_reading_uuid_and_derived_ones_are_uuid5_of_it():
    reading = make_reading("body_weight")
    weight, bmi, height = observations(reading)
    rid = uuid.UUID(reading["id"])
    assert weight["identifier"][0]["value"] == f"urn:uuid:{rid}"
    assert bmi["identifier"][0]["value"] == f"urn:uuid:{uuid.uuid5(rid, 'bmi')}"
    assert height["identifier"][0]["value"] == f"urn:uuid:{uuid.uuid5(rid, 'height')}"
    assert observation_identifier(reading["id"], "height") == height["identifier"][0]["value"]


def test_the_same_part_of_two_readings_gets_different_identifiers():
    a, b = make_reading("spo2"), make_reading("spo2")
    assert observations(a)[1]["identifier"] != observations(b)[1]["identifier"]


# --- time, clock, device --------------------------------------------------------------


def test_effective_time_is_measured_at_and_the_device_time_is_kept_in_an_extension():
    obs = observations(make_reading("heart_rate"))[0]
    assert obs["effectiveDateTime"] == "2026-11-25T08:05:00Z"
    assert extension(obs, EXT_DEVICE_TIME) == {
        "url": EXT_DEVICE_TIME,
        "valueString": "2026-11-25T09:05:00",
    }


def test_reading_without_device_time_or_device_has_neither():
    obs = observations(make_reading("heart_rate", device_time=None, device=None))[0]
    validate_observation(obs)
    assert extension(obs, EXT_DEVICE_TIME) is None
    assert "device" not in obs


def test_synchronised_clock_says_so_and_adds_no_warning_note():
    obs = observations(make_reading("heart_rate"))[0]
    assert extension(obs, EXT_HUB_CLOCK)["valueCode"] == "synchronised"
    assert "note" not in obs


@pytest.mark.parametrize(
    ("synced", "code", "words"),
    [(False, "not-synchronised", "was not synchronised"), (None, "unknown", "could not tell")],
)
@pytest.mark.parametrize("kind", READING_KINDS)
def test_unsynchronised_or_unknown_clock_warns_on_every_observation(kind, synced, code, words):
    for obs in observations(make_reading(kind, clock_synced=synced)):
        validate_observation(obs)
        assert extension(obs, EXT_HUB_CLOCK)["valueCode"] == code
        (note,) = obs["note"]
        assert note["text"].startswith("The time may be wrong")
        assert words in note["text"]
        assert "2026-11-25T09:05:00" in note["text"]  # the device's time, for a person to compare


def test_device_is_referenced_by_bluetooth_address_and_name():
    obs = observations(make_reading("heart_rate"))[0]
    assert obs["device"] == {
        "type": "Device",
        "identifier": {"system": BLUETOOTH_ADDRESS_SYSTEM, "value": "AA-BB-CC-DD-EE-0F"},
        "display": "A&D UA-651",
    }


def test_an_address_that_is_not_a_mac_is_kept_without_a_system():
    device = {"address": "sim-bp-1", "name": "Simulated cuff", "kind": "blood_pressure"}
    obs = observations(make_reading("blood_pressure", device=device))[0]
    validate_observation(obs)
    assert obs["device"]["identifier"] == {"value": "sim-bp-1"}


def test_the_hub_is_named_as_gateway_device():
    obs = observations(make_reading("spo2"))[0]
    assert extension(obs, EXT_GATEWAY_DEVICE)["valueReference"]["identifier"] == {
        "system": HUB_ID_SYSTEM,
        "value": HUB,
    }


def test_observations_of_one_reading_share_no_mutable_parts():
    main, pulse = observations(make_reading("blood_pressure", clock_synced=False))
    main["device"]["display"] = "changed"
    main["extension"][0]["valueCode"] = "changed"
    main["note"][0]["text"] = "changed"
    assert pulse["device"]["display"] == "A&D UA-651"
    assert extension(pulse, EXT_HUB_CLOCK)["valueCode"] == "not-synchronised"
    assert pulse["note"][0]["text"] != "changed"


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"kind": "cholesterol"}, "unknown kind 'cholesterol'"),
        ({"values": {"systolic": 120.0}}, "missing: diastolic"),
        ({"values": {"systolic": 120.0, "diastolic": None}}, "missing: diastolic"),
        ({"values": None}, "'values' must be a dict"),
        (
            {"values": {"systolic": 120.0, "diastolic": float("nan")}},
            "diastolic = nan is not a finite",
        ),
        ({"values": {"systolic": "120", "diastolic": 80.0}}, "systolic = '120' is not a finite"),
        ({"values": {"systolic": True, "diastolic": 80.0}}, "systolic = True is not a finite"),
        ({"units": {"systolic": "kPa"}}, "systolic is in 'kPa'"),
        ({"measured_at": "2026-11-25T08:05:00"}, "is not an RFC 3339 time with a zone"),
        ({"measured_at": None}, "measured_at None"),
        ({"device": "AA:BB:CC:DD:EE:FF"}, "'device' must be a dict"),
    ],
)
def test_bad_readings_raise_a_named_error_that_names_the_reading(changes, words):
    reading = make_reading("blood_pressure", **changes)
    with pytest.raises(FhirMappingError) as caught:
        observations(reading)
    assert f"reading {reading['id']}" in str(caught.value)
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, HubError)


def test_missing_mandatory_values_are_errors_for_every_kind():
    for kind in READING_KINDS:
        with pytest.raises(FhirMappingError, match="missing"):
            observations(make_reading(kind, values={}))


@pytest.mark.parametrize("bad_id", [None, "", "not-a-uuid", 42])
def test_a_reading_without_a_uuid_is_an_error(bad_id):
    with pytest.raises(FhirMappingError, match="is not a UUID"):
        observations(make_reading("heart_rate", id=bad_id))


def test_unknown_bundle_type_is_an_error():
    with pytest.raises(ValueError, match="bundle_type"):
        observations_bundle([], patient_ref=PATIENT, hub_id=HUB, bundle_type="batch")


@pytest.mark.parametrize(("patient_ref", "hub_id"), [("", HUB), (PATIENT, ""), (None, HUB)])
def test_mapping_without_patient_or_hub_is_refused(patient_ref, hub_id):
    with pytest.raises(ValueError, match="enrolled"):
        reading_to_observations(make_reading("heart_rate"), patient_ref=patient_ref, hub_id=hub_id)


# --- bundles ---------------------------------------------------------------------------


def all_kinds():
    return [make_reading(kind) for kind in READING_KINDS] + [
        make_reading("spo2", clock_synced=None)
    ]


def test_collection_bundle_is_a_valid_r4_bundle_of_every_observation():
    readings = all_kinds()
    bundle = observations_bundle(readings, patient_ref=PATIENT, hub_id=HUB)
    check_fhir_rules(bundle)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    expected = [o for r in readings for o in observations(r)]
    assert [e["resource"] for e in bundle["entry"]] == expected
    assert all("request" not in e for e in bundle["entry"])
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)


def test_transaction_bundle_creates_each_observation_only_if_its_identifier_is_new():
    readings = all_kinds()
    bundle = observations_bundle(
        readings, patient_ref=PATIENT, hub_id=HUB, bundle_type="transaction"
    )
    check_fhir_rules(bundle)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    for entry in bundle["entry"]:
        value = entry["resource"]["identifier"][0]["value"]
        assert entry["fullUrl"] == value
        assert entry["request"] == {
            "method": "POST",
            "url": "Observation",
            "ifNoneExist": f"identifier=urn:ietf:rfc:3986|{value}",
        }
    first = observations_bundle(
        readings, patient_ref=PATIENT, hub_id=HUB, bundle_type="transaction"
    )
    assert first == bundle  # a replay sends the very same conditional creates


def test_empty_bundle_has_no_empty_entry_array():
    bundle = observations_bundle([], patient_ref=PATIENT, hub_id=HUB)
    assert bundle == {"resourceType": "Bundle", "type": "collection"}
    Bundle.model_validate(bundle)


def test_bundle_of_a_bad_reading_raises():
    readings = [make_reading("heart_rate"), make_reading("heart_rate", values={})]
    with pytest.raises(FhirMappingError, match=readings[1]["id"]):
        observations_bundle(readings, patient_ref=PATIENT, hub_id=HUB)


# --- streaming export ------------------------------------------------------------------


@pytest.mark.parametrize("bundle_type", ["collection", "transaction"])
def test_write_bundle_writes_the_same_json_as_observations_bundle(bundle_type):
    readings = all_kinds()
    fp = io.StringIO()
    count = write_bundle(fp, readings, patient_ref=PATIENT, hub_id=HUB, bundle_type=bundle_type)
    expected = observations_bundle(
        readings, patient_ref=PATIENT, hub_id=HUB, bundle_type=bundle_type
    )
    assert json.loads(fp.getvalue()) == expected
    assert count == len(expected["entry"])


def test_write_bundle_of_nothing_is_a_valid_bundle():
    fp = io.StringIO()
    assert write_bundle(fp, iter(()), patient_ref=PATIENT, hub_id=HUB) == 0
    Bundle.model_validate(json.loads(fp.getvalue()))


def test_write_bundle_writes_each_entry_before_reading_the_next():
    fp = io.StringIO()
    written_before = []

    def readings():
        for _ in range(5):
            written_before.append(len(fp.getvalue()))
            yield make_reading("heart_rate")

    write_bundle(fp, readings(), patient_ref=PATIENT, hub_id=HUB)
    # Output grows between readings: nothing is gathered before it is written.
    assert all(a < b for a, b in zip(written_before, written_before[1:]))


def test_write_bundle_can_skip_bad_readings_and_report_them():
    good, bad = make_reading("heart_rate"), make_reading("heart_rate", kind="nope")
    errors = []
    fp = io.StringIO()
    count = write_bundle(
        fp,
        [good, bad, good],
        patient_ref=PATIENT,
        hub_id=HUB,
        bundle_type="transaction",
        on_error=errors.append,
    )
    assert count == 2
    assert [str(e) for e in errors] == [
        f"reading {bad['id']}: unknown kind 'nope'; known kinds: " + ", ".join(READING_KINDS)
    ]
    Bundle.model_validate(json.loads(fp.getvalue()))


def many_readings(n):
    kinds = list(READING_KINDS)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        reading = make_reading(kind, clock_synced=(True, False, None)[i % 3])
        reading["id"] = str(uuid.UUID(int=i + 1, version=4))
        yield reading


def test_export_of_10000_readings_through_write_bundle_is_a_valid_r4_bundle(tmp_path):
    # One export, as a transaction (fullUrl + request on every entry); the collection form
    # is the same JSON minus "request" (test_write_bundle_writes_the_same_json_as_...).
    # About 0.6 s to write and 8 s for fhir.resources to validate 18,333 observations.
    path = tmp_path / "export.json"
    with open(path, "w", encoding="utf-8") as fp:
        count = write_bundle(
            fp, many_readings(10_000), patient_ref=PATIENT, hub_id=HUB, bundle_type="transaction"
        )
    with open(path, encoding="utf-8") as fp:
        data = json.load(fp)
    Bundle.model_validate(data)

    per_kind = {k: len(v) for k, v in EXPECTED.items()}
    kinds = list(READING_KINDS)
    assert (
        count == len(data["entry"]) == sum(per_kind[kinds[i % len(kinds)]] for i in range(10_000))
    )
    full_urls = {e["fullUrl"] for e in data["entry"]}
    assert len(full_urls) == count
    assert all(e["request"]["ifNoneExist"].endswith(e["fullUrl"]) for e in data["entry"])


# --- SOS ---------------------------------------------------------------------------------


def make_sos(**changes):
    event = {
        "id": str(uuid.uuid4()),
        "occurred_at": "2026-11-25T08:07:12.345Z",
        "clock_synced": True,
        "kind": "sos",
        "payload": {"source": "button"},
    }
    event.update(changes)
    return event


def test_sos_is_a_stat_alert_communication():
    event = make_sos()
    communication = sos_to_communication(event, patient_ref=PATIENT, hub_id=HUB)
    check_fhir_rules(communication)
    Communication.model_validate(communication)
    assert communication["priority"] == "stat"
    assert communication["status"] == "completed"
    assert communication["category"][0]["coding"][0]["code"] == "alert"
    assert communication["identifier"] == [
        {"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{event['id']}"}
    ]
    assert communication["sent"] == "2026-11-25T08:07:12.345Z"
    assert communication["subject"] == {"reference": PATIENT}
    assert communication["sender"]["identifier"] == {"system": HUB_ID_SYSTEM, "value": HUB}
    assert "button" in communication["payload"][0]["contentString"]
    assert extension(communication, EXT_HUB_CLOCK)["valueCode"] == "synchronised"
    assert "note" not in communication


def test_sos_without_patient_or_hub_is_still_valid():
    communication = sos_to_communication(make_sos(payload={}))
    check_fhir_rules(communication)
    Communication.model_validate(communication)
    assert "subject" not in communication and "sender" not in communication


@pytest.mark.parametrize("synced", [False, None])
def test_sos_with_unsynchronised_clock_warns(synced):
    communication = sos_to_communication(make_sos(clock_synced=synced))
    Communication.model_validate(communication)
    assert communication["note"][0]["text"].startswith("The time may be wrong")
    assert extension(communication, EXT_HUB_CLOCK)["valueCode"] != "synchronised"


@pytest.mark.parametrize(
    ("changes", "words"),
    [({"kind": "check_in"}, "expected 'sos'"), ({"occurred_at": "yesterday"}, "not an RFC 3339")],
)
def test_bad_sos_events_raise(changes, words):
    event = make_sos(**changes)
    with pytest.raises(FhirMappingError, match=words) as caught:
        sos_to_communication(event)
    assert event["id"] in str(caught.value)


# --- glucose sample type, out-of-range values, device time ---------------------------------
# LOINC by the fluid the meter measured (GSS "Glucose Measurement", Type field), checked
# against loinc.org and the gematik HDDT value sets (blood glucose / continuous glucose).

SAMPLE_CODES = [
    ("capillary_whole_blood", "14743-9", "41653-7"),   # Capillary blood by Glucometer
    ("capillary_plasma", "14749-6", "2345-7"),         # Serum or Plasma
    ("venous_plasma", "14749-6", "2345-7"),
    ("arterial_plasma", "14749-6", "2345-7"),
    ("undetermined_plasma", "14749-6", "2345-7"),
    ("venous_whole_blood", "15074-8", "2339-0"),       # Blood
    ("arterial_whole_blood", "15074-8", "2339-0"),
    ("undetermined_whole_blood", "15074-8", "2339-0"),
    ("interstitial_fluid", "105272-9", "99504-3"),     # Interstitial fluid (CGM)
]


@pytest.mark.parametrize("sample_type, molar_code, mass_code", SAMPLE_CODES)
def test_glucose_is_coded_by_the_sample_the_meter_measured(sample_type, molar_code, mass_code):
    reading = make_reading("glucose", extra={"sample_type": sample_type,
                                             "sample_location": "finger"})
    molar, mass = observations(reading)
    for obs in (molar, mass):
        validate_observation(obs)
    assert codes(molar) == [molar_code] and codes(mass) == [mass_code]
    assert molar["valueQuantity"]["code"] == "mmol/L" and mass["valueQuantity"]["code"] == "mg/dL"


def test_interstitial_glucose_is_never_called_capillary_blood():
    molar, mass = observations(make_reading("glucose", extra={
        "sample_type": "interstitial_fluid"}))
    for obs in (molar, mass):
        assert "Capillary" not in json.dumps(obs["code"])
        assert "Interstitial fluid" in obs["code"]["coding"][0]["display"]


@pytest.mark.parametrize("location, text", [("finger", "Finger"),
                                            ("alternate_site_test", "Alternate site"),
                                            ("earlobe", "Earlobe")])
def test_sample_location_becomes_the_body_site(location, text):
    molar, _ = observations(make_reading("glucose", extra={
        "sample_type": "capillary_whole_blood", "sample_location": location}))
    validate_observation(molar)
    assert molar["bodySite"]["text"].startswith(text)


def test_an_unavailable_sample_location_has_no_body_site():
    molar, _ = observations(make_reading("glucose", extra={
        "sample_type": "capillary_whole_blood", "sample_location": "not_available"}))
    assert "bodySite" not in molar


@pytest.mark.parametrize("side, absent, interpretation", [
    ("above_device_range", "positive-infinity", ">"),
    ("below_device_range", "negative-infinity", "<")])
def test_a_meters_hi_or_lo_is_an_observation_without_a_number_saying_which(
        side, absent, interpretation):
    reading = make_reading("glucose", values={"glucose": None, "glucose_mg_dl": None},
                           extra={"sample_type": "capillary_whole_blood",
                                  "out_of_range": {"glucose": side, "glucose_mg_dl": side}})
    result = observations(reading)
    assert len(result) == 2
    for obs in result:
        validate_observation(obs)
        assert "valueQuantity" not in obs
        reason = obs["dataAbsentReason"]
        assert reason["coding"] == [{
            "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
            "code": absent, "display": absent.replace("-", " ").capitalize()}]
        assert ("above" if side.startswith("above") else "below") in reason["text"].lower()
        assert obs["interpretation"][0]["coding"][0]["code"] == interpretation


def test_a_value_at_the_meters_limit_flagged_out_of_range_has_a_comparator():
    reading = make_reading("glucose", values={"glucose": 33.3, "glucose_mg_dl": 600.0},
                           extra={"out_of_range": {"glucose": "above_device_range",
                                                   "glucose_mg_dl": "above_device_range"}})
    molar, mass = observations(reading)
    validate_observation(mass)
    assert mass["valueQuantity"]["comparator"] == ">=" and mass["valueQuantity"]["value"] == 600.0
    assert mass["interpretation"][0]["coding"][0]["code"] == ">"


def test_a_cuffs_systolic_above_its_range_is_a_component_without_a_number():
    reading = make_reading("blood_pressure", values={"systolic": None, "diastolic": 95.0},
                           extra={"out_of_range": {"systolic": "above_device_range"}})
    panel = observations(reading)[0]
    validate_observation(panel)
    systolic = panel["component"][0]
    assert codes(systolic) == ["8480-6"] and "valueQuantity" not in systolic
    assert systolic["dataAbsentReason"]["coding"][0]["code"] == "positive-infinity"
    assert systolic["interpretation"][0]["coding"][0]["code"] == ">"


def test_a_missing_number_without_an_out_of_range_flag_is_still_an_error():
    with pytest.raises(FhirMappingError, match="missing: glucose"):
        observations(make_reading("glucose", values={"glucose": None}))


def test_effective_time_is_the_devices_corrected_time_and_issued_is_the_receive_time():
    # Downloaded from a meter's memory at 08:05Z; measured at 05:00Z by the meter's
    # clock corrected with the offset the hub measured.
    reading = make_reading("glucose", device_time="2026-11-25T13:58:00",
                           extra={"device_time_utc": "2026-11-25T05:00:00Z",
                                  "device_clock_offset_s": -32280})
    for obs in observations(reading):
        validate_observation(obs)
        assert obs["effectiveDateTime"] == "2026-11-25T05:00:00Z"
        assert obs["issued"] == "2026-11-25T08:05:00Z"
        assert extension(obs, EXT_DEVICE_TIME)["valueString"] == "2026-11-25T13:58:00"


def test_without_a_known_device_clock_effective_time_is_the_receive_time():
    obs = observations(make_reading("heart_rate"))[0]
    assert obs["effectiveDateTime"] == obs["issued"] == "2026-11-25T08:05:00Z"


def test_a_bad_corrected_device_time_is_an_error_naming_it():
    with pytest.raises(FhirMappingError, match="device_time_utc"):
        observations(make_reading("glucose", extra={"device_time_utc": "yesterday"}))


def test_an_implausible_value_says_so_in_a_note():
    obs = observations(make_reading("heart_rate", values={"heart_rate": 25.0}, extra={
        "implausible": {"heart_rate": "heart rate of 25 /min is below the plausible range"}}))[0]
    validate_observation(obs)
    assert any("below the plausible range" in n["text"] for n in obs["note"])
