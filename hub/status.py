"""What ``hub status`` reports, computed from the store (works whether or not the core runs).

Every figure is read from the database at the moment it is asked for — the outbox,
its dead letters, SOS rows the platform refused (:func:`hub.sync.outbox.refused_sos`),
``sync.last_success`` (written in the same transaction as each delivery) and the
sync worker's state, which the worker writes to ``runtime_state`` whenever it
changes. Nothing comes from a snapshot kept in memory, so nothing can go stale; the
only live fact is whether the core (and so the sync worker) is running, which the
caller says.

It never includes the device token or health values.
"""

import json

from hub.clock import clock_synced, parse_rfc3339, utc_now
from hub.config import Config
from hub.store import Store, damaged_copies

__all__ = ["collect_status", "format_status", "SYNC_STATES"]

#: What the "Sync:" line can say, most urgent first.
SYNC_STATES = ("sos_refused", "stopped", "not_configured", "not_enrolled", "unauthorized",
               "offline", "error", "ok", "starting")


def _credentials(config: Config):
    try:
        from hub.sync.enroll import read_credentials
    except ImportError:  # sync not installed: nothing can be enrolled
        return None
    try:
        return read_credentials(config.token_path)
    except Exception:  # an unreadable token file is "not enrolled", said below
        return None


def _refused(store: Store) -> list[dict]:
    try:
        from hub.sync.outbox import refused_sos
    except ImportError:
        return []
    return refused_sos(store)


def collect_status(store: Store, config: Config, *, sos: dict | None = None,
                   core: dict | None = None) -> dict:
    """Gather SOS state, outbox, sync, devices and clock facts from the store.

    :param sos: the live SOS snapshot from the core; otherwise read from the DB.
    :param core: ``{"pid", ...}`` when the core is running (the caller is the core, or
        reached it); None means it is not, so nothing is being sent.
    """
    if sos is None:
        active = store.sos_active()
        sos = ({"state": active["state"], "alarm_id": active["id"],
                "raised_at": active["raised_at"], "responder": active["responder"]}
               if active else {"state": "idle", "alarm_id": None})
    refused = _refused(store)
    if sos.get("alarm_id"):
        mine = [r["reason"] for r in refused if sos["alarm_id"] in (r["id"], r["sos_id"])]
        # (a dead letter left by an older hub, until the sync worker revives it)
        mine += [d["reason"] for d in store.dead_letters() if d["id"] == sos["alarm_id"]]
        if mine:
            sos = {**sos, "refused": mine[0]}
    outbox = {**store.outbox_stats(), "refused_sos": len(refused)}
    creds = _credentials(config)
    url = config.sync.url or (creds.url if creds else "") or None
    last_error = store.get_runtime("sync.last_error")
    try:
        last_error = json.loads(last_error) if last_error else None
    except ValueError:
        last_error = {"at": None, "error": last_error}
    stored_state = store.get_runtime("sync.state")
    message = store.get_runtime("sync.message")
    if not url:
        state = "not_configured"
    elif creds is None and config.sync.protocol == "hub":
        state = "not_enrolled"
    elif core is None:  # nothing is being sent, whatever the last state was
        state = "stopped"
    elif refused:
        state = "sos_refused"
    elif stored_state in ("unauthorized", "offline", "error", "ok"):
        state = stored_state
    else:
        state = "starting"
    return {
        "sos": sos,
        "outbox": outbox,
        "sync": {
            "state": state,
            "worker_state": stored_state,
            "message": message,
            "configured": bool(url),
            "url": url,
            "enrolled": creds is not None,
            "hub_id": creds.hub_id if creds else None,
            "sos_pending": outbox["urgent"] > 0,
            "sos_refused": refused,
            "dead_letters": outbox["dead"],
            "last_success": store.get_runtime("sync.last_success"),
            "last_error": last_error,
        },
        "devices": [{"address": d["address"], "kind": d["kind"], "name": d["name"]}
                    for d in store.devices()],
        "clock_synced": clock_synced(),
        "database": {"path": str(store.path), "schema_version": store.schema_version(),
                     "damaged_copies": [str(p) for p in damaged_copies(store.path)]},
        "core": core,
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _ago(stamp: str | None) -> str:
    if not stamp:
        return "never"
    try:
        age = (utc_now() - parse_rfc3339(stamp)).total_seconds()
    except (TypeError, ValueError):
        return stamp
    return f"{stamp} ({_age(max(age, 0.0))} ago)"


def _sync_lines(sync: dict, out: dict) -> list[str]:
    state, url = sync["state"], sync["url"]
    if state == "not_configured":
        return ["Sync:       not configured (no platform URL) — nothing leaves this hub. "
                "Run `hub enroll --url URL --code CODE`"]
    if state == "not_enrolled":
        return [f"Sync:       NOT ENROLLED — {url}; nothing leaves this hub. "
                "Run `hub enroll --url URL --code CODE`"]
    if state == "sos_refused":
        first = sync["sos_refused"][0]
        return [f"Sync:       SOS REFUSED by {url} ({first['reason']}); the hub keeps "
                "resending it — phone the service centre now"]
    if state == "stopped":
        was = sync.get("worker_state") or "unknown"
        return [f"Sync:       STOPPED — the core is not running, nothing is sent to {url} "
                f"(last known: {was})"]
    if state == "unauthorized":
        return [f"Sync:       TOKEN REVOKED — {url} refuses this hub's token; health data "
                "waits, SOS alarms are still sent. Enrol again: hub enroll --url URL --code CODE"]
    if state == "offline":
        return [f"Sync:       OFFLINE — cannot reach {url}; {out['depth']} waiting, nothing is "
                "lost", f"            {sync['message']}"]
    if state == "error":
        return [f"Sync:       ERROR — {url}", f"            {sync['message']}"]
    if state == "starting":
        return [f"Sync:       starting — {url}, not yet in touch"]
    return [f"Sync:       ok — {url}"]


def _safety_lines(status: dict) -> list[str]:
    """Safety mode (a damaged database kept aside) and alarm records not saved yet."""
    lines = []
    kept = (status.get("database") or {}).get("damaged_copies") or []
    if kept:
        lines.append(f"Database:   SAFETY MODE — the database was damaged and is kept as "
                     f"{kept[-1]}; the hub runs on a fresh one (alarms work). Earlier "
                     "readings, devices and settings are in the kept file: call a technician "
                     "(`hub doctor`).")
    core = status.get("core") or {}
    if core.get("alarm_unsaved"):
        lines.append(f"Storage:    {core['alarm_unsaved']} alarm record(s) NOT SAVED YET "
                     f"({core.get('storage_error') or 'storage slow'}) — the alarm goes on; "
                     "free space on the card or replace it")
    return lines


def format_status(status: dict) -> str:
    """Human-readable lines for a technician."""
    sos, out, sync = status["sos"], status["outbox"], status["sync"]
    lines = []
    state = sos["state"]
    if state == "idle":
        lines.append("SOS:        no alarm open")
    else:
        extra = ""
        if state == "raised" and sos.get("escalated"):
            extra = " — not yet delivered, still trying"
        if sos.get("refused"):
            extra = (f" — REFUSED by the platform ({sos['refused']}); "
                     + ("the hub keeps resending it" if status.get("core") else
                        "NOT being resent while the core is stopped")
                     + " — phone the service centre now")
        if sos.get("responder"):
            extra = f" — {sos['responder']} is coming"
        lines.append(f"SOS:        {state.upper()}{extra} (alarm {sos['alarm_id']})")
    core = status.get("core")
    lines.append("Core:       " + (f"running (pid {core['pid']})" if core else
                                   "NOT RUNNING — alarms from the screen cannot be taken"))
    lines.extend(_safety_lines(status))
    lines.append(f"Outbox:     {out['depth']} waiting ({out['urgent']} urgent), oldest "
                 f"{_age(out['oldest_age_s'])}; {out['dead']} refused by the platform "
                 "(dead letters)")
    lines.extend(_sync_lines(sync, out))
    lines.append(f"Last sync:  {_ago(sync.get('last_success'))}")
    err = sync.get("last_error")
    lines.append("Last error: " + (f"{err.get('error')} (at {err.get('at')})"
                                   if isinstance(err, dict) else str(err or "none")))
    devices = status["devices"]
    lines.append("Devices:    " + (", ".join(f"{d['name'] or d['kind']} ({d['address']})"
                                             for d in devices) or "none paired"))
    synced = status["clock_synced"]
    lines.append("Clock:      " + {True: "synchronised", False: "NOT synchronised (times may be "
                                   "wrong; they are marked so)", None: "unknown"}[synced])
    return "\n".join(lines)
