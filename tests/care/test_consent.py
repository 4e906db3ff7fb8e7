"""Consent: a category switched off never reaches the platform — checked at the receiver."""

import datetime as dt
import uuid

import pytest

from hub.care.consent import CATEGORIES, SETTING_KEY, category, normalise, shares, stamped
from hub.store import PRIORITY_ALERT, Store
from hub.sync.enroll import enroll
from hub.sync.receiver import Receiver
from hub.sync.worker import SyncWorker

from tests.sync.sync_helpers import bp_reading, make_config, raise_sos, wait_for

# Every kind of fact the hub sends today, with the category it must fall in.
KNOWN = [
    ("sos_raised", {}, None), ("sos_cancelled", {}, None), ("consent", {}, None),
    ("alert", {"reason": "database_damaged"}, None),
    ("alert", {"rule": "glucose_low", "reading_id": "r", "kind": "glucose"}, "health"),
    ("alert", {"rule": "measurement_failed", "kind": "glucose"}, "health"),
    ("alert", {"rule": "inactivity", "answer": None}, "activity"),
    ("alert", {"rule": "night_door"}, "activity"),
    ("reading", {}, "health"), ("reminder_answer", {}, "health"),
    ("checkin", {}, "checkins"), ("checkin_answer", {}, "checkins"),
    ("checkin_missed", {}, "checkins"),
    ("motion", {}, "activity"), ("door", {}, "activity"),
    ("service_request", {}, "services"), ("service_rating", {}, "services"),
    ("feedback", {}, "services"),
    ("callback_request", {}, "services"), ("message_read", {}, "services"),
]


@pytest.mark.parametrize("kind, data, expected", KNOWN)
def test_every_kind_of_fact_has_its_category(kind, data, expected):
    assert category(kind, data) == expected


def test_alarms_are_shared_whatever_the_choice():
    nothing = {c: False for c in CATEGORIES}
    assert shares(nothing, "events", {"type": "sos_raised", "data": {}})
    assert shares(nothing, "events", {"type": "consent", "data": {}})
    assert not shares(nothing, "readings", {"kind": "blood_pressure"})
    # a damaged stored choice keeps data on the hub, never alarms
    assert not shares("damaged", "events", {"type": "checkin", "data": {}})
    assert shares("damaged", "events", {"type": "sos_raised", "data": {}})


@pytest.mark.parametrize("value, words", [
    ([], "must be an object"), ({"alarms": False}, "unknown consent categories"),
    ({"health": "no"}, "true or false")])
def test_a_bad_choice_is_refused_in_words(value, words):
    with pytest.raises(ValueError, match=words):
        normalise(value)


def test_until_chosen_everything_is_shared_and_the_record_says_so():
    record = normalise(None)
    assert all(record[c] for c in CATEGORIES) and record["chosen"] is False


@pytest.fixture
def platform(tmp_path):
    rx = Receiver(tmp_path / "platform.db", seed=7).start()
    cfg = make_config(tmp_path, rx.url)
    enroll(cfg, rx.url, rx.create_code(), serial="TEST-CONSENT")
    yield rx, cfg
    rx.close()


def test_switched_off_categories_never_reach_the_receiver(platform, tmp_path):
    rx, cfg = platform
    store = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    try:
        # queued while everything was shared, not yet sent
        early = store.add_readings([bp_reading(id=str(uuid.uuid4()))])[0]
        early_checkin = store.record_event("checkin", {"answer": "ok"})
        # the elder switches off health and check-ins
        choice = stamped({"health": False, "checkins": False}, "touch",
                         dt.datetime.now(dt.timezone.utc))
        store.set_setting(SETTING_KEY, choice)
        assert store.withhold_pending() == 2
        late = store.add_readings([bp_reading(id=str(uuid.uuid4()))])[0]
        store.record_event("checkin", {"answer": "ok"})
        service = store.record_event("service_request", {"service": "meals"})
        alarm = raise_sos(store)
        store.record_event("consent", {"health": False}, priority=PRIORITY_ALERT)
        worker = SyncWorker(cfg)
        worker.start()
        try:
            wait_for(lambda: {e["id"] for e in rx.events()} >= {service["id"], alarm["id"]},
                     timeout=20, what="the shared events")
            wait_for(lambda: len(rx.events(type="consent")) == 1, timeout=20, what="consent")
        finally:
            worker.stop()
        arrived = rx.events()
        types = {e["type"] for e in arrived}
        assert {"sos_raised", "service_request", "consent"} <= types
        assert "reading" not in types and "checkin" not in types
        ids = {e["id"] for e in arrived}
        assert not ids & {early["id"], late["id"], early_checkin["id"]}
        # the data stays on the hub
        assert {r["id"] for r in store.readings("blood_pressure")} >= {early["id"], late["id"]}
        assert len(store.events("checkin")) == 2
    finally:
        store.close()
