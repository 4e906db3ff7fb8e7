"""`hub export --json`: the elder's own data, all of it, no secrets — through the real CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

from hub.store import Store

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]


def hub(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_export_json_holds_the_elders_data_and_no_secrets(tmp_path):
    cfg = write_config(tmp_path)
    store = Store(tmp_path / "state" / "hub.db", reserve_bytes=1024 * 1024)
    try:
        reading = store.add_reading({"kind": "glucose", "values": {"glucose": 6.1},
                                     "units": {"glucose": "mmol/L"}})
        checkin = store.record_event("checkin", {"answer": "ok"})
        store.set_setting("elder_name", "이순자")
        store.set_setting("care.reminders", [{"id": "pills", "label": "Tablet", "dose": "",
                                              "schedule": {"times": ["08:00"]}}])
        store.set_setting("kiosk.pin_lockout", {"until": "2026-12-01T00:00:00Z"})
        store.set_setting("setup_pin_hash", "scrypt$...")
    finally:
        store.close()
    out = tmp_path / "mum.json"
    result = hub("--config", str(cfg), "export", "--json", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 readings" in result.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "elder-hub-export/1"
    assert [r["id"] for r in document["readings"]] == [reading["id"]]
    assert checkin["id"] in {e["id"] for e in document["events"]}
    assert document["settings"]["elder_name"] == "이순자"
    assert document["reminders"][0]["id"] == "pills"
    text = out.read_text(encoding="utf-8")
    assert "pin" not in json.dumps(document["settings"]).lower()
    assert "scrypt" not in text


def test_export_needs_a_target_and_says_so(tmp_path):
    cfg = write_config(tmp_path)
    result = hub("--config", str(cfg), "export", cwd=tmp_path)
    assert result.returncode != 0 and "--fhir FILE and/or --json FILE" in result.stderr
