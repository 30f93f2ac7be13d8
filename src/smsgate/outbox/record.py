"""Writing attempt results back: the attempt rows, and each message's next state."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from smsgate.gateways.models import Gateway
from smsgate.gateways.routing import serving
from smsgate.outbox.deliver import Result
from smsgate.outbox.models import Attempt, Message
from smsgate.outbox.retry import retry_delay
from smsgate.outbox.rows import update_rows
from smsgate.outbox.throttle import failover_target, note_outcomes, states_for

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
    "gateway",
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
# A message that is sent or failed for good keeps its gateway and its next attempt time as they were: not
# writing them saves preparing a timestamp per message, most of the cost of a row (bench/PROFILE.md).
FINISHED = {Message.Status.SENT, Message.Status.ERROR}
FINISHED_FIELDS = [f for f in MESSAGE_FIELDS if f not in ("gateway", "next_attempt_at")]


def record_results(worker: str, results: list[Result]) -> None:
    """Record a batch of results in one transaction.

    A message whose lease this worker lost (another worker retook it) keeps its new owner's state; the
    attempt is still recorded, so the history shows both requests.
    """
    if not results:
        return
    now = timezone.now()
    held = {"status": Message.Status.SENDING, "claimed_by": worker}  # rows written only while still ours
    with transaction.atomic():
        results = _requeue_deferred(results, held)
        update_rows(Attempt, [_fill_attempt(r) for r in results], ATTEMPT_FIELDS)
        note_outcomes(results, now)
        routes = Routes(now) if any(r.message.gateway.failover for r in results) else None
        messages = [_advance(r, now, routes) for r in results]
        finished = [m for m in messages if m.status in FINISHED]
        update_rows(Message, finished, FINISHED_FIELDS, only_if=held)
        update_rows(Message, [m for m in messages if m.status not in FINISHED], MESSAGE_FIELDS, only_if=held)


def _requeue_deferred(results: list[Result], held: dict) -> list[Result]:
    """Messages that were never sent (they missed their rate-limit slot) go back as they were; the rest."""
    deferred = [r.message for r in results if r.verdict.outcome == "deferred"]
    if deferred:
        Attempt.objects.filter(pk__in=[m.attempt.pk for m in deferred]).delete()
        Message.objects.filter(pk__in=[m.pk for m in deferred], **held).update(
            status=Message.Status.QUEUED, claimed_by="", lease_until=None
        )
    return [r for r in results if r.verdict.outcome != "deferred"]


class Routes:
    """The enabled gateways and their health, read once per batch for failover."""

    def __init__(self, now: datetime):
        self.now = now
        self.gateways = {g.pk: g for g in Gateway.objects.filter(enabled=True)}
        self.states = states_for(self.gateways, lock=False)

    def next_for(self, message: Message) -> tuple[Gateway, bool]:
        """(gateway for the next attempt, whether to send at once rather than after the backoff).

        At once while the message has not yet been tried on every gateway serving it in this round.
        """
        route = serving(self.gateways.values(), message.phone)
        target = failover_target(message, list(self.gateways.values()), self.states, self.now)
        switched = target.pk != message.gateway_id
        return target, switched and len(route) > 1 and message.attempts_count % len(route) != 0


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


def _advance(result: Result, now: datetime, routes: Routes | None) -> Message:
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
        if routes is not None and message.gateway.failover:
            message.gateway, at_once = routes.next_for(message)
            next_at = now if at_once else next_at
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
