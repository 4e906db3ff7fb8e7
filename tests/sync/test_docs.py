"""docs/platform-api.yaml is valid OpenAPI 3 and its examples obey the protocol the code enforces."""

from pathlib import Path

import pytest
import yaml

from hub.sync import protocol

SPEC = Path(__file__).resolve().parents[2] / "docs" / "platform-api.yaml"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC.read_text())


def test_it_is_valid_openapi_3(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_path_is_versioned(spec):
    for path in spec["paths"]:
        assert path.startswith(("/v1/", "/dev/")), path


def test_every_event_type_has_a_valid_example(spec):
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    events = [e for ex in body["examples"].values() for e in ex["value"]["events"]]
    for event in events:
        assert protocol.validate_event(event) is None, event
    assert set(protocol.EVENT_TYPES) <= {e["type"] for e in events}
    kinds = {e["kind"] for e in events if e["type"] == "reading"}
    assert kinds == {"blood_pressure", "heart_rate", "body_temperature", "body_weight", "spo2",
                     "glucose"}


def test_every_inbox_kind_has_a_valid_example(spec):
    page = spec["paths"]["/v1/inbox"]["get"]["responses"]["200"]["content"]["application/json"]
    messages = page["examples"]["every_kind"]["value"]["messages"]
    for message in messages:
        assert protocol.validate_inbox_message(message) is None
    assert {m["kind"] for m in messages} == set(protocol.INBOX_KINDS)


def test_the_results_and_limits_match_the_code(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["EventResult"]["properties"]["status"]["enum"] == list(protocol.RESULT_STATUSES)
    assert schemas["EventBatch"]["properties"]["events"]["maxItems"] == protocol.MAX_BATCH_EVENTS
    assert schemas["InboxMessage"]["properties"]["kind"]["enum"] == list(protocol.INBOX_KINDS)


# -- the decisions of issue 11, written into the contract and kept by the receiver ------

def _events_body(spec):
    return spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]


def _oas_validate(spec, schema_name, instance):
    validator = pytest.importorskip("openapi_schema_validator")
    schema = {**spec["components"]["schemas"][schema_name],
              "components": spec["components"]}
    validator.validate(instance, schema, cls=validator.OAS30Validator)


def _client(receiver):
    from hub.sync.client import PlatformClient

    answer = PlatformClient(receiver.url).enroll("DOCS-1", receiver.create_code())
    return PlatformClient(receiver.url, answer["token"], hub_id=answer["hub_id"]), answer


def test_the_example_shows_exactly_the_events_the_hub_sends(spec):
    examples = _events_body(spec)["examples"]
    types = {e["type"] for e in examples["every_event_type"]["value"]["events"]}
    assert types == set(protocol.EVENT_TYPES)
    assert not {"sos_delivered", "sos_acknowledged"} & types  # local records only


def test_the_minimal_sos_example_is_what_the_hub_sends(spec):
    examples = _events_body(spec)["examples"]
    raised = next(e for e in examples["every_event_type"]["value"]["events"]
                  if e["type"] == "sos_raised")
    batch = examples["sos_minimal"]["value"]
    [minimal] = batch["events"]
    made = protocol.minimal_sos({**raised, "sos_id": raised["id"]}, hub_id=batch["hub_id"],
                                now="2026-11-25T09:00:12.000Z")
    assert made == minimal
    assert protocol.validate_event(minimal) is None


def test_the_contract_says_a_platform_never_refuses_an_sos_and_the_receiver_keeps_it(
        spec, receiver):
    text = " ".join(spec["info"]["description"].split())
    assert "A platform never refuses an SOS." in text
    assert "canonical JSON" in text and "sorted by code point" in text
    client, _ = _client(receiver)
    sos_id = "7c4a0d8f-9e1b-4b2c-8d3e-4f5a6b7c8d9e"
    malformed = {"id": sos_id, "type": "sos_raised", "occurred_at": "yesterday"}
    assert client.send_events([malformed])[0].status == protocol.ACCEPTED
    other = {**malformed, "occurred_at": "2026-11-25T09:00:10.000Z", "sos_id": sos_id}
    assert client.send_events([other])[0].status == protocol.DUPLICATE


def test_same_content_means_equal_canonical_json(receiver):
    a = {"id": "0b7f3c1e-2d4a-4a5b-9c6d-7e8f9a0b1c2d", "type": "reading",
         "kind": "body_weight", "measured_at": "2026-11-25T08:05:00.000Z",
         "values": {"weight": 61.0, "bmi": 22.3}, "device": {"name": "Waage-é"}}
    b = {"device": {"name": "Waage-\u00e9"}, "values": {"bmi": 22.3, "weight": 61},
         "measured_at": "2026-11-25T08:05:00.000Z", "kind": "body_weight",
         "type": "reading", "id": a["id"]}
    assert protocol.canonical(a) == protocol.canonical(b)
    assert b" " not in protocol.canonical(a) and "é".encode() in protocol.canonical(a)
    assert protocol.canonical(a).index(b'"device"') < protocol.canonical(a).index(b'"id"')
    client, _ = _client(receiver)
    assert client.send_events([a])[0].status == protocol.ACCEPTED
    assert client.send_events([b])[0].status == protocol.DUPLICATE
    changed = {**b, "values": {"bmi": 22.3, "weight": 61.5}}
    assert client.send_events([changed])[0].status == protocol.REJECTED


def test_an_empty_inbox_page_keeps_the_cursor(spec, receiver):
    client, _ = _client(receiver)
    assert "never moves" in spec["components"]["schemas"]["InboxPage"]["properties"][
        "next_cursor"]["description"]
    first = client.fetch_inbox(None)
    assert first["messages"] == [] and first["next_cursor"] is None
    _oas_validate(spec, "InboxPage", first)
    later = client.fetch_inbox("41")
    assert later["messages"] == [] and later["next_cursor"] == "41"
    _oas_validate(spec, "InboxPage", later)


def test_a_413_says_how_much_the_receiver_takes(spec, tmp_path):
    from hub.sync.client import RejectedError
    from hub.sync.receiver import Receiver

    with Receiver(tmp_path / "small.db", max_batch_events=2, max_batch_bytes=10_000) as rx:
        client, _ = _client(rx)
        events = [{"id": f"0b7f3c1e-2d4a-4a5b-9c6d-7e8f9a0b1c2{n}", "type": "checkin",
                   "occurred_at": "2026-11-25T08:05:00.000Z", "data": {}} for n in range(3)]
        with pytest.raises(RejectedError) as caught:
            client.send_events(events)
    assert caught.value.status == 413
    assert (caught.value.max_events, caught.value.max_bytes) == (2, 10_000)
    _oas_validate(spec, "TooLarge", {"error": caught.value.reason, "max_events": 2,
                                     "max_bytes": 10_000})
