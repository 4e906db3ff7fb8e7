"""``hub doctor``: checks a technician runs on a hub, each OK / WARN / FAIL with a hint."""

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from hub.config import Config

__all__ = ["Check", "run_checks"]


@dataclass
class Check:
    """One check's outcome."""

    name: str
    level: str  # "OK", "WARN" or "FAIL"
    detail: str
    hint: str = ""


def _config(cfg: Config) -> Check:
    return Check("config", "OK", f"loaded from {cfg.source}")


def _database(cfg: Config) -> Check:
    from hub.errors import StoreError
    from hub.store import Store

    if not cfg.db_path.exists():
        return Check("database", "WARN", f"{cfg.db_path} does not exist yet",
                     "It is created when the core starts: `hub core`.")
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


def _audio(cfg: Config) -> Check:
    cards = Path("/proc/asound/cards")
    text = cards.read_text() if cards.exists() else ""
    if not text.strip() or "no soundcards" in text:
        return Check("audio", "WARN", "no sound card found",
                     "The hub cannot speak or sound the alarm. Check the speaker/HDMI audio.")
    if not shutil.which("aplay") or not shutil.which("espeak-ng"):
        return Check("audio", "WARN", "aplay or espeak-ng missing",
                     "Install them: sudo apt-get install alsa-utils espeak-ng")
    return Check("audio", "OK", text.strip().splitlines()[0].strip())


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


CHECKS = (_config, _database, _disk, _socket, _audio, _bluetooth, _gpio)


def run_checks(cfg: Config) -> list[Check]:
    """Run every check; a check that crashes is itself reported as FAIL."""
    results = []
    for check in CHECKS:
        name = check.__name__.strip("_")
        try:
            results.append(check(cfg))
        except Exception as exc:  # a doctor must finish its round
            results.append(Check(name, "FAIL", f"check crashed: {exc}"))
    return results
