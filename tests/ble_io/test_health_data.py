"""Health data correctness on the Bluetooth path, end to end through the BLE service with
simulated devices sending spec bytes and a real SQLite store (``fake_core``)."""

import asyncio
import datetime as dt
import logging
from decimal import Decimal

from hub.sensors.ble import parsers as p
from hub.sensors.ble.sfloat import Special
from hub.sensors.ble.simulated import SimulatedBackend, SimulatedDevice

from .test_ble_service import Running, pair, run, until

METER = "5A:11:00:00:00:03"


def glucose(seq: int, concentration, *, when=dt.datetime(2026, 11, 24, 7, 30),
            sample_type=1, sample_location=1, time_offset=None) -> bytes:
    if isinstance(concentration, str):
        concentration = Decimal(concentration) / 1000  # mmol/L → mol/L
    return p.encode_glucose(p.GlucoseMeasurement(
        sequence_number=seq, base_time=p.DeviceTime.from_datetime(when),
        concentration=concentration, unit="mol/L", sample_type=sample_type,
        sample_location=sample_location, time_offset=time_offset))


def meter_with(*records: bytes) -> SimulatedBackend:
    backend = SimulatedBackend([SimulatedDevice(METER, "SIM-GL1", 0x1808)],
                               advertise_every=0.05, latency=0.001)
    for raw in records:
        backend.measure(METER, raw=raw)
    return backend


def test_lo_and_hi_from_a_meters_memory_are_stored_flagged_and_raise_urgent_alerts(
        fake_core, caplog):
    backend = meter_with(
        glucose(1, "5.6"),
        glucose(2, Special.PLUS_INFINITY),   # HI
        glucose(3, Special.MINUS_INFINITY),  # LO
        glucose(4, "3.4"),                   # an ordinary low number
        glucose(5, Special.NAN),             # the meter failed (e.g. too little blood)
        glucose(6, "0"),                     # impossible: refused, logged with its bytes
    )

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: service.paired[METER].get("last_sequence") == 6,
                        timeout=20, what="all six records")
            return service

    with caplog.at_level(logging.WARNING, logger="hub.sensors.ble.service"):
        service = run(go())
    stored = {r["extra"]["sequence_number"]: r for r in fake_core.readings}
    assert sorted(stored) == [1, 2, 3, 4]
    assert stored[2]["values"] == {"glucose": None, "glucose_mg_dl": None}
    assert stored[2]["extra"]["out_of_range"]["glucose"] == "above_device_range"
    assert stored[3]["extra"]["out_of_range"]["glucose"] == "below_device_range"

    alerts = {e["payload"]["rule"]: e for e in fake_core.events if e["kind"] == "alert"}
    assert set(alerts) == {"glucose_above_device_range", "glucose_below_device_range",
                           "glucose_low", "measurement_failed"}
    lo = alerts["glucose_below_device_range"]
    assert lo["payload"]["severity"] == "urgent"
    priority = dict(fake_core.store.db.execute(
        "SELECT id, priority FROM outbox WHERE item_table = 'events'").fetchall())
    assert priority[lo["id"]] == 1  # PRIORITY_ALERT: sent ahead of readings
    assert lo["payload"]["values"] == {"glucose": "below the meter's range"}
    assert alerts["glucose_low"]["payload"]["values"] == {"glucose": 3.4}
    assert priority[alerts["measurement_failed"]["id"]] == 5
    said = " ".join(fake_core.speaker.said)
    assert "too low for the meter to measure" in said
    assert "too high for the meter to measure" in said

    assert service.counters["impossible"] == 1
    refused = [r.getMessage() for r in caplog.records if "impossible" in r.getMessage()]
    assert len(refused) == 1 and glucose(6, "0").hex(" ") in refused[0]


# -- RACP: responses are matched to the request they answer ------------------------------


def test_a_racp_response_to_another_request_is_ignored_with_a_log_line(fake_core, caplog):
    backend = meter_with(*(glucose(seq, "6.0") for seq in range(1, 6)))
    meter = backend.device(METER)
    # A late "success" for a Report Number of Stored Records (op 4), and a count, arrive
    # before the records: they must not end the wait for Report Stored Records (op 1).
    meter.racp_stray = [bytes.fromhex("06000401"), bytes.fromhex("05000500")]
    backend.latency = 0.02

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: service.paired[METER].get("last_sequence") == 5,
                        timeout=20, what="five records")
            return service

    with caplog.at_level(logging.INFO, logger="hub.sensors.ble.connector"):
        service = run(go())
    assert len(fake_core.readings) == 5
    assert service.counters["incomplete_visits"] == 0 and service.counters["connections"] == 1
    ignored = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert any("report number of stored records" in m and "report stored records" in m
               for m in ignored), ignored


def test_a_meter_that_never_answers_its_racp_request_is_reported_as_a_timeout(caplog):
    from hub.sensors.ble.connector import visit

    backend = meter_with(glucose(1, "6.0"))
    backend.device(METER).racp_silent = True

    async def go():
        conn = await backend.connect(METER, timeout=5)
        got = []

        async def on_payload(char, data):
            got.append(data)

        result = await visit(conn, on_payload, racp_timeout=0.5)
        return result, got, conn

    with caplog.at_level(logging.WARNING, logger="hub.sensors.ble.connector"):
        result, got, conn = run(go())
    assert len(got) == 1  # the record that came is kept
    assert result.complete is False and result.racp == "timeout"
    assert any("no answer to report stored records within 0.5 s" in n for n in result.notes)
    assert any("timeout" in r.getMessage() for r in caplog.records)


# -- device time and sample type, from the meter's bytes to FHIR -------------------------


def test_a_record_from_memory_is_exported_at_the_time_it_was_measured(fake_core):
    """The meter's clock is set to local time (UTC+9) and runs 7 minutes slow. Records
    measured hours ago are downloaded now; FHIR must say when the person was measured."""
    from fhir.resources.R4B.observation import Observation

    from hub.sync.fhir import reading_to_observations

    meter = SimulatedDevice(METER, "SIM-GL1", 0x1808,
                            clock=dt.timedelta(hours=9, minutes=-7))
    backend = SimulatedBackend([meter], advertise_every=0.05, latency=0.001)
    device_now = meter.now()
    # 1: capillary blood from a finger, base time 3 h ago by the meter's clock.
    backend.measure(METER, raw=glucose(1, "6.2", when=device_now - dt.timedelta(hours=3)))
    # 2: interstitial fluid (a CGM-style record), base time 5 h ago + time offset 120 min.
    backend.measure(METER, raw=glucose(2, "7.4", when=device_now - dt.timedelta(hours=5),
                                       time_offset=120, sample_type=9, sample_location=15))

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: len(fake_core.readings) == 2, timeout=20, what="two records")
            return service

    service = run(go())
    # The device's clock reads in whole seconds, so the offset is known to a second.
    assert abs(service.clock_offsets[METER][0] - -(9 * 3600 - 7 * 60)) <= 1
    utc_now = dt.datetime.now(dt.timezone.utc)
    by_seq = {r["extra"]["sequence_number"]: r for r in fake_core.readings}
    for seq, reading in by_seq.items():
        measured = dt.datetime.fromisoformat(reading["extra"]["device_time_utc"])
        assert abs((utc_now - dt.timedelta(hours=3)) - measured) < dt.timedelta(seconds=30)
        received = dt.datetime.fromisoformat(reading["measured_at"])
        assert abs(utc_now - received) < dt.timedelta(seconds=30)
    assert by_seq[2]["extra"]["sample_type"] == "interstitial_fluid"
    assert by_seq[1]["extra"]["sample_type"] == "capillary_whole_blood"

    for seq, codes in ((1, ["14743-9", "41653-7"]), (2, ["105272-9", "99504-3"])):
        reading = by_seq[seq]
        result = reading_to_observations(reading, patient_ref="Patient/elder-17",
                                         hub_id="hub-0042")
        assert [o["code"]["coding"][0]["code"] for o in result] == codes
        for obs in result:
            Observation.model_validate(obs)
            assert obs["effectiveDateTime"] == reading["extra"]["device_time_utc"]
            assert obs["issued"] == reading["measured_at"]
    assert reading_to_observations(by_seq[1], patient_ref="Patient/elder-17",
                                   hub_id="hub-0042")[0]["bodySite"] == {"text": "Finger"}


def test_a_device_without_a_clock_keeps_the_receive_time(fake_core):
    backend = meter_with(glucose(1, "6.2"))

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: fake_core.readings, timeout=20, what="a record")

    run(go())
    assert "device_time_utc" not in fake_core.readings[0]["extra"]


def test_the_simulated_meter_can_show_lo_for_the_demo(fake_core):
    backend = meter_with()
    backend.measure(METER, {"glucose": "LO"})

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: fake_core.readings, timeout=20, what="a record")

    run(go())
    assert fake_core.readings[0]["extra"]["out_of_range"]["glucose"] == "below_device_range"
    assert any(e["payload"].get("severity") == "urgent" for e in fake_core.events)
