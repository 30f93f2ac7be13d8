"""ClickSend v3: JSON POST to /v3/sms/send, Basic username:API key.

The envelope's response_code is SUCCESS even when a message is refused: each message carries its own
status (SUCCESS, INVALID_RECIPIENT, INSUFFICIENT_CREDIT…), so the rule must look at the message.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message, basic_pair, count_segments
from smsgate.fakegw.shapes.base import Answer, Generic, amount_text


def _envelope(http_code: int, code: str, text: str, data: Any) -> Answer:
    return http_code, {"http_code": http_code, "response_code": code, "response_msg": text, "data": data}


def _messages(msg: Message, status: str) -> Answer:
    parts = count_segments(msg.text)
    messages = [
        {
            "direction": "out",
            "date": int(time.time()),
            "to": to,
            "body": msg.text,
            "from": msg.sender,
            "schedule": 0,
            "message_id": str(uuid.uuid4()).upper(),
            "message_parts": parts,
            "message_price": f"{0.077 * parts:.4f}",
            "custom_string": msg.ref,
            "status": status,
        }
        for to in msg.recipients
    ]
    queued = len(messages) if status == "SUCCESS" else 0
    data = {"total_price": round(0.077 * parts * queued, 4), "total_count": len(messages)}
    data.update(queued_count=queued, messages=messages)
    return _envelope(200, "SUCCESS", "Messages queued for delivery.", data)


class ClickSend(Generic):
    endpoint = "clicksend"
    needs_credentials = True
    names = FieldNames(to=("to",), text=("body",), sender=("from",), ref=("custom_string",))
    example_balance = 3.03

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return basic_pair(request)

    def success(self, msg: Message) -> Answer:
        return _messages(msg, "SUCCESS")

    def auth_failed(self) -> Answer:
        return _envelope(401, "UNAUTHORIZED", "Authorization failed.", None)

    def bad_request(self, reason: str) -> Answer:
        return _envelope(400, "BAD_REQUEST", reason, None)

    def error200(self, msg: Message) -> Answer:
        return _messages(msg, "INSUFFICIENT_CREDIT")

    def invalid_number(self, msg: Message) -> Answer:
        return _messages(msg, "INVALID_RECIPIENT")

    def rate_limited(self) -> Answer:
        return _envelope(429, "TOO_MANY_REQUESTS", "Too many requests.", None)

    def balance(self, amount: float, request: web.Request) -> Answer:
        account = {"user_id": 1, "username": "smsgate", "balance": amount_text(amount), "currency": "AUD"}
        return _envelope(200, "SUCCESS", "Here's your account", account)
