"""One HTTP request to a gateway for one message, and the verdict on its answer."""

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from smsgate.gateways.http import GatewayClient, Unanswered
from smsgate.gateways.render import RenderedRequest, RenderError, render_request
from smsgate.gateways.verdict import Verdict, judge
from smsgate.lib.mask import mask_secrets
from smsgate.lib.phone import phone_digits, phone_national
from smsgate.outbox.debuglog import log_exchange
from smsgate.outbox.models import Message

log = logging.getLogger("smsgate.worker")

STORED_BODY_LIMIT = 4096
LATE_SEND = timedelta(seconds=0.1)


@dataclass
class Result:
    """What happened to one attempt. `request` and `body` are already masked: safe to store and show."""

    message: Message
    verdict: Verdict
    request: RenderedRequest | None = None
    status: int | None = None
    body: str = ""
    duration_ms: int = 0


def message_context(message: Message) -> dict:
    gateway = message.gateway
    wanted = _uses_phone_national(gateway.url, gateway.payload, *map(str, gateway.headers or []))
    return {
        "phone": message.phone,
        "phone_digits": phone_digits(message.phone),
        "phone_national": phone_national(message.phone) if wanted else "",
        "message": message.text,
        "sender": message.sender,
        "message_id": str(message.pk),
        "encoding": message.encoding,
        "segments": message.segments,
    }


@functools.lru_cache(maxsize=64)
def _uses_phone_national(*templates: str) -> bool:
    # The national form needs a full phonenumbers parse (a tenth of a worker's time): only when asked for.
    return any("phone_national" in template for template in templates)


async def deliver(client: GatewayClient, message: Message) -> Result:
    not_before = getattr(message, "not_before", None)  # a rate-limited gateway's pace (outbox/throttle.py)
    if not_before is not None:
        await asyncio.sleep(max(0.0, (not_before - timezone.now()).total_seconds()))
        if timezone.now() - not_before > LATE_SEND:
            # Sent this late, it could crowd the next second past the gateway's limit: pace it again.
            log.warning(
                "gateway=%s message=%s missed its rate-limit slot; queued again",
                message.gateway.name,
                message.pk,
            )
            return Result(message, Verdict("deferred", "missed its rate-limit slot"))
    gateway = message.gateway
    context = message_context(message)
    try:
        request = render_request(gateway, context)
        # What is stored: rendered again with ******** for each secret, as the secret may appear escaped.
        shown = render_request(gateway, context, masked=True) if gateway.secrets else request
    except RenderError as e:
        return Result(message, Verdict("rejected", f"could not build the request: {e}"))
    started = time.monotonic()
    status, body, verdict = await _exchange(client, request, gateway)
    result = Result(
        message,
        _masked_verdict(verdict, gateway.secrets),
        shown,
        status,
        mask_secrets(body[:STORED_BODY_LIMIT], gateway.secrets),
        round((time.monotonic() - started) * 1000),
    )
    # A line per SMS sent costs a busy worker a twentieth of its time: those are DEBUG, and the worker logs
    # a count per batch. Every other outcome gets its own line with the reason.
    log.log(
        logging.DEBUG if result.verdict.outcome == "sent" else logging.INFO,
        "gateway=%s message=%s duration_ms=%s outcome=%s reason=%s",
        gateway.name,
        message.pk,
        result.duration_ms,
        result.verdict.outcome,
        result.verdict.reason,
    )
    if gateway.debug:
        log_exchange(gateway.name, message.pk, shown, status, result.body, result.verdict)
    return result


async def _exchange(client: GatewayClient, request: RenderedRequest, gateway) -> tuple:
    """(HTTP status or None, body text, verdict). Every transport failure becomes a verdict with a reason."""
    try:
        answer = await client.send(request, gateway.timeout)
    except Unanswered as e:
        return None, "", _timeout_verdict(gateway) if e.maybe_sent else Verdict("failed", e.reason)
    verdict = judge(
        gateway.success_response,
        gateway.failure_response,
        gateway.message_id_path,
        answer.status,
        answer.body,
        answer.headers,
    )
    return answer.status, answer.body, verdict


def _timeout_verdict(gateway) -> Verdict:
    # The request may have reached the gateway, which may have sent the SMS: the outcome is unknown.
    what = f"no answer within {gateway.timeout:g} s; the gateway may have sent the SMS"
    if gateway.resend_on_timeout:
        return Verdict("unknown", f"{what}; sending again (resend_on_timeout is on)")
    return Verdict("unknown", f"{what}; not sent again because resend_on_timeout is off")


def _masked_verdict(verdict: Verdict, secrets: dict) -> Verdict:
    reason = mask_secrets(verdict.reason, secrets)
    if reason == verdict.reason:
        return verdict
    return Verdict(verdict.outcome, reason, verdict.provider_message_id, verdict.retry_after)
