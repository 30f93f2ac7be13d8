"""Vonage (Nexmo) SMS API: credentials in the form, and every failure inside an HTTP 200."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import Message, basic_pair, count_segments
from smsgate.fakegw.shapes.base import Answer, Generic, provider_ids


def _vonage_error(status: str, text: str) -> Answer:
    return 200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]}


class Vonage(Generic):
    """Vonage SMS API: api_key/api_secret in the form; failures come back in an HTTP 200, status non-zero."""

    endpoint = "vonage"
    needs_credentials = True
    example_balance = 15.5359

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        pair = [str(fields.get("api_key", "")), str(fields.get("api_secret", ""))]
        if not any(pair) and "Authorization" in request.headers:
            return basic_pair(request)  # the balance call also takes Basic auth
        return pair

    def success(self, msg: Message) -> Answer:
        ref = {"client-ref": msg.fields["client-ref"]} if "client-ref" in msg.fields else {}
        parts = count_segments(msg.text)  # Vonage answers with one entry per part of a long message
        messages = [
            {
                "to": msg.to,
                "message-id": f"{next(provider_ids):016X}",
                "status": "0",
                "remaining-balance": "15.53590000",
                "message-price": "0.03330000",
                "network": "23410",
                **ref,
            }
            for _ in range(parts)
        ]
        return 200, {"message-count": str(parts), "messages": messages}

    def auth_failed(self) -> Answer:
        return _vonage_error("4", "Bad Credentials")

    def balance_auth_failed(self) -> Answer:
        return 401, {"error-code": "401", "error-code-label": "authentication failed"}

    def bad_request(self, reason: str) -> Answer:
        return _vonage_error("2", reason)

    def error200(self, msg: Message) -> Answer:
        return _vonage_error("9", "Partner quota exceeded")

    def invalid_number(self, msg: Message) -> Answer:
        return _vonage_error("3", "Invalid Parameters")

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {"value": amount, "autoReload": False}
