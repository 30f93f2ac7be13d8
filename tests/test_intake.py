"""The send intake (smsgate/api/intake.py): single sends queued together, answered as the API view answers.

Every test_api_* test already goes through it (the `api` fixture serves smsgate.asgi); these check what is
its own: that sends arriving together share one transaction, that its answers match the view's byte for
byte in shape and headers, and that whatever it does not queue itself — refusals, keyed sends, a failed
batch — is answered by the view, with nothing lost or queued twice.
"""

import threading
import time

import pytest
from django.db import DatabaseError
from test_api_support import api, inproc, tokens  # noqa: F401

from smsgate.api import intake
from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"to": "+61491570156", "text": "Your invoice is ready"}
# Differ between two answers for two messages; every other field must be equal.
PER_MESSAGE = {"id", "created_at", "expires_at"}
PER_RESPONSE = {"Date", "Server", "Content-Length", "Connection"}  # the server's, not the app's


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


class Batches:
    """Records the size of each batch the intake queues; `hold()` keeps the next one waiting until
    `release()`, so that the sends sent meanwhile gather behind it."""

    def __init__(self, monkeypatch, fail: bool = False):
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = fail
        real = intake.queue_sends

        def recorded(sends):
            self.sizes.append(len(sends))
            assert self.gate.wait(20), "the test never released the intake"
            if self.fail:
                raise DatabaseError("database is locked (injected)")
            return real(sends)

        monkeypatch.setattr(intake, "queue_sends", recorded)

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()


def send_together(api, bodies: list, batches: Batches) -> list:  # noqa: F811
    """POST each body at once from its own thread, while the first waits: all but it land in one batch.
    `api` is one client for all, or a list with one per body."""
    from smsgate.asgi import application

    batches.hold()
    answers = [None] * len(bodies)
    clients = api if isinstance(api, list) else [api] * len(bodies)

    def post(i: int) -> None:
        answers[i] = clients[i].post("messages", bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    threads[0].start()
    wait_for(lambda: batches.sizes == [1], "the first send to reach the database thread")
    for thread in threads[1:]:
        thread.start()
    wait_for(lambda: len(application.waiting) == len(bodies) - 1, "every send to wait for the intake")
    batches.release()
    for thread in threads:
        thread.join(30)
    return answers


def wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_sends_that_arrive_together_are_queued_in_one_batch(api, tokens, gateway, monkeypatch):  # noqa: F811
    batches = Batches(monkeypatch)
    bodies = [{**SMS, "text": f"invoice {i}"} for i in range(20)]
    answers = send_together(api.as_token(tokens.send), bodies, batches)
    assert batches.sizes == [1, 19]
    assert [a.status for a in answers] == [202] * 20
    stored = {m.pk: m.text for m in Message.objects.all()}
    assert {a.json()["id"]: a.json()["text"] for a in answers} == stored
    assert sorted(stored.values()) == sorted(b["text"] for b in bodies)


def test_its_answer_is_the_views_answer(api, inproc, tokens, gateway, monkeypatch):  # noqa: F811
    batches = Batches(monkeypatch)
    body = {**SMS, "reference": "inv-7", "sender": "Billing", "expires_in": 60}
    ours = api.as_token(tokens.send).post("messages", body)
    views = inproc.as_token(tokens.send).post("messages", body)
    assert batches.sizes == [1]  # ours went through the intake; the test client's through Django alone
    assert ours.status == views.status == 202
    assert list(ours.json()) == list(views.json())  # same fields, same order
    assert {k: v for k, v in ours.json().items() if k not in PER_MESSAGE} == {
        k: v for k, v in views.json().items() if k not in PER_MESSAGE
    }
    assert {k.title(): v for k, v in ours.headers.items() if k.title() not in PER_RESPONSE} == {
        k.title(): v for k, v in views.headers.items() if k.title() not in PER_RESPONSE
    }


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        ("send", {**SMS, "to": "not a number"}, 422),
        ("send", {"text": "no phone"}, 422),
        ("send", ["not", "an", "object"], 422),
        ("send", b'{"to": "+61491570156", "text": "hi", "expires_in": NaN}', 422),
        ("send", b"{not json", 422),
        ("read", SMS, 403),
        ("nonsense", SMS, 401),
        (None, SMS, 401),
    ],
)
def test_what_it_does_not_queue_the_view_answers(api, inproc, tokens, gateway, token, body, status):  # noqa: F811
    token = getattr(tokens, token, token) if token else None
    kw = {"raw": body} if isinstance(body, bytes) else {"body": body}
    ours = api.as_token(token).post("messages", **kw)
    views = inproc.as_token(token).post("messages", **kw)
    assert (ours.status, ours.json()) == (views.status, views.json())
    assert ours.status == status
    assert not Message.objects.exists()


def test_in_one_batch_the_valid_sends_are_queued_and_the_refused_answered_alone(
    api,  # noqa: F811
    tokens,  # noqa: F811
    gateway,
    monkeypatch,
    caplog,
):
    batches = Batches(monkeypatch)
    sender = api.as_token(tokens.send)
    clients = [sender, sender, sender, api.as_token(None), sender, api.as_token("sg_nonsense"), sender]
    bodies = [SMS, SMS, {**SMS, "to": "12"}, SMS, SMS, SMS, {**SMS, "text": ""}]
    answers = send_together(clients, bodies, batches)
    assert batches.sizes == [1, 6]
    assert [a.status for a in answers] == [202, 202, 422, 401, 202, 401, 422]
    assert [a.json()["detail"][0]["field"] for a in answers if a.status != 202] == [
        "to",
        "Authorization",
        "Authorization",
        "text",
    ]
    assert "failed" not in caplog.text  # the refusals cost only themselves, not the batch
    assert sorted(a.json()["id"] for a in answers if a.status == 202) == sorted(
        Message.objects.values_list("pk", flat=True)
    )


def test_a_batch_that_fails_is_answered_by_the_view_nothing_lost_nothing_twice(
    api,  # noqa: F811
    tokens,  # noqa: F811
    gateway,
    monkeypatch,
    caplog,
):
    batches = Batches(monkeypatch, fail=True)
    bodies = [{**SMS, "text": f"outage {i}"} for i in range(6)]
    answers = send_together(api.as_token(tokens.send), bodies, batches)
    assert batches.sizes == [1, 5]
    assert [a.status for a in answers] == [202] * 6
    assert sorted(Message.objects.values_list("text", flat=True)) == sorted(b["text"] for b in bodies)
    assert "each goes to the API view" in caplog.text


def test_keyed_and_oversized_sends_go_straight_to_the_view(api, tokens, gateway, monkeypatch):  # noqa: F811
    batches = Batches(monkeypatch)
    sender = api.as_token(tokens.send)
    first = sender.post("messages", SMS, headers={"Idempotency-Key": "order-1"})
    again = sender.post("messages", SMS, headers={"Idempotency-Key": "order-1"})
    assert (first.status, again.status) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    huge = sender.post("messages", {**SMS, "text": "x" * (intake.MAX_BODY + 1)})
    assert huge.status == 422 and huge.json()["detail"][0]["field"] == "text"
    assert batches.sizes == []
    assert Message.objects.count() == 1
