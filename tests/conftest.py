import asyncio
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator

import pytest
import uvicorn
from django.conf import settings as django_settings
from django.db import connection
from fake_gateway_fixture import fake_gateway  # noqa: F401  (the bundled fake gateway on loopback)

from smsgate.gateways.config import save_gateway
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.outbox.enqueue import NewMessage, build_message
from smsgate.outbox.models import Message
from smsgate.outbox.worker import Worker

# Static files straight from the apps' folders (Django's live server did the same), not from the copy
# `smsgate init` collects: read when the app is first loaded, so set before any test loads it.
django_settings.WHITENOISE_USE_FINDERS = True

SECRET = "s3cr3t-Key+/="  # characters that change under URL, form and base64 encoding


@pytest.fixture
def fast_retries(settings):
    settings.SMSGATE_FIRST_RETRY_SECONDS = 0.05
    settings.SMSGATE_MAX_RETRY_SECONDS = 0.2


@pytest.fixture
def served(transactional_db, monkeypatch) -> Iterator[str]:
    """The app as `smsgate serve` runs it (smsgate.asgi: the send intake, Django in a pool of threads) on a
    loopback port, in a thread of this process; its base URL."""
    from smsgate.asgi import application

    # As Django's own live server does: no connection outlives a request, so none is left open on the
    # test database when it is flushed or dropped (the intake closes its own when the server stops).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(application, log_config=None, log_level="warning", lifespan="on")  # Django logs
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    listener.close()


@pytest.fixture
def make_gateway(fake_gateway):  # noqa: F811
    """A generic JSON gateway aimed at the fake gateway's /send; keyword arguments override fields."""

    def make(**fields) -> Gateway:
        data = {
            "name": "fake",
            "url": f"{fake_gateway.url}/send",
            "method": "POST",
            "content_type": "json",
            "payload": '{"to": "{{ phone }}", "text": "{{ message }}", "ref": "{{ message_id }}"}',
            "headers": ["Authorization: Bearer {{ secrets.api_key }}"],
            "secrets": {"api_key": SECRET},
            "success_response": "json:status==ok",
            "message_id_path": "message_id",
            "timeout": 2,
            **fields,
        }
        gateway, _ = save_gateway(data)
        return gateway

    return make


def run_worker(until=None, *, timeout: float = 20.0, drain: bool = False, concurrency: int = 10) -> Worker:
    """Run a real worker in this process until `until()` is true (checked on the database), or drain."""
    worker = Worker(concurrency=concurrency, name="test-worker")

    async def main():
        task = asyncio.create_task(worker.run(drain=drain))
        deadline = time.monotonic() + timeout
        while not task.done():
            if until is not None and await worker.db(until):
                worker.stop()
            if time.monotonic() > deadline:
                worker.stop()
                await task
                raise AssertionError(f"the worker did not get there within {timeout} s")
            await asyncio.sleep(0.05)
        await task

    asyncio.run(main())
    return worker


def subprocess_env(**extra: str) -> dict:
    """The environment for a `smsgate` child process that uses the test database."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
        url = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, **extra}


def bulk_enqueue(count: int, **fields) -> list[int]:
    """Queue `count` messages quickly (validated like enqueue, stored in batches). Returns their ids."""
    region = SiteSettings.load().default_region
    ids = []
    for start in range(0, count, 1000):
        batch = [
            build_message(NewMessage(to="+14155552671", text=f"message {i}", **fields), region)
            for i in range(start, min(count, start + 1000))
        ]
        ids += [m.pk for m in Message.objects.bulk_create(batch)]
    return ids


def free_port() -> int:
    """A loopback port nobody listens on now (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, and: PostgreSQL will not drop a test database while another connection uses it, and
    Django then only warns ("… is being accessed by other users"), seen now and then in CI without a cause.
    Before the database is dropped: wait up to 5 s for other connections to close, then name those left."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _ in range(25):
            cursor.execute(
                "SELECT pid, backend_start, state, state_change, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            left = cursor.fetchall()
            if not left:
                return
            time.sleep(0.2)
    threads = ", ".join(t.name for t in threading.enumerate())
    warnings.warn(
        f"connections still open on the test database: {left}; threads alive: {threads}", stacklevel=1
    )
