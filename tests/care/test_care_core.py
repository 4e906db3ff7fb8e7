"""Reminders and check-ins on a real core: local API, questions, events, restarts."""

import datetime as dt
import sqlite3
import time
from zoneinfo import ZoneInfo

import pytest

from hub.api import ApiError
from hub.care.service import reminder_from_inbox

from tests.conftest import CoreProcess, write_config
from tests.test_api_security import (as_user, member_session, needs_root,
                                     open_core, shared_dir)  # noqa: F401 - fixtures

TZ = ZoneInfo("Europe/Berlin")


def test_platform_reminders_in_both_forms():
    new = reminder_from_inbox({"id": "m1", "kind": "reminder", "data": {
        "id": "pills", "label": "Tablet", "dose": "1", "schedule": {"times": ["08:00"]}}}, TZ)
    assert new.to_dict() == {"id": "pills", "label": "Tablet", "dose": "1",
                             "schedule": {"times": ["08:00"], "weekdays": [
                                 "mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}
    old = reminder_from_inbox({"id": "m2", "kind": "reminder", "data": {
        "text": "Take your blood-pressure tablet", "at": "2026-11-25T08:00:00.000Z",
        "repeat": "daily"}}, TZ)
    assert (old.id, old.label, old.schedule.to_dict()["times"]) == (
        "m2", "Take your blood-pressure tablet", ["09:00"])   # 08:00Z is 09:00 in Berlin
    once = reminder_from_inbox({"id": "m3", "kind": "reminder", "data": {
        "text": "Doctor", "at": "2026-07-01T07:30:00Z"}}, TZ)
    assert once.schedule.to_dict() == {"once": "2026-07-01T09:30"}   # summer time
    assert reminder_from_inbox({"id": "m4", "data": {"id": "pills", "deleted": True}},
                               TZ) == "pills"
    with pytest.raises(ValueError, match="needs a schedule"):
        reminder_from_inbox({"id": "m5", "data": {"text": "?"}}, TZ)
    with pytest.raises(ValueError, match="RFC 3339"):
        reminder_from_inbox({"id": "m6", "data": {"text": "?", "at": "soon"}}, TZ)


def wait_prompt(client, kind, timeout):
    return client.wait_push("prompt", lambda d: d.get("kind") == kind and d.get("open"),
                            timeout=timeout)


def events(state_dir, kind):
    conn = sqlite3.connect(state_dir / "hub.db")
    try:
        return [r[0] for r in conn.execute(
            "SELECT payload FROM events WHERE kind = ? ORDER BY rowid", [kind])]
    finally:
        conn.close()


@pytest.mark.slow
def test_a_reminder_set_through_the_api_is_asked_at_its_minute_and_kept(tmp_path):
    cfg = write_config(tmp_path)
    core = CoreProcess(cfg, tmp_path / "state", env={"TZ": "Europe/Berlin"}).start()
    try:
        client = core.client(subscribe=True)
        with pytest.raises(ApiError, match="time '7'"):
            client.request("reminder.set", reminder={"id": "x", "label": "x",
                                                  "schedule": {"times": ["7"]}})
        # the next whole minute, local time in Berlin (a new reminder is never retroactive)
        now = dt.datetime.now(TZ)
        due = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        client.request("reminder.set", reminder={"id": "pills", "label": "heart tablet",
                                              "dose": "one",
                                              "schedule": {"times": [due.strftime("%H:%M")]}})
        prompt = wait_prompt(client, "reminder", timeout=(due - now).total_seconds() + 30)
        assert prompt["answers"] == ["taken", "later"]
        assert "heart tablet" in prompt["question"] and "one" in prompt["question"]
        client.request("prompt.answer", id=prompt["id"], answer="taken")
        end = time.monotonic() + 10
        while time.monotonic() < end and not events(core.state_dir, "reminder_answer"):
            time.sleep(0.1)
        (answer,) = events(core.state_dir, "reminder_answer")
        assert '"answer":"taken"' in answer and '"reminder_id":"pills"' in answer
        client.close()
    finally:
        core.kill()
    # after a crash the reminder is still set, and the dose is not asked again
    again = CoreProcess(cfg, tmp_path / "state", env={"TZ": "Europe/Berlin"}).start()
    try:
        client = again.client(subscribe=True)
        assert [r["id"] for r in client.request("reminder.list")] == ["pills"]
        with pytest.raises(TimeoutError):
            wait_prompt(client, "reminder", timeout=3)
        assert len(events(again.state_dir, "reminder_answer")) == 1
        client.request("reminder.delete", id="pills")
        assert client.request("reminder.list") == []
        client.close()
    finally:
        again.kill()


def test_an_ok_press_counts_as_the_days_check_in(core):
    client = core.client()
    client.request("checkin")
    end = time.monotonic() + 10
    saved = None
    while time.monotonic() < end:
        conn = sqlite3.connect(core.state_dir / "hub.db")
        row = conn.execute("SELECT value FROM settings WHERE key = 'care.checkin'").fetchone()
        conn.close()
        if row and "last_ok" in row[0]:
            saved = row[0]
            break
        time.sleep(0.1)
    assert saved is not None, "the check-in routine did not see the press"
    client.close()


def test_consent_through_the_api_is_recorded_for_the_platform(core):
    client = core.client()
    assert client.request("consent.get")["chosen"] is False
    with pytest.raises(ApiError, match="unknown consent categories"):
        client.request("consent.set", consent={"alarms": False})
    client.request("reading.add", reading={
        "kind": "blood_pressure", "values": {"systolic": 120, "diastolic": 80},
        "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]"}})
    chosen = client.request("consent.set", consent={"health": False})
    assert chosen["health"] is False and chosen["chosen"] is True
    assert chosen["withheld"] == 1          # the queued reading stays on the hub
    assert client.request("consent.get")["health"] is False
    assert len(events(core.state_dir, "consent")) == 1
    client.close()


@pytest.mark.slow
def test_a_service_request_lives_through_platform_updates_to_a_rating(tmp_path):
    from hub.config import load_config
    from hub.sync.enroll import enroll
    from hub.sync.receiver import Receiver

    rx = Receiver(tmp_path / "platform.db", seed=3).start()
    try:
        cfg_path = write_config(tmp_path, sync={"url": rx.url, "timeout": 2.0,
                                                "inbox_interval": 1.0, "backoff_cap": 1.0})
        hub_id = enroll(load_config(cfg_path), rx.url, rx.create_code(), serial="CARE-1")
        core = CoreProcess(cfg_path, tmp_path / "state").start()
        try:
            client = core.client(subscribe=True)
            assert "meals" in client.request("service.types")
            with pytest.raises(ApiError, match="is not one of"):
                client.request("service.request", service="taxi")
            request = client.request("service.request", service="meals", note="no salt")
            rid = request["request_id"]
            # the platform sees the request...
            end = time.monotonic() + 20
            while time.monotonic() < end and not rx.events(type="service_request"):
                time.sleep(0.1)
            (seen,) = rx.events(type="service_request")
            assert seen["id"] == rid and seen["body"]["data"] == {"service": "meals",
                                                                  "note": "no salt"}
            # ...and moves it on; a late "accepted" after "scheduled" changes nothing
            for status in ("accepted", "scheduled", "accepted", "on_the_way", "done"):
                rx.send_message("service_update", {"request_id": rid, "status": status,
                                                   "text": status}, hub_id=hub_id)
            prompt = wait_prompt(client, "service_rating", timeout=30)
            assert prompt["answers"] == ["1", "2", "3", "4", "5"]
            assert prompt["context"] == {"request_id": rid, "service": "meals"}
            (entry,) = client.request("service.list")
            assert entry["status"] == "done"
            assert [h["status"] for h in entry["history"]] == [
                "accepted", "scheduled", "on_the_way", "done"]
            client.request("prompt.answer", id=prompt["id"], answer="4")
            end = time.monotonic() + 20
            while time.monotonic() < end and not rx.events(type="service_rating"):
                time.sleep(0.1)
            (rating,) = rx.events(type="service_rating")
            assert rating["body"]["data"] == {"request_id": rid, "stars": 4, "comment": ""}
            with pytest.raises(ApiError, match="already been rated"):
                client.request("service.rate", request_id=rid, stars=5)
            # call my family
            call = client.request("family.call", contact="Anna")
            rx.send_message("service_update", {"request_id": call["request_id"],
                                               "status": "accepted"}, hub_id=hub_id)
            client.wait_push("say", lambda d: "Anna has been asked to call you" in d["text"],
                             timeout=20)
            client.close()
        finally:
            core.kill()
    finally:
        rx.close()



@needs_root
def test_the_kiosk_user_asks_for_services_as_touch_and_needs_the_pin_for_consent(open_core):
    core = open_core(kiosk={"setup_pin": "4711"})
    path = str(core.socket)
    replies = as_user(lambda: member_session(path, [
        {"id": 1, "cmd": "hello", "args": {"client": "kiosk"}},
        {"id": 2, "cmd": "service.request", "args": {"service": "shopping", "source": "rules"}},
        {"id": 3, "cmd": "consent.set", "args": {"consent": {"activity": False}}},
        {"id": 4, "cmd": "consent.set", "args": {"consent": {"activity": False}, "pin": "0000"}},
        {"id": 5, "cmd": "consent.set", "args": {"consent": {"activity": False}, "pin": "4711"}},
        {"id": 6, "cmd": "consent.get"},
    ]))
    by_id = {r["id"]: r for r in replies}
    assert by_id[2]["ok"], by_id[2]
    assert by_id[3]["code"] == "forbidden" and by_id[4]["code"] == "forbidden"
    assert by_id[5]["ok"] and by_id[5]["result"]["by"] == "touch"
    assert by_id[6]["result"]["activity"] is False
    (request,) = events(core.state_dir, "service_request")
    assert '"service":"shopping"' in request
    conn = sqlite3.connect(core.state_dir / "hub.db")
    try:
        assert conn.execute("SELECT source FROM events WHERE kind = 'service_request'"
                            ).fetchone()[0] == "touch"
    finally:
        conn.close()
