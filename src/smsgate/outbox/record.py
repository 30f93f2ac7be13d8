"""Writing attempt results back: the attempt rows, and each message's next state."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from smsgate.outbox.deliver import Result
from smsgate.outbox.models import Attempt, Message
from smsgate.outbox.retry import retry_delay

ATTEMPT_FIELDS = [
    "duration_ms",
    "request_method",
    "request_url",
    "request_headers",
    "request_body",
    "http_status",
    "response_body",
    "outcome",
    "reason",
]
MESSAGE_FIELDS = [
    "status",
    "next_attempt_at",
    "lease_until",
    "claimed_by",
    "attempts_count",
    "last_error",
    "provider_message_id",
    "sent_at",
    "finished_at",
]


def record_results(worker: str, results: list[Result]) -> None:
    """Record a batch of results in one transaction.

    A message whose lease this worker lost (another worker retook it) keeps its new owner's state; the
    attempt is still recorded, so the history shows both requests.
    """
    if not results:
        return
    now = timezone.now()
    with transaction.atomic():
        ours = set(
            Message.objects.filter(
                pk__in=[r.message.pk for r in results], status=Message.Status.SENDING, claimed_by=worker
            ).values_list("pk", flat=True)
        )
        Attempt.objects.bulk_update([_fill_attempt(r) for r in results], ATTEMPT_FIELDS)
        messages = [_advance(r, now) for r in results if r.message.pk in ours]
        Message.objects.bulk_update(messages, MESSAGE_FIELDS)


def _fill_attempt(result: Result) -> Attempt:
    attempt = result.message.attempt
    attempt.duration_ms = result.duration_ms
    if result.request is not None:
        attempt.request_method = result.request.method
        attempt.request_url = result.request.url
        attempt.request_headers = dict(result.request.headers)
        attempt.request_body = result.request.body
    attempt.http_status = result.status
    attempt.response_body = result.body
    attempt.outcome = result.verdict.outcome
    attempt.reason = result.verdict.reason
    return attempt


def _advance(result: Result, now: datetime) -> Message:
    """Move the message to its next state after this attempt."""
    message, verdict = result.message, result.verdict
    message.attempts_count += 1
    message.lease_until = None
    message.claimed_by = ""
    if verdict.outcome == "sent":
        message.status = Message.Status.SENT
        message.provider_message_id = verdict.provider_message_id[:200]
        message.last_error = ""
        message.sent_at = message.finished_at = now
    elif verdict.outcome == "rejected" or (
        verdict.outcome == "unknown" and not message.gateway.resend_on_timeout
    ):
        _finish_with_error(message, verdict.reason, now)
    else:
        next_at = now + timedelta(seconds=retry_delay(message.attempts_count, verdict.retry_after))
        if next_at >= message.expires_at:
            _finish_with_error(message, expired_reason(message.attempts_count, verdict.reason), now)
        else:
            message.status = Message.Status.QUEUED
            message.next_attempt_at = next_at
            message.last_error = verdict.reason
    return message


def _finish_with_error(message: Message, reason: str, now: datetime) -> None:
    message.status = Message.Status.ERROR
    message.last_error = reason
    message.finished_at = now


def expired_reason(attempts: int, last_error: str) -> str:
    noun = "attempt" if attempts == 1 else "attempts"
    return f"expired after {attempts} {noun}; last error: {last_error}"
