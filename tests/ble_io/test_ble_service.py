"""The BLE service, connector, scanner and pairing policy, in-process with simulated devices.

The simulated backend is the fake at the BLE seam: it sends encoder-built bytes, can fail
the next connects with BlueZ-like errors, drop the link mid-transfer and ask for a PIN.
The store is a real SQLite file on its own thread (``fake_core``).
"""

import asyncio
from decimal import Decimal

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.sensors.ble import parsers as p
from hub.sensors.ble import uuids
from hub.sensors.ble.agent import PairingPolicy, address_from_path
from hub.sensors.ble.backend import (
    NO_ADAPTER_MESSAGE,
    Advertisement,
    DisconnectedError,
    NoAdapterError,
    PairingError,
    TransientError,
)
from hub.sensors.ble.connector import connect_with_retries
from hub.sensors.ble.devices import describe, reading_id
from hub.sensors.ble.phrases import PHRASES
from hub.sensors.ble.scanner import Scanner
from hub.sensors.ble.service import BleService
from hub.sensors.ble.simulated import SimulatedBackend, SimulatedDevice, build_measurement
from hub.sensors.ble.thresholds import Thresholds, check

CUFF = "5A:11:00:00:00:01"
METER = "5A:11:00:00:00:03"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def until(predicate, timeout=10.0, what="condition"):
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Running:
    """A BleService with a simulated backend, running on the test's loop."""

    def __init__(self, core, backend=None):
        self.backend = backend or SimulatedBackend(advertise_every=0.05, latency=0.001)
        self.service = BleService(core, self.backend)
        self.core = core

    async def __aenter__(self):
        self.task = asyncio.create_task(self.service.run())
        await until(lambda: self.service.scanner.scanning, what="scanning")
        return self.service

    async def __aexit__(self, *exc):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def pair(service, address, passkey=None):
    await until(lambda: address in service.nearby, what=f"{address} heard")
    return await service.pair(address, passkey)


# -- connector --------------------------------------------------------------------------


def test_transient_bluez_errors_are_retried_with_a_backoff_per_error():
    backend = SimulatedBackend([SimulatedDevice(CUFF, "SIM-BP1", 0x1810)])
    backend.devices[CUFF].fail_next = [TransientError("InProgress"),
                                       TransientError("le-connection-abort-by-local"),
                                       DisconnectedError("dropped")]
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    async def go():
        conn = await connect_with_retries(backend, CUFF, sleep=sleep)
        await conn.disconnect()

    run(go())
    assert slept == [1.0, 0.25, 0.0]
    assert backend.devices[CUFF].connects == 4


def test_retries_are_bounded_and_pairing_refusals_are_not_retried():
    backend = SimulatedBackend([SimulatedDevice(CUFF, "SIM-BP1", 0x1810)])
    dev = backend.devices[CUFF]
    dev.fail_next = [TransientError("NotReady")] * 6

    async def nosleep(_):
        pass

    with pytest.raises(TransientError):
        run(connect_with_retries(backend, CUFF, attempts=4, sleep=nosleep))
    assert dev.connects == 4
    dev.fail_next, dev.connects = [PairingError("refused")], 0
    with pytest.raises(PairingError):
        run(connect_with_retries(backend, CUFF, sleep=nosleep))
    assert dev.connects == 1


# -- scanner ----------------------------------------------------------------------------


def test_scanner_watchdog_restarts_a_silent_scan():
    backend = SimulatedBackend([], advertise_every=0.01)
    scanner = Scanner(backend, lambda adv: None, silent_after=0.2)

    async def go():
        task = asyncio.create_task(scanner.run())
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(go())
    assert scanner.restarts >= 2 and backend.scan_starts == scanner.restarts + 1


def test_scanner_waits_for_an_adapter_and_recovers(caplog):
    backend = SimulatedBackend([SimulatedDevice(CUFF, "SIM-BP1", 0x1810)],
                               advertise_every=0.01)
    backend.adapter_present = False
    heard = []
    scanner = Scanner(backend, heard.append, retry_after=0.05)

    async def go():
        task = asyncio.create_task(scanner.run())
        await asyncio.sleep(0.3)
        assert not scanner.scanning and scanner.error == NO_ADAPTER_MESSAGE
        backend.adapter_present = True
        await until(lambda: heard, what="an advertisement")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(go())
    assert scanner.error is None
    assert sum(NO_ADAPTER_MESSAGE in r.getMessage() for r in caplog.records) == 1  # said once


# -- the service ------------------------------------------------------------------------


def test_glucose_fetch_resumes_by_sequence_after_a_disconnect_mid_transfer(fake_core):
    meter = SimulatedDevice(METER, "SIM-GL1", 0x1808)
    backend = SimulatedBackend([meter], advertise_every=0.05, latency=0.001)
    for seq, mmol in enumerate(("5.0", "6.0", "7.0", "8.0", "9.0"), start=1):
        backend.measure(METER, {"glucose": mmol})
    meter.drop_after = 2

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, METER)
            await until(lambda: len(fake_core.readings) == 5, timeout=20, what="5 records")
            # the sequence is advanced just after each reading is stored: wait for it too
            await until(lambda: service.paired[METER].get("last_sequence") == 5,
                        what="last sequence 5")
            assert service.counters["incomplete_visits"] == 1

    run(go())
    assert [r["extra"]["sequence_number"] for r in fake_core.readings] == [1, 2, 3, 4, 5]
    assert len({r["id"] for r in fake_core.readings}) == 5


def test_only_paired_devices_are_read_and_a_repeated_broadcast_is_stored_once(fake_core):
    backend = SimulatedBackend(advertise_every=0.02, latency=0.001)

    async def go():
        async with Running(fake_core, backend) as service:
            await pair(service, "5A:11:00:00:00:04")  # this home's broadcasting scale
            backend.measure("5A:11:00:00:00:04", {"weight": 66.0})
            backend.measure("5A:11:00:00:00:66", {"weight": 99.0})  # the neighbour's
            await until(lambda: fake_core.readings, what="a weight")
            await asyncio.sleep(0.3)  # many more identical broadcasts
            assert service.counters["ignored_unpaired"] > 3

    run(go())
    assert [(r["device"]["address"], r["values"]["weight"]) for r in fake_core.readings] == [
        ("5A:11:00:00:00:04", 66.0)]


def test_every_alert_is_recorded_but_spoken_once_per_cooldown(fake_core):
    async def go():
        async with Running(fake_core) as service:
            await pair(service, CUFF)
            for minute, systolic in ((1, 182), (2, 190)):
                char, data = build_measurement(0x1810, {"systolic": systolic})
                m = p.parse_blood_pressure(data)
                m = p.BloodPressureMeasurement(m.systolic, m.diastolic, None,
                                               time_stamp=p.DeviceTime(2025, 1, 1, 9, minute))
                await service.handle_payload(service.paired[CUFF], char,
                                             p.encode_blood_pressure(m))

    run(go())
    alerts = [e for e in fake_core.events if e["kind"] == "alert"]
    assert [a["payload"]["values"]["systolic"] for a in alerts] == [182.0, 190.0]
    assert fake_core.speaker.said.count(
        "Your blood pressure is higher than usual. The care centre has been told.") == 1


def test_malformed_payloads_are_counted_and_never_stored(fake_core):
    async def go():
        async with Running(fake_core) as service:
            await pair(service, CUFF)
            record = service.paired[CUFF]
            assert await service.handle_payload(record, uuids.BLOOD_PRESSURE_MEASUREMENT,
                                                b"\x1e\x80") is None
            nan = bytes.fromhex("00ff07ff07ff07")  # systolic NaN: no reading
            assert await service.handle_payload(record, uuids.BLOOD_PRESSURE_MEASUREMENT,
                                                nan) is None
            return service

    service = run(go())
    assert service.rejections["blood pressure"] == 2
    assert service.counters["malformed"] == 1 and service.counters["no_reading"] == 1
    assert fake_core.readings == []


def test_thresholds_from_config_and_the_platform(fake_core):
    fake_core.config = fake_core.config.replace(thresholds={"temperature_high": 38.0})

    async def go():
        await fake_core.db(fake_core.store.set_setting, "thresholds", {"spo2_low": 92})
        return await BleService(fake_core, SimulatedBackend([])).load_thresholds()

    limits = run(go())
    assert limits.temperature_high == 38.0 and limits.spo2_low == 92.0
    assert limits.systolic_high == 180.0


def test_pairing_a_pin_meter_asks_the_kiosk_and_a_wrong_pin_fails(fake_core):
    async def go():
        async with Running(fake_core) as service:
            await until(lambda: METER in service.nearby, what="the meter")
            task = asyncio.create_task(service.pair(METER))
            await until(lambda: service.policy.waiting_for_passkey == [METER], what="PIN ask")
            assert ("devices", {"event": "passkey_needed", "address": METER}) in fake_core.pushed
            assert await fake_core.commands["devices.passkey"](address=METER, passkey="123456")
            record = await task
            assert record["bonded"] is True
            await fake_core.commands["devices.forget"](address=METER)
            with pytest.raises(Exception, match="Could not pair"):
                await service.pair(METER, 999999)

    run(go())
    assert "Please type the number shown on the device." in fake_core.speaker.said


# -- pure parts -------------------------------------------------------------------------


def test_pairing_policy_authorises_only_the_chosen_device():
    policy = PairingPolicy(passkey_timeout=0.1)

    async def go():
        assert not policy.authorize(CUFF)
        with policy.expect(CUFF, 123456):
            assert policy.authorize(CUFF.lower()) and not policy.authorize(METER)
            assert await policy.passkey(CUFF) == 123456
        with policy.expect(METER):
            with pytest.raises(PairingError, match="in time"):
                await policy.passkey(METER)

    run(go())
    assert address_from_path("/org/bluez/hci0/dev_C4_7C_8D_6A_00_02") == "C4:7C:8D:6A:00:02"


def test_threshold_rules_at_their_boundaries():
    t = Thresholds()

    def rules(kind, **values):
        return [a.rule for a in check({"kind": kind, "values": values}, t)]

    assert rules("blood_pressure", systolic=180.0, diastolic=90.0) == ["blood_pressure_high"]
    assert rules("blood_pressure", systolic=150.0, diastolic=120.0) == ["blood_pressure_high"]
    assert rules("blood_pressure", systolic=179.0, diastolic=119.0) == []
    assert rules("spo2", spo2=89.0) == ["spo2_low"] and rules("spo2", spo2=90.0) == []
    assert rules("glucose", glucose=3.8) == ["glucose_low"] and rules("glucose", glucose=3.9) == []
    assert rules("body_temperature", temperature=38.5) == ["temperature_high"]
    assert rules("body_temperature", temperature=38.4) == []
    assert check({"kind": "spo2", "values": {"spo2": 80.0}},
                 Thresholds.from_mapping({"enabled": False})) == []
    with pytest.raises(ValueError, match="unknown key 'sytolic'"):
        Thresholds.from_mapping({"sytolic": 170})
    with pytest.raises(ValueError, match="out of range"):
        Thresholds.from_mapping({"spo2_low": 20})


def test_reading_ids_make_resends_harmless():
    bp = p.parse_blood_pressure(p.encode_blood_pressure(p.BloodPressureMeasurement(
        Decimal(120), Decimal(80), None, time_stamp=p.DeviceTime(2025, 1, 2, 3, 4, 5))))
    reading = bp.to_reading()
    a = reading_id(CUFF, reading, received_at="2025-01-02T03:04:06.000Z")
    assert a == reading_id(CUFF, reading, received_at="2025-01-05T00:00:00.000Z")
    assert a != reading_id(METER, reading, received_at="2025-01-02T03:04:06.000Z")
    no_time = {**reading, "device_time": None}
    assert reading_id(CUFF, no_time, received_at="x") != reading_id(CUFF, no_time,
                                                                    received_at="y")


def test_devices_are_described_for_people():
    adv = Advertisement(CUFF, "A&D UA-651BLE", -50, (uuids.full_uuid(0x1810),))
    assert describe(adv) == ("blood_pressure", "Blood pressure monitor A&D UA-651BLE")
    scale = Advertisement(CUFF, None, -50, (),
                          {uuids.full_uuid(0x181D): b"\x00\x10\x27"})
    assert describe(scale) == ("scale", "Weight scale (00:01)")
    assert describe(Advertisement(CUFF, "Headphones", -40, ("0000110b" + uuids._BASE_SUFFIX,))) \
        is None


def test_every_phrase_is_in_all_three_languages():
    for key, texts in PHRASES.items():
        assert set(texts) == {"en", "zh_CN", "ko"}, key


def test_bluez_errors_become_the_hubs_errors():
    from bleak.exc import BleakDBusError

    from hub.sensors.ble.bleak_backend import translate_error

    def err(name, *body):
        return translate_error(BleakDBusError(name, list(body)))

    assert err("org.bluez.Error.InProgress").code == "InProgress"
    assert err("org.bluez.Error.Failed", "le-connection-abort-by-local").code == \
        "le-connection-abort-by-local"
    assert isinstance(err("org.bluez.Error.AuthenticationFailed"), PairingError)
    assert isinstance(err("org.bluez.Error.Failed", "Not connected"), DisconnectedError)
    assert isinstance(err("org.freedesktop.DBus.Error.ServiceUnknown"), NoAdapterError)
    assert isinstance(translate_error(FileNotFoundError(2, "no socket")), NoAdapterError)
    assert translate_error(TimeoutError()).code == "timeout"


def test_cli_scan_without_bluetooth_or_core_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path), "devices", "scan",
                                      "--seconds", "0"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {NO_ADAPTER_MESSAGE}"
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path), "devices", "pair",
                                      CUFF])
    assert result.exit_code == 1 and "the hub core is not running" in result.output
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path), "devices", "list"])
    assert result.exit_code == 0 and "No devices are paired yet" in result.output


def test_every_devices_subcommand_has_help():
    group = cli.all_commands()["devices"]
    assert set(group.commands) == {"scan", "pair", "list", "forget"}
    assert all(c.help for c in group.commands.values())


def test_a_streaming_heart_rate_strap_is_thinned_to_one_reading_a_minute(fake_core):
    strap = SimulatedDevice("5A:11:00:00:00:0D", "SIM-HR1", 0x180D)

    async def go():
        async with Running(fake_core, SimulatedBackend([strap], advertise_every=0.05)) as svc:
            await pair(svc, strap.address)
            for bpm in (71, 72, 73):
                char, data = build_measurement(0x180D, {"heart_rate": bpm})
                await svc.handle_payload(svc.paired[strap.address], char, data)
            return svc

    service = run(go())
    assert [r["values"]["heart_rate"] for r in fake_core.readings] == [71.0]
    assert service.counters["thinned"] == 2
