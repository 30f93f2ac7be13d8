"""The bundled fake SMS gateway: answers like Clickatell, BurstSMS, Vonage or a generic HTTP API, misbehaves
when told to (POST /_fake/mode) and records every send request in memory (GET /_fake/received, /_fake/stats).

Benchmarks push thousands of requests a second through it, so the send path does no disk I/O and no scans:
records are appended to a list, counters are kept up to date as answers go out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import logging
import math
import random
import secrets
import signal
import socket
import struct
import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec that count_segments uses)
from aiohttp import web

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MODES = frozenset(
    {"ok", "error500", "error200", "rate_limit", "timeout", "reset", "slow", "invalid_number", "random"}
)
# Timeouts are left out of the default mix: one would hold a client for its whole timeout.
DEFAULT_RANDOM_WEIGHTS = {
    "ok": 70,
    "error500": 10,
    "error200": 5,
    "rate_limit": 5,
    "reset": 5,
    "invalid_number": 5,
}
SUCCESS_MODES = frozenset({"ok", "slow"})
WITHHOLDING_MODES = frozenset({"timeout", "reset", "slow"})
BALANCE_MODES = frozenset({"error500", "timeout", "reset", "slow"})
HANG_SECONDS = 3600.0
MAX_RECORDS = 100_000  # about 2 KB each; counters in /_fake/stats are never trimmed

TO_NAMES = ("to", "phone", "msisdn", "number", "numbers", "phones", "recipient", "recipients", "destination")
TEXT_NAMES = ("text", "content", "message", "body", "msg")
SENDER_NAMES = ("from", "sender", "originator", "src", "source")
REF_NAMES = ("ref", "reference", "client_ref", "client-ref", "clientMessageId", "message_id")
SECRET_NAMES = ("api_key", "apikey", "apiKey", "api_secret", "key", "secret", "token", "username", "password")
BAD_SECRET = "bad"

HTML_500 = "<html><head><title>500 Internal Server Error</title></head><body><h1>500</h1></body></html>"

# Provider ids never repeat within a process, even across resets and fixture instances.
_provider_ids = itertools.count(int(time.time()) % 100_000 * 10_000)


@dataclass(slots=True)
class Message:
    fields: dict[str, Any]
    body: str
    to: str
    text: str
    sender: str
    ref: str
    recipients: list[str]
    problem: str | None


@dataclass
class ModeConfig:
    mode: str = "ok"
    delay: float = 0.5
    retry_after: float = 1.0
    script: deque[str] = field(default_factory=deque)
    random_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RANDOM_WEIGHTS))
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> ModeConfig:
        """The whole configuration from a POST /_fake/mode body; keys left out take their defaults."""
        if not isinstance(data, dict):
            raise ValueError('send a JSON object such as {"mode": "error500"}')
        unknown = set(data) - {"mode", "delay", "retry_after", "script", "random_weights", "seed"}
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        script = data.get("script") or []
        if not isinstance(script, list):
            raise ValueError("script must be a list of modes")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("seed must be a whole number")
        return cls(
            mode=_checked_mode(data.get("mode", "ok")),
            delay=_checked_seconds(data, "delay", 0.5),
            retry_after=_checked_seconds(data, "retry_after", 1.0),
            script=deque(_checked_mode(m) for m in script),
            random_weights=_checked_weights(data.get("random_weights") or DEFAULT_RANDOM_WEIGHTS),
            seed=seed,
            rng=random.Random(seed),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "delay": self.delay,
            "retry_after": self.retry_after,
            "script": list(self.script),
            "random_weights": self.random_weights,
            "seed": self.seed,
        }

    def next_mode(self) -> str:
        """The mode for the next send request: the script's next step, else the standing mode."""
        mode = self.script.popleft() if self.script else self.mode
        if mode == "random":
            mode = self.rng.choices(list(self.random_weights), weights=list(self.random_weights.values()))[0]
        return mode


def _checked_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
    return mode


def _checked_seconds(data: dict[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _checked_weights(weights: Any) -> dict[str, float]:
    if not isinstance(weights, dict) or not weights:
        raise ValueError("random_weights must be an object of mode: weight")
    for mode, weight in weights.items():
        if _checked_mode(mode) == "random" or isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"bad random weight {mode!r}: {weight!r}")
        if weight < 0:
            raise ValueError(f"random weights must be >= 0, not {mode!r}: {weight!r}")
    if sum(weights.values()) <= 0:
        raise ValueError("random_weights must not all be 0")
    return {mode: float(weight) for mode, weight in weights.items()}


class State:
    """What the fake gateway received and how it is told to behave; one per application."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self.stopping = False
        self._sleepers: set[asyncio.Future[bool]] = set()
        self.reset()

    def reset(self) -> None:
        self.config = ModeConfig()
        self.records: list[dict[str, Any]] = []
        self.seq = 0
        self.answered_ok = 0
        self.by_mode: dict[str, int] = {}
        self.ok_by_ref: dict[str, int] = {}
        self.duplicates = 0
        self.balance_requests = 0

    def record(self, request: web.Request, endpoint: str, msg: Message) -> dict[str, Any]:
        self.seq += 1
        record = {
            "seq": self.seq,
            "time": time.time(),
            "endpoint": endpoint,
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "body": msg.body,
            "fields": msg.fields,
            "to": msg.to,
            "text": msg.text,
            "sender": msg.sender,
            "ref": msg.ref,
            "mode": None,
            "answer_status": None,
        }
        self.records.append(record)
        if len(self.records) > self.max_records:
            del self.records[: len(self.records) // 2]  # rare, so appending stays O(1) on average
        return record

    def since(self, seq: int) -> list[dict[str, Any]]:
        if not self.records:
            return []
        return self.records[max(0, seq - self.records[0]["seq"] + 1) :]

    def choose(self, record: dict[str, Any], mode: str) -> None:
        record["mode"] = mode
        self.by_mode[mode] = self.by_mode.get(mode, 0) + 1

    def answered(self, record: dict[str, Any], status: int) -> None:
        record["answer_status"] = status
        if record["mode"] not in SUCCESS_MODES:
            return
        self.answered_ok += 1
        if ref := record["ref"]:
            seen = self.ok_by_ref.get(ref, 0)
            self.ok_by_ref[ref] = seen + 1
            self.duplicates += seen > 0

    def stats(self, with_refs: bool = False) -> dict[str, Any]:
        stats = {
            "total": self.seq,
            "answered_ok": self.answered_ok,
            "by_mode": dict(self.by_mode),
            "refs": len(self.ok_by_ref),
            "duplicates": self.duplicates,
            "balance_requests": self.balance_requests,
            "waiting": len(self._sleepers),
            "mode": self.config.mode,
            "script_left": len(self.config.script),
        }
        if with_refs:
            stats["ref_counts"] = dict(self.ok_by_ref)
        return stats

    async def pause(self, seconds: float) -> bool:
        """Wait, unless the server stops first (then False: drop the request rather than hold shutdown up)."""
        if self.stopping:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(seconds, _resolve, waiter, True)
        self._sleepers.add(waiter)
        try:
            return await waiter  # a client that goes away cancels this (the runner cancels handlers)
        finally:
            timer.cancel()
            self._sleepers.discard(waiter)

    def wake_all(self) -> None:
        self.stopping = True
        for waiter in list(self._sleepers):
            _resolve(waiter, False)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


STATE = web.AppKey("fakegw_state", State)


def count_segments(text: str) -> int:
    """SMS parts the gateways bill: 160 GSM-7 septets (153 per part when split), else 70 UCS-2 units (67)."""
    try:
        units, single, part = len(text.encode("gsm03.38")), 160, 153
    except UnicodeEncodeError:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)


# ---- decoding a send request


async def read_fields(request: web.Request) -> tuple[dict[str, Any], str, str | None]:
    """Query and body fields (form, JSON or XML; the body wins a clash), the body text, and any problem."""
    fields: dict[str, Any] = dict(request.query)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        fields.update((name, value) for name, value in form.items() if isinstance(value, str))
        return fields, "", None
    raw = await request.read()
    if not raw:
        return fields, "", None
    text = _decode(raw, request.charset)
    try:
        fields.update(parse_body(raw, text, request.content_type))
    except (ValueError, ElementTree.ParseError) as exc:
        return fields, text, f"malformed body: {exc}"
    return fields, text, None


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def parse_body(raw: bytes, text: str, content_type: str) -> dict[str, Any]:
    """Fields of a body, by its content type, else by its first character (clients often omit the type)."""
    head = text.lstrip()[:1]
    if "json" in content_type or (content_type != "application/x-www-form-urlencoded" and head in ("{", "[")):
        return _json_leaves(json.loads(text), {})
    if "xml" in content_type or head == "<":
        return _xml_leaves(ElementTree.fromstring(raw))  # bytes: the declared encoding then applies
    return dict(parse_qsl(text, keep_blank_values=True))


def _json_leaves(value: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Every named value (the first wins), so nested shapes such as {"messages": [{"to": ...}]} decode too."""
    if isinstance(value, list):
        for item in value:
            _json_leaves(item, fields)
    elif isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, dict) or (isinstance(item, list) and not all(map(_is_scalar, item))):
                _json_leaves(item, fields)
            else:
                fields.setdefault(name, item)
    return fields


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _xml_leaves(root: ElementTree.Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for element in root.iter():
        if len(element) == 0:
            fields.setdefault(element.tag.rpartition("}")[2], element.text or "")
    return fields


def to_message(fields: dict[str, Any], body: str, problem: str | None) -> Message:
    to = _first(fields, TO_NAMES)
    if isinstance(to, list):
        recipients = [str(item) for item in to]
    else:
        recipients = [part.strip() for part in str(to or "").split(",") if part.strip()]
    text = _first(fields, TEXT_NAMES)
    if problem is None and not recipients:
        problem = "missing recipient (to)"
    elif problem is None and text is None:
        problem = "missing message text"
    return Message(
        fields=fields,
        body=body,
        to=",".join(recipients),
        text="" if text is None else str(text),
        sender=str(_first(fields, SENDER_NAMES) or ""),
        ref=str(_first(fields, REF_NAMES) or ""),
        recipients=recipients,
        problem=problem,
    )


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.get(name)
        if value is not None and value != "" and value != []:
            return value
    return None


def _basic_pair(request: web.Request) -> list[str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ["", ""]
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ["", ""]
    return [user, password]


# ---- the gateways: what each answers, in its real shapes (see /work/shared/gateways.md)


class Generic:
    """`/send` for any API a template can describe; credentials are optional but `bad` is refused."""

    endpoint = "generic"
    needs_credentials = False

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        found = [str(fields[name]) for name in SECRET_NAMES if name in fields]
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            return found + _basic_pair(request)
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

    def balance(self) -> Answer:
        return 200, {"balance": 100.5}


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

    def balance(self) -> Answer:
        return 200, {"balance": 1267.92865, "currency": "ZAR"}


class ClickatellHttp(ClickatellRest):
    """Clickatell Platform HTTP: GET /messages/http/send?apiKey=&to=&content=&from=."""

    endpoint = "clickatell_http"

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return [request.query.get("apiKey", "")]


def _burst_status(code: str, description: str) -> dict[str, Any]:
    return {"error": {"code": code, "description": description}}


class BurstSMS(Generic):
    """BurstSMS (Transmit SMS): form POST, Basic key:secret; errors are {"error": {"code", "description"}}."""

    endpoint = "burstsms"
    needs_credentials = True

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        return _basic_pair(request)

    def success(self, msg: Message) -> Answer:
        parts, recipients = count_segments(msg.text), len(msg.recipients)
        return 200, {
            "message_id": next(_provider_ids),
            "send_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "recipients": recipients,
            "cost": round(0.07 * parts * recipients, 4),
            "sms": parts,
            "delivery_stats": {"delivered": 0, "pending": 0, "bounced": 0, "responses": 0, "optouts": 0},
            **_burst_status("SUCCESS", "OK"),
        }

    def auth_failed(self) -> Answer:
        return 401, _burst_status("AUTH_FAILED", "Invalid API key or secret")

    def bad_request(self, reason: str) -> Answer:
        return 400, _burst_status("FIELD_INVALID", reason)

    def error200(self, msg: Message) -> Answer:
        # The real API sends LEDGER_ERROR with a 400; this mode is for judging an error inside a 200.
        return 200, _burst_status("LEDGER_ERROR", "Not enough funds in your account")

    def invalid_number(self, msg: Message) -> Answer:
        return 400, _burst_status("FIELD_INVALID", f"to: {msg.to} is not a valid number")

    def rate_limited(self) -> Answer:
        return 429, _burst_status("OVER_LIMIT", "Rate limit exceeded")

    def balance(self) -> Answer:
        return 200, {"balance": 1530.87, "currency": "AUD", **_burst_status("SUCCESS", "OK")}


def _vonage_error(status: str, text: str) -> Answer:
    return 200, {"message-count": "1", "messages": [{"status": status, "error-text": text}]}


class Vonage(Generic):
    """Vonage SMS API: api_key/api_secret in the form; failures come back in an HTTP 200, status non-zero."""

    endpoint = "vonage"
    needs_credentials = True

    def credentials(self, request: web.Request, fields: dict[str, Any]) -> list[str]:
        pair = [str(fields.get("api_key", "")), str(fields.get("api_secret", ""))]
        if not any(pair) and "Authorization" in request.headers:
            return _basic_pair(request)  # the balance call also takes Basic auth
        return pair

    def success(self, msg: Message) -> Answer:
        ref = {"client-ref": msg.fields["client-ref"]} if "client-ref" in msg.fields else {}
        parts = count_segments(msg.text)  # Vonage answers with one entry per part of a long message
        messages = [
            {
                "to": msg.to,
                "message-id": f"{next(_provider_ids):016X}",
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

    def balance(self) -> Answer:
        return 200, {"value": 15.5359, "autoReload": False}


SEND_ROUTES = (
    ("GET", "/messages/http/send", ClickatellHttp()),
    ("POST", "/messages", ClickatellRest()),
    ("POST", "/send-sms.json", BurstSMS()),
    ("POST", "/sms/json", Vonage()),
    ("GET", "/send", Generic()),
    ("POST", "/send", Generic()),
)
BALANCE_ROUTES = (
    ("/public-client/balance", ClickatellRest()),
    ("/get-balance.json", BurstSMS()),
    ("/account/get-balance", Vonage()),
    ("/balance", Generic()),
)


# ---- answering


def _credentials_ok(gateway: Generic, credentials: list[str]) -> bool:
    if gateway.needs_credentials and not all(credentials):
        return False
    return BAD_SECRET not in credentials


def _json(answer: Answer, headers: dict[str, str] | None = None) -> web.Response:
    status, body = answer
    return web.json_response(body, status=status, headers=headers)


def _abort(request: web.Request) -> None:
    """Drop the connection with a TCP reset (linger 0), as a crashing gateway or a proxy would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _withhold(request: web.Request, state: State, mode: str) -> bool:
    """Play the modes that hold the answer back; True when the request got none and the connection is gone."""
    if mode not in WITHHOLDING_MODES:
        return False
    if mode == "slow" and await state.pause(state.config.delay):
        return False
    if mode == "timeout":
        await state.pause(HANG_SECONDS)
    _abort(request)
    return True


def _error500() -> web.Response:
    # An HTML page, not JSON: what a crashed backend behind a load balancer usually sends.
    return web.Response(status=500, text=HTML_500, content_type="text/html")


def _answer(state: State, gateway: Generic, mode: str, msg: Message) -> web.Response:
    if mode == "error500":
        return _error500()
    if mode == "rate_limit":
        return _json(gateway.rate_limited(), {"Retry-After": f"{state.config.retry_after:g}"})
    if mode == "error200":
        return _json(gateway.error200(msg))
    if mode == "invalid_number":
        return _json(gateway.invalid_number(msg))
    return _json(gateway.success(msg))


def _send_handler(state: State, gateway: Generic) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        msg = to_message(*await read_fields(request))
        record = state.record(request, gateway.endpoint, msg)
        if not _credentials_ok(gateway, gateway.credentials(request, msg.fields)):
            state.choose(record, "bad_credentials")
            response = _json(gateway.auth_failed())
        elif msg.problem:
            state.choose(record, "bad_request")
            response = _json(gateway.bad_request(msg.problem))
        else:
            mode = state.config.next_mode()
            state.choose(record, mode)
            if await _withhold(request, state, mode):
                return web.Response()
            response = _answer(state, gateway, mode, msg)
        state.answered(record, response.status)
        return response

    return handle


def _balance_handler(state: State, gateway: Generic) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        state.balance_requests += 1
        if not _credentials_ok(gateway, gateway.credentials(request, dict(request.query))):
            return _json(gateway.balance_auth_failed())
        mode = state.config.mode if state.config.mode in BALANCE_MODES else "ok"
        if await _withhold(request, state, mode):
            return web.Response()
        if mode == "error500":
            return _error500()
        return _json(gateway.balance())

    return handle


# ---- the control API under /_fake/


async def _set_mode(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        state.config = ModeConfig.from_json(json.loads(await request.read() or b"{}"))
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(state.config.as_json())


async def _get_mode(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].config.as_json())


async def _received(request: web.Request) -> web.Response:
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return web.json_response({"error": "since must be a sequence number"}, status=400)
    return web.json_response(request.app[STATE].since(since))


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats(with_refs=request.query.get("refs") in ("1", "true")))


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"status": "ok"})


async def _index(request: web.Request) -> web.Response:
    routes = [f"{r.method} {r.resource.canonical}" for r in request.app.router.routes() if r.method != "HEAD"]
    return web.json_response({"fake_gateway": True, "routes": routes})


async def _wake_sleepers(app: web.Application) -> None:
    app[STATE].wake_all()


def make_app(max_records: int = MAX_RECORDS) -> web.Application:
    app = web.Application()
    state = app[STATE] = State(max_records)
    for method, path, gateway in SEND_ROUTES:
        app.router.add_route(method, path, _send_handler(state, gateway))
    for path, gateway in BALANCE_ROUTES:
        app.router.add_route("GET", path, _balance_handler(state, gateway))
    app.router.add_get("/", _index)
    app.router.add_get("/_fake/mode", _get_mode)
    app.router.add_post("/_fake/mode", _set_mode)
    app.router.add_get("/_fake/received", _received)
    app.router.add_get("/_fake/stats", _stats)
    app.router.add_post("/_fake/reset", _reset)
    app.on_shutdown.append(_wake_sleepers)  # held requests are dropped at once instead of delaying the stop
    return app


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Listen on host:port (0 lets the kernel pick a free port, race-free) and return the runner and port."""
    # handler_cancellation: a client that gives up on a "timeout" request frees its handler at once.
    # No access log: at thousands of requests a second it would cost more than the answers.
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=1024).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve_until_stopped(host: str, port: int) -> None:
    runner, bound = await start(make_app(), host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Outside the main thread this fails; Ctrl-C then still ends the loop through KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    log.info("fake SMS gateway listening on %s (control API under /_fake/)", base_url(host, bound))
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(host: str = "127.0.0.1", port: int = 9090) -> None:
    """Run the fake gateway until SIGINT or SIGTERM."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(host, port))
