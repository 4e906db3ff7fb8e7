"""The FHIR route: transaction Bundles with conditional create, and ``hub export --fhir``.

Resources are validated with an independent library (fhir.resources' R4B models,
which share Observation, Communication and Bundle with R4).
"""

import json
import time
import uuid

import pytest
from click.testing import CliRunner

pytest.importorskip("fhir.resources", minversion="8")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.communication import Communication  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402

from hub.store import Store  # noqa: E402
from hub.sync import protocol  # noqa: E402
from hub.sync.cli import export_command  # noqa: E402
from hub.sync.client import PlatformClient  # noqa: E402
from hub.sync.fhir_transport import FhirTransport  # noqa: E402
from hub.sync.outbox import prepare  # noqa: E402

from .sync_helpers import bp_reading, make_config, raise_sos, wait_for  # noqa: E402

KINDS = [
    bp_reading(),
    {"kind": "heart_rate", "values": {"heart_rate": 66}, "units": {"heart_rate": "/min"}},
    {"kind": "body_temperature", "values": {"temperature": 36.7}, "units": {"temperature": "Cel"}},
    {"kind": "body_weight", "values": {"weight": 61.2}, "units": {"weight": "kg"}},
    {"kind": "spo2", "values": {"spo2": 97, "pulse": 70}, "units": {"spo2": "%", "pulse": "/min"}},
    {"kind": "glucose", "values": {"glucose": 6.1}, "units": {"glucose": "mmol/L"}},
]


@pytest.fixture
def fhir_config(tmp_path, receiver):
    return make_config(tmp_path, receiver.fhir_url, protocol="fhir")


def test_readings_and_sos_become_valid_fhir_resources_on_the_server(fhir_config, receiver,
                                                                   workers):
    st = Store(fhir_config.db_path, reserve_bytes=1024 * 1024)
    st.set_setting("sync.patient_ref", "Patient/elder-17")
    readings = st.add_readings([dict(k, id=str(uuid.uuid4())) for k in KINDS])
    sos = raise_sos(st)
    checkin = st.record_event("checkin", {"how": "button"})
    unmappable = st.add_reading({"kind": "mood", "values": {"score": 3}})
    w = workers(fhir_config)
    w.wake(urgent=True)
    wait_for(lambda: st.outbox_stats()["depth"] == 0, what="drain")
    observations = receiver.platform.fhir_resources("Observation")
    communications = receiver.platform.fhir_resources("Communication")
    for o in observations:
        Observation.model_validate(o)
    for c in communications:
        Communication.model_validate(c)
    # bp → panel + pulse; spo2 → spo2 + pulse: 8 observations from 6 readings
    assert len(observations) == 8
    assert {o["subject"]["reference"] for o in observations} == {"Patient/elder-17"}
    idents = {o["identifier"][0]["value"] for o in observations}
    assert {f"urn:uuid:{r['id']}" for r in readings} <= idents
    by_id = {c["identifier"][0]["value"]: c for c in communications}
    assert by_id[f"urn:uuid:{sos['id']}"]["priority"] == "stat"
    assert by_id[f"urn:uuid:{checkin['id']}"]["priority"] == "routine"
    [dead] = st.dead_letters()
    assert dead["id"] == unmappable["id"] and "cannot be sent as FHIR" in dead["reason"]
    assert w.status()["state"] == "ok"
    st.close()


def test_a_replayed_transaction_creates_nothing_new(fhir_config, receiver):
    st = Store(fhir_config.db_path, reserve_bytes=1024 * 1024)
    st.add_readings([dict(k, id=str(uuid.uuid4())) for k in KINDS])
    items, _ = prepare(st.outbox_ready(100))
    transport = FhirTransport(PlatformClient(receiver.fhir_url), hub_id="hub-1",
                              patient_ref="Patient/1")
    first = transport.send(items, urgent=False)
    assert {r.status for r in first} == {protocol.ACCEPTED}
    count = len(receiver.platform.fhir_resources())
    again = transport.send(items, urgent=False)
    assert {r.status for r in again} == {protocol.DUPLICATE}
    assert len(receiver.platform.fhir_resources()) == count
    st.close()


def _store_with_readings(cfg, n):
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    batch = []
    for i in range(n):
        base = KINDS[i % len(KINDS)]
        batch.append(dict(base, id=str(uuid.uuid4()),
                          measured_at=f"2026-11-{1 + i % 28:02d}T08:{i % 60:02d}:00Z"))
    st.add_readings(batch)
    return st


def test_export_of_10000_readings_is_a_valid_bundle(tmp_path):
    cfg = make_config(tmp_path)
    st = _store_with_readings(cfg, 10_000)
    st.close()
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\n[store]\nreserve_mb = 1\n')
    out = tmp_path / "export.json"
    t = time.monotonic()
    result = CliRunner().invoke(export_command, ["--config", str(cfg_file), "--fhir", str(out),
                                                 "--patient", "Patient/elder-17"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - t < 30
    bundle = Bundle.model_validate_json(out.read_text())
    assert bundle.type == "collection"
    pulses = sum(1 for i in range(10_000) if i % len(KINDS) in (0, 4))  # bp and spo2 add one
    assert len(bundle.entry) == 10_000 + pulses
    assert "observations from 10000 readings" in result.output


def test_export_since_filters_and_reports_what_was_left_out(tmp_path):
    cfg = make_config(tmp_path)
    st = _store_with_readings(cfg, 60)
    st.add_reading({"kind": "mood", "values": {"score": 3}, "measured_at": "2026-11-20T09:00:00Z"})
    st.close()
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\n[store]\nreserve_mb = 1\n')
    result = CliRunner().invoke(export_command, ["--config", str(cfg_file), "--fhir", "-",
                                                 "--since", "2026-11-20"])
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    Bundle.model_validate(bundle)
    stamps = {e["resource"]["effectiveDateTime"] for e in bundle["entry"]}
    assert min(stamps) >= "2026-11-20"
    assert "left out" in result.stderr and "mood" in result.stderr
    bad = CliRunner().invoke(export_command, ["--config", str(cfg_file), "--fhir", "-",
                                              "--since", "last tuesday"])
    assert bad.exit_code == 2 and "RFC 3339" in bad.output


@pytest.mark.parametrize("patient", ["Patient/elder 17", "Patient/", "Patient/" + "a" * 65,
                                     "Patient/ünï", "Patient/a_b", "Practitioner/7",
                                     "Patient/1/_history/2", ""])
def test_export_refuses_a_patient_that_is_not_a_fhir_id(tmp_path, patient):
    cfg = make_config(tmp_path)
    _store_with_readings(cfg, 2).close()
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\n[store]\nreserve_mb = 1\n')
    out = tmp_path / "export.json"
    result = CliRunner().invoke(export_command, ["--config", str(cfg_file), "--fhir", str(out),
                                                 "--patient", patient])
    assert result.exit_code == 2, result.output
    assert "--patient" in result.output and "[A-Za-z0-9-.]{1,64}" in result.output
    assert not out.exists()


@pytest.mark.parametrize("patient, ref", [("Patient/elder-17.a", "Patient/elder-17.a"),
                                          ("elder-17", "Patient/elder-17"),
                                          ("A" * 64, "Patient/" + "A" * 64)])
def test_export_takes_a_patient_id_or_reference(tmp_path, patient, ref):
    cfg = make_config(tmp_path)
    _store_with_readings(cfg, 2).close()
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\n[store]\nreserve_mb = 1\n')
    result = CliRunner().invoke(export_command, ["--config", str(cfg_file), "--fhir", "-",
                                                 "--patient", patient])
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    Bundle.model_validate(bundle)
    assert {e["resource"]["subject"]["reference"] for e in bundle["entry"]} == {ref}
