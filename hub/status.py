"""What ``hub status`` reports, read from the store (works whether or not the core runs).

It never includes the device token or health values.
"""

import json

from hub.clock import clock_synced
from hub.config import Config
from hub.store import Store

__all__ = ["collect_status", "format_status"]


def collect_status(store: Store, config: Config, *, sos: dict | None = None) -> dict:
    """Gather SOS state, outbox, sync, devices and clock facts.

    :param sos: the live SOS snapshot from the core; otherwise read from the DB.
    """
    if sos is None:
        active = store.sos_active()
        sos = ({"state": active["state"], "alarm_id": active["id"],
                "raised_at": active["raised_at"], "responder": active["responder"]}
               if active else {"state": "idle", "alarm_id": None})
    last_error = store.get_runtime("sync.last_error")
    if sos.get("alarm_id"):
        refused = [d for d in store.dead_letters() if d["id"] == sos["alarm_id"]]
        if refused:
            sos = {**sos, "refused": refused[0]["reason"]}
    return {
        "sos": sos,
        "outbox": store.outbox_stats(),
        "sync": {
            "configured": bool(config.sync.url),
            "url": config.sync.url or None,
            "enrolled": config.token_path.exists(),
            "last_success": store.get_runtime("sync.last_success"),
            "last_error": json.loads(last_error) if last_error else None,
            "state": store.get_runtime("sync.state") or ("not_configured" if not config.sync.url
                                                         else "unknown"),
        },
        "devices": [{"address": d["address"], "kind": d["kind"], "name": d["name"]}
                    for d in store.devices()],
        "clock_synced": clock_synced(),
        "database": {"path": str(store.path), "schema_version": store.schema_version()},
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
                     "phone the service centre now")
        if sos.get("responder"):
            extra = f" — {sos['responder']} is coming"
        lines.append(f"SOS:        {state.upper()}{extra} (alarm {sos['alarm_id']})")
    core = status.get("core")
    lines.append("Core:       " + (f"running (pid {core['pid']})" if core else
                                   "NOT RUNNING — alarms from the screen cannot be taken"))
    lines.append(f"Outbox:     {out['depth']} waiting ({out['urgent']} urgent), oldest "
                 f"{_age(out['oldest_age_s'])}; {out['dead']} refused by the platform")
    if not sync["configured"]:
        lines.append("Sync:       not configured (no [sync] url) — nothing leaves this hub")
    else:
        enrolled = "enrolled" if sync["enrolled"] else "NOT ENROLLED (run `hub enroll`)"
        lines.append(f"Sync:       {sync.get('state')} — {sync['url']}, {enrolled}")
        if sync.get("message"):
            lines.append(f"            {sync['message']}")
    lines.append(f"Last sync:  {sync['last_success'] or 'never'}")
    if sync.get("last_error"):
        err = sync["last_error"]
        lines.append(f"Last error: {err.get('error')} (at {err.get('at')})")
    devices = status["devices"]
    lines.append("Devices:    " + (", ".join(f"{d['name'] or d['kind']} ({d['address']})"
                                             for d in devices) or "none paired"))
    synced = status["clock_synced"]
    lines.append("Clock:      " + {True: "synchronised", False: "NOT synchronised (times may be "
                                   "wrong; they are marked so)", None: "unknown"}[synced])
    return "\n".join(lines)
