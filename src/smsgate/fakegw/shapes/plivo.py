"""Plivo: JSON POST to /v1/Account/{auth_id}/Message/, Basic auth_id:auth_token; 202 with message_uuid[].

Errors are 4xx {"api_id", "error"}; a bad login gets a plain-text 401. The error200 mode sends an error body
with a 200, as a proxy might, so a preset's rule is tested for more than "any 2xx".
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message, basic_pair
from smsgate.fakegw.shapes.base import Answer, Generic, amount_text

AUTH_FAILED = "Could not verify your access level for that URL.\nYou have to login with proper credentials"


def _error(status: int, error: str) -> Answer:
    return status, {"api_id": str(uuid.uuid4()), "error": error}


class Plivo(Generic):
    endpoint = "plivo"
    needs_credentials = True
    names = FieldNames(to=("dst",), text=("text",), sender=("src",), ref=(), separator="<")
    example_balance = 10.60725

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        auth_id, token = basic_pair(request)
        return [auth_id, token] if auth_id == request.match_info.get("auth_id", auth_id) else ["", ""]

    def success(self, msg: Message) -> Answer:
        uuids = [str(uuid.uuid4()) for _ in msg.recipients]
        return 202, {"api_id": str(uuid.uuid4()), "message": "message(s) queued", "message_uuid": uuids}

    def auth_failed(self) -> Answer:
        return 401, AUTH_FAILED

    def bad_request(self, reason: str) -> Answer:
        return _error(400, reason)

    def error200(self, msg: Message) -> Answer:
        return 200, _error(400, "Insufficient credit in your account")[1]

    def invalid_number(self, msg: Message) -> Answer:
        return _error(400, f"'{msg.to}' is not a valid phone number.")

    def rate_limited(self) -> Answer:
        return _error(429, "too many requests")

    def balance(self, amount: float, request: web.Request) -> Answer:
        auth_id = request.match_info.get("auth_id", "")
        return 200, {
            "account_type": "standard",
            "api_id": str(uuid.uuid4()),
            "auth_id": auth_id,
            "auto_recharge": False,
            "billing_mode": "prepaid",
            "cash_credits": amount_text(amount),
            "name": "smsgate test",
            "resource_uri": f"/v1/Account/{auth_id}/",
            "timezone": "Australia/Sydney",
        }
