"""POST /messages/bulk: per-item results; the valid items are queued together even when others are not."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from test_api_support import InProcessApi, api, assert_error, inproc, tokens  # noqa: F401

from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"to": "+61491570156", "text": "Your invoice is ready"}


@pytest.fixture
def gateways(make_gateway):
    make_gateway()
    make_gateway(name="backup", enabled=False)


def test_valid_items_are_queued_and_invalid_ones_name_their_field(api, tokens, gateways):  # noqa: F811
    items = [
        SMS,
        {**SMS, "to": "not a number"},
        {**SMS, "gateway": "backup", "reference": "b-1"},
        {"to": "+14155552671"},
        {**SMS, "gateway": "nope"},
        {**SMS, "text": "x\x00"},
        {**SMS, "colour": "red"},
        {**SMS, "text": "Ünïcode 😀"},
    ]
    answer = api.as_token(tokens.send).post("messages/bulk", {"messages": items})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (3, 5)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(8))
    accepted = {r["index"]: r["message"] for r in results if r.get("message")}
    assert sorted(accepted) == [0, 2, 7]
    assert accepted[2]["gateway"] == "backup" and accepted[2]["reference"] == "b-1"
    assert accepted[7]["encoding"] == "ucs2"
    errors = {r["index"]: [d["field"] for d in r["error"]["detail"]] for r in results if r.get("error")}
    assert errors == {1: ["to"], 3: ["text"], 4: ["gateway"], 5: ["text"], 6: ["colour"]}
    assert "no gateway named 'nope'" in results[4]["error"]["message"]

    stored = Message.objects.order_by("pk")
    assert [m.pk for m in stored] == [accepted[i]["id"] for i in (0, 2, 7)]
    assert {m.token.name for m in stored} == {"billing"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "messages"),
        ({}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [SMS, "not an object"]}, "messages.1"),
        ({"messages": [SMS], "extra": 1}, "extra"),
    ],
)
def test_a_malformed_bulk_is_a_422_and_queues_nothing(api, tokens, gateways, body, field):  # noqa: F811
    assert_error(api.post("messages/bulk", body), 422, field)
    assert not Message.objects.exists()


def test_more_than_10000_is_refused(inproc, gateways):  # noqa: F811
    assert_error(inproc.post("messages/bulk", {"messages": [SMS] * 10_001}), 422, "messages")
    assert not Message.objects.exists()


def test_a_body_over_the_size_limit_is_a_413(api, gateways, settings):  # noqa: F811
    # The live server reads settings per request, so the limit can be lowered for this test.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(api.post("messages/bulk", {"messages": [SMS] * 50}), 413, "body")


def test_a_read_token_cannot_bulk_send(api, tokens, gateways):  # noqa: F811
    assert_error(api.as_token(tokens.read).post("messages/bulk", {"messages": [SMS]}), 403, "Authorization")


def test_10000_messages_take_a_handful_of_queries_and_seconds(inproc, tokens, gateways):  # noqa: F811
    """One settings lookup, one gateway lookup per name, batched inserts; measured in the report."""
    items = [{**SMS, "text": f"Invoice {i} is ready", "reference": str(i)} for i in range(10_000)]
    items[5000] = {**SMS, "to": "x"}
    sender = InProcessApi(token=tokens.send)
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        answer = sender.post("messages/bulk", {"messages": items})
    elapsed = time.monotonic() - started
    assert answer.status == 200
    assert (answer.json()["accepted"], answer.json()["rejected"]) == (9_999, 1)
    assert Message.objects.count() == 9_999
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    others = len(queries.captured_queries) - len(inserts)
    assert others <= 10, [
        q["sql"][:80] for q in queries.captured_queries if not q["sql"].startswith("INSERT")
    ]
    assert len(inserts) <= 10_000 / 20  # batched, never one statement per message
    print(f"\nbulk of 10,000: {elapsed:.2f} s, {len(queries.captured_queries)} queries")
    assert elapsed < 30
