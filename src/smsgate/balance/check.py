"""One balance request to a gateway and the number read from its answer (or why there is none)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from smsgate.balance.amount import UnreadableBalance, read_balance
from smsgate.balance.config import balance_request, minimum_of, settings_hash
from smsgate.gateways.http import GatewayClient, Unanswered
from smsgate.gateways.models import Gateway
from smsgate.gateways.render import RenderedRequest, RenderError, render_request
from smsgate.gateways.verdict import judge
from smsgate.lib.mask import mask_secrets

log = logging.getLogger("smsgate.balance")

STORED_BODY_LIMIT = 4096


@dataclass
class CheckResult:
    """What one check found. `request`, `raw` and `error` are masked: safe to store, show and email."""

    gateway: Gateway
    checked_at: datetime
    settings_hash: str
    balance: Decimal | None = None
    error: str = ""
    http_status: int | None = None
    raw: str = ""
    duration_ms: int = 0
    request: RenderedRequest | None = None
    reading_id: int | None = None  # the stored reading, once recorded
    emailed_to: list[str] = field(default_factory=list)
    email_error: str = ""

    @property
    def minimum(self) -> Decimal | None:
        return minimum_of(self.gateway.balance or {})

    @property
    def is_low(self) -> bool:
        minimum = self.minimum
        return self.balance is not None and minimum is not None and self.balance < minimum


async def check_balance(client: GatewayClient, gateway: Gateway) -> CheckResult:
    """Ask the gateway for its balance. Never raises for the gateway's faults: they are the result's error."""
    block = gateway.balance or {}
    result = CheckResult(gateway, timezone.now(), settings_hash(gateway))
    templates = balance_request(gateway)
    try:
        request = render_request(templates, {})
        result.request = render_request(templates, {}, masked=True)
    except RenderError as e:
        result.error = f"could not build the balance request: balance.{e}"
        return result
    started = time.monotonic()
    status, body, error = await _fetch(client, request, gateway.timeout)
    result.duration_ms = round((time.monotonic() - started) * 1000)
    result.http_status = status
    result.raw = mask_secrets(body, gateway.secrets or {})[:STORED_BODY_LIMIT]
    if not error:
        try:
            result.balance = read_balance(block.get("field", ""), body)
        except UnreadableBalance as e:
            error = f"gateway answered {status} but the balance could not be read: {e}"
    result.error = mask_secrets(error, gateway.secrets or {})
    log.info(
        "gateway=%s balance_check duration_ms=%s outcome=%s",
        gateway.name,
        result.duration_ms,
        "failed" if result.error else ("low" if result.is_low else "ok"),
    )
    return result


async def _fetch(client: GatewayClient, request: RenderedRequest, timeout: float) -> tuple:
    """(HTTP status or None, body, error reason or ""). Every transport failure becomes a reason."""
    try:
        answer = await client.send(request, timeout)
    except Unanswered as e:
        return None, "", e.reason
    verdict = judge("", "", "", answer.status, answer.body, answer.headers)
    return answer.status, answer.body, "" if verdict.outcome == "sent" else verdict.reason
