"""The wire contract's rules, backoff and batching, without a network."""

import datetime as dt
import email.utils
import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.sync import protocol
from hub.sync.backoff import Backoff, full_jitter
from hub.sync.client import check_url, parse_retry_after
from hub.sync.outbox import Pending, batches, prepare

SOS_ID = str(uuid.uuid4())


def event(**over):
    return {"id": str(uuid.uuid4()), "type": "checkin", "occurred_at": "2026-11-25T08:00:00.000Z",
            "clock_synced": True, "source": "touch", "sos_id": None, "data": {}, **over}


def test_valid_events_and_readings_pass():
    assert protocol.validate_event(event()) is None
    assert protocol.validate_event(event(type="sos_raised", sos_id=SOS_ID)) is None
    assert protocol.validate_event(event(type="some_future_type")) is None
    assert protocol.validate_event({
        "type": "reading", "id": str(uuid.uuid4()), "kind": "body_weight",
        "measured_at": "2026-11-25T08:00:00.000Z", "clock_synced": None,
        "values": {"weight": 71.5}, "units": {"weight": "kg"}}) is None


@pytest.mark.parametrize("bad, words", [
    (event(id="not-a-uuid"), "not a UUID"),
    (event(type="Bad Type"), "lower-case"),
    (event(occurred_at="yesterday"), "RFC 3339"),
    (event(type="sos_raised", sos_id=None), "sos_id"),
    (event(data=[1]), "JSON object"),
    (event(clock_synced="yes"), "clock_synced"),
    ({"type": "reading", "id": str(uuid.uuid4()), "kind": "spo2",
      "measured_at": "2026-11-25T08:00:00Z", "values": {"spo2": "high"}}, "not numbers"),
    ({"type": "reading", "id": str(uuid.uuid4()), "kind": "spo2",
      "measured_at": "2026-11-25T08:00:00Z", "values": {}}, "at least one value"),
])
def test_invalid_events_are_refused_with_a_reason(bad, words):
    assert words in protocol.validate_event(bad)


def test_inbox_message_rules():
    assert protocol.validate_inbox_message({"id": "m1", "kind": "reminder", "data": {}}) is None
    assert "sos_id" in protocol.validate_inbox_message({"id": "m1", "kind": "sos_ack",
                                                        "data": {}})


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    now = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_url_rule_matches_the_config():
    assert check_url("https://care.example/") == "https://care.example"
    assert check_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"
    with pytest.raises(ValueError, match="https://"):
        check_url("http://care.example")


@given(st.integers(0, 100), st.floats(0.1, 10), st.floats(1, 600))
def test_full_jitter_stays_within_the_ceiling(attempt, base, cap):
    wait = full_jitter(attempt, base=base, cap=cap, rng=random.Random(attempt))
    assert 0 <= wait <= min(cap, base * 2 ** attempt)


def test_backoff_honours_retry_after_up_to_the_cap():
    b = Backoff(base=1, cap=60, rng=random.Random(1))
    assert b.failed(retry_after=30) == 30
    assert b.failed(retry_after=3600) == 60
    assert b.failures == 2
    b.succeeded()
    assert b.failures == 0


@settings(max_examples=200)
@given(st.lists(st.integers(1, 3000), max_size=60), st.integers(1, 10), st.integers(100, 5000))
def test_batches_keep_order_and_respect_both_bounds(sizes, max_events, max_bytes):
    items = [Pending(str(i), 5, 0, {}, b"x" * n) for i, n in enumerate(sizes)]
    out = list(batches(items, max_events=max_events, max_bytes=max_bytes))
    assert [i for b in out for i in b] == items
    for b in out:
        assert 1 <= len(b) <= max_events
        if len(b) > 1:
            assert sum(len(i.encoded) + 1 for i in b) <= max_bytes


def test_a_row_that_cannot_be_json_is_set_apart():
    rows = [{"id": "a", "priority": 5, "attempts": 0, "body": {"v": 1}},
            {"id": "b", "priority": 5, "attempts": 0, "body": {"v": float("nan")}}]
    good, bad = prepare(rows)
    assert [p.id for p in good] == ["a"]
    assert bad[0][0] == "b" and "JSON" in bad[0][1]
