"""POST/GET /messages, GET /messages/{id}, POST /messages/{id}/cancel — over real HTTP."""

import threading
import uuid
from datetime import timedelta

import pytest
from conftest import SECRET, run_worker
from django.utils import timezone
from test_api_support import api, assert_error, inproc, tokens  # noqa: F401

from smsgate.api.models import IdempotentRequest
from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"to": "+61491570156", "text": "Your invoice is ready"}


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


def send(api, tokens, body=None, **kw):  # noqa: F811
    return api.as_token(tokens.send).post("messages", body if body is not None else SMS, **kw)


def test_sending_queues_the_message_and_answers_202_with_it(api, tokens, gateway):  # noqa: F811
    answer = send(api, tokens, {**SMS, "reference": "inv-7", "sender": "Billing", "expires_in": 60})
    assert answer.status == 202, answer.body
    body = answer.json()
    message = Message.objects.get()
    assert body["id"] == message.pk
    assert body["to"] == "+61491570156"
    assert body["status"] == "queued"
    assert body["gateway"] == "fake"
    assert body["reference"] == "inv-7"
    assert body["sender"] == "Billing"
    assert body["attempts"] == 0
    assert body["encoding"] == "gsm7" and body["segments"] == 1
    assert body["delivery_status"] is None and body["delivered_at"] is None
    assert set(body) >= {"last_error", "provider_message_id", "created_at", "sent_at", "expires_at"}
    assert "phone" not in body
    assert message.token.name == "billing"
    assert 59 <= (message.expires_at - message.created_at).total_seconds() <= 61


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi"}, "to"),
        ({"to": "+61491570156"}, "text"),
        ({**SMS, "to": "not a number"}, "to"),
        ({**SMS, "to": "+6149157015"}, "to"),
        ({**SMS, "text": ""}, "text"),
        ({**SMS, "text": "x" * 10_001}, "text"),
        ({**SMS, "text": "nul \x00 char"}, "text"),
        ({**SMS, "text": "lone \ud800 surrogate"}, "text"),
        ({**SMS, "gateway": "nope"}, "gateway"),
        ({**SMS, "sender": "s" * 33}, "sender"),
        ({**SMS, "expires_in": 0}, "expires_in"),
        ({**SMS, "expires_in": 10**12}, "expires_in"),
        ({**SMS, "expires_in": "soon"}, "expires_in"),
        ({**SMS, "reference": "r" * 201}, "reference"),
        ({**SMS, "from": "Billing"}, "from"),
        ({**SMS, "to": 61491570156}, "to"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, tokens, gateway, body, field):  # noqa: F811
    assert_error(send(api, tokens, body), 422, field)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"to": "+61491570156", "text": "hi", "expires_in": NaN}', b"\xff\xfe", b""]
)
def test_a_body_that_is_not_json_is_a_422_naming_the_body(api, tokens, gateway, raw):  # noqa: F811
    answer = api.as_token(tokens.send).post("messages", raw=raw)
    assert_error(answer, 422, "body")


def test_no_enabled_gateway_is_a_422_naming_the_gateway(api, tokens):  # noqa: F811
    body = assert_error(send(api, tokens), 422, "gateway")
    assert "no enabled gateway" in body["message"]


def test_a_retry_with_the_same_idempotency_key_returns_the_first_message(api, tokens, gateway):  # noqa: F811
    key = {"Idempotency-Key": "order-1001"}
    first = send(api, tokens, headers=key)
    again = send(api, tokens, headers=key)
    assert first.status == 202
    assert again.status == 200
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.count() == 1
    assert IdempotentRequest.objects.get().body["text"] == SMS["text"]
    # Keys belong to a token: another token's same key is another message.
    other = api.as_token(tokens.other_send).post("messages", SMS, headers=key)
    assert other.status == 202 and other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_a_409_naming_what_differs(api, tokens, gateway):  # noqa: F811
    key = {"Idempotency-Key": "order-1002"}
    first = send(api, tokens, headers=key)
    answer = send(api, tokens, {**SMS, "text": "Another text", "sender": "X"}, headers=key)
    body = assert_error(answer, 409, "text", "sender")
    assert f"message {first.json()['id']}" in body["message"]
    assert Message.objects.count() == 1


@pytest.mark.parametrize("key", ["", "has space", "k" * 201, "ünïcode"])
def test_a_malformed_idempotency_key_is_a_422(api, tokens, gateway, key):  # noqa: F811
    answer = send(api, tokens, headers={"Idempotency-Key": key.encode().decode("latin-1")})
    assert_error(answer, 422, "Idempotency-Key")


def test_twenty_concurrent_retries_make_exactly_one_sms(api, tokens, gateway, fake_gateway):  # noqa: F811
    key = {"Idempotency-Key": str(uuid.uuid4())}
    start = threading.Barrier(20)
    answers = []

    def retry():
        start.wait()
        answers.append(send(api, tokens, headers=key))

    threads = [threading.Thread(target=retry) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(a.status for a in answers) == [200] * 19 + [202], [a.body for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Message.objects.count() == 1
    run_worker(drain=True)
    assert len(fake_gateway.received()) == 1


def test_a_message_shows_every_attempt_with_secrets_masked(api, tokens, gateway, fast_retries, fake_gateway):  # noqa: F811
    fake_gateway.set_mode(script=["error500", "ok"])
    created = send(api, tokens).json()
    run_worker(lambda: Message.objects.filter(pk=created["id"], status="sent").exists())

    answer = api.as_token(tokens.send).get(f"messages/{created['id']}")
    assert answer.status == 200
    body = answer.json()
    assert body["status"] == "sent"
    assert body["attempts"] == 2
    assert body["provider_message_id"]
    first, second = body["attempt_log"]
    assert (first["outcome"], first["http_status"]) == ("failed", 500)
    assert (second["outcome"], second["http_status"]) == ("sent", 200)
    assert second["request"]["headers"]["Authorization"] == "Bearer ********"
    assert SECRET not in answer.body.decode()


def test_an_unknown_message_is_a_404_naming_the_id(api, tokens):  # noqa: F811
    assert_error(api.get("messages/999999"), 404, "id")
    assert_error(api.get("messages/99999999999999999999"), 422, "id")
    assert_error(api.get("messages/0"), 422, "id")


def test_a_send_token_sees_only_its_own_messages(api, tokens, gateway):  # noqa: F811
    mine = send(api, tokens).json()["id"]
    theirs = api.as_token(tokens.other_send).post("messages", SMS).json()["id"]

    listed = api.as_token(tokens.send).get("messages").json()["messages"]
    assert [m["id"] for m in listed] == [mine]
    assert_error(api.as_token(tokens.send).get(f"messages/{theirs}"), 404, "id")
    assert_error(api.as_token(tokens.send).post(f"messages/{theirs}/cancel"), 404, "id")
    # read and admin tokens see all of them
    for token in (tokens.read, tokens.admin):
        listed = api.as_token(token).get("messages").json()["messages"]
        assert [m["id"] for m in listed] == [theirs, mine]


def test_the_list_filters_and_pages_newest_first(api, tokens, gateway, make_gateway):  # noqa: F811
    make_gateway(name="other")
    sender = api.as_token(tokens.send)
    ids = [
        sender.post("messages", {**SMS, "text": f"Invoice {i}", "reference": f"ref-{i}"}).json()["id"]
        for i in range(7)
    ]
    sender.post("messages", {**SMS, "to": "+14155552671", "gateway": "other", "text": "US"})
    Message.objects.filter(pk=ids[0]).update(status="sent")
    Message.objects.filter(pk=ids[1]).update(created_at=timezone.now() - timedelta(days=2))

    def listed(query):
        answer = api.get(f"messages?{query}")
        assert answer.status == 200, answer.body
        return [m["id"] for m in answer.json()["messages"]], answer.json()["next_cursor"]

    assert listed("status=sent") == ([ids[0]], None)
    assert len(listed("gateway=other")[0]) == 1
    assert listed("to=%2B1%20415%20555%202671")[0] == listed("gateway=other")[0]
    assert listed("q=invoice%205")[0] == [ids[5]]
    assert listed("q=REF-6")[0] == [ids[6]]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids[1] not in listed(f"since={since.replace('+', '%2B')}")[0]
    assert listed(f"until={since.replace('+', '%2B')}")[0] == [ids[1]]

    page, cursor = listed("gateway=fake&limit=3")
    assert page == ids[::-1][:3]
    seen = list(page)
    while cursor:
        page, cursor = listed(f"gateway=fake&limit=3&cursor={cursor}")
        seen += page
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=99999999999999999999", "cursor"),
        ("since=yesterday", "since"),
        ("since=0001-01-01T00:00:00%2B05:00", "since"),
        ("since=2026-11-27T09:00:00", "since"),
        ("until=0.5", "until"),
        ("until=2026-02-30T09:00:00Z", "until"),
        ("to=12", "to"),
        ("q=%00", "q"),
        ("colour=red", "colour"),
    ],
)
def test_bad_list_filters_are_a_422_naming_the_parameter(api, query, field):  # noqa: F811
    assert_error(api.get(f"messages?{query}"), 422, field)


def test_a_queued_message_can_be_cancelled_once(api, tokens, gateway, fake_gateway):  # noqa: F811
    created = send(api, tokens).json()
    answer = api.as_token(tokens.send).post(f"messages/{created['id']}/cancel")
    assert answer.status == 200
    assert answer.json()["status"] == "cancelled"
    run_worker(drain=True)
    assert fake_gateway.received() == []

    body = assert_error(api.post(f"messages/{created['id']}/cancel"), 409, "status")
    assert "is cancelled" in body["message"]


@pytest.mark.parametrize("status", ["sending", "sent", "error"])
def test_only_a_queued_message_can_be_cancelled(api, tokens, gateway, status):  # noqa: F811
    created = send(api, tokens).json()
    Message.objects.filter(pk=created["id"]).update(status=status)
    body = assert_error(api.post(f"messages/{created['id']}/cancel"), 409, "status")
    assert f"is {status}" in body["message"]
    assert Message.objects.get().status == status
    assert_error(api.post("messages/424242/cancel"), 404, "id")
