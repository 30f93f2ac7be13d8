import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from conftest import SECRET, bulk_enqueue, run_worker, subprocess_env
from django.db import connection
from django.utils import timezone

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.verdict import Verdict
from smsgate.outbox import worker as worker_module
from smsgate.outbox.claim import claim_due
from smsgate.outbox.deliver import Result
from smsgate.outbox.enqueue import NewMessage, enqueue
from smsgate.outbox.models import Attempt, Message
from smsgate.outbox.record import record_results

pytestmark = pytest.mark.django_db(transaction=True)


def finished(*ids):
    return lambda: not Message.objects.filter(pk__in=ids, status__in=["queued", "sending"]).exists()


def assert_no_secret_recorded():
    for message in Message.objects.all():
        assert SECRET not in json.dumps([message.text, message.last_error, message.provider_message_id])
    for attempt in Attempt.objects.all():
        record = [attempt.request_url, attempt.request_headers, attempt.request_body, attempt.response_body]
        assert SECRET not in json.dumps(record) + attempt.reason


def test_it_sends_a_queued_message_and_records_the_attempt(make_gateway, fake_gateway):
    make_gateway()
    text = 'Ünïcode "quotes" & ampersands + plus = equals %25 #hash\nnew line 😀'
    message = enqueue(NewMessage(to="+61 491 570 156", text=text, reference="inv-1"))

    run_worker(drain=True)

    message.refresh_from_db()
    assert message.status == "sent"
    assert message.attempts_count == 1
    assert message.sent_at is not None
    (received,) = fake_gateway.received()
    assert received["text"] == text
    assert received["to"] == "+61491570156"
    attempt = message.attempts.get()
    assert attempt.outcome == "sent"
    assert attempt.http_status == 200
    assert attempt.request_headers["Authorization"] == "Bearer ********"
    assert json.loads(attempt.request_body)["text"] == text
    assert attempt.duration_ms is not None
    assert_no_secret_recorded()


def test_the_provider_message_id_is_stored(make_gateway, fake_gateway):
    make_gateway()
    message = enqueue(NewMessage(to="+14155552671", text="hi"))
    run_worker(drain=True)
    message.refresh_from_db()
    answer = json.loads(message.attempts.get().response_body)
    assert message.provider_message_id == str(answer["message_id"])


@pytest.mark.parametrize("mode", ["error200", "error500", "timeout", "reset", "rate_limit"])
def test_failures_are_retried_then_marked_error_at_expiry(mode, make_gateway, fake_gateway, fast_retries):
    make_gateway(timeout=0.3)
    fake_gateway.set_mode(mode=mode, retry_after=0)
    message = enqueue(NewMessage(to="+14155552671", text="retry me", expires_in=2))

    run_worker(finished(message.pk))

    message.refresh_from_db()
    assert message.status == "error"
    assert message.attempts_count >= 2
    assert message.last_error.startswith(f"expired after {message.attempts_count} attempts; last error: ")
    attempts = list(message.attempts.all())
    assert len(attempts) == message.attempts_count
    expected = "unknown" if mode == "timeout" else "failed"
    assert {a.outcome for a in attempts} == {expected}
    assert all(a.reason for a in attempts)
    assert_no_secret_recorded()


def test_a_200_with_an_error_body_is_explained(make_gateway, fake_gateway, fast_retries):
    make_gateway()
    fake_gateway.set_mode(mode="error200")
    message = enqueue(NewMessage(to="+14155552671", text="x", expires_in=0.5))
    run_worker(finished(message.pk))
    attempt = Message.objects.get(pk=message.pk).attempts.first()
    assert attempt.http_status == 200
    assert "Successful response" in attempt.reason or "status" in attempt.reason
    assert "insufficient credit" in attempt.reason


def test_a_failure_response_match_is_permanent_at_once(make_gateway, fake_gateway):
    make_gateway(failure_response="re:invalid number")
    fake_gateway.set_mode(mode="invalid_number")
    message = enqueue(NewMessage(to="+14155552671", text="x"))
    run_worker(drain=True)
    message.refresh_from_db()
    assert message.status == "error"
    assert message.attempts_count == 1
    assert "Failure response" in message.last_error
    assert message.attempts.get().outcome == "rejected"


def test_a_retry_after_success_sends_it(make_gateway, fake_gateway, fast_retries):
    make_gateway()
    fake_gateway.set_mode(mode="ok", script=["error500", "reset", "ok"])
    message = enqueue(NewMessage(to="+14155552671", text="third time lucky"))
    run_worker(finished(message.pk))
    message.refresh_from_db()
    assert message.status == "sent"
    assert [a.outcome for a in message.attempts.all()] == ["failed", "failed", "sent"]


def test_timeouts_are_not_resent_when_resend_on_timeout_is_off(make_gateway, fake_gateway, fast_retries):
    make_gateway(timeout=0.3, resend_on_timeout=False)
    fake_gateway.set_mode(mode="timeout")
    message = enqueue(NewMessage(to="+14155552671", text="x"))
    run_worker(finished(message.pk))
    message.refresh_from_db()
    assert message.status == "error"
    assert message.attempts_count == 1
    assert "resend_on_timeout is off" in message.last_error


@pytest.mark.parametrize("switch", ["sending_enabled", "gateway_enabled"])
def test_messages_wait_while_sending_is_off_and_still_expire(switch, make_gateway, fake_gateway):
    gateway = make_gateway()
    if switch == "sending_enabled":
        SiteSettings.objects.update_or_create(pk=1, defaults={"sending_enabled": False})
    else:
        gateway.enabled = False
        gateway.save()
    waiting = enqueue(NewMessage(to="+14155552671", text="wait", gateway="fake"))
    expiring = enqueue(NewMessage(to="+14155552671", text="expire", gateway="fake", expires_in=0.2))
    time.sleep(0.3)
    run_worker(drain=True)
    assert Message.objects.get(pk=waiting.pk).status == "queued"
    expired = Message.objects.get(pk=expiring.pk)
    assert expired.status == "error"
    assert expired.last_error.startswith("expired before any attempt")
    assert fake_gateway.received() == []


def test_a_dead_workers_lease_is_retaken(make_gateway, fake_gateway):
    make_gateway()
    message = enqueue(NewMessage(to="+14155552671", text="orphan"))
    (claimed,) = claim_due("dead-worker", 10)  # claimed, then the worker "dies" before sending
    Message.objects.filter(pk=claimed.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    run_worker(drain=True)

    message.refresh_from_db()
    assert message.status == "sent"
    first, second = message.attempts.all()
    assert first.outcome == "unknown" and "lease expired" in first.reason
    assert second.outcome == "sent"


def test_an_answer_recorded_after_the_lease_was_retaken_leaves_the_new_owners_message(make_gateway):
    # Worker a's lease ran out and worker b took the message again; a's late answer is kept as an attempt,
    # but the message stays b's until b records its own.
    make_gateway()
    enqueue(NewMessage(to="+14155552671", text="slow answer"))
    (late,) = claim_due("worker-a", 10)
    Message.objects.filter(pk=late.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    (again,) = claim_due("worker-b", 10)

    record_results("worker-a", [Result(late, Verdict("sent", "", "id-a"), status=200, body="ok")])
    message = Message.objects.get()
    assert (message.status, message.claimed_by, message.provider_message_id) == ("sending", "worker-b", "")
    assert [a.outcome for a in message.attempts.order_by("pk")] == ["sent", "pending"]

    record_results("worker-b", [Result(again, Verdict("sent", "", "id-b"), status=200, body="ok")])
    message.refresh_from_db()
    assert (message.status, message.claimed_by, message.provider_message_id) == ("sent", "", "id-b")
    assert message.attempts_count == 1  # counted by b: a's late answer never touched the row


def test_a_live_lease_is_not_taken_by_another_worker(make_gateway):
    make_gateway()
    enqueue(NewMessage(to="+14155552671", text="mine"))
    assert len(claim_due("worker-a", 10)) == 1
    assert claim_due("worker-b", 10) == []


def test_new_messages_are_picked_up_within_a_second(make_gateway, fake_gateway):
    make_gateway()
    sent_after = []

    def until():
        if not sent_after:
            sent_after.append(time.monotonic())
            enqueue(NewMessage(to="+14155552671", text="late arrival"))
            return False
        return Message.objects.filter(status="sent").exists()

    run_worker(until, timeout=5)
    assert Message.objects.get().status == "sent"


def test_on_postgresql_a_queued_message_wakes_an_idle_worker_at_once(make_gateway, fake_gateway, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the worker looks every DUE_CHECK_SECONDS")
    # Looking for new messages alone would now take five seconds: only the notification can be faster.
    monkeypatch.setattr(worker_module, "DUE_CHECK_SECONDS", 5.0)
    monkeypatch.setattr(worker_module, "IDLE_POLL_SECONDS", 30.0)
    make_gateway()
    queued_at = []

    def queue_one():  # from another thread, once the worker has found nothing and gone idle
        enqueue(NewMessage(to="+14155552671", text="wake up"))
        queued_at.append(time.time())
        connection.close()

    threading.Timer(0.5, queue_one).start()
    run_worker(lambda: bool(fake_gateway.received()), timeout=4)
    (arrival,) = fake_gateway.received()
    assert arrival["time"] - queued_at[0] < 1.0


def test_sigterm_finishes_requests_in_flight_and_exits_0(make_gateway, fake_gateway):
    make_gateway()
    fake_gateway.set_mode(mode="slow", delay=1.0)
    ids = [enqueue(NewMessage(to="+14155552671", text=f"m{i}")).pk for i in range(20)]
    worker = subprocess.Popen(
        [sys.executable, "-m", "smsgate", "worker", "--concurrency", "20"],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 15
    while len(fake_gateway.received()) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_gateway.received()) == 20, "the worker did not send all 20 in time"
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=15)
    assert worker.returncode == 0, output
    statuses = set(Message.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {"sent"}


def test_a_claim_opens_one_pending_attempt_per_message_matched_by_id(make_gateway, monkeypatch):
    # The attempts of a claim are one INSERT … RETURNING per chunk, matched to messages by position:
    # small chunks here, so the matching is checked across several statements.
    monkeypatch.setattr("smsgate.outbox.rows.ROWS_PER_STATEMENT", 7)
    gateway = make_gateway()
    ids = bulk_enqueue(30)

    claimed = claim_due("w1", 50)

    assert sorted(m.pk for m in claimed) == sorted(ids)
    assert {m.status for m in claimed} == {"sending"}
    for message in claimed:
        stored = Attempt.objects.get(pk=message.attempt.pk)
        assert stored.message_id == message.pk
        assert (stored.gateway_name, stored.worker, stored.outcome) == (gateway.name, "w1", "pending")
        assert message.gateway == gateway
    rows = Message.objects.filter(pk__in=ids)
    assert {(m.status, m.claimed_by) for m in rows} == {("sending", "w1")}
    assert all(m.lease_until is not None for m in rows)


def test_the_worker_logs_a_count_per_batch_and_a_line_with_the_reason_per_failure(
    make_gateway, fake_gateway, caplog
):
    make_gateway()
    caplog.set_level("INFO", logger="smsgate.worker")
    fake_gateway.set_mode(mode="error500")
    failing = enqueue(NewMessage(to="+61491570156", text="fails")).pk
    run_worker(lambda: Attempt.objects.filter(message_id=failing, outcome="failed").exists())
    fake_gateway.set_mode(mode="ok")
    sent = [enqueue(NewMessage(to="+61491570156", text=f"ok {i}")).pk for i in range(3)]
    run_worker(finished(*sent))

    lines = [r.getMessage() for r in caplog.records if r.name == "smsgate.worker"]
    assert not [line for line in lines if "outcome=sent" in line]
    failure = [line for line in lines if f"message={failing} " in line]
    assert len(failure) == 1 and "outcome=failed reason=" in failure[0] and "500" in failure[0]
    counts = [re.search(r"recorded (\d+) attempts?: (\d+) sent", line) for line in lines]
    assert sum(int(m.group(2)) for m in counts if m) == 3


def test_phone_national_is_filled_only_for_gateways_that_use_it():
    from smsgate.outbox.deliver import message_context

    asks = Gateway(name="asks", url="https://x.example/send", payload='{"to": "{{ phone_national }}"}')
    plain = Gateway(name="plain", url="https://x.example/send", payload='{"to": "{{ phone }}"}')
    header = Gateway(
        name="header", url="https://x.example/", payload="", headers=["X-To: {{ phone_national }}"]
    )
    contexts = {}
    for gateway in (asks, plain, header):
        message = Message(phone="+14155550123", text="hi")
        message.gateway = gateway
        contexts[gateway.name] = message_context(message)["phone_national"]
    assert contexts == {"asks": "4155550123", "plain": "", "header": "4155550123"}
