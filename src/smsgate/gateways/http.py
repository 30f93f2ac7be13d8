"""HTTP/1.1 to gateways: keep-alive connections per host, one request at a time on each, answers parsed by
httptools. Ours rather than aiohttp's client for speed: docs/decisions.md has the measurements."""

import asyncio
import base64
import contextlib
import re
import ssl
import zlib
from dataclasses import dataclass
from functools import lru_cache

import httptools
from yarl import URL

from smsgate.gateways.render import RenderedRequest

DEADLINE_CHECK_SECONDS = 0.05  # how late past its timeout a request may be given up
BODY_LIMIT = 1_000_000  # a gateway that streams forever must not fill our memory
USER_AGENT = "smsgate"
_OURS = {"content-length", "transfer-encoding", "connection"}  # framing: a gateway's headers can't set it
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


class Unanswered(Exception):
    """No answer from the gateway, and why. `maybe_sent`: the request was written, so it may have arrived."""

    def __init__(self, reason: str, *, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_sent = maybe_sent


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's values joined by ", "
    body: str


@dataclass(frozen=True, slots=True)
class _Target:
    tls: bool
    host: str
    port: int
    path: str
    host_header: str
    authorization: str | None  # from user:password@ in the URL, as a browser would send it

    @property
    def key(self) -> tuple[bool, str, int]:
        return self.tls, self.host, self.port


class GatewayClient:
    """Sends rendered requests, at most `limit` at once, reusing connections while the gateway allows."""

    def __init__(self, limit: int = 100) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[tuple, list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        # Answers awaited, by when they are due; one timer looks over them every DEADLINE_CHECK_SECONDS. An
        # asyncio.timeout per request (a timer pushed, then cancelled) cost a tenth of a worker's CPU.
        self._due: dict[_Connection, float] = {}
        self._checking: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> "GatewayClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.transport.close()
        self._idle.clear()
        if self._checking is not None:
            self._checking.cancel()
            self._checking = None
        await asyncio.sleep(0)  # let the transports finish closing before the loop may end

    async def send(self, request: RenderedRequest, timeout: float) -> Answer:
        """The gateway's answer, whatever its status; Unanswered when there is none."""
        target = _target(request.url)
        data = _request_bytes(request, target)
        async with self._slots:
            loop = asyncio.get_running_loop()
            due = loop.time() + timeout
            connection = self._reuse(target)
            if connection is None:
                try:
                    async with asyncio.timeout(timeout):
                        connection = await self._connect(target)
                except TimeoutError:
                    raise Unanswered(f"could not connect to the gateway within {timeout:g} s") from None
            self._due[connection] = due
            if self._checking is None:
                self._checking = loop.call_later(DEADLINE_CHECK_SECONDS, self._check_deadlines)
            try:
                status, headers, raw, keep_alive = await connection.exchange(data)
            except BaseException as e:
                connection.transport.close()
                if isinstance(e, TimeoutError):
                    raise Unanswered(f"no answer within {timeout:g} s", maybe_sent=True) from None
                raise
            finally:
                del self._due[connection]
            if keep_alive:
                self._idle.setdefault(target.key, []).append(connection)
            else:
                connection.transport.close()
        return Answer(status, headers, _text(raw, headers))

    def _check_deadlines(self) -> None:
        now = asyncio.get_running_loop().time()
        for connection, due in self._due.items():
            if due <= now:
                connection.time_out()
        self._checking = None
        if self._due:
            self._checking = asyncio.get_running_loop().call_later(
                DEADLINE_CHECK_SECONDS, self._check_deadlines
            )

    def _reuse(self, target: _Target) -> "_Connection | None":
        idle = self._idle.get(target.key)
        while idle:
            connection = idle.pop()
            if connection.open:  # the gateway may have closed it while it waited
                return connection
        return None

    async def _connect(self, target: _Target) -> "_Connection":
        tls = self._tls_context() if target.tls else None
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
            )
        except OSError as e:  # refused, unreachable, no such host, a certificate that does not verify
            raise Unanswered(f"could not connect to the gateway: {e}") from None
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()  # the system's CAs (or SSL_CERT_FILE), hostname checked
        return self._tls


class _Connection(asyncio.Protocol):
    """One connection: writes a request, then parses the answer as it arrives."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.open = True
        self.waiter: asyncio.Future | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.size = 0
        self.until_close = False  # an answer without a length ends when the connection does

    async def exchange(self, data: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """(status, headers, body, whether the connection can carry another request)."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(f"the answer is not HTTP ({e})")

    def eof_received(self) -> bool:
        self.open = False
        if self.until_close:
            self._answer(keep_alive=False)
        else:
            self._fail("the gateway closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(str(exc) if exc else "the gateway closed the connection")

    # httptools calls these while parsing
    def on_message_begin(self) -> None:
        self.headers, self.body, self.size, self.until_close = {}, [], 0, False

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("utf-8", "replace")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        framed = "content-length" in self.headers or "chunked" in self.headers.get("transfer-encoding", "")
        self.until_close = not framed and self.parser.get_status_code() not in (204, 304)

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)
        self.size += len(chunk)
        if self.size > BODY_LIMIT:  # keep the first megabyte; the rest is never read
            self._answer(keep_alive=False)
            self.transport.close()

    def on_message_complete(self) -> None:
        self.until_close = False
        self._answer(self.parser.should_keep_alive())

    def _answer(self, keep_alive: bool) -> None:
        if self.waiter is not None and not self.waiter.done():
            body = b"".join(self.body)[:BODY_LIMIT]
            self.waiter.set_result((self.parser.get_status_code(), self.headers, body, keep_alive))

    def time_out(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(TimeoutError())

    def _fail(self, reason: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(
                Unanswered(f"the connection failed before the gateway answered: {reason}")
            )


@lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    try:
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise ValueError("it must start with http:// or https:// and name a host")
    except ValueError as e:
        raise Unanswered(f"the Gateway URL {url!r} can't be used: {e}") from None
    authorization = None
    if parsed.raw_user:
        credentials = f"{parsed.user}:{parsed.password or ''}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return _Target(
        parsed.scheme == "https",
        parsed.raw_host,
        parsed.port,
        parsed.raw_path_qs,
        parsed.host_port_subcomponent,
        authorization,
    )


def _request_bytes(request: RenderedRequest, target: _Target) -> bytes:
    body = request.body.encode("utf-8")
    given = {name.lower() for name, _ in request.headers}
    lines = [f"{request.method} {target.path} HTTP/1.1"]
    defaults = (
        ("host", "Host", target.host_header),
        ("user-agent", "User-Agent", USER_AGENT),
        ("accept", "Accept", "*/*"),
        ("authorization", "Authorization", target.authorization),
    )
    lines += [f"{name}: {value}" for key, name, value in defaults if value and key not in given]
    lines += [f"{name}: {value}" for name, value in request.headers if name.lower() not in _OURS]
    if body or request.method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _text(raw: bytes, headers: dict[str, str]) -> str:
    if headers.get("content-encoding", "").lower() in ("gzip", "x-gzip", "deflate"):
        # Not asked for (no Accept-Encoding), but some gateways compress anyway. 47: a gzip or zlib header.
        with contextlib.suppress(zlib.error):
            raw = zlib.decompressobj(wbits=47).decompress(raw, BODY_LIMIT)
    charset = _CHARSET.search(headers.get("content-type", ""))
    try:
        return raw.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")
