"""Textmagic REST v2: POST /api/v2/messages (form or JSON), headers X-TM-Username and X-TM-Key.

Errors are 4xx {"code", "message", "errors": {"common": [], "fields": {…}}}; the error200 mode sends one
with a 200, as a proxy might, so a preset's rule is tested for more than "any 2xx".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message
from smsgate.fakegw.shapes.base import Answer, Generic, provider_ids


def _error(code: int, message: str, fields: dict[str, list[str]] | None = None) -> Answer:
    return code, {"code": code, "message": message, "errors": {"common": [], "fields": fields or {}}}


class Textmagic(Generic):
    endpoint = "textmagic"
    needs_credentials = True
    names = FieldNames(to=("phones",), text=("text",), sender=("from",), ref=("referenceId",))
    example_balance = 42.5

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [request.headers.get("X-TM-Username", ""), request.headers.get("X-TM-Key", "")]

    def success(self, msg: Message) -> Answer:
        session = next(provider_ids)
        message_id = session if len(msg.recipients) == 1 else None
        return 201, {
            "id": session,
            "href": f"/api/v2/sessions/{session}",
            "type": "session",
            "sessionId": session,
            "bulkId": None,
            "messageId": message_id,
            "scheduleId": None,
        }

    def auth_failed(self) -> Answer:
        return 401, {"code": 401, "message": "Unauthorized"}

    def bad_request(self, reason: str) -> Answer:
        return _error(400, "Validation Failed", {"text": [reason]})

    def error200(self, msg: Message) -> Answer:
        return 200, _error(400, "Insufficient balance")[1]

    def invalid_number(self, msg: Message) -> Answer:
        return _error(400, "Validation Failed", {"phones": [f"Phone number {msg.to} is invalid."]})

    def rate_limited(self) -> Answer:
        return 429, {"code": 429, "message": "Too Many Requests"}

    def balance(self, amount: float, request: web.Request) -> Answer:
        currency = {"id": "USD", "htmlSymbol": "$"}
        return 200, {"id": 1, "username": "smsgate", "balance": amount, "currency": currency}
