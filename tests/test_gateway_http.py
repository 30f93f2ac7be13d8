"""The gateway HTTP client against real loopback servers that answer the way real gateways (mis)behave."""

import asyncio
import contextlib
import gzip
import re
import socket
import ssl
import subprocess

import pytest

from smsgate.gateways import http
from smsgate.gateways.http import GatewayClient, Unanswered
from smsgate.gateways.render import RenderedRequest

HANG = b""  # an answer that never comes


def ok(body: bytes = b"OK", *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), b"".join(extra), body)


class Scripted:
    """A loopback server answering each request with the next scripted bytes; it keeps what it received.

    An answer ending the connection is given as (bytes, "close").
    """

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> "Scripted":
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=getattr(self, "tls", None))
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    def url(self, path: str = "/send", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                self.requests.append(head + await reader.readexactly(int(length[1]) if length else 0))
                answer = self.answers.pop(0)
                if answer == HANG:
                    await asyncio.sleep(3600)
                close = isinstance(answer, tuple)
                writer.write(answer[0] if close else answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def post(url: str, body: str = "to=1&text=hi", headers=()) -> RenderedRequest:
    form = ("Content-Type", "application/x-www-form-urlencoded")
    return RenderedRequest("POST", url, [form, *headers], body)


def run(scenario):
    return asyncio.run(scenario())


def test_requests_share_one_keep_alive_connection_and_carry_what_the_gateway_needs():
    async def scenario():
        async with Scripted(ok(b"first"), ok(b"second")) as server, GatewayClient() as client:
            first = await client.send(post(server.url()), 5)
            second = await client.send(post(server.url(), "to=2&text=%C3%A9"), 5)
            return server, first, second

    server, first, second = run(scenario)
    assert (first.status, first.body, second.body) == (200, "first", "second")
    assert server.connections == 1
    head, _, body = server.requests[1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /send HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}".encode() in head
    for line in (b"User-Agent: smsgate", b"Accept: */*", b"Content-Length: 16"):
        assert line in head.split(b"\r\n")
    assert body == b"to=2&text=%C3%A9"


def test_a_gateways_own_headers_win_but_framing_stays_ours():
    async def scenario():
        async with Scripted(ok()) as server, GatewayClient() as client:
            headers = [("User-Agent", "billing/2"), ("Content-Length", "999"), ("X-Key", "é")]
            await client.send(post(server.url("/a b/ü?q=ä"), "x", headers), 5)
            return server.requests[0]

    head = run(scenario).split(b"\r\n")
    assert head[0] == b"POST /a%20b/%C3%BC?q=%C3%A4 HTTP/1.1"
    assert b"User-Agent: billing/2" in head and b"User-Agent: smsgate" not in head
    assert [line for line in head if line.lower().startswith(b"content-length")] == [b"Content-Length: 1"]
    assert "X-Key: é".encode() in head


def test_user_and_password_in_the_url_become_basic_auth():
    async def scenario():
        async with Scripted(ok()) as server, GatewayClient() as client:
            url = server.url().replace("http://", "http://acme:s%40cret@")
            await client.send(RenderedRequest("GET", url + "?to=1", [], ""), 5)
            return server.requests[0]

    head = run(scenario).split(b"\r\n")
    assert head[0] == b"GET /send?to=1 HTTP/1.1"
    assert b"Authorization: Basic YWNtZTpzQGNyZXQ=" in head  # acme:s@cret
    assert not any(line.lower().startswith(b"content-length") for line in head)


@pytest.mark.parametrize(
    "answer, body",
    [
        pytest.param(
            (b"HTTP/1.1 200 OK\r\n\r\nno length, ends with the connection", "close"),
            "no length, ends with the connection",
            id="until-close",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n4\r\ned!!\r\n0\r\n\r\n",
            "chunked!!",
            id="chunked",
        ),
        pytest.param(
            ok(gzip.compress(b'{"status": "sent"}'), b"Content-Encoding: gzip\r\n"),
            '{"status": "sent"}',
            id="gzip-unasked",
        ),
        pytest.param(
            ok("Envoyé".encode("latin-1"), b"Content-Type: text/plain; charset=ISO-8859-1\r\n"),
            "Envoyé",
            id="latin-1",
        ),
        pytest.param(
            ok(b"caf\xc3\xa9", b"Content-Type: text/plain; charset=no-such-charset\r\n"),
            "café",
            id="unknown-charset-as-utf-8",
        ),
    ],
)
def test_answers_are_read_whole_however_they_are_framed_and_encoded(answer, body):
    async def scenario():
        async with Scripted(answer) as server, GatewayClient() as client:
            return await client.send(post(server.url()), 5)

    assert run(scenario).body == body


def test_a_connection_the_gateway_ends_is_not_reused():
    async def scenario():
        close = (ok(b"one", b"Connection: close\r\n"), "close")
        async with Scripted(close, ok(b"two")) as server, GatewayClient() as client:
            answers = [await client.send(post(server.url()), 5) for _ in range(2)]
            return server, answers

    server, answers = run(scenario)
    assert [a.body for a in answers] == ["one", "two"]
    assert server.connections == 2


def test_an_idle_connection_the_gateway_closed_is_replaced_without_a_failure():
    async def scenario():
        async with Scripted((ok(b"one"), "close"), ok(b"two")) as server, GatewayClient() as client:
            first = await client.send(post(server.url()), 5)
            await asyncio.sleep(0.1)  # the gateway's close reaches us while the connection is idle
            second = await client.send(post(server.url()), 5)
            return server, first, second

    server, first, second = run(scenario)
    assert (first.body, second.body, server.connections) == ("one", "two", 2)


def test_an_endless_answer_is_cut_at_the_limit(monkeypatch):
    monkeypatch.setattr(http, "BODY_LIMIT", 1000)

    async def scenario():
        endless = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000
        async with Scripted(endless, ok(b"next")) as server, GatewayClient() as client:
            first = await client.send(post(server.url()), 5)
            second = await client.send(post(server.url()), 5)
            return server, first, second

    server, first, second = run(scenario)
    assert first.body == "x" * 1000
    assert second.body == "next" and server.connections == 2  # the cut connection was not reused


def test_a_refused_connection_says_so_and_was_not_sent():
    async def scenario():
        async with Scripted() as server:
            url = server.url()
        async with GatewayClient() as client:  # the server is gone: nothing listens on its port
            await client.send(post(url), 5)

    with pytest.raises(Unanswered) as caught:
        run(scenario)
    assert caught.value.reason.startswith("could not connect to the gateway: ")
    assert "refused" in caught.value.reason.lower() or "failed" in caught.value.reason
    assert not caught.value.maybe_sent


def test_a_connection_not_accepted_in_time_was_not_sent():
    # A listening socket whose accept queue is full: the kernel drops further connection attempts.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued = [socket.socket() for _ in range(3)]
        for s in queued:
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))

        async def scenario():
            async with GatewayClient() as client:
                await client.send(post(f"http://127.0.0.1:{port}/send"), 0.3)

        try:
            with pytest.raises(Unanswered) as caught:
                run(scenario)
        finally:
            for s in queued:
                s.close()
    assert caught.value.reason == "could not connect to the gateway within 0.3 s"
    assert not caught.value.maybe_sent


def test_no_answer_in_time_may_have_been_sent():
    async def scenario():
        async with Scripted(HANG) as server, GatewayClient() as client:
            await client.send(post(server.url()), 0.2)

    with pytest.raises(Unanswered) as caught:
        run(scenario)
    assert caught.value.reason == "no answer within 0.2 s"
    assert caught.value.maybe_sent


def test_a_request_past_its_timeout_is_given_up_alone_and_the_watch_stops_when_idle():
    # One watch looks over every request in flight: the hung one ends at its own deadline, the others are
    # answered, and nothing keeps watching once they are all done.
    async def scenario():
        async with Scripted(HANG) as hung, Scripted(ok(b"a"), ok(b"b")) as fast, GatewayClient() as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            slow = asyncio.ensure_future(client.send(post(hung.url()), 0.3))
            answers = [await client.send(post(fast.url()), 5) for _ in range(2)]
            with pytest.raises(Unanswered) as caught:
                await slow
            waited = loop.time() - started
            await asyncio.sleep(2 * http.DEADLINE_CHECK_SECONDS)
            return answers, caught.value, waited, client._checking

    answers, error, waited, watching = run(scenario)
    assert [a.body for a in answers] == ["a", "b"]
    assert error.reason == "no answer within 0.3 s" and error.maybe_sent
    assert 0.3 <= waited < 0.3 + 2 * http.DEADLINE_CHECK_SECONDS + 0.1
    assert watching is None


@pytest.mark.parametrize(
    "answer, why",
    [
        ((b"", "close"), "the gateway closed the connection"),
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ncut", "close"), "the gateway closed the connection"),
        (b"SMTP ready\r\n\r\n", "the answer is not HTTP"),
    ],
    ids=["closed-at-once", "closed-mid-answer", "not-http"],
)
def test_a_broken_answer_is_explained(answer, why):
    async def scenario():
        async with Scripted(answer) as server, GatewayClient() as client:
            await client.send(post(server.url()), 5)

    with pytest.raises(Unanswered) as caught:
        run(scenario)
    assert caught.value.reason.startswith(f"the connection failed before the gateway answered: {why}")
    assert not caught.value.maybe_sent


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/send", "http:///send", "http://[::1/send"])
def test_an_unusable_url_is_named(url):
    async def scenario():
        async with GatewayClient() as client:
            await client.send(post(url), 5)

    with pytest.raises(Unanswered, match="the Gateway URL .* can't be used"):
        run(scenario)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> str:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one file)."""
    path = tmp_path_factory.mktemp("tls") / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(path), "-out", str(path)],
        check=True,
        capture_output=True,
    )
    return str(path)


@pytest.mark.parametrize("trusted", [True, False])
def test_https_verifies_the_gateways_certificate(certificate, trusted, monkeypatch):
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", certificate)  # as an operator with a private CA would
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate)

    async def scenario():
        server = Scripted(ok(b"over tls"), ok(b"again"))
        server.tls = tls
        async with server, GatewayClient() as client:
            url = server.url(scheme="https")
            return [(await client.send(post(url), 5)).body for _ in range(2)], server.connections

    if trusted:
        assert run(scenario) == (["over tls", "again"], 1)
    else:
        with pytest.raises(Unanswered, match="could not connect to the gateway: .*CERTIFICATE_VERIFY_FAILED"):
            run(scenario)
