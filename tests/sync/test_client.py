"""The platform client against the reference receiver: each fault sorted into what to do."""

import uuid

import pytest

from hub.sync import protocol
from hub.sync.client import (AuthError, EnrollmentError, PlatformClient, RejectedError,
                             TransientError)
from hub.sync.receiver import Receiver


@pytest.fixture
def client(receiver):
    answer = PlatformClient(receiver.url).enroll("SERIAL-C", receiver.create_code())
    c = PlatformClient(receiver.url, answer["token"], timeout=1.0)
    c.hub_id = answer["hub_id"]
    c.token = answer["token"]
    yield c
    c.close()


def ev(**over):
    return {"id": str(uuid.uuid4()), "type": "checkin", "occurred_at": "2026-11-25T08:00:00.000Z",
            "clock_synced": True, "source": "touch", "sos_id": None, "data": {}, **over}


def test_tls_verification_cannot_be_switched_off():
    c = PlatformClient("https://care.example", "t")
    assert c.session.verify is True
    c = PlatformClient("https://care.example", "t", ca_bundle="/etc/hub/ca.pem")
    assert c.session.verify == "/etc/hub/ca.pem"
    assert c.session.trust_env is False  # no proxy or netrc from the environment


def test_the_token_never_shows_in_a_repr(client):
    assert client.token not in repr(client)
    assert client.token not in repr(client.session.__dict__)


def test_batch_gets_one_result_per_event_and_replay_is_duplicate(client, receiver):
    events = [ev() for _ in range(3)]
    assert {r.status for r in client.send_events(events)} == {protocol.ACCEPTED}
    assert {r.status for r in client.send_events(events)} == {protocol.DUPLICATE}
    assert len(receiver.event_ids()) == 3


def test_same_id_with_other_content_is_rejected(client):
    e = ev()
    client.send_events([e])
    [result] = client.send_events([{**e, "data": {"changed": True}}])
    assert result.status == protocol.REJECTED and "different content" in result.reason


def test_large_batches_are_gzipped(client, receiver):
    client.send_events([ev(data={"note": "x" * 100}) for _ in range(100)])
    assert receiver.stats()["counters"]["gzip_requests"] == 1


def test_injected_503_is_transient(client, receiver):
    receiver.set_faults(error_rate=1.0)
    with pytest.raises(TransientError) as err:
        client.send_events([ev()])
    assert err.value.kind == "server" and err.value.status == 503


def test_injected_429_carries_retry_after(client, receiver):
    receiver.set_faults(rate_limit=1.0, retry_after=7)
    with pytest.raises(TransientError) as err:
        client.send_events([ev()])
    assert err.value.status == 429 and err.value.retry_after == 7


def test_answer_cut_short_is_offline_but_the_events_arrived(client, receiver):
    receiver.set_faults(drop_rate=1.0)
    e = ev()
    with pytest.raises(TransientError) as err:
        client.send_events([e])
    assert err.value.kind == "offline"
    receiver.set_faults(drop_rate=0.0)
    assert client.send_events([e])[0].status == protocol.DUPLICATE


def test_latency_beyond_the_timeout_is_a_timeout(client, receiver):
    receiver.set_faults(latency=1.5)
    with pytest.raises(TransientError) as err:
        client.send_events([ev()])
    assert err.value.kind == "timeout"
    assert "did not answer" in str(err.value)


def test_offline_and_no_server_are_offline(client, receiver, tmp_path):
    receiver.set_faults(offline=True)
    with pytest.raises(TransientError) as err:
        client.fetch_inbox(None)
    assert err.value.kind == "offline"
    receiver.set_faults(offline=False)
    receiver.stop()
    with pytest.raises(TransientError) as err:
        client.fetch_inbox(None)
    assert err.value.kind == "offline" and "internet" in str(err.value)


def test_revoked_token_is_an_auth_error_that_says_what_to_do(client, receiver):
    receiver.revoke(client.hub_id)
    with pytest.raises(AuthError) as err:
        client.send_events([ev()])
    assert err.value.status == 401 and "hub enroll" in str(err.value)
    assert client.token not in str(err.value)


def test_malformed_request_is_rejected_as_a_whole(client):
    with pytest.raises(RejectedError) as err:
        client.request("POST", protocol.EVENTS_PATH, body={"not": "events"})
    assert err.value.status == 400


def test_wrong_code_explains_itself(receiver):
    with pytest.raises(EnrollmentError, match="new code"):
        PlatformClient(receiver.url).enroll("S", "00000000")


def test_same_hub_may_present_its_code_again(receiver):
    code = receiver.create_code()
    first = PlatformClient(receiver.url).enroll("S1", code)
    again = PlatformClient(receiver.url).enroll("S1", code)
    assert again["hub_id"] == first["hub_id"] and again["token"] != first["token"]
    assert receiver.platform.hub_for(first["token"]) is None  # the old token died
    with pytest.raises(EnrollmentError):
        PlatformClient(receiver.url).enroll("OTHER", code)


def test_inbox_pages_with_a_cursor(client, receiver):
    for n in range(5):
        receiver.send_message("reminder", {"text": f"pill {n}"})
    page = client.fetch_inbox(None, limit=3)
    assert [m["data"]["text"] for m in page["messages"]] == ["pill 0", "pill 1", "pill 2"]
    assert page["more"] is True
    rest = client.fetch_inbox(page["next_cursor"], limit=3)
    assert [m["data"]["text"] for m in rest["messages"]] == ["pill 3", "pill 4"]
    assert rest["more"] is False


def test_receiver_refuses_anything_but_loopback(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        Receiver(tmp_path / "x.db", host="0.0.0.0")


def test_a_fault_answer_leaves_the_kept_alive_connection_usable(client, receiver):
    before = receiver.stats()["counters"]["requests"]
    receiver.set_faults(error_rate=1.0)
    with pytest.raises(TransientError):
        client.send_events([ev(data={"note": "x" * 5000})])
    receiver.set_faults(error_rate=0.0)
    for _ in range(3):  # same pooled connection: the unread body must not become a request
        assert client.send_events([ev()])[0].status == protocol.ACCEPTED
    assert receiver.stats()["counters"]["requests"] - before == 4


def test_an_html_error_page_is_not_quoted(client, receiver):
    with pytest.raises(TransientError) as err:
        client.request("GET", "/nowhere")
    assert "<html" not in str(err.value).lower() and "404" in str(err.value)
