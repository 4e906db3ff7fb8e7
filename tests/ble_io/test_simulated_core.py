"""The whole pipeline through a real ``hub core`` subprocess with simulated BLE devices.

Simulated devices send bytes built by the SIG encoders; the core parses, stores, pushes,
checks thresholds and speaks — the same path as a real cuff. Devices are driven with the
``devices.simulate`` command (present only under ``[hub] simulate = true``).
"""

import pytest

from hub.errors import ApiError

from .conftest import wait_for

CUFF = "5A:11:00:00:00:01"
METER = "5A:11:00:00:00:03"
SCALE = "5A:11:00:00:00:04"
NEIGHBOUR = "5A:11:00:00:00:66"


@pytest.fixture
def sim(hub_core):
    core = hub_core(hub={"simulate": True})
    with core.client(subscribe=True) as client:
        yield core, client


def pair(client, address, **args):
    wait_for(lambda: any(d["address"] == address
                         for d in client.request("devices.scan", seconds=0)["devices"]),
             what=f"{address} to be heard")
    return client.request("devices.pair", address=address, **args)


def test_scan_lists_simulated_devices_with_human_names(sim):
    _, client = sim
    found = client.request("devices.scan", seconds=2.5)["devices"]
    names = {d["address"]: d["name"] for d in found}
    assert names[CUFF] == "Blood pressure monitor SIM-BP1"
    assert names[METER] == "Glucose meter SIM-GL1"
    assert names[SCALE] == "Weight scale SIM-SC1"
    assert not any(d["paired"] for d in found)


def test_simulated_cuff_measurement_is_stored_and_pushed(sim):
    core, client = sim
    record = pair(client, CUFF)
    assert record["address"] == CUFF and record["bonded"] is True
    client.request("devices.simulate", address=CUFF,
                   values={"systolic": 128, "diastolic": 82, "pulse": 71})
    pushed = client.wait_push("reading", lambda d: d["kind"] == "blood_pressure", timeout=15)
    assert pushed["values"] == {"systolic": 128.0, "diastolic": 82.0, "pulse": 71.0}
    assert pushed["device"] == {"address": CUFF, "name": "Blood pressure monitor SIM-BP1",
                                "kind": "blood_pressure"}
    assert pushed["device_time"]  # the cuff's own clock, kept beside the hub's time
    stored = client.request("readings.list", kind="blood_pressure")
    assert [r["id"] for r in stored] == [pushed["id"]]
    listed = client.request("devices.list")
    assert listed["counters"]["readings"] == 1
    assert listed["devices"][0]["last_seen"]


def test_resent_memory_is_stored_once(sim):
    _, client = sim
    pair(client, CUFF)
    # 128/80 mmHg, pulse 66, cuff time 2025-03-15 14:30:05 (BLS Blood Pressure Measurement)
    raw = "0680005000ff07e907030f0e1e054200"
    client.request("devices.simulate", address=CUFF, raw=raw)
    first = client.wait_push("reading", timeout=15)
    # the cuff sends its memory again on the next connection: same bytes, same id
    client.request("devices.simulate", address=CUFF, raw=raw)
    wait_for(lambda: client.request("devices.list")["counters"].get("duplicates") == 1,
             timeout=30, what="the resend to be recognised")
    assert [r["id"] for r in client.request("readings.list")] == [first["id"]]


def test_unpaired_neighbours_scale_is_ignored(sim):
    _, client = sim
    pair(client, SCALE)  # this home's scale only broadcasts: no bond
    client.request("devices.simulate", address=NEIGHBOUR, values={"weight": 92.0})
    client.request("devices.simulate", address=SCALE, values={"weight": 64.5})
    mine = client.wait_push("reading", timeout=10)
    assert mine["device"]["address"] == SCALE and mine["values"]["weight"] == 64.5
    wait_for(lambda: client.request("devices.list")["counters"].get("ignored_unpaired"),
             what="the neighbour's broadcast to be heard")
    readings = client.request("readings.list")
    assert {r["device"]["address"] for r in readings} == {SCALE}
    assert client.request("devices.list")["devices"][0]["bonded"] is False


def test_high_blood_pressure_raises_an_alert_and_is_spoken(sim):
    core, client = sim
    pair(client, CUFF)
    client.request("devices.simulate", address=CUFF, values={"systolic": 186, "diastolic": 96})
    reading = client.wait_push("reading", timeout=15)
    said = client.wait_push("say", lambda d: "blood pressure" in d["text"], timeout=5)
    assert said["text"] == ("Your blood pressure is higher than usual. "
                            "The care centre has been told.")
    status = client.request("status")
    assert status["outbox"]["depth"] >= 2  # the reading and the alert wait for sync
    from hub.store import Store

    store = Store(core.state_dir / "hub.db", migrate=False)
    try:
        alerts = store.events("alert")
    finally:
        store.close()
    assert len(alerts) == 1
    assert alerts[0]["payload"]["rule"] == "blood_pressure_high"
    assert alerts[0]["payload"]["reading_id"] == reading["id"]


def test_malformed_bytes_are_counted_and_the_core_stays_alive(sim):
    core, client = sim
    pair(client, CUFF)
    client.request("devices.simulate", address=CUFF, raw="1e80")  # truncated after systolic
    wait_for(lambda: client.request("devices.list")["rejected"].get("blood pressure") == 1,
             timeout=15, what="the malformed payload to be counted")
    assert client.request("ping") == {}
    client.request("devices.simulate", address=CUFF, values={"systolic": 120})
    assert client.wait_push("reading", timeout=30)["values"]["systolic"] == 120.0
    assert core.proc.poll() is None
    assert "Rejected Blood Pressure Measurement payload of 2 bytes" in core.log()


def test_glucose_meter_pairs_with_a_pin_and_fetches_only_new_records(sim):
    _, client = sim
    with pytest.raises(ApiError, match="PIN|AuthenticationFailed"):
        pair(client, METER, passkey="111111")
    record = pair(client, METER, passkey="123456")
    assert record["kind"] == "glucose"
    # after bonding the meter sends its memory (3 records) through RACP "all records"
    wait_for(lambda: len(client.request("readings.list", kind="glucose")) == 3, timeout=30,
             what="the meter's three stored records")
    assert client.request("devices.list")["devices"][0]["last_sequence"] == 3
    client.request("devices.simulate", address=METER, values={"glucose": 3.4})
    low = client.wait_push("reading", lambda d: d["kind"] == "glucose"
                           and d["extra"]["sequence_number"] == 4, timeout=40)
    assert low["values"]["glucose"] == 3.4
    client.wait_push("say", lambda d: "blood sugar is low" in d["text"], timeout=5)
    assert len(client.request("readings.list", kind="glucose")) == 4


def test_forget_stops_readings_from_that_device(sim):
    _, client = sim
    pair(client, SCALE)
    assert client.request("devices.forget", address=SCALE)["forgotten"] is True
    assert client.request("devices.list")["devices"] == []
    client.request("devices.simulate", address=SCALE, values={"weight": 70.0})
    wait_for(lambda: client.request("devices.list")["counters"].get("ignored_unpaired"),
             what="the forgotten scale to be heard and ignored")
    assert client.request("readings.list") == []
    with pytest.raises(ApiError, match="not paired"):
        client.request("devices.forget", address=SCALE)
