"""Single sends (`POST /api/v1/messages`) queued together: one transaction for all that arrive at once.

Through Django, each single send costs a thread, the middleware, ninja and a commit of its own: about 2 ms of
CPU, which held a stream of single sends to ~550 a second on two cores (bench/PROFILE.md). Here the web
server's event loop reads the request and one database thread queues every send that arrived while it
committed the previous batch (group commit), through the same code the API uses: `auth.SEND`,
`sending.build_bulk` and `insert` (as the bulk API), the API's schema and renderer. Anything that is not a
plain success (a bad token, an invalid body, an Idempotency-Key, a database error) goes to Django
untouched, which answers it as the API always has, so every refusal is made in one place. A send is
answered here only after its batch committed.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections, transaction

from smsgate.api import auth, sending
from smsgate.api.api import api, strict_json
from smsgate.api.errors import ApiError
from smsgate.api.models import Token
from smsgate.api.schemas import MessageOut
from smsgate.api.serialize import message_json
from smsgate.outbox.models import Message

logger = logging.getLogger(__name__)

PATH = b"/api/v1/messages"
BATCH = 500  # sends per transaction at most; more wait for the next one
MAX_BODY = 64 * 1024  # one SMS is far smaller; a bigger body goes to Django, which applies its own limits
# What Django's middleware adds to an API answer (SecurityMiddleware, XFrameOptionsMiddleware); a test
# compares these with the view's answer.
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SendIntake:
    """ASGI middleware: takes the single sends it can queue, passes every other request to `app`."""

    def __init__(self, app):
        self.app = app
        self.waiting: list[tuple[str, bytes, asyncio.Future]] = []
        self.flusher: asyncio.Task | None = None
        self.database: ThreadPoolExecutor | None = None  # one thread: one connection, one writer

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        if not _is_single_send(scope):
            return await self.app(scope, receive, send)
        chunks, complete = await _read_body(receive)
        if complete is None:
            return  # the client went away before it finished sending
        if complete:
            body = b"".join(chunks)
            answer = await self.queue(_header(scope, b"authorization") or "", body)
            if answer is not None:
                await send({"type": "http.response.start", "status": 202, "headers": _headers(answer)})
                await send({"type": "http.response.body", "body": answer})
                return
            chunks = [body]
        await self.app(scope, _replay(chunks, complete, receive), send)

    def queue(self, authorization: str, body: bytes) -> asyncio.Future:
        """The send's 202 answer once its batch committed, or None when Django is to answer it."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((authorization, body, future))
        if self.flusher is None:
            self.flusher = asyncio.create_task(self.flush())
        return future

    async def flush(self) -> None:
        loop = asyncio.get_running_loop()
        if self.database is None:
            self.database = ThreadPoolExecutor(1, thread_name_prefix="intake")
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:BATCH], self.waiting[BATCH:]
                sends = [(authorization, body) for authorization, body, _ in batch]
                try:
                    answers = await loop.run_in_executor(self.database, queue_sends, sends)
                except Exception:
                    # Nothing of the batch was committed: Django takes each send and answers it.
                    logger.exception(
                        "queueing %d single send(s) together failed; each goes to the API view", len(batch)
                    )
                    answers = [None] * len(batch)
                for (_, _, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self.flusher = None

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.database is not None:  # the server has answered every request by now
                    await asyncio.get_running_loop().run_in_executor(self.database, connections.close_all)
                    self.database.shutdown()
                    self.database = None
                await send({"type": "lifespan.shutdown.complete"})
                return


def queue_sends(sends: list[tuple[str, bytes]]) -> list[bytes | None]:
    """Each send's answer (JSON), or None for one the API view must answer. One transaction for all."""
    close_old_connections()  # what Django does at each request: drop a connection that is old or broken
    answers: list[bytes | None] = [None] * len(sends)
    by_token: dict[int, tuple[Token, list[tuple[int, object]]]] = {}
    for i, (authorization, body) in enumerate(sends):
        try:
            token = auth.SEND.check(authorization)
            item = strict_json(body)
        except (ApiError, ValueError):
            continue
        by_token.setdefault(token.pk, (token, []))[1].append((i, item))
    built = []  # (token, [(index, unsaved message)]): built before the transaction, whose reads aren't cached
    for token, items in by_token.values():
        results = sending.build_bulk([item for _, item in items])
        built.append((token, [(i, r.message) for (i, _), r in zip(items, results, strict=True) if r.message]))
    # Answers are rendered inside the transaction: if anything fails, nothing was queued and the view may
    # take every send again without sending any SMS twice.
    with transaction.atomic():
        for token, messages in built:
            sending.insert([message for _, message in messages], token)
            for i, message in messages:
                answers[i] = _render(message)
    return answers


def _render(message: Message) -> bytes:
    data = MessageOut.model_validate(message_json(message)).model_dump()
    return api.renderer.render(None, data, response_status=202).encode()


def _is_single_send(scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"].encode() == PATH
        and _header(scope, b"idempotency-key") is None
        and _short(_header(scope, b"content-length") or "0")
    )


def _short(content_length: str) -> bool:
    return content_length.isdigit() and int(content_length) <= MAX_BODY


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [*HEADERS, (b"content-length", str(len(body)).encode())]


async def _read_body(receive) -> tuple[list[bytes], bool | None]:
    """The body's chunks, and True once whole, False if it grew past MAX_BODY, None if the client left."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False):
            return chunks, True
        if size > MAX_BODY:
            return chunks, False


def _replay(chunks: list[bytes], complete: bool, receive):
    """`receive` for Django: what was already read, then the rest from the client."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": not complete}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed
