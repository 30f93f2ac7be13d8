"""Infobip SMS v2: JSON POST to /sms/2/text/advanced, `Authorization: App <key>`.

A 200 carries a status per destination: PENDING when accepted, REJECTED (no credit, bad number) when not,
so a 200 alone does not mean sent.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message, scheme_token
from smsgate.fakegw.shapes.base import Answer, Generic

PENDING = (1, "PENDING", 26, "PENDING_ACCEPTED", "Message sent to next instance")
NO_CREDIT = (5, "REJECTED", 12, "REJECTED_NOT_ENOUGH_CREDITS", "Not enough credits")
BAD_NUMBER = (5, "REJECTED", 52, "REJECTED_INVALID_DESTINATION", "Invalid destination address")


def _service_exception(message_id: str, text: str) -> dict[str, Any]:
    return {"requestError": {"serviceException": {"messageId": message_id, "text": text}}}


def _messages(msg: Message, status: tuple[int, str, int, str, str]) -> dict[str, Any]:
    group_id, group_name, status_id, name, description = status
    state = {"groupId": group_id, "groupName": group_name, "id": status_id, "name": name}
    messages = [
        {"to": to, "status": {**state, "description": description}, "messageId": secrets.token_hex(12)}
        for to in msg.recipients
    ]
    return {"bulkId": secrets.token_hex(12), "messages": messages}


class Infobip(Generic):
    endpoint = "infobip"
    needs_credentials = True
    names = FieldNames(to=("to",), text=("text",), sender=("from",), ref=("callbackData",))
    example_balance = 47.79134

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [scheme_token(request, "App")]

    def success(self, msg: Message) -> Answer:
        return 200, _messages(msg, PENDING)

    def auth_failed(self) -> Answer:
        return 401, _service_exception("UNAUTHORIZED", "Invalid login details")

    def bad_request(self, reason: str) -> Answer:
        return 400, _service_exception("BAD_REQUEST", reason)

    def error200(self, msg: Message) -> Answer:
        return 200, _messages(msg, NO_CREDIT)

    def invalid_number(self, msg: Message) -> Answer:
        return 200, _messages(msg, BAD_NUMBER)

    def rate_limited(self) -> Answer:
        return 429, _service_exception("TOO_MANY_REQUESTS", "Too many requests")

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {"balance": amount, "currency": "EUR"}
