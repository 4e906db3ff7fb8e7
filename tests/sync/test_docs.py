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
