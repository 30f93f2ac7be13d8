"""The bundled fake SMS gateway: answers like each preset's gateway (Clickatell, BurstSMS, Twilio, Vonage,
MessageBird, Plivo, Infobip, SMSGlobal, ClickSend, Textmagic) or a generic HTTP API, misbehaves when told to
(POST /_fake/mode), reports the balance it is given there, and records every send request in memory
(GET /_fake/received, /_fake/stats).

Benchmarks push thousands of requests a second through it, so the send path does no disk I/O and no scans:
records are appended to a list, counters are kept up to date as answers go out.

Where things are: decode.py reads a request, shapes/ holds each gateway's answers and routes, modes.py the
misbehaviour settings; this module keeps the state, the handlers, the control API and the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from smsgate.fakegw.decode import Message, count_segments, read_fields, to_message
from smsgate.fakegw.modes import BALANCE_MODES, SUCCESS_MODES, WITHHOLDING_MODES, ModeConfig
from smsgate.fakegw.shapes import BALANCE_ROUTES, SEND_ROUTES, Answer, Generic
from smsgate.fakegw.shapes.base import BAD_SECRET

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HANG_SECONDS = 3600.0
MAX_RECORDS = 100_000  # about 2 KB each; counters in /_fake/stats are never trimmed
HTML_500 = "<html><head><title>500 Internal Server Error</title></head><body><h1>500</h1></body></html>"

__all__ = ["Message", "ModeConfig", "State", "base_url", "count_segments", "make_app", "serve", "start"]


class State:
    """What the fake gateway received and how it is told to behave; one per application."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self.stopping = False
        self._sleepers: set[asyncio.Future[bool]] = set()
        self._held: asyncio.Event | None = None
        self.reset()

    def reset(self) -> None:
        self.release_held()
        self.config = ModeConfig()
        self.records: list[dict[str, Any]] = []
        self.seq = 0
        self.answered_ok = 0
        self.by_mode: dict[str, int] = {}
        self.ok_by_ref: dict[str, int] = {}
        self.duplicates = 0
        # When the first and the last successful answer went out: benchmarks time arrivals here.
        self.first_ok_at: float | None = None
        self.last_ok_at: float | None = None
        self.balance_requests = 0
        self.last_balance_request: dict[str, Any] | None = None

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

    def record_balance(self, request: web.Request) -> None:
        self.balance_requests += 1
        self.last_balance_request = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
        }

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
        self.last_ok_at = time.time()
        if self.first_ok_at is None:
            self.first_ok_at = self.last_ok_at
        if ref := record["ref"]:
            seen = self.ok_by_ref.get(ref, 0)
            self.ok_by_ref[ref] = seen + 1
            self.duplicates += seen > 0

    def stats(self, with_refs: bool = False, with_times: bool = False) -> dict[str, Any]:
        stats = {
            "total": self.seq,
            "answered_ok": self.answered_ok,
            "by_mode": dict(self.by_mode),
            "refs": len(self.ok_by_ref),
            "duplicates": self.duplicates,
            "balance_requests": self.balance_requests,
            "last_balance_request": self.last_balance_request,
            "waiting": len(self._sleepers),
            "mode": self.config.mode,
            "script_left": len(self.config.script),
        }
        if with_refs:
            stats["ref_counts"] = dict(self.ok_by_ref)
        if with_times:
            stats["first_ok_at"], stats["last_ok_at"] = self.first_ok_at, self.last_ok_at
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

    async def hold(self) -> None:
        """Wait until the "hold" mode ends (release_held)."""
        if self._held is None:
            self._held = asyncio.Event()
        await self._held.wait()

    def release_held(self) -> None:
        if self._held is not None:
            self._held.set()
            self._held = None

    def wake_all(self) -> None:
        self.release_held()
        self.stopping = True
        for waiter in list(self._sleepers):
            _resolve(waiter, False)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


STATE = web.AppKey("fakegw_state", State)


# ---- answering


def _credentials_ok(gateway: Generic, credentials: list[str]) -> bool:
    if gateway.needs_credentials and not all(credentials):
        return False
    return BAD_SECRET not in credentials


def _respond(answer: Answer, headers: dict[str, str] | None = None) -> web.Response:
    status, body = answer
    if isinstance(body, str):  # the legacy text APIs (SMSGlobal's http-api.php)
        return web.Response(status=status, text=body, headers=headers)
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
    if mode == "hold":
        await state.hold()
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
        return _respond(gateway.rate_limited(), {"Retry-After": f"{state.config.retry_after:g}"})
    if mode == "error200":
        return _respond(gateway.error200(msg))
    if mode == "invalid_number":
        return _respond(gateway.invalid_number(msg))
    return _respond(gateway.success(msg))


def _send_handler(state: State, gateway: Generic) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        msg = to_message(*await read_fields(request), gateway.names)
        record = state.record(request, gateway.endpoint, msg)
        if not _credentials_ok(gateway, gateway.credentials(request, msg.fields)):
            state.choose(record, "bad_credentials")
            response = _respond(gateway.auth_failed())
        elif msg.problem:
            state.choose(record, "bad_request")
            response = _respond(gateway.bad_request(msg.problem))
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
        state.record_balance(request)
        if not _credentials_ok(gateway, gateway.credentials(request, dict(request.query))):
            return _respond(gateway.balance_auth_failed())
        config = state.config
        mode = config.mode if config.mode in BALANCE_MODES else "ok"
        if await _withhold(request, state, mode):
            return web.Response()
        if mode == "error500":
            return _error500()
        if mode == "rate_limit":
            return _respond(gateway.rate_limited(), {"Retry-After": f"{config.retry_after:g}"})
        amount = gateway.example_balance if config.balance is None else config.balance
        return _respond(gateway.balance(amount, request))

    return handle


# ---- the control API under /_fake/


async def _set_mode(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        state.config = ModeConfig.from_json(json.loads(await request.read() or b"{}"))
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if state.config.mode != "hold":
        state.release_held()
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
    yes = ("1", "true")
    stats = request.app[STATE].stats(
        with_refs=request.query.get("refs") in yes, with_times=request.query.get("times") in yes
    )
    return web.json_response(stats)


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
