"""The `fake_gateway` fixture: the bundled fake SMS gateway on a free loopback port, in a thread of its own.

The handle drives the server through its HTTP control API (/_fake/...), so every test that uses it also
exercises that API.
"""

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp import web

from smsgate.fakegw.server import base_url, make_app, start

# A proxy from the environment (http_proxy) must never see loopback test traffic.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeGateway:
    def __init__(self, url: str) -> None:
        self.url = url

    def set_mode(self, **config: Any) -> dict[str, Any]:
        """Replace the whole misbehaviour config: set_mode(mode="slow", delay=0.2), set_mode(script=[...])."""
        return self._call("POST", "/_fake/mode", config)

    def received(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"/_fake/received?since={since}")

    def stats(self, refs: bool = False) -> dict[str, Any]:
        return self._call("GET", "/_fake/stats?refs=1" if refs else "/_fake/stats")

    def reset(self) -> None:
        self._call("POST", "/_fake/reset")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with _opener.open(request, timeout=10) as response:
            return json.loads(response.read())


class _ServerThread(threading.Thread):
    """Runs the app on its own event loop, so synchronous tests (and Django code) can call it over HTTP."""

    def __init__(self) -> None:
        super().__init__(name="fake-gateway", daemon=True)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            runner, self.port = self.loop.run_until_complete(start(make_app(), "127.0.0.1", 0))
        except BaseException as exc:  # handed to the test thread, which raises it
            self.error = exc
            self.ready.set()
            self.loop.close()
            return
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._shutdown(runner))
        self.loop.close()

    async def _shutdown(self, runner: web.AppRunner) -> None:
        await runner.cleanup()
        leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(timeout=10)
        assert not self.is_alive(), "the fake gateway did not stop within 10 s"


@contextmanager
def running_fake_gateway() -> Iterator[FakeGateway]:
    server = _ServerThread()
    server.start()
    server.ready.wait(timeout=10)
    if server.error is not None:
        raise server.error
    try:
        yield FakeGateway(base_url("127.0.0.1", server.port))
    finally:
        server.stop()


@pytest.fixture
def fake_gateway() -> Iterator[FakeGateway]:
    with running_fake_gateway() as gateway:
        yield gateway
