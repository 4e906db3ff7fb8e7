"""Provisioning one hub for one home from ``hub-provision.toml``, and the family PIN.

This module owns the provisioning file's format, applying it (config, family PIN,
time zone, Wi-Fi, enrollment) and scrubbing its secrets afterwards, and the PIN hash
(:func:`hash_pin`, :func:`check_pin`). It runs once at first boot
(``hub-firstboot.service`` → ``hub provision --first-boot``) and by hand on a running
hub (``hub provision FILE``). It does not own enrollment (``hub.sync.enroll``) nor the
config's keys (``hub.config``): the config it writes is validated by the hub's own
loader before it replaces the old one, so a bad value never leaves a broken hub.

The file (every key optional but the PIN, which is needed once per home)::

    [home]
    elder_name = "Kim Young-ja"
    language = "ko"              # en, zh_CN or ko
    timezone = "Asia/Seoul"
    family_pin = "482913"        # 4-8 digits; stored only as a salted scrypt hash

    [wifi]
    ssid = "Home"
    password = "…"
    country = "KR"               # two letters, for the radio's rules

    [platform]
    url = "https://care.example.org"
    enrollment_code = "ABCD-1234"

After it is applied, the PIN, the Wi-Fi password and (once enrolled) the code are
removed from the file. When everything is done the file is renamed
``hub-provision.done.toml``, so the first-boot unit does not run again; an enrollment
that could not reach the platform keeps the code and is retried at the next boot.
"""

import dataclasses
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from hub.config import LANGUAGES, Config, config_from_dict, load_config
from hub.errors import ConfigError, HubError

__all__ = ["ProvisionError", "ProvisionResult", "hash_pin", "check_pin", "weak_pin_reason",
           "read_provision_file", "provision", "DEFAULT_PIN"]

log = logging.getLogger(__name__)

DEFAULT_PIN = "1234"
WIFI_CONNECTION = "hub-wifi"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MiB, ~0.1 s on a Raspberry Pi 4
_SCHEMA = {
    "home": {"elder_name": str, "language": str, "timezone": str, "family_pin": str},
    "wifi": {"ssid": str, "password": str, "country": str, "hidden": bool},
    "platform": {"url": str, "enrollment_code": str},
}
_SECRETS = {("home", "family_pin"), ("wifi", "password"), ("platform", "enrollment_code")}


class ProvisionError(HubError):
    """The provisioning file is wrong or a step cannot be done; the message says what to do."""


# -- the family PIN -------------------------------------------------------------------

def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """Return a salted scrypt hash of ``pin`` for ``[kiosk] setup_pin_hash``.

    :param pin: the PIN as typed (digits).
    :param salt: 16 bytes; random by default.
    :returns: ``scrypt$n$r$p$<salt hex>$<hash hex>``.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_pin(config: Config, pin: str) -> bool:
    """Tell whether ``pin`` opens the Setup screen. The kiosk's PIN pad calls this.

    Uses ``[kiosk] setup_pin_hash`` when set (constant-time compare), else the plain
    ``[kiosk] setup_pin`` of an unprovisioned hub.
    """
    stored = config.kiosk.setup_pin_hash
    if not stored:
        return hmac.compare_digest(pin.encode(), config.kiosk.setup_pin.encode())
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(digest) // 2)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def weak_pin_reason(pin: str) -> str | None:
    """Why ``pin`` is not acceptable as a family PIN, or None if it is."""
    if not re.fullmatch(r"[0-9]{4,8}", pin):
        return "the family PIN must be 4 to 8 digits"
    if pin == DEFAULT_PIN:
        return "the family PIN must not be the default 1234"
    if len(set(pin)) == 1:
        return "the family PIN must not be one digit repeated"
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:])}
    if steps in ({1}, {-1}):
        return "the family PIN must not be a run of digits like 2345"
    return None


# -- the provisioning file -------------------------------------------------------------

def read_provision_file(path: str | os.PathLike) -> dict:
    """Read and check ``hub-provision.toml``; unknown keys and wrong types are errors.

    :raises ProvisionError: with one line naming the file and the key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ProvisionError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisionError(f"{path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProvisionError(f"{path} is not valid TOML: {exc}. Put text values in "
                             'double quotes, e.g. ssid = "Home"') from None
    for section, table in data.items():
        if section not in _SCHEMA:
            raise ProvisionError(f"{path}: unknown section [{section}]; known: "
                                 + ", ".join(f"[{s}]" for s in _SCHEMA))
        if not isinstance(table, dict):
            raise ProvisionError(f"{path}: {section} must be a [{section}] table")
        for key, value in table.items():
            want = _SCHEMA[section].get(key)
            if want is None:
                raise ProvisionError(f"{path}: unknown key [{section}] {key}; known keys: "
                                     + ", ".join(_SCHEMA[section]))
            if not isinstance(value, want):
                kind = "true or false" if want is bool else "a text in double quotes"
                raise ProvisionError(f"{path}: [{section}] {key} must be {kind}")
    home, wifi, platform = (data.get(s, {}) for s in ("home", "wifi", "platform"))
    if "language" in home and home["language"] not in LANGUAGES:
        raise ProvisionError(f"{path}: [home] language = {home['language']!r}; use one of "
                             + ", ".join(LANGUAGES))
    if "timezone" in home:
        try:
            ZoneInfo(home["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ProvisionError(f"{path}: [home] timezone = {home['timezone']!r} is not a "
                                 "known time zone (e.g. Asia/Seoul, Europe/London)") from None
    if "family_pin" in home and (reason := weak_pin_reason(home["family_pin"])):
        raise ProvisionError(f"{path}: {reason}")
    if "country" in wifi and not re.fullmatch(r"[A-Z]{2}", wifi["country"]):
        raise ProvisionError(f"{path}: [wifi] country must be two capital letters, e.g. KR")
    if wifi and not wifi.get("ssid"):
        raise ProvisionError(f"{path}: [wifi] needs ssid (the network's name)")
    if "password" in wifi and not 8 <= len(wifi["password"].encode()) <= 63:
        raise ProvisionError(f"{path}: [wifi] password must be 8 to 63 characters (WPA)")
    if platform.get("enrollment_code") and not platform.get("url"):
        raise ProvisionError(f"{path}: [platform] enrollment_code needs [platform] url")
    return data


@dataclass
class ProvisionResult:
    """What was done: one line per step, and whether anything is left to do."""

    steps: list[tuple[str, str, str]] = field(default_factory=list)  # level, step, detail
    pending: bool = False

    def add(self, level: str, step: str, detail: str):
        self.steps.append((level, step, detail))
        log.info("provision %s: %s %s", step, level, detail)

    @property
    def ok(self) -> bool:
        return not any(level == "FAIL" for level, _, _ in self.steps)


def _write_atomic(path: Path, data: bytes, mode: int, group: str | None = None):
    """Write ``path`` via a synced temporary file renamed over it (old or new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if group and os.geteuid() == 0:
            import grp

            try:
                os.fchown(fd, 0, grp.getgrnam(group).gr_gid)
            except KeyError:
                log.warning("group %s does not exist; %s stays root's", group, path)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _replace(tmp: Path, path: Path):
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # FAT directories cannot always be synced
        pass
    finally:
        os.close(dir_fd)


def _write_config(config_path: Path, data: dict) -> tuple[Config, dict]:
    """Merge the file's settings into the hub config, validate, then replace it (0640)."""
    home, platform = data.get("home", {}), data.get("platform", {})
    current: dict = {}
    if config_path.exists():
        try:
            current = tomllib.loads(config_path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            # A broken old config is replaced by a valid one, never kept.
            log.warning("the old config %s is unreadable (%s); writing a new one",
                        config_path, exc)
    hub = current.setdefault("hub", {})
    for key in ("elder_name", "language"):
        if key in home:
            hub[key] = home[key]
    if "url" in platform:
        current.setdefault("sync", {})["url"] = platform["url"].rstrip("/")
    kiosk = current.setdefault("kiosk", {})
    if "family_pin" in home:
        kiosk["setup_pin_hash"] = hash_pin(home["family_pin"])
        kiosk.pop("setup_pin", None)  # no plain PIN next to the hash
    if not kiosk.get("setup_pin_hash"):
        raise ProvisionError("a family PIN is needed: add family_pin = \"…\" (4-8 digits) "
                             "under [home]")
    for name in [n for n, t in current.items() if t == {}]:
        del current[name]
    try:
        config_from_dict(current, source=str(config_path))
    except ConfigError as exc:
        raise ProvisionError(f"the new config would be wrong: {exc}") from None
    tmp = _write_atomic(config_path, tomli_w.dumps(current).encode(), 0o640, group="hub")
    try:
        cfg = load_config(tmp)  # the hub's own loader reads exactly what will be used
    except ConfigError as exc:
        tmp.unlink(missing_ok=True)
        raise ProvisionError(f"the written config does not load: {exc}") from None
    _replace(tmp, config_path)
    return dataclasses.replace(cfg, source=str(config_path)), current


def _set_timezone(root: Path, tz: str):
    """Point /etc/localtime at the zone, as timedatectl does, without needing D-Bus."""
    zonefile = Path("/usr/share/zoneinfo") / tz
    localtime = root / "etc" / "localtime"
    tmp = localtime.with_name(".localtime.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("..") / zonefile.relative_to("/"))
    os.replace(tmp, localtime)
    tmp = _write_atomic(root / "etc" / "timezone", f"{tz}\n".encode(), 0o644)
    _replace(tmp, root / "etc" / "timezone")


def _keyfile_escape(value: str) -> str:
    """Escape a GKeyFile string value (NetworkManager's keyfile format)."""
    value = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    value = value.replace("\r", "\\r")
    return "\\s" + value[1:] if value.startswith(" ") else value


def _nmcli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["nmcli", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def _network_manager_running() -> bool:
    if not shutil.which("nmcli"):
        return False
    try:
        return _nmcli("-t", "-f", "RUNNING", "general", timeout=10).stdout.strip() == "running"
    except (OSError, subprocess.TimeoutExpired):
        return False


def _set_wifi(root: Path, wifi: dict, result: ProvisionResult):
    """Save the Wi-Fi as a NetworkManager connection (0600), then join it with nmcli."""
    lines = ["[connection]", f"id={WIFI_CONNECTION}", "type=wifi", "autoconnect=true",
             "autoconnect-retries=0", "", "[wifi]", "mode=infrastructure",
             f"ssid={_keyfile_escape(wifi['ssid'])}"]
    if wifi.get("hidden"):
        lines.append("hidden=true")
    if wifi.get("password"):
        lines += ["", "[wifi-security]", "key-mgmt=wpa-psk",
                  f"psk={_keyfile_escape(wifi['password'])}"]
    lines += ["", "[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    path = root / "etc/NetworkManager/system-connections" / f"{WIFI_CONNECTION}.nmconnection"
    tmp = _write_atomic(path, "\n".join(lines).encode(), 0o600)
    _replace(tmp, path)
    if wifi.get("country") and shutil.which("iw") and root == Path("/"):
        subprocess.run(["iw", "reg", "set", wifi["country"]], capture_output=True, check=False)
    if root != Path("/") or not _network_manager_running():
        result.add("OK", "wifi", f"saved {wifi['ssid']!r}; joined when NetworkManager starts")
        return
    reload = _nmcli("connection", "reload")
    up = _nmcli("connection", "up", WIFI_CONNECTION, timeout=60) if reload.returncode == 0 \
        else reload
    if up.returncode == 0:
        result.add("OK", "wifi", f"joined {wifi['ssid']!r}")
    else:
        result.add("WARN", "wifi", f"saved {wifi['ssid']!r} but not joined yet: "
                   f"{(up.stderr or up.stdout).strip()[:200]}. Check the name and password; "
                   "it keeps trying")


def _enroll(cfg: Config, url: str, code: str, wait_network: float, result: ProvisionResult):
    from hub.sync.client import EnrollmentError
    from hub.sync.enroll import enroll

    deadline = time.monotonic() + wait_network
    while True:
        try:
            hub_id = enroll(cfg, url, code)
        except EnrollmentError as exc:
            if time.monotonic() < deadline:
                time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
                continue
            result.add("FAIL", "enrollment", str(exc))
            result.pending = True
            return
        result.add("OK", "enrollment", f"enrolled as hub {hub_id}")
        return


def _scrub(path: Path, data: dict, result: ProvisionResult):
    """Remove applied secrets from the file; rename it .done when nothing is left to do."""
    remaining = {s: dict(t) for s, t in data.items()}
    for section, key in _SECRETS:
        if section == "platform" and key == "enrollment_code" and result.pending:
            continue  # still needed for the next try
        remaining.get(section, {}).pop(key, None)
    remaining = {s: t for s, t in remaining.items() if t}
    header = ("# Applied by hub provision; secrets (PIN, Wi-Fi password, enrollment code)\n"
              "# were removed. Settings now live in /etc/hub/hub.toml.\n")
    tmp = _write_atomic(path, (header + tomli_w.dumps(remaining)).encode(), 0o600)
    _replace(tmp, path)
    if not result.pending and path.name == "hub-provision.toml":
        done = path.with_name("hub-provision.done.toml")
        os.replace(path, done)
        result.add("OK", "file", f"secrets removed; renamed to {done.name}")
    else:
        result.add("OK", "file", "secrets removed" + (
            "; the enrollment code is kept to try again at the next boot" if result.pending
            else ""))


def provision(path: str | os.PathLike, *, config_path: str | os.PathLike | None = None,
              root: str | os.PathLike = "/", wait_network: float = 0.0,
              enroll: bool = True, first_boot: bool = False) -> ProvisionResult:
    """Apply a provisioning file to this hub (or to a root filesystem at ``root``).

    Order: read and check the whole file first (a bad file changes nothing), then
    config + PIN, time zone, Wi-Fi, enrollment, and last scrub the file's secrets.

    :param path: the ``hub-provision.toml``.
    :param config_path: the hub config to update; default ``<root>/etc/hub/hub.toml``.
    :param root: the filesystem to provision, ``/`` on a running hub.
    :param wait_network: seconds to keep retrying enrollment while the network comes up.
    :param enroll: False skips enrollment (it stays pending in the file).
    :param first_boot: run by hub-firstboot.service: when all is done, switch on the
        read-only root the image was built with (``cmdline.txt`` next to the file).
    :raises ProvisionError: the file is wrong or the config cannot be written.
    """
    path, root = Path(path), Path(root)
    data = read_provision_file(path)
    if root == Path("/") and _overlay_active():
        raise ProvisionError(
            "the root filesystem is read-only (overlayroot): changes would vanish at reboot. "
            "Add overlayroot=disabled to cmdline.txt on the boot partition, reboot, run "
            "hub provision again, then remove it")
    config_path = Path(config_path) if config_path else root / "etc/hub/hub.toml"
    result = ProvisionResult()
    home = data.get("home", {})
    if "timezone" in home and not (root / "usr/share/zoneinfo" / home["timezone"]).exists():
        raise ProvisionError(f"time zone data for {home['timezone']} is not installed "
                             "(package tzdata)")
    cfg, _ = _write_config(config_path, data)
    result.add("OK", "config", f"{config_path} written (0640)"
               + (", family PIN stored hashed" if "family_pin" in home else ""))
    if "timezone" in home:
        _set_timezone(root, home["timezone"])
        result.add("OK", "time zone", home["timezone"])
    if data.get("wifi"):
        _set_wifi(root, data["wifi"], result)
    platform = data.get("platform", {})
    if platform.get("enrollment_code"):
        if enroll:
            _enroll(cfg, platform["url"], platform["enrollment_code"], wait_network, result)
        else:
            result.add("WARN", "enrollment", "skipped; the code is kept in the file")
            result.pending = True
    _scrub(path, data, result)
    if first_boot and not result.pending:
        _enable_read_only_root(path.parent / "cmdline.txt", result)
    return result


def _overlay_active() -> bool:
    """True when / is overlayroot's RAM overlay (writes would not survive a reboot)."""
    try:
        mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    except OSError:
        return False
    root_is_overlay = any(m[1:3] == ["/", "overlay"] for m in mounts if len(m) > 2)
    return root_is_overlay and any(m[1] == "/media/root-ro" for m in mounts if len(m) > 1)


def _enable_read_only_root(cmdline: Path, result: ProvisionResult):
    """Images built read-only boot the first time with ``overlayroot=disabled`` so that
    provisioning persists; once it is done, drop the word so the next boot is read-only."""
    try:
        words = cmdline.read_text().split()
    except OSError:
        return
    if "overlayroot=disabled" not in words:
        return
    words.remove("overlayroot=disabled")
    tmp = _write_atomic(cmdline, (" ".join(words) + "\n").encode(), 0o644)
    _replace(tmp, cmdline)
    result.add("OK", "read-only root", "enabled from the next boot")
