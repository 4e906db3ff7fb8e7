"""bleak's real BlueZ backend against a mocked bluetoothd on a private D-Bus.

A real ``hub core`` subprocess runs with ``DBUS_SYSTEM_BUS_ADDRESS`` pointing at a
private ``dbus-daemon`` where python-dbusmock serves the ``bluez5`` template plus GATT
health devices (``bluez_health_template.py``). Nothing in the hub is faked: bleak scans,
pairs through the hub's own ``org.bluez.Agent1``, subscribes with ``StartNotify``,
writes the RACP and receives ``PropertiesChanged`` notifications, exactly as on a Pi.
"""

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.errors import ApiError
from hub.sensors.ble import parsers as p
from hub.sensors.ble.backend import NO_ADAPTER_MESSAGE

from .conftest import wait_for

CUFF = "A0:0D:51:65:1B:01"
METER = "C4:7C:8D:6A:00:02"
BP = 0x2A35


def bp_bytes(systolic, diastolic, minute=0) -> bytes:
    """A cuff's Blood Pressure Measurement with its own time stamp (BLS, GSS 0x2A35)."""
    return p.encode_blood_pressure(p.BloodPressureMeasurement(
        Decimal(systolic), Decimal(diastolic), None,
        time_stamp=p.DeviceTime(2025, 3, 15, 8, minute, 0), pulse_rate=Decimal(64)))


def glucose_bytes(seq, mmol) -> bytes:
    """A glucose record (GLS, GSS 0x2A18) in mol/L."""
    when = dt.datetime(2025, 3, 15, 7, 0) + dt.timedelta(hours=seq)
    return p.encode_glucose(p.GlucoseMeasurement(seq, p.DeviceTime.from_datetime(when),
                                                 Decimal(mmol) / 1000, unit="mol/L"))


@pytest.fixture
def world(bluez, hub_core):
    """A mocked adapter with a cuff and a PIN-showing glucose meter, and a core using it."""
    bluez.add_adapter("hci0")
    cuff = bluez.add_device(CUFF, "A&D UA-651BLE", 0x1810)
    meter = bluez.add_device(METER, "Accu-Chek Guide", 0x1808, passkey=246810)
    core = hub_core(env=bluez.env)
    with core.client(subscribe=True) as client:
        wait_for(lambda: client.request("devices.list")["scanning"], what="the scan to start")
        yield bluez, core, client, cuff, meter


def heard(client, address):
    return any(d["address"] == address for d in client.request("devices.scan",
                                                                seconds=0)["devices"])


def pair_cuff(bluez, client, cuff):
    bluez.advertise(cuff)
    wait_for(lambda: heard(client, CUFF), what="the cuff to be heard")
    return client.request("devices.pair", address=CUFF)


def test_advertising_cuff_is_listed_by_scan_with_a_human_name(world):
    bluez, _, client, cuff, meter = world
    bluez.advertise(cuff, rssi=-48)
    bluez.advertise(meter, rssi=-71)
    found = client.request("devices.scan", seconds=0.5)["devices"]
    assert [(d["address"], d["name"], d["kind"], d["rssi"]) for d in found] == [
        (CUFF, "Blood pressure monitor A&D UA-651BLE", "blood_pressure", -48),
        (METER, "Glucose meter Accu-Chek Guide", "glucose", -71),
    ]


def test_pairing_goes_through_the_hubs_agent_then_notifications_become_readings(world):
    bluez, core, client, cuff, _ = world
    record = pair_cuff(bluez, client, cuff)
    assert record["bonded"] is True and record["kind"] == "blood_pressure"
    assert bluez.property(cuff, "Paired") and bluez.property(cuff, "Trusted")
    # pairing: BlueZ asks the hub's agent (Just Works), then the hub lets go of the link
    assert bluez.calls(cuff) == ["Pair", "Agent.RequestAuthorization", "Disconnect"]
    # the cuff takes a measurement, wakes up and sends it (before StartNotify's reply)
    bluez.queue(cuff, BP, bp_bytes(131, 84))
    bluez.advertise(cuff)
    reading = client.wait_push("reading", timeout=20)
    assert reading["values"] == {"systolic": 131.0, "diastolic": 84.0, "pulse": 64.0}
    assert reading["device_time"] == "2025-03-15T08:00:00"
    assert reading["device"]["address"] == CUFF
    wait_for(lambda: "Disconnect" in bluez.calls(cuff)[3:], what="connect, read, disconnect")
    assert bluez.calls(cuff)[3:] == ["Connect", "StartNotify 2a35", "Disconnect"]


def test_meter_pin_is_typed_on_the_kiosk(world):
    bluez, _, client, _, meter = world
    bluez.advertise(meter)
    wait_for(lambda: heard(client, METER), what="the meter to be heard")
    assert client.request("devices.pair", address=METER, wait=False)["state"] == "pairing"
    client.wait_push("say", lambda d: "type the number" in d["text"], timeout=10)
    assert client.request("devices.list")["pairing"][METER]["state"] == "waiting_for_passkey"
    client.request("devices.passkey", address=METER, passkey="246810")
    wait_for(lambda: client.request("devices.list")["pairing"][METER]["state"] == "paired",
             what="pairing to finish")
    assert bluez.calls(meter)[:2] == ["Pair", "Agent.RequestPasskey"]
    assert bluez.property(meter, "Bonded")


def test_glucose_records_resume_after_a_disconnect_mid_transfer(world):
    bluez, _, client, _, meter = world
    for seq, mmol in enumerate(("5.1", "6.2", "7.3", "4.4", "5.5"), start=1):
        bluez.add_record(meter, seq, glucose_bytes(seq, mmol))
    bluez.advertise(meter)
    wait_for(lambda: heard(client, METER), what="the meter to be heard")
    bluez.drop_after(meter, 2)  # the link drops after the second record of the first visit
    client.request("devices.pair", address=METER, passkey="246810")
    bluez.advertise(meter)
    wait_for(lambda: len(client.request("readings.list", kind="glucose")) == 2, timeout=20,
             what="the two records sent before the drop")
    assert client.request("devices.list")["devices"][0]["last_sequence"] == 2


    def still_advertising():  # the meter stays awake a while: the hub comes back for the rest
        bluez.advertise(meter)
        return len(client.request("readings.list", kind="glucose")) == 5

    wait_for(still_advertising, timeout=20, what="the remaining records")
    writes = [c for c in bluez.calls(meter) if c.startswith("WriteValue 2a52")]
    assert writes == ["WriteValue 2a52 0101", "WriteValue 2a52 0103010300"]  # all, then ≥ 3
    values = [r["values"]["glucose"] for r in client.request("readings.list", kind="glucose")]
    assert sorted(values) == [4.4, 5.1, 5.5, 6.2, 7.3]
    assert client.request("devices.list")["devices"][0]["last_sequence"] == 5


def test_inprogress_from_bluez_is_retried(world):
    bluez, _, client, cuff, _ = world
    pair_cuff(bluez, client, cuff)
    bluez.fail_next(cuff, "Connect", "org.bluez.Error.InProgress", 2)
    bluez.queue(cuff, BP, bp_bytes(122, 78, minute=5))
    bluez.advertise(cuff)
    reading = client.wait_push("reading", timeout=20)
    assert reading["values"]["systolic"] == 122.0
    assert bluez.calls(cuff).count("Connect") == 3


def test_only_forget_removes_the_bond(world):
    bluez, _, client, cuff, _ = world
    pair_cuff(bluez, client, cuff)
    bluez.fail_next(cuff, "Connect", "org.bluez.Error.Failed", 4)  # a visit that fails
    bluez.advertise(cuff)
    wait_for(lambda: client.request("devices.list")["counters"].get("failed_visits"),
             timeout=20, what="the failed visit")
    assert bluez.adapter_calls("RemoveDevice") == []
    assert client.request("devices.forget", address=CUFF)["forgotten"] is True
    removed = bluez.adapter_calls("RemoveDevice")
    assert len(removed) == 1 and str(removed[0][1][0]).endswith("dev_A0_0D_51_65_1B_01")


def test_unknown_device_cannot_pair_and_wrong_pin_is_refused(world):
    bluez, _, client, _, meter = world
    with pytest.raises(ApiError, match="not a health device seen nearby"):
        client.request("devices.pair", address="11:22:33:44:55:66")
    bluez.advertise(meter)
    wait_for(lambda: heard(client, METER), what="the meter to be heard")
    with pytest.raises(ApiError, match="Could not pair"):
        client.request("devices.pair", address=METER, passkey="000000")
    assert client.request("devices.list")["devices"] == []
    assert not bluez.property(meter, "Paired")


def test_scan_without_an_adapter_says_so_plainly(bluez, hub_core, tmp_path):
    core = hub_core(env=bluez.env)  # bluetoothd runs, but there is no adapter
    result = CliRunner().invoke(cli, ["--config", str(core.config_path), "devices", "scan",
                                      "--seconds", "0"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == f"Error: {NO_ADAPTER_MESSAGE}"
    assert "Traceback" not in result.output
    assert core.proc.poll() is None


def test_broadcast_only_scale_is_read_from_its_advertisements(bluez, hub_core):
    bluez.add_adapter("hci0")
    scale = bluez.add_device("D0:3E:11:5C:A1:E0", "BS-440", 0x181D)
    core = hub_core(env=bluez.env)
    key = "0000181d-0000-1000-8000-00805f9b34fb"

    def weight(kg):  # Weight Scale service data = a Weight Measurement value (WSS)
        return p.encode_weight(p.WeightMeasurement(Decimal(kg)))

    with core.client(subscribe=True) as client:
        wait_for(lambda: client.request("devices.list")["scanning"], what="the scan to start")
        bluez.advertise(scale, service_data={key: weight("81.250")})  # the family member
        wait_for(lambda: heard(client, "D0:3E:11:5C:A1:E0"), what="the scale to be heard")
        record = client.request("devices.pair", address="D0:3E:11:5C:A1:E0")
        assert record["bonded"] is False and record["kind"] == "scale"
        bluez.advertise(scale, rssi=-61, service_data={key: weight("63.400")})  # the elder
        reading = client.wait_push("reading", timeout=10)
        assert reading["values"] == {"weight": 63.4}
        bluez.advertise(scale, rssi=-62, service_data={key: weight("63.400")})  # repeated
        assert [r["values"]["weight"] for r in client.request("readings.list")] == [63.4]
    assert "Connect" not in bluez.calls(scale) and "Pair" not in bluez.calls(scale)
