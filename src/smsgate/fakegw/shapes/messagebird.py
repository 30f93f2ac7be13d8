"""MessageBird (now Bird) legacy SMS API: POST /messages, `Authorization: AccessKey <key>`.

Failures come with a 4xx and {"errors": [{"code", "description", "parameter"}]}; the error200 mode sends one
with a 200 so a preset's rule is tested for more than "any 2xx".
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message, scheme_token
from smsgate.fakegw.shapes.base import Answer, Generic


def _errors(code: int, description: str, parameter: str | None = None) -> dict[str, Any]:
    return {"errors": [{"code": code, "description": description, "parameter": parameter}]}


class MessageBird(Generic):
    endpoint = "messagebird"
    needs_credentials = True
    names = FieldNames(to=("recipients",), text=("body",), sender=("originator",), ref=("reference",))
    example_balance = 9.2

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [scheme_token(request, "AccessKey")]

    def success(self, msg: Message) -> Answer:
        message_id = secrets.token_hex(16)
        now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        items = [
            {"recipient": int(to) if to.isdigit() else to, "status": "sent", "statusDatetime": now}
            for to in msg.recipients
        ]
        return 201, {
            "id": message_id,
            "href": f"https://rest.messagebird.com/messages/{message_id}",
            "direction": "mt",
            "type": "sms",
            "originator": msg.sender,
            "body": msg.text,
            "reference": msg.ref or None,
            "createdDatetime": now,
            "recipients": {
                "totalCount": len(items),
                "totalSentCount": len(items),
                "totalDeliveredCount": 0,
                "totalDeliveryFailedCount": 0,
                "items": items,
            },
        }

    def auth_failed(self) -> Answer:
        return 401, _errors(2, "Request not allowed (incorrect access_key)", "access_key")

    def bad_request(self, reason: str) -> Answer:
        return 422, _errors(9, reason)

    def error200(self, msg: Message) -> Answer:
        return 200, _errors(25, "Not enough balance")

    def invalid_number(self, msg: Message) -> Answer:
        return 422, _errors(9, "no (correct) recipients found", "recipients")

    def rate_limited(self) -> Answer:
        return 429, _errors(98, "Too many requests")

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {"payment": "prepaid", "type": "credits", "amount": amount}
