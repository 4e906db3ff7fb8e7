"""Configuration: one TOML file, read and validated once at start into typed objects.

Every section is a frozen dataclass; every key has a type and, where it matters, a
range or a list of allowed values. A wrong or unknown key is a :class:`ConfigError`
that names the key and says what is allowed. Defaults work on a laptop in
simulation; a Pi's image ships ``/etc/hub/hub.toml`` (see ``image_build/``).
"""

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "HubSection",
    "SosSection",
    "StoreSection",
    "SyncSection",
    "AudioSection",
    "GpioSection",
    "RulesSection",
    "KioskSection",
    "BleSection",
    "ThresholdsSection",
    "VoiceSection",
    "load_config",
    "config_from_dict",
]

DEFAULT_CONFIG_PATH = Path("/etc/hub/hub.toml")
LANGUAGES = ("en", "zh_CN", "ko")


def _key(*, min=None, max=None, choices=None, pattern=None, path=None, default, doc=""):
    """A config key with its validation rules kept in the field's metadata.

    :param path: ``"absolute"`` (an absolute path, or empty where the default allows),
        ``"required"`` (an absolute path, never empty) or ``"file"`` (empty, or an
        existing readable file).
    """
    return field(default=default, metadata={"min": min, "max": max, "choices": choices,
                                            "pattern": pattern, "path": path, "doc": doc})


_HHMM = r"([01][0-9]|2[0-3]):[0-5][0-9]"


@dataclass(frozen=True)
class HubSection:
    """``[hub]``: where the hub keeps its state and who lives here."""

    state_dir: str = _key(default="/var/lib/hub", path="required",
                          doc="database, token and runtime files")
    socket_path: str = _key(default="", path="absolute",
                            doc="local API socket; empty = <state_dir>/hub.sock")
    socket_group: str = _key(default="hub", doc="group allowed to use the local API")
    language: str = _key(default="en", choices=LANGUAGES, doc="UI, speech and voice language")
    elder_name: str = _key(default="", doc="name used in greetings")
    simulate: bool = _key(default=False, doc="mock GPIO, simulated BLE devices")
    watchdog: bool = _key(default=True, doc="send systemd watchdog pings when asked")
    max_clients: int = _key(default=64, min=4, max=1000,
                            doc="local API connections at once (the kiosk uses 2-3); more are "
                                "refused with `busy`, and file handles are always kept for the "
                                "alarm sound, the database and sync")
    max_clients_per_user: int = _key(default=16, min=2, max=1000,
                                     doc="local API connections at once from one user other than "
                                         "root and the core's own")


@dataclass(frozen=True)
class SosSection:
    """``[sos]``: the alarm's timing."""

    countdown: int = _key(default=10, min=3, max=60, doc="seconds to cancel a touch or voice SOS")
    button_countdown: int = _key(
        default=10, min=0, max=60, doc="seconds to cancel a GPIO button SOS; 0 raises at once"
    )
    escalate_after: int = _key(
        default=60, min=10, max=3600, doc="seconds without delivery before the local alarm"
    )
    escalate_repeat: int = _key(default=30, min=5, max=600, doc="seconds between spoken repeats")


@dataclass(frozen=True)
class StoreSection:
    """``[store]``: retention and disk reserve."""

    retention_days: int = _key(default=90, min=1, max=3650, doc="days to keep delivered readings")
    reserve_mb: int = _key(
        default=64, min=1, max=10_000, doc="free disk kept for alarms and check-ins"
    )


@dataclass(frozen=True)
class SyncSection:
    """``[sync]``: the community care platform."""

    url: str = _key(default="", doc="platform base URL (https://…); empty = not configured")
    protocol: str = _key(default="hub", choices=("hub", "fhir"), doc="wire protocol")
    ca_bundle: str = _key(default="", path="file",
                          doc="extra CA bundle file; verification is always on")
    token_file: str = _key(default="", path="absolute",
                           doc="device token file; empty = <state_dir>/token")
    batch_size: int = _key(default=500, min=1, max=5000, doc="events per batch")
    timeout: float = _key(default=10.0, min=1.0, max=120.0, doc="seconds per request")
    backoff_cap: float = _key(default=300.0, min=1.0, max=3600.0, doc="longest retry wait, s")
    sos_retry: float = _key(default=3.0, min=0.5, max=60.0, doc="seconds between SOS retries")
    inbox_interval: float = _key(default=30.0, min=1.0, max=3600.0, doc="inbox poll period, s")
    patient_ref: str = _key(default="", doc="FHIR reference of the elder, e.g. Patient/123 "
                            "(protocol fhir)")


@dataclass(frozen=True)
class AudioSection:
    """``[audio]``: how the hub speaks."""

    speech_engine: str = _key(
        default="auto", choices=("auto", "pyttsx3", "espeak-ng", "silent"),
        doc="text-to-speech engine; silent = captions only",
    )
    rate: int = _key(default=140, min=80, max=250, doc="words per minute")
    volume: float = _key(default=1.0, min=0.1, max=1.0, doc="speech volume")


@dataclass(frozen=True)
class GpioSection:
    """``[gpio]``: what is wired to the header (BCM pin numbers; -1 = not fitted)."""

    enabled: bool = _key(default=True, doc="use the GPIO header (mock pins under --simulate)")
    sos_button_pin: int = _key(default=17, min=-1, max=27, doc="SOS push button to ground")
    motion_pin: int = _key(default=4, min=-1, max=27, doc="PIR motion sensor output")
    door_pin: int = _key(default=27, min=-1, max=27, doc="door reed contact to ground")
    buzzer_pin: int = _key(default=-1, min=-1, max=27, doc="alarm buzzer")
    alarm_led_pin: int = _key(default=-1, min=-1, max=27, doc="LED lit while an alarm is open")
    delivered_led_pin: int = _key(default=-1, min=-1, max=27, doc="LED lit once delivered")
    bounce_ms: int = _key(default=50, min=0, max=1000, doc="button debounce")
    hold_cancel_s: float = _key(default=3.0, min=1.0, max=10.0,
                                doc="holding the button this long cancels a countdown")


@dataclass(frozen=True)
class RulesSection:
    """``[rules]``: care rules fed by the sensors."""

    inactivity_enabled: bool = _key(default=True, doc="ask 'Are you all right?' after no motion")
    inactivity_hours: float = _key(default=4.0, min=0.5, max=24.0, doc="hours without motion")
    inactivity_answer_min: float = _key(default=10.0, min=1.0, max=120.0,
                                        doc="minutes to answer before the platform is told")
    waking_start: str = _key(default="07:00", pattern=_HHMM, doc="waking hours start, HH:MM")
    waking_end: str = _key(default="22:00", pattern=_HHMM, doc="waking hours end, HH:MM")
    night_door_enabled: bool = _key(default=True, doc="alert when the door opens at night")
    night_start: str = _key(default="23:00", pattern=_HHMM, doc="night starts, HH:MM")
    night_end: str = _key(default="06:00", pattern=_HHMM, doc="night ends, HH:MM")


@dataclass(frozen=True)
class CareSection:
    """``[care]``: the daily check-in and reminders."""

    checkin_enabled: bool = _key(default=True, doc="ask for a daily 'I'm OK'")
    checkin_start: str = _key(default="08:00", pattern=_HHMM, doc="check-in window opens, HH:MM")
    checkin_end: str = _key(default="10:00", pattern=_HHMM,
                            doc="check-in window closes (then the hub asks), HH:MM")
    checkin_grace_min: float = _key(default=30.0, min=1.0, max=240.0,
                                    doc="minutes to answer before the platform is told")
    reminder_grace_min: float = _key(default=60.0, min=5.0, max=720.0,
                                     doc="a reminder later than this is reported missed, "
                                         "not asked")
    reminder_answer_min: float = _key(default=10.0, min=1.0, max=120.0,
                                      doc="minutes a reminder stays on the screen")
    snooze_min: float = _key(default=10.0, min=1.0, max=120.0,
                             doc="'Remind me later' asks again after this many minutes")


@dataclass(frozen=True)
class KioskSection:
    """``[kiosk]``: the touchscreen."""

    fullscreen: bool = _key(default=True, doc="full screen without decorations")
    width: int = _key(default=800, min=640, max=3840, doc="window width when not full screen")
    height: int = _key(default=480, min=400, max=2160, doc="window height when not full screen")
    setup_pin: str = _key(default="1234", pattern=r"[0-9]{4,8}",
                          doc="plain PIN for the Setup screen, used only while setup_pin_hash "
                              "is empty (hub doctor fails on the default)")
    setup_pin_hash: str = _key(default="", pattern=r"(scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[0-9a-f]{32}"
                               r"\$[0-9a-f]{64})?",
                               doc="salted scrypt hash of the family PIN, written by "
                                   "`hub provision`; check with hub.provision.check_pin")
    dim_start: str = _key(default="22:00", pattern=_HHMM, doc="screen dims from, HH:MM")
    dim_end: str = _key(default="06:30", pattern=_HHMM, doc="screen dims until, HH:MM")


@dataclass(frozen=True)
class BleSection:
    """``[ble]``: Bluetooth health devices (see docs/bluetooth.md)."""

    enabled: bool = _key(default=True, doc="read Bluetooth health devices")
    adapter: str = _key(default="", doc="adapter name, e.g. hci0; empty = first powered one")
    agent_capability: str = _key(
        default="KeyboardOnly",
        choices=("KeyboardOnly", "NoInputNoOutput", "KeyboardDisplay", "DisplayYesNo",
                 "DisplayOnly"),
        doc="pairing agent: KeyboardOnly lets the family type a meter's PIN on the kiosk",
    )
    scan_watchdog_s: float = _key(default=90.0, min=10.0, max=3600.0,
                                  doc="restart scanning after this long without advertisements")
    revisit_after_s: float = _key(default=15.0, min=0.0, max=3600.0,
                                  doc="leave a device alone this long after a visit")
    connect_attempts: int = _key(default=4, min=1, max=10, doc="connection attempts per visit")
    connect_timeout_s: float = _key(default=20.0, min=5.0, max=120.0, doc="seconds per attempt")
    passkey_timeout_s: float = _key(default=120.0, min=10.0, max=600.0,
                                    doc="seconds to type a meter's PIN")
    first_wait_s: float = _key(default=10.0, min=1.0, max=60.0,
                               doc="seconds to wait for a first measurement")
    visit_max_s: float = _key(default=30.0, min=5.0, max=300.0, doc="longest visit to a device")


@dataclass(frozen=True)
class ThresholdsSection:
    """``[thresholds]``: readings that raise an alert (sources in hub/sensors/ble/thresholds.py)."""

    enabled: bool = _key(default=True, doc="raise alerts on readings")
    systolic_high: float = _key(default=180.0, min=90.0, max=300.0, doc="alert at systolic ≥, mm[Hg]")
    diastolic_high: float = _key(default=120.0, min=50.0, max=200.0,
                                 doc="alert at diastolic ≥, mm[Hg]")
    spo2_low: float = _key(default=90.0, min=50.0, max=100.0, doc="alert at SpO2 <, %")
    glucose_low: float = _key(default=3.9, min=1.0, max=10.0, doc="alert at glucose <, mmol/L")
    temperature_high: float = _key(default=38.5, min=36.0, max=43.0,
                                   doc="alert at body temperature ≥, °C")
    speak_cooldown_min: float = _key(default=10.0, min=0.0, max=1440.0,
                                     doc="say the same alert at most once in this many minutes")


@dataclass(frozen=True)
class VoiceSection:
    """``[voice]``: offline voice commands (see docs/voice.md)."""

    enabled: bool = _key(default=True, doc="listen for voice commands; false = microphone off")
    engine: str = _key(default="auto", choices=("auto", "vosk", "pocketsphinx"),
                       doc="recogniser; auto = vosk if its model is installed, else "
                           "pocketsphinx (English only)")
    models_dir: str = _key(default="/usr/share/hub/voice-models", path="absolute",
                           doc="where vosk models are unpacked (see `hub voice models`)")
    device: str = _key(default="", doc="microphone (sounddevice name); empty = default input")
    wake_phrase: str = _key(default="", doc="wake phrase before non-emergency commands; "
                            "empty = the language's own (assets/voice/<lang>.toml)")
    window_s: float = _key(default=8.0, min=3.0, max=30.0,
                           doc="seconds the hub listens after the wake phrase or a voice.listen request")
    end_ms: int = _key(default=300, min=150, max=1500,
                       doc="silence that ends an utterance, milliseconds")
    vad_threshold_db: float = _key(default=9.0, min=3.0, max=30.0,
                                   doc="speech is this much louder than the background, dB")
    min_confidence: float = _key(default=0.0, min=0.0, max=1.0,
                                 doc="confidence needed to accept a command; 0 = the value "
                                     "tuned on the test corpus for the language "
                                     "(assets/voice/<lang>.toml)")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    hub: HubSection = field(default_factory=HubSection)
    sos: SosSection = field(default_factory=SosSection)
    store: StoreSection = field(default_factory=StoreSection)
    sync: SyncSection = field(default_factory=SyncSection)
    audio: AudioSection = field(default_factory=AudioSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    rules: RulesSection = field(default_factory=RulesSection)
    care: CareSection = field(default_factory=CareSection)
    kiosk: KioskSection = field(default_factory=KioskSection)
    ble: BleSection = field(default_factory=BleSection)
    thresholds: ThresholdsSection = field(default_factory=ThresholdsSection)
    voice: VoiceSection = field(default_factory=VoiceSection)
    source: str = "defaults"

    @property
    def state_dir(self) -> Path:
        """The directory holding the database and runtime files."""
        return Path(self.hub.state_dir)

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.state_dir / "hub.db"

    @property
    def socket_path(self) -> Path:
        """The local API's Unix socket."""
        return Path(self.hub.socket_path) if self.hub.socket_path else self.state_dir / "hub.sock"

    @property
    def token_path(self) -> Path:
        """The device token file (mode 0600)."""
        return Path(self.sync.token_file) if self.sync.token_file else self.state_dir / "token"

    def replace(self, **sections) -> "Config":
        """Return a copy with some sections' keys changed: ``cfg.replace(sos={"countdown": 3})``."""
        data = {name: dataclasses.asdict(getattr(self, name)) for name in _SECTIONS}
        for name, changes in sections.items():
            data[name].update(changes)
        return config_from_dict(data, source=self.source)


_SECTIONS = {"hub": HubSection, "sos": SosSection, "store": StoreSection, "sync": SyncSection,
             "audio": AudioSection, "gpio": GpioSection, "rules": RulesSection, "care": CareSection,
             "kiosk": KioskSection, "ble": BleSection, "thresholds": ThresholdsSection,
             "voice": VoiceSection}


def _check_value(section: str, f: dataclasses.Field, value):
    where = f"[{section}] {f.name}"
    want = f.type
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if want is not bool and isinstance(value, bool) or not isinstance(value, want):
        raise ConfigError(
            f"{where} must be {_type_word(want)}, not {value!r} ({f.metadata['doc']})"
        )
    if isinstance(value, float) and not math.isfinite(value):
        lo, hi = f.metadata["min"], f.metadata["max"]
        raise ConfigError(f"{where} = {value!r} is not a usable number; give a finite number"
                          + (f" from {lo} to {hi}" if lo is not None else ""))
    if f.metadata["path"]:
        _check_path(where, f.metadata["path"], value)
    choices, lo, hi = f.metadata["choices"], f.metadata["min"], f.metadata["max"]
    pattern = f.metadata["pattern"]
    if pattern and not re.fullmatch(pattern, value):
        raise ConfigError(f"{where} = {value!r} is not valid ({f.metadata['doc']})")
    if choices and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{where} = {value!r} is not allowed; use one of {allowed}")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ConfigError(f"{where} = {value!r} is out of range; allowed {lo} to {hi}")
    return value


def _check_path(where: str, kind: str, value: str):
    if not value:
        if kind == "required":
            raise ConfigError(f"{where} must not be empty; give an absolute path such as "
                              "/var/lib/hub")
        return
    if "\0" in value or not os.path.isabs(value):
        raise ConfigError(f"{where} = {value!r} must be an absolute path (starting with /)")
    if kind == "file":
        if not os.path.isfile(value):
            raise ConfigError(f"{where} = {value!r}: no such file; give an existing file, "
                              "or leave it empty")
        if not os.access(value, os.R_OK):
            raise ConfigError(f"{where} = {value!r} is not readable by this user")


def _type_word(t) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a text"}[t]


def config_from_dict(data: dict, *, source: str = "dict") -> Config:
    """Validate a parsed TOML document into a :class:`Config`.

    :param data: the document, section name → table of keys.
    :param source: where it came from, for messages.
    :raises ConfigError: naming the first bad key.
    """
    sections = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            known = ", ".join(f"[{s}]" for s in _SECTIONS)
            raise ConfigError(f"{source}: unknown section [{name}]; known sections: {known}")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {name} must be a [section] table")
        cls = _SECTIONS[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(
                    f"{source}: unknown key [{name}] {key}; known keys: {', '.join(fields)}"
                )
            values[key] = _check_value(name, fields[key], value)
        sections[name] = cls(**values)
    cfg = Config(**sections, source=source)
    if cfg.sync.url and not cfg.sync.url.startswith(("https://", "http://127.", "http://localhost")):
        raise ConfigError(
            f"{source}: [sync] url = {cfg.sync.url!r} must start with https:// "
            "(plain http is allowed only to a receiver on this machine)"
        )
    return cfg


def load_config(path: str | os.PathLike | None = None, *, overrides: dict | None = None) -> Config:
    """Read and validate the TOML configuration.

    :param path: the file; None means ``/etc/hub/hub.toml`` if it exists, else defaults.
    :param overrides: section → keys applied on top (e.g. from command-line flags).
    :raises ConfigError: the file is missing (when given explicitly), not valid TOML, or a
        key is wrong.
    """
    data: dict = {}
    source = "defaults"
    if path is None and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {source} does not exist") from None
        except PermissionError:
            raise ConfigError(f"config file {source} is not readable by this user") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {source} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {source} is not UTF-8 text (bad byte at offset "
                              f"{exc.start}); save it as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"config file {source} cannot be read: "
                              f"{exc.strerror or exc}") from None
    for name, changes in (overrides or {}).items():
        data.setdefault(name, {}).update(changes)
    return config_from_dict(data, source=source)


def reference_markdown() -> str:
    """The configuration reference (docs/configuration.md), generated from the dataclasses."""
    out = ["# Configuration reference", "",
           "One TOML file: `/etc/hub/hub.toml`, or `hub --config FILE`. Every key is optional",
           "and has a default suited to a hub (`hub demo` writes its own file for a laptop).",
           "A wrong or unknown key stops the hub",
           "with a message naming it. This page is generated by `python -m hub.config`",
           "(a test checks it is current).", ""]
    for name, cls in _SECTIONS.items():
        out += [f"## [{name}]", "", (cls.__doc__ or "").split(":", 1)[-1].strip(), "",
                "| key | default | allowed | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if meta["choices"]:
                allowed = ", ".join(f"`{c}`" for c in meta["choices"])
            elif meta["min"] is not None:
                allowed = f"{meta['min']} – {meta['max']}"
            elif meta["path"]:
                allowed = "an existing file, or empty" if meta["path"] == "file" else \
                    "an absolute path" + (", or empty" if meta["path"] == "absolute" else "")
            elif meta["pattern"]:
                allowed = "HH:MM" if "[0-5]" in meta["pattern"] else f"`{meta['pattern']}`"
            else:
                allowed = _type_word(f.type)
            default = f.default
            if isinstance(default, bool):
                default = "true" if default else "false"
            elif isinstance(default, str):
                default = f'"{default}"'
            out.append(f"| `{f.name}` | `{default}` | {allowed} | {meta['doc']} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(reference_markdown(), end="")
