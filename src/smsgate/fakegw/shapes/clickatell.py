"""Clickatell Platform: the HTTP (GET, key in the query) and REST (POST JSON, key in Authorization) APIs."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import Message
from smsgate.fakegw.shapes.base import Answer, Generic


def _clickatell_error(code: int, error: str, description: str) -> dict[str, Any]:
    return {"errorCode": code, "error": error, "errorDescription": description}


def _clickatell_messages(msg: Message, error: tuple[int, str, str] | None = None) -> dict[str, Any]:
    """One entry per recipient; a refused one has accepted false and its error, the top level null."""
    code, name, description = error or (None, None, None)
    messages = [
        {
            "apiMessageId": "" if error else secrets.token_hex(16),
            "accepted": error is None,
            "to": to,
            "errorCode": code,
            "error": name,
            "errorDescription": description,
        }
        for to in msg.recipients
    ]
    return {"messages": messages, "errorCode": None, "error": None, "errorDescription": None}


class ClickatellRest(Generic):
    """Clickatell Platform REST: POST /messages, key in `Authorization` with no scheme word."""

    endpoint = "clickatell_rest"
    needs_credentials = True
    example_balance = 1267.92865

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [request.headers.get("Authorization", "")]

    def success(self, msg: Message) -> Answer:
        return 202, _clickatell_messages(msg)

    def auth_failed(self) -> Answer:
        return 401, {"messages": [], **_clickatell_error(1, "Authentication failed", "Authentication failed")}

    def balance_auth_failed(self) -> Answer:
        return 401, _clickatell_error(1, "Authentication failed", "Authentication failed")

    def bad_request(self, reason: str) -> Answer:
        return 400, {"messages": [], **_clickatell_error(101, "Invalid or missing parameters", reason)}

    def error200(self, msg: Message) -> Answer:
        return 200, _clickatell_messages(msg, (301, "No credit left", "Insufficient credit to send"))

    def invalid_number(self, msg: Message) -> Answer:
        error = (105, "Invalid destination address", "The destination address you are sending to is invalid")
        return 202, _clickatell_messages(msg, error)

    def balance(self, amount: float, request: web.Request) -> Answer:
        return 200, {"balance": amount, "currency": "ZAR"}


class ClickatellHttp(ClickatellRest):
    """Clickatell Platform HTTP: GET /messages/http/send?apiKey=&to=&content=&from=."""

    endpoint = "clickatell_http"

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [request.query.get("apiKey", "")]
