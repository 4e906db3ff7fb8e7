"""Health devices the hub knows: what a nearby device is, which ones belong to this home,
and small per-vendor fixes.

This module owns

* :func:`describe` — the kind and human name of an advertising device
  ("Blood pressure monitor A&D UA-651BLE"), from the SIG health service it advertises;
* the paired-device records in the store's ``devices`` table (address, kind, name,
  paired_at, bonded, last_seen, last_sequence): plain functions that take the
  :class:`~hub.store.Store` and run on the core's store thread (``await core.db(fn, …)``);
* :func:`reading_id` — the deterministic id that makes a resent reading harmless;
* :class:`VendorAdapter` — where a device's quirks are corrected, as bytes, before the
  SIG parsers see them. The parsers stay exact to the specifications.

It does not talk to a radio or decide what to do with readings.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from hub.clock import to_rfc3339, utc_now

from .backend import Advertisement
from .uuids import SERVICE_NAMES, WEIGHT_SCALE_SERVICE, uuid16

__all__ = [
    "KINDS",
    "describe",
    "broadcasts_weight",
    "is_health_advertisement",
    "list_devices",
    "get_device",
    "add_device",
    "forget_device",
    "touch_device",
    "set_last_sequence",
    "reading_id",
    "normalise_address",
    "VendorAdapter",
    "ADAPTERS",
    "adapter_for",
]

# The hub's device kind for each SIG health service, in order of preference when a
# device advertises several (a body composition scale also has the weight service).
KINDS: dict[int, str] = {
    0x1810: "blood_pressure",
    0x1808: "glucose",
    0x1809: "thermometer",
    0x1822: "pulse_oximeter",
    0x181D: "scale",
    0x181B: "scale",
    0x180D: "heart_rate",
}
KIND_SERVICE = {kind: service for service, kind in reversed(list(KINDS.items()))}

# A fixed namespace for reading ids (uuid5), so the same reading always gets the same id.
_READING_NAMESPACE = uuid.UUID("6a1e3c52-2b1f-4f7e-9a55-48e1d0b7c0de")


def normalise_address(address: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` → ``AA:BB:CC:DD:EE:FF``.

    :raises ValueError: not a Bluetooth address.
    """
    text = str(address).strip().upper().replace("-", ":")
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789ABCDEF" for c in p)
                                  for p in parts):
        raise ValueError(f"{address!r} is not a Bluetooth address (like AA:BB:CC:DD:EE:FF)")
    return text


def _services(adv: Advertisement) -> list[int]:
    found = []
    for value in (*adv.service_uuids, *adv.service_data.keys()):
        try:
            short = uuid16(value)
        except ValueError:
            continue
        if short in KINDS and short not in found:
            found.append(short)
    return sorted(found, key=list(KINDS).index)


def is_health_advertisement(adv: Advertisement) -> bool:
    """The device advertises one of the SIG health services."""
    return bool(_services(adv))


def describe(adv: Advertisement) -> tuple[str, str] | None:
    """``(kind, human name)`` of a health device, or None for anything else.

    The name is what the family reads on the kiosk: the kind of device in words, then
    the model the device advertises, e.g. ``"Blood pressure monitor A&D UA-651BLE"``.
    """
    services = _services(adv)
    if not services:
        return None
    service = services[0]
    words = SERVICE_NAMES.get(service, "Health device")
    model = (adv.name or "").strip()
    if model and model.upper() != adv.address.upper():
        return KINDS[service], f"{words} {model}"
    return KINDS[service], f"{words} ({adv.address[-5:]})"


def broadcasts_weight(adv: Advertisement) -> bool:
    """The advertisement carries Weight Scale service data (a broadcast-only scale)."""
    for key in adv.service_data:
        try:
            if uuid16(key) == WEIGHT_SCALE_SERVICE:
                return True
        except ValueError:
            continue
    return False


# --------------------------------------------------------------------------- store (store thread)


def _row(row) -> dict:
    out = dict(row)
    out["bonded"] = bool(out.get("bonded"))
    return out


def list_devices(store) -> list[dict]:
    """Paired devices, oldest pairing first."""
    return [_row(r) for r in store.db.query("SELECT * FROM devices ORDER BY paired_at, address")]


def get_device(store, address: str) -> dict | None:
    """One paired device, or None."""
    rows = list(store.db.query("SELECT * FROM devices WHERE address = ?", [address]))
    return _row(rows[0]) if rows else None


def add_device(store, address: str, kind: str, name: str, *, bonded: bool) -> dict:
    """Record a device as belonging to this home (re-pairing keeps its last_sequence)."""
    now = to_rfc3339(utc_now())
    # One statement: a read-then-write transaction could meet SQLITE_BUSY from the sync
    # thread's connection without waiting (WAL snapshot upgrade).
    with store.db.atomic():
        store.db.execute(
            "INSERT INTO devices (address, kind, name, paired_at, bonded, last_seen) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(address) DO UPDATE SET kind = excluded.kind, "
            "name = excluded.name, paired_at = excluded.paired_at, bonded = excluded.bonded, "
            "last_seen = excluded.last_seen",
            [address, kind, name, now, int(bonded), now])
    return get_device(store, address)


def forget_device(store, address: str) -> bool:
    """Remove a device from this home; False if it was not paired."""
    with store.db.atomic():
        cur = store.db.execute("DELETE FROM devices WHERE address = ?", [address])
    return cur.rowcount > 0


def touch_device(store, address: str, when: str | None = None) -> None:
    """Remember when the device was last heard."""
    with store.db.atomic():
        store.db.execute("UPDATE devices SET last_seen = ? WHERE address = ?",
                         [when or to_rfc3339(utc_now()), address])


def set_last_sequence(store, address: str, sequence: int) -> None:
    """Remember the newest glucose record stored (never goes backwards)."""
    with store.db.atomic():
        store.db.execute(
            "UPDATE devices SET last_sequence = ? WHERE address = ? "
            "AND (last_sequence IS NULL OR last_sequence < ?)", [sequence, address, sequence])


# --------------------------------------------------------------------------- reading ids


def reading_id(address: str, reading: dict, *, received_at: str) -> str:
    """A deterministic id for a reading, so a resent reading is stored once.

    * glucose: device + record sequence number + the record's own time (a meter that is
      reset starts its sequence again, with other times);
    * with a device time stamp: device + kind + time stamp + values — blood-pressure
      cuffs carry no sequence number and resend their memory on every connection;
    * without one, the hub's receive time stands in (it cannot tell a resend from a new
      identical measurement).

    :param received_at: the hub's receive time (RFC 3339), used only without device time.
    """
    kind = reading["kind"]
    extra = reading.get("extra") or {}
    values = json.dumps(reading.get("values") or {}, sort_keys=True, separators=(",", ":"))
    if kind == "glucose" and "sequence_number" in extra:
        key = f"{address}|glucose|seq={extra['sequence_number']}|{reading.get('device_time')}"
    elif reading.get("device_time"):
        key = f"{address}|{kind}|{reading['device_time']}|{values}"
    else:
        key = f"{address}|{kind}|rx={received_at}|{values}"
    return str(uuid.uuid5(_READING_NAMESPACE, key))


# --------------------------------------------------------------------------- vendor quirks


@dataclass(frozen=True)
class VendorAdapter:
    """A correction for one model's deviation from the SIG specification.

    :param name: what it fixes, for logs.
    :param name_prefixes: advertised names (upper case prefixes) it applies to.
    :param fix: ``fix(char16, data) -> data``: returns the spec-conformant bytes.
    """

    name: str
    name_prefixes: tuple[str, ...]
    fix: object

    def matches(self, device_name: str | None) -> bool:
        """The adapter applies to a device advertising ``device_name``."""
        upper = (device_name or "").upper()
        return any(upper.startswith(p) for p in self.name_prefixes)


#: Known quirks. Empty until a real device is seen to need one: add an adapter here with
#: a test holding that device's bytes, never a special case in the parsers.
ADAPTERS: list[VendorAdapter] = []


def adapter_for(device_name: str | None) -> VendorAdapter | None:
    """The vendor adapter for a device, if any."""
    for adapter in ADAPTERS:
        if adapter.matches(device_name):
            return adapter
    return None
