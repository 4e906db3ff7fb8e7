"""`hub doctor`: every check reports OK / WARN / FAIL with a hint, and a damaged DB fails."""

from click.testing import CliRunner

from hub.cli import cli
from hub.store import Store


def run_doctor(tmp_path, *extra):
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\nsimulate = true\n')
    return CliRunner().invoke(cli, ["--config", str(cfg), *extra, "doctor"])


def test_doctor_on_a_fresh_machine_warns_with_hints(tmp_path):
    result = run_doctor(tmp_path)
    lines = result.output.splitlines()
    names = {line.split()[1] for line in lines if line[:4] in ("OK  ", "WARN", "FAIL")}
    assert {"config", "database", "disk", "core", "audio", "bluetooth", "gpio"} <= names
    assert "does not exist yet" in result.output
    assert "→ Start it" in result.output  # the socket check says what to do


def test_doctor_checks_database_integrity(tmp_path):
    state = tmp_path / "state"
    Store(state / "hub.db").close()
    result = run_doctor(tmp_path)
    assert "OK    database" in result.output and "integrity ok" in result.output
    (state / "hub.db").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (state / f"hub.db{suffix}").unlink(missing_ok=True)
    result = run_doctor(tmp_path)
    assert "FAIL  database" in result.output
    assert result.exit_code == 1


def test_doctor_sees_a_running_core(core):
    result = CliRunner().invoke(cli, ["--config", str(core.config_path), "doctor"])
    assert "OK    core socket" in result.output


# -- the technician's checks ----------------------------------------------------------

import datetime as dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402

from hub import doctor  # noqa: E402
from hub.clock import to_rfc3339, utc_now  # noqa: E402
from hub.config import load_config  # noqa: E402
from hub.provision import hash_pin  # noqa: E402
from hub.sensors.ble.devices import add_device, touch_device  # noqa: E402
from hub.sync.enroll import enroll  # noqa: E402
from hub.sync.receiver import Receiver  # noqa: E402


def config_file(tmp_path, extra=""):
    path = tmp_path / "hub.toml"
    path.write_text(f'[hub]\nstate_dir = "{tmp_path / "state"}"\nsimulate = true\n{extra}')
    path.chmod(0o640)
    return path


def by_name(checks):
    return {c.name: c for c in checks}


def test_doctor_json_has_every_check_and_nothing_crashes_on_a_bare_machine(tmp_path):
    cfg = config_file(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "doctor", "--json"])
    report = json.loads(result.output)
    names = {c["name"] for c in report["checks"]}
    assert {"display", "touch", "audio out", "audio in", "mic level", "bluetooth", "devices",
            "gpio", "platform", "clock", "disk", "sd card", "setup pin"} <= names
    assert not [c for c in report["checks"] if "crashed" in c["detail"]]
    for c in report["checks"]:
        assert c["level"] in ("OK", "WARN", "FAIL")
        assert c["level"] == "OK" or c["hint"], c  # every problem says what to do
    assert report["worst"] == "FAIL" and result.exit_code == 1  # the default PIN


def test_default_pin_fails_and_a_provisioned_pin_passes(tmp_path):
    cfg = load_config(config_file(tmp_path))
    assert by_name(doctor.run_checks(cfg))["setup pin"].level == "FAIL"
    cfg = load_config(config_file(tmp_path, f'[kiosk]\nsetup_pin_hash = "{hash_pin("482913")}"\n'))
    assert by_name(doctor.run_checks(cfg))["setup pin"].level == "OK"


def test_a_world_readable_config_fails(tmp_path):
    path = config_file(tmp_path)
    assert by_name(doctor.run_checks(load_config(path)))["config file"].level == "OK"
    path.chmod(0o644)
    check = by_name(doctor.run_checks(load_config(path)))["config file"]
    assert check.level == "FAIL" and "chmod 0640" in check.hint


def test_platform_reachability_and_token_against_a_real_receiver(tmp_path):
    rx = Receiver(tmp_path / "platform.db", seed=1).start()
    try:
        cfg = load_config(config_file(tmp_path, f'[sync]\nurl = "{rx.url}"\n'))
        checks = doctor._platform(cfg)
        assert [(c.name, c.level) for c in checks] == [("platform", "OK"), ("token", "FAIL")]
        hub_id = enroll(cfg, rx.url, rx.create_code(), serial="DOC-1")
        assert [c.level for c in doctor._platform(cfg)] == ["OK", "OK"]
        rx.platform.revoke(hub_id)
        token = doctor._platform(cfg)[1]
        assert token.level == "FAIL" and "Enrol again" in token.hint
    finally:
        rx.close()
    check = doctor._platform(cfg)[0]
    assert check.level == "FAIL" and "not reachable" in check.detail and check.hint


def test_each_paired_device_says_when_it_was_last_seen(tmp_path):
    cfg = load_config(config_file(tmp_path))
    store = Store(cfg.db_path)
    try:
        add_device(store, "AA:BB:CC:DD:EE:01", "blood_pressure", "Cuff", bonded=True)
        add_device(store, "AA:BB:CC:DD:EE:02", "weight", "Scale", bonded=False)
        touch_device(store, "AA:BB:CC:DD:EE:02", to_rfc3339(utc_now() - dt.timedelta(days=12)))
    finally:
        store.close()
    checks = by_name(doctor._devices(cfg))
    assert checks["device Cuff"].level == "OK"
    scale = checks["device Scale"]
    assert scale.level == "WARN" and "12 days" in scale.detail and "batteries" in scale.hint


@pytest.fixture
def fake_kernel(tmp_path, monkeypatch):
    """A /sys and /proc of a Pi with the 7" screen, a USB microphone and an SD card."""
    root = tmp_path / "kernel"
    sys_, proc = root / "sys", root / "proc"
    for path, text in {
        sys_ / "class/drm/card1-DSI-1/status": "connected\n",
        sys_ / "class/drm/card1-HDMI-A-1/status": "disconnected\n",
        sys_ / "block/mmcblk0/device/name": "SD32G\n",
        sys_ / "block/mmcblk0/device/date": "06/2024\n",
        sys_ / "fs/ext4/mmcblk0p2/errors_count": "0\n",
        proc / "asound/pcm": "00-00: bcm2835 Headphones : bcm2835 Headphones : playback 8\n"
                             "01-00: USB Audio : USB Audio : capture 1\n",
        proc / "bus/input/devices": (
            'I: Bus=0018 Vendor=0000 Product=0000 Version=0000\nN: Name="generic ft5x06 (79)"\n'
            "H: Handlers=event0\nB: EV=b\nB: KEY=400 0 0 0 0 0 0 0 0 0 0\n"
            "B: ABS=2658000 3\n\n"
            'I: Bus=0019\nN: Name="vc4-hdmi"\nB: EV=3\n\n'
            'I: Bus=0003\nN: Name="USB touch (64-bit kernel)"\nB: ABS=265800000000003\n\n'),
        proc / "mounts": "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n",
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(doctor, "PATHS", doctor.Paths(sys=sys_, proc=proc, run=root / "run"))
    return root


def test_hardware_is_found_where_the_kernel_lists_it(tmp_path, fake_kernel):
    cfg = load_config(config_file(tmp_path))
    assert doctor._display(cfg).detail == "connected: DSI-1"
    assert doctor._touch(cfg).detail == "generic ft5x06 (79), USB touch (64-bit kernel)"
    assert doctor._audio_in(cfg).level == "OK"
    sd = doctor._sd_card(cfg)
    assert sd.level == "OK" and "SD32G" in sd.detail
    (fake_kernel / "sys/fs/ext4/mmcblk0p2/errors_count").write_text("3\n")
    (fake_kernel / "proc/mounts").write_text("/dev/mmcblk0p3 /var/lib/hub ext4 ro,noatime 0 0\n")
    sd = doctor._sd_card(cfg)
    assert sd.level == "FAIL" and "3 file system errors" in sd.detail
    assert "read-only" in sd.detail and "Replace" in sd.hint


def test_absent_hardware_is_not_found_with_a_hint(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(doctor, "PATHS", doctor.Paths(sys=empty, proc=empty, run=empty))
    cfg = load_config(config_file(tmp_path))
    for check in (doctor._display, doctor._touch, doctor._audio, doctor._audio_in,
                  doctor._mic_level):
        result = check(cfg)
        assert result.level != "OK" and "no " in result.detail and result.hint, result


def test_microphone_level_in_dbfs():
    import array

    tone = array.array("h", (int(16384 * math.sin(i / 5)) for i in range(16000)))
    assert -10 < doctor.level_dbfs(tone.tobytes()) < -8  # half scale sine: -9 dBFS RMS
    assert doctor.level_dbfs(bytes(32000)) == float("-inf")


def test_gpio_wiring_test_counts_what_the_technician_does(tmp_path):
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    saved, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        cfg = load_config(config_file(tmp_path))

        def technician():
            button = Device.pin_factory.pin(cfg.gpio.sos_button_pin)
            threading.Timer(0.1, lambda: (button.drive_low(), button.drive_high())).start()

        counts = doctor.gpio_wiring_test(cfg, 0.5, on_ready=technician)
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved
    assert counts["sos_button"] == 2 and counts["motion"] == 0 and counts["door"] == 0
