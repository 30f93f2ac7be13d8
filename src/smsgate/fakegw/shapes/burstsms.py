"""BurstSMS (Transmit SMS, now Kudosity): form POST with Basic key:secret, errors as {"error": {...}}."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import Message, basic_pair, count_segments
from smsgate.fakegw.shapes.base import Answer, Generic, provider_ids


def _burst_status(code: str, description: str) -> dict[str, Any]:
    return {"error": {"code": code, "description": description}}


class BurstSMS(Generic):
    """BurstSMS (Transmit SMS): form POST, Basic key:secret; errors are {"error": {"code", "description"}}."""

    endpoint = "burstsms"
    needs_credentials = True
    example_balance = 1530.87

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return basic_pair(request)

    def success(self, msg: Message) -> Answer:
        parts, recipients = count_segments(msg.text), len(msg.recipients)
        return 200, {
            "message_id": next(provider_ids),
            "send_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "recipients": recipients,
            "cost": round(0.07 * parts * recipients, 4),
            "sms": parts,
            "delivery_stats": {"delivered": 0, "pending": 0, "bounced": 0, "responses": 0, "optouts": 0},
            **_burst_status("SUCCESS", "OK"),
        }

    def auth_failed(self) -> Answer:
        return 401, _burst_status("AUTH_FAILED", "Invalid API key or secret")

    def bad_request(self, reason: str) -> Answer:
        return 400, _burst_status("FIELD_INVALID", reason)

    def error200(self, msg: Message) -> Answer:
        # The real API sends LEDGER_ERROR with a 400; this mode is for judging an error inside a 200.
        return 200, _burst_status("LEDGER_ERROR", "Not enough funds in your account")

    def invalid_number(self, msg: Message) -> Answer:
        return 400, _burst_status("FIELD_INVALID", f"to: {msg.to} is not a valid number")

    def rate_limited(self) -> Answer:
        return 429, _burst_status("OVER_LIMIT", "Rate limit exceeded")

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {"balance": amount, "currency": "AUD", **_burst_status("SUCCESS", "OK")}
