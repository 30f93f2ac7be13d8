"""SMSGlobal legacy HTTP API: GET /http-api.php?action=sendsms&user=&password=&from=&to=&text=, text answers.

Every answer is HTTP 200: `OK: 0; Sent queued message ID: … SMSGlobalMsgID:…` or `ERROR: …`. The codes used
here for bad credentials (401) and no credit (88) come from open-source clients; the wording of the
invalid-number error is not documented anywhere we found.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import FieldNames, Message
from smsgate.fakegw.shapes.base import Answer, Generic, provider_ids, smsglobal_balance_text


class SMSGlobal(Generic):
    endpoint = "smsglobal"
    needs_credentials = True
    names = FieldNames(to=("to",), text=("text",), sender=("from",), ref=())
    example_balance = 8658.44

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [str(fields.get("user", "")), str(fields.get("password", ""))]

    def success(self, msg: Message) -> Answer:
        return (
            200,
            f"OK: 0; Sent queued message ID: {secrets.token_hex(8)} SMSGlobalMsgID:{next(provider_ids)}",
        )

    def auth_failed(self) -> Answer:
        return 200, "ERROR: 401"

    def bad_request(self, reason: str) -> Answer:
        return 200, f"ERROR: {reason}"

    def error200(self, msg: Message) -> Answer:
        return 200, "ERROR: 88"

    def invalid_number(self, msg: Message) -> Answer:
        return 200, f"ERROR: Invalid destination number: {msg.to}"

    def rate_limited(self) -> Answer:
        return 429, "ERROR: Too many requests"

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, smsglobal_balance_text(amount)
