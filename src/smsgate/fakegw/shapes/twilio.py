"""Twilio Programmable Messaging: form POST to /2010-04-01/Accounts/{sid}/Messages.json, Basic sid:token.

Twilio reports failures with a 4xx and {"code", "message", "more_info", "status"}, never inside a 2xx; the
error200 mode sends such a body with a 200, as a proxy might, to check a preset's rule is more than "any 2xx".
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message, basic_pair, count_segments
from smsgate.fakegw.shapes.base import Answer, Generic, amount_text


def _error(status: int, code: int, message: str) -> Answer:
    info = f"https://www.twilio.com/docs/errors/{code}"
    return status, {"code": code, "message": message, "more_info": info, "status": status}


class Twilio(Generic):
    endpoint = "twilio"
    needs_credentials = True
    names = FieldNames(to=("To",), text=("Body",), sender=("From", "MessagingServiceSid"), ref=())
    example_balance = 20.55

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        user, token = basic_pair(request)
        # The account in the path must be the one that authenticates (Twilio also lets a parent act for a
        # subaccount; not modelled).
        return [user, token] if user == request.match_info.get("sid", user) else ["", ""]

    def success(self, msg: Message) -> Answer:
        return 201, {
            "sid": "SM" + secrets.token_hex(16),
            "to": msg.to,
            "from": msg.sender,
            "body": msg.text,
            "status": "queued",
            "num_segments": str(count_segments(msg.text)),
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
        }

    def auth_failed(self) -> Answer:
        return _error(401, 20003, "Authenticate")

    def bad_request(self, reason: str) -> Answer:
        return _error(400, 21602, f"Message body is required. ({reason})")

    def error200(self, msg: Message) -> Answer:
        _, body = _error(400, 21611, "This 'From' number has exceeded the maximum number of queued messages")
        return 200, body

    def invalid_number(self, msg: Message) -> Answer:
        return _error(400, 21211, f"The 'To' number {msg.to} is not a valid phone number.")

    def rate_limited(self) -> Answer:
        return _error(429, 20429, "Too Many Requests")

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {
            "currency": "USD",
            "balance": amount_text(amount),
            "account_sid": request.match_info.get("sid", ""),
        }
