"""Messages and attempts as plain data, for the CLI's --json and the API."""

from smsgate.outbox.models import Attempt, Message


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def attempt_dict(attempt: Attempt) -> dict:
    return {
        "id": attempt.pk,
        "gateway": attempt.gateway_name,
        "worker": attempt.worker,
        "started_at": _iso(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "request": {
            "method": attempt.request_method,
            "url": attempt.request_url,
            "headers": attempt.request_headers,
            "body": attempt.request_body,
        },
        "http_status": attempt.http_status,
        "response_body": attempt.response_body,
        "outcome": attempt.outcome,
        "reason": attempt.reason,
    }


def message_dict(message: Message, *, with_attempts: bool = False) -> dict:
    data = {
        "id": message.pk,
        "phone": message.phone,
        "text": message.text,
        "sender": message.sender,
        "reference": message.reference,
        "status": message.status,
        "gateway": message.gateway.name,
        "attempts": message.attempts_count,
        "last_error": message.last_error,
        "provider_message_id": message.provider_message_id,
        "encoding": message.encoding,
        "segments": message.segments,
        "created_at": _iso(message.created_at),
        "next_attempt_at": _iso(message.next_attempt_at) if message.status == Message.Status.QUEUED else None,
        "sent_at": _iso(message.sent_at),
        "expires_at": _iso(message.expires_at),
    }
    if with_attempts:
        data["attempt_log"] = [attempt_dict(a) for a in message.attempts.all()]
    return data
