import asyncio
import time

import pytest
from fake_gateway_fixture import fake_gateway  # noqa: F401  (the bundled fake gateway on loopback)

from smsgate.gateways.config import save_gateway
from smsgate.gateways.models import Gateway
from smsgate.outbox.worker import Worker

SECRET = "s3cr3t-Key+/="  # characters that change under URL, form and base64 encoding


@pytest.fixture
def fast_retries(settings):
    settings.SMSGATE_FIRST_RETRY_SECONDS = 0.05
    settings.SMSGATE_MAX_RETRY_SECONDS = 0.2


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
