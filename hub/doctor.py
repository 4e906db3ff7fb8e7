"""``hub doctor``: checks a technician runs on a hub, each OK / WARN / FAIL with a hint.

It owns the checks and their wording, not the things checked: it opens the database
read-only through :class:`hub.store.Store`, asks the platform through
:class:`hub.sync.client.PlatformClient`, and reads the kernel's view of the hardware
(``/sys``, ``/proc``). Hardware that is absent is reported as "not found" with a hint,
never as a crash. Paths are injectable (:class:`Paths`) so tests point them at real
files of their own.
"""

import json
import math
import os
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hub.config import Config

__all__ = ["Check", "Paths", "run_checks", "gpio_wiring_test", "level_dbfs", "checks_json"]


@dataclass
class Paths:
    """Where the kernel tells about the hardware; tests point these at their own files."""

    sys: Path = Path("/sys")
    proc: Path = Path("/proc")
    run: Path = Path("/run")


PATHS = Paths()
DEVICE_STALE_DAYS = 7


@dataclass
class Check:
    """One check's outcome."""

    name: str
    level: str  # "OK", "WARN" or "FAIL"
    detail: str
    hint: str = ""
    data: dict = field(default_factory=dict)


def _config(cfg: Config) -> Check:
    return Check("config", "OK", f"loaded from {cfg.source}")


def _database(cfg: Config) -> Check:
    from hub.errors import StoreError
    from hub.store import Store, damaged_copies, writable_problem

    kept = damaged_copies(cfg.db_path)
    if kept:
        return Check("database", "FAIL",
                     f"SAFETY MODE: the database was damaged and is kept as {kept[-1]}; the hub "
                     "runs on a fresh database (alarms work; earlier readings, devices and "
                     "settings are in the kept file)",
                     f"Copy {kept[-1].name} (and any -wal beside it) off the hub for recovery "
                     "(`sqlite3 FILE .recover`), then move it out of the state folder. "
                     "Never delete it before it is copied.")
    if not cfg.db_path.exists():
        return Check("database", "WARN", f"{cfg.db_path} does not exist yet",
                     "It is created when the core starts: `hub core`.")
    problem = writable_problem(cfg.db_path)
    if problem:
        return Check("database", "FAIL", f"{problem}: the core cannot save alarms",
                     f"Give it back to the hub user: `sudo chown -R hub: {cfg.state_dir}` and "
                     "`sudo chmod u+w` the file, or remount the card read-write.")
    try:
        store = Store(cfg.db_path, migrate=False)
    except StoreError as exc:
        return Check("database", "FAIL", str(exc), "Keep the file; call a technician.")
    try:
        result = store.integrity_check()
        pragmas = store.pragmas()
    finally:
        store.close()
    if result != "ok":
        return Check("database", "FAIL", f"integrity_check: {result}",
                     "Copy the file with `sqlite3 hub.db .backup copy.db` before any repair.")
    return Check("database", "OK", f"integrity ok, journal {pragmas['journal_mode']}")


def _disk(cfg: Config) -> Check:
    path = cfg.state_dir if cfg.state_dir.exists() else Path("/")
    usage = shutil.disk_usage(path)
    free_mb = usage.free // (1024 * 1024)
    if free_mb < cfg.store.reserve_mb:
        return Check("disk", "FAIL", f"{free_mb} MB free at {path}",
                     "Only alarms and check-ins are saved now. Free space or use a larger card.")
    if free_mb < cfg.store.reserve_mb * 4:
        return Check("disk", "WARN", f"{free_mb} MB free at {path}", "Space is getting low.")
    return Check("disk", "OK", f"{free_mb} MB free at {path}")


def _socket(cfg: Config) -> Check:
    path = cfg.socket_path
    if not path.exists():
        return Check("core socket", "WARN", f"{path} missing: the core is not running",
                     "Start it: `sudo systemctl start hub-core` (or `hub core`).")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2)
        sock.connect(str(path))
        return Check("core socket", "OK", f"core answering on {path}")
    except PermissionError:
        return Check("core socket", "FAIL", f"no permission for {path}",
                     "Add this user to the 'hub' group: `sudo adduser $USER hub`.")
    except OSError as exc:
        return Check("core socket", "FAIL", f"{path}: {exc}",
                     "The core may have crashed: `journalctl -u hub-core -n 50`.")
    finally:
        sock.close()


def _bluetooth(cfg: Config) -> Check:
    adapters = sorted(p.name for p in Path("/sys/class/bluetooth").glob("hci*")) if Path(
        "/sys/class/bluetooth").exists() else []
    if not adapters:
        return Check("bluetooth", "WARN" if cfg.hub.simulate else "FAIL",
                     "no Bluetooth adapter found",
                     "Is Bluetooth enabled? Try: sudo rfkill unblock bluetooth")
    return Check("bluetooth", "OK", ", ".join(adapters))


def _gpio(cfg: Config) -> Check:
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if cfg.hub.simulate:
        return Check("gpio", "OK", "simulated (gpiozero MockFactory)")
    if not chips:
        return Check("gpio", "FAIL", "no /dev/gpiochip*: not a Raspberry Pi?",
                     "Run with --simulate on a laptop.")
    if not os.access(chips[0], os.R_OK | os.W_OK):
        return Check("gpio", "FAIL", f"no access to {chips[0]}",
                     "Add the hub user to the 'gpio' group.")
    return Check("gpio", "OK", ", ".join(c.name for c in chips))


def _setup_pin(cfg: Config) -> Check:
    from hub.provision import DEFAULT_PIN

    if cfg.kiosk.setup_pin_hash:
        return Check("setup pin", "OK", "family PIN set (stored hashed)")
    if cfg.kiosk.setup_pin == DEFAULT_PIN:
        return Check("setup pin", "FAIL", "the Setup PIN is still the default 1234",
                     "Set this home's PIN: hub provision FILE with [home] family_pin.")
    return Check("setup pin", "WARN", "the Setup PIN is stored in plain text",
                 "Store it hashed: hub provision FILE with [home] family_pin.")


def _config_file(cfg: Config) -> Check:
    path = Path(cfg.source)
    if not path.is_file():
        return Check("config file", "WARN" if not cfg.hub.simulate else "OK",
                     f"no config file ({cfg.source})",
                     "Provision the hub: hub provision hub-provision.toml")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o007:
        return Check("config file", "FAIL", f"{path} is readable by everyone ({mode:04o})",
                     f"It holds the PIN hash: sudo chmod 0640 {path}; sudo chgrp hub {path}")
    return Check("config file", "OK", f"{path} mode {mode:04o}")


def _display(cfg: Config) -> Check:
    drm = PATHS.sys / "class/drm"
    connectors = sorted(drm.glob("card*-*")) if drm.exists() else []
    connected = [c.name.split("-", 1)[1] for c in connectors
                 if _read(c / "status") == "connected"]
    if connected:
        return Check("display", "OK", "connected: " + ", ".join(connected))
    return Check("display", "WARN" if cfg.hub.simulate else "FAIL",
                 "no display found" if not connectors else "display not found on "
                 + ", ".join(c.name for c in connectors),
                 "Check the ribbon cable (both ends, contacts facing the board) and the "
                 "display's power; the 7\" screen is found at boot only.")


def _input_devices() -> list[dict]:
    text = _read(PATHS.proc / "bus/input/devices")
    blocks, current = [], {}
    for line in (text or "").splitlines() + [""]:
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
        elif line[1:3] == ": ":
            kind, _, rest = line[3:].partition("=")
            current[(line[0], kind)] = rest.strip().strip('"')
    return blocks


def _touch(cfg: Config) -> Check:
    ABS_MT_POSITION_X = 0x35
    found = []
    for dev in _input_devices():
        words = dev.get(("B", "ABS"), "").split()
        # The kernel prints longs, highest first; ABS has 64 bits, so more than one word
        # means 32-bit longs (a 32-bit kernel).
        width, bits = (32 if len(words) > 1 else 64), 0
        for word in words:
            bits = (bits << width) | int(word, 16)
        if bits >> ABS_MT_POSITION_X & 1:
            found.append(dev.get(("N", "Name"), "touch"))
    if found:
        return Check("touch", "OK", ", ".join(found))
    return Check("touch", "WARN" if cfg.hub.simulate else "FAIL", "no touchscreen found",
                 "Check the display's ribbon cable; on a USB screen, its USB cable.")


def _pcm(direction: str) -> list[str]:
    text = _read(PATHS.proc / "asound/pcm") or ""
    return [line.split(":")[2].strip() if line.count(":") >= 2 else line
            for line in text.splitlines() if direction in line]


def _audio(cfg: Config) -> Check:
    devices = _pcm("playback")
    if not devices:
        return Check("audio out", "WARN" if cfg.hub.simulate else "FAIL", "no speaker found",
                     "The hub cannot speak or sound the alarm. Check the speaker or HDMI "
                     "audio is plugged in; aplay -l lists what the system sees.")
    if not shutil.which("aplay") or not shutil.which("espeak-ng"):
        return Check("audio out", "WARN", "aplay or espeak-ng missing",
                     "Install them: sudo apt-get install alsa-utils espeak-ng")
    return Check("audio out", "OK", ", ".join(devices))


def _audio_in(cfg: Config) -> Check:
    devices = _pcm("capture")
    if not devices:
        return Check("audio in", "WARN", "no microphone found",
                     "Voice commands need a USB microphone; plug it in (arecord -l lists it).")
    return Check("audio in", "OK", ", ".join(devices))


def level_dbfs(samples: bytes) -> float:
    """RMS level of signed 16-bit little-endian samples, in dB full scale (-inf if silent)."""
    import array

    pcm = array.array("h")
    pcm.frombytes(samples[: len(samples) // 2 * 2])
    if os.sys.byteorder != "little":
        pcm.byteswap()
    if not pcm:
        return float("-inf")
    rms = math.sqrt(sum(x * x for x in pcm) / len(pcm))
    return 20 * math.log10(rms / 32768) if rms else float("-inf")


def _mic_level(cfg: Config) -> Check:
    if not _pcm("capture"):
        return Check("mic level", "WARN", "no microphone found", "Plug in the USB microphone.")
    if not shutil.which("arecord"):
        return Check("mic level", "WARN", "arecord missing",
                     "Install it: sudo apt-get install alsa-utils")
    out = subprocess.run(["arecord", "-q", "-d", "1", "-f", "S16_LE", "-r", "16000", "-c", "1",
                          "-t", "raw"], capture_output=True, timeout=10, check=False)
    if out.returncode != 0:
        return Check("mic level", "WARN", "cannot record: "
                     + out.stderr.decode(errors="replace").strip()[:120],
                     "If the voice service holds the microphone, that is fine; else check "
                     "alsamixer's capture level.")
    level = level_dbfs(out.stdout)
    data = {"dbfs": None if math.isinf(level) else round(level, 1)}
    if level < -70:
        return Check("mic level", "WARN", f"silent ({level:.0f} dBFS)",
                     "The microphone hears nothing: unmute capture in alsamixer (F4).", data)
    return Check("mic level", "OK", f"{level:.0f} dBFS over 1 s", data=data)


def _devices(cfg: Config) -> list[Check]:
    from hub.clock import parse_rfc3339, utc_now
    from hub.errors import StoreError
    from hub.store import Store

    if not cfg.db_path.exists():
        return [Check("devices", "OK", "no paired devices yet")]
    try:
        store = Store(cfg.db_path, migrate=False)
    except StoreError as exc:
        return [Check("devices", "FAIL", str(exc), "See the database check.")]
    try:
        devices = store.devices()
    finally:
        store.close()
    if not devices:
        return [Check("devices", "OK", "no paired devices",
                      "Pair the cuff or scale: Setup → Devices, or hub devices scan.")]
    checks, now = [], utc_now()
    for dev in devices:
        name = f"device {dev.get('name') or dev['address']}"
        seen = dev.get("last_seen")
        data = {"address": dev["address"], "kind": dev.get("kind"), "last_seen": seen}
        if not seen:
            checks.append(Check(name, "WARN", "paired but never seen",
                                "Take a measurement next to the hub so it is read.", data))
            continue
        days = (now - parse_rfc3339(seen)).total_seconds() / 86400
        if days > DEVICE_STALE_DAYS:
            checks.append(Check(name, "WARN", f"last seen {days:.0f} days ago ({seen})",
                                "Check its batteries and take a measurement within 5 m "
                                "of the hub.", data))
        else:
            ago = f"{days * 24:.0f} h" if days < 2 else f"{days:.0f} days"
            checks.append(Check(name, "OK", f"last seen {ago} ago", data=data))
    return checks


def _platform(cfg: Config) -> list[Check]:
    from hub.sync.client import AuthError, PlatformClient, SyncError
    from hub.sync.enroll import read_credentials

    creds = read_credentials(cfg.token_path)
    url = cfg.sync.url or (creds.url if creds else "")
    if not url:
        return [Check("platform", "WARN", "no care platform configured",
                      "Provision the hub (hub provision FILE) or hub enroll --url URL --code CODE.")]
    client = PlatformClient(url, creds.token if creds else None,
                            ca_bundle=cfg.sync.ca_bundle, timeout=min(cfg.sync.timeout, 10.0))
    try:
        try:
            client.ping()
        except SyncError as exc:
            return [Check("platform", "FAIL", f"{client.host} not reachable: {exc}",
                          "Check Wi-Fi (nmcli device status) and that the time is right; "
                          "the alarm is kept and sent when the platform is back.")]
        checks = [Check("platform", "OK", f"{client.host} reachable")]
        if not creds:
            checks.append(Check("token", "FAIL", "the hub is not enrolled",
                                "hub enroll --url URL --code CODE (a code from the service "
                                "centre)."))
            return checks
        try:
            client.fetch_inbox(None, limit=1)
        except AuthError:
            checks.append(Check("token", "FAIL", "the platform refuses this hub's token",
                                "Enrol again with a new code: hub enroll --url URL --code CODE."))
        except SyncError as exc:
            checks.append(Check("token", "WARN", f"could not check the token: {exc}"))
        else:
            checks.append(Check("token", "OK", f"accepted (hub {creds.hub_id})"))
        return checks
    finally:
        client.close()


def _clock(cfg: Config) -> Check:
    from hub.clock import clock_synced

    synced = clock_synced()  # the kernel's own flag (adjtimex), what the core records
    if synced is None and (PATHS.run / "systemd/timesync/synchronized").exists():
        synced = True
    year = time.gmtime().tm_year
    if year < 2025:
        return Check("clock", "FAIL", f"the clock says {year}",
                     "No time sync yet: connect the network; events are marked unsynced "
                     "meanwhile.")
    if synced is None:
        return Check("clock", "WARN", "time sync state not found",
                     "Is systemd-timesyncd running? sudo systemctl enable --now systemd-timesyncd")
    if not synced:
        return Check("clock", "WARN", "not synchronised",
                     "Needs the network; check Wi-Fi. Times are marked unsynced until then.")
    return Check("clock", "OK", "synchronised")


def _sd_card(cfg: Config) -> Check:
    problems = []
    for errors in sorted((PATHS.sys / "fs/ext4").glob("*/errors_count")):
        count = _read(errors)
        if count and count.isdigit() and int(count):
            problems.append(f"{errors.parent.name}: {count} file system errors")
    mounts = _read(PATHS.proc / "mounts") or ""
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] in ("/var/lib/hub", "/") and parts[2] == "ext4" \
                and "ro" in parts[3].split(","):
            problems.append(f"{parts[1]} was remounted read-only after errors")
    cards = sorted((PATHS.sys / "block").glob("mmcblk[0-9]"))
    names = []
    for card in cards:
        dev = card / "device"
        names.append(" ".join(filter(None, [card.name, _read(dev / "name"), _read(dev / "date")])))
        life = _read(dev / "life_time")  # eMMC only: 0x01 = 0-10 % used … 0x0b = worn out
        if life:
            worst = max(int(v, 16) for v in life.split())
            if worst >= 0x09:
                problems.append(f"{card.name} life used {worst * 10 - 10}-{worst * 10} %")
    if problems:
        return Check("sd card", "FAIL", "; ".join(problems),
                     "Replace the SD card soon; the data partition can be copied with "
                     "sqlite3 hub.db .backup first.")
    if not cards:
        return Check("sd card", "OK", "no SD card here (root is not on mmcblk); file systems clean")
    return Check("sd card", "OK", ", ".join(names) + "; file systems clean")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def gpio_wiring_test(cfg: Config, seconds: float, *, on_ready=None) -> dict[str, int]:
    """Watch the configured input pins and count changes: the technician presses the
    SOS button, waves at the motion sensor, opens the door.

    :param on_ready: called once the pins are watched (tests drive mock pins then).
    :returns: ``{"sos_button": changes, "motion": …, "door": …}`` for fitted pins.
    :raises RuntimeError: the pins are busy (the core holds them) or absent.
    """
    from gpiozero import Device, DigitalInputDevice
    from gpiozero.exc import GPIOZeroError

    if cfg.hub.simulate and Device.pin_factory is None:
        from gpiozero.pins.mock import MockFactory

        Device.pin_factory = MockFactory()
    wiring = {"sos_button": (cfg.gpio.sos_button_pin, True),
              "motion": (cfg.gpio.motion_pin, False),
              "door": (cfg.gpio.door_pin, True)}
    counts, devices = {}, []
    try:
        for name, (pin, pull_up) in wiring.items():
            if pin < 0:
                continue
            try:
                dev = DigitalInputDevice(pin, pull_up=pull_up)
            except (GPIOZeroError, OSError) as exc:
                raise RuntimeError(f"GPIO{pin} ({name}) cannot be opened: {exc}. If the core "
                                   "runs, stop it first: sudo systemctl stop hub-core") from None
            counts[name] = 0
            dev.when_activated = dev.when_deactivated = (
                lambda n=name: counts.__setitem__(n, counts[n] + 1))
            devices.append(dev)
        if on_ready:
            on_ready()
        time.sleep(seconds)
    finally:
        for dev in devices:
            dev.close()
    return dict(counts)


def checks_json(checks: list[Check]) -> str:
    """The checks as JSON for the platform: ``{"worst": …, "checks": [...]}``."""
    levels = [c.level for c in checks]
    worst = "FAIL" if "FAIL" in levels else "WARN" if "WARN" in levels else "OK"
    return json.dumps({"worst": worst, "checks": [asdict(c) for c in checks]},
                      ensure_ascii=False, indent=1)


CHECKS = (_config, _config_file, _setup_pin, _database, _disk, _sd_card, _socket, _display,
          _touch, _audio, _audio_in, _mic_level, _bluetooth, _devices, _gpio, _platform,
          _clock)


def run_checks(cfg: Config) -> list[Check]:
    """Run every check; a check that crashes is itself reported as FAIL."""
    results = []
    for check in CHECKS:
        name = check.__name__.strip("_").replace("_", " ")
        try:
            outcome = check(cfg)
        except Exception as exc:  # a doctor must finish its round
            outcome = Check(name, "FAIL", f"check crashed: {exc}")
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results
