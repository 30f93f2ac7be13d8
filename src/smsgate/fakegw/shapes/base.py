"""The generic gateway and the base every gateway shape builds on: what it answers in each mode."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import ANY_NAMES, FieldNames, Message, basic_pair

Answer = tuple[int, Any]  # (HTTP status, a JSON value, or str for a text/plain body)

SECRET_NAMES = ("api_key", "apikey", "apiKey", "api_secret", "key", "secret", "token", "username", "password")
BAD_SECRET = "bad"

# Provider ids never repeat within a process, even across resets and fixture instances.
provider_ids = itertools.count(int(time.time()) % 100_000 * 10_000)


class Generic:
    """`/send` for any API a template can describe; credentials are optional but `bad` is refused."""

    endpoint = "generic"  # names the shape in /_fake/received records
    needs_credentials = False
    names: FieldNames = ANY_NAMES
    example_balance: float = 100.5  # reported until POST /_fake/mode sets a balance

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        found = [str(fields[name]) for name in SECRET_NAMES if name in fields]
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            return found + basic_pair(request)
        return found + ([value.strip() or scheme] if header else [])

    def success(self, msg: Message) -> Answer:
        return 200, {"status": "ok", "message_id": secrets.token_hex(8)}

    def auth_failed(self) -> Answer:
        return 401, {"status": "error", "error": "invalid credentials"}

    def balance_auth_failed(self) -> Answer:
        return self.auth_failed()

    def bad_request(self, reason: str) -> Answer:
        return 400, {"status": "error", "error": reason}

    def error200(self, msg: Message) -> Answer:
        return 200, {"status": "error", "error": "insufficient credit"}

    def invalid_number(self, msg: Message) -> Answer:
        return 400, {"status": "error", "error": "invalid number"}

    def rate_limited(self) -> Answer:
        return 429, {"status": "error", "error": "too many requests"}

    def balance(self, amount: float, request: web.Request) -> Answer:
        """`?format=` json (default), nested, string (Africa's Talking) or text (SMSGlobal legacy)."""
        shape = request.query.get("format", "json")
        if shape == "json":
            return 200, {"balance": amount}
        if shape == "nested":
            return 200, {"data": {"account": {"balance": amount, "currency": "USD"}}}
        if shape == "string":
            return 200, {"balance": f"KES {amount_text(amount)}"}
        if shape == "text":
            return 200, smsglobal_balance_text(amount)
        return 400, {"status": "error", "error": f"unknown format {shape!r}: json, nested, string or text"}


def amount_text(amount: float) -> str:
    """A balance as the gateways that send it as a string write it: "15.5", "100"."""
    return str(amount)


def smsglobal_balance_text(amount: float) -> str:
    # SMS is what the credit buys at the account's rate; 2.3 credits per SMS gives the documented example.
    return f"CREDITS:{amount_text(amount)};COUNTRY:AU;SMS:{amount / 2.3:.2f};"
