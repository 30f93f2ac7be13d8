"""CPU per SMS of each stage of a worker's path, one stage at a time in one process, so each is measured
without the other processes of a run competing for the cores: the claim, the send (render, HTTP request,
verdict) and the record, then the same request bare, from smsgate's gateway client and from aiohttp's. Run
inside a contestant's environment (SMSGATE_HOME/DATABASE_URL), with its `bench` gateway pointing at a
running fake gateway.

    python bench/hotpaths.py 20000

Prints one JSON line per stage: {"stage", "n", "us_per_sms"}.
"""

import asyncio
import json
import os
import sys
import time
from contextlib import contextmanager

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
# The stages run one after another on the event loop's thread (a worker runs the database ones on a thread
# of their own), so that each one's CPU time is its own.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import aiohttp  # noqa: E402
import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from smsgate.gateways.http import GatewayClient  # noqa: E402
from smsgate.gateways.models import Gateway  # noqa: E402
from smsgate.gateways.render import render_request  # noqa: E402
from smsgate.outbox.claim import claim_due  # noqa: E402
from smsgate.outbox.deliver import deliver, message_context  # noqa: E402
from smsgate.outbox.enqueue import NewMessage, build_message  # noqa: E402
from smsgate.outbox.models import Message  # noqa: E402
from smsgate.outbox.record import record_results  # noqa: E402
from smsgate.outbox.rows import insert_instances  # noqa: E402

BATCH = 200  # a worker's claim and its requests in flight (SMSGATE_CLAIM_BATCH, SMSGATE_WORKER_CONCURRENCY)
STREAM_BATCH = 20
WORKER = "bench-hotpaths"


def queue(n: int) -> None:
    messages = [build_message(NewMessage(to="+61491570156", text=f"hot path {i}"), "AU") for i in range(n)]
    with transaction.atomic():
        insert_instances(Message, messages)


@contextmanager
def timed(spent: dict[str, float], stage: str):
    """Adds the CPU seconds of this process spent inside to spent[stage]."""
    started = time.process_time()
    yield
    spent[stage] = spent.get(stage, 0.0) + time.process_time() - started


async def worker_path(n: int, spent: dict[str, float], batch: int = BATCH, label: str = "") -> int:
    async with GatewayClient(BATCH) as client:
        done = 0
        while done < n:
            with timed(spent, "claim" + label):
                claimed = claim_due(WORKER, batch)
            if not claimed:
                break
            if not label:
                with timed(spent, "render (part of send)"):
                    for message in claimed:
                        render_request(message.gateway, message_context(message))
            with timed(spent, "send: render, HTTP request, verdict" + label):
                results = await asyncio.gather(*(deliver(client, message) for message in claimed))
            failed = [r.verdict.reason for r in results if r.verdict.outcome != "sent"]
            assert not failed, f"the fake gateway refused: {failed[:3]}"
            with timed(spent, "record" + label):
                record_results(WORKER, results)
            done += len(claimed)
    return done


async def bare_posts(n: int, spent: dict[str, float]) -> None:
    """The same request again and again: the HTTP part alone, from our client and from aiohttp's."""
    gateway = Gateway.objects.get(name="bench")
    message = build_message(NewMessage(to="+61491570156", text="hot path"), "AU")
    message.pk, message.gateway = 1, gateway
    request = render_request(gateway, message_context(message))
    async with GatewayClient(BATCH) as client:
        for _ in range(0, n, BATCH):
            with timed(spent, "bare request, smsgate's client"):
                await asyncio.gather(*(client.send(request, 30) for _ in range(BATCH)))
    body = request.body.encode()
    connector = aiohttp.TCPConnector(limit=BATCH, limit_per_host=BATCH)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post() -> None:
            async with session.post(request.url, data=body, headers=request.headers) as response:
                await response.read()

        for _ in range(0, n, BATCH):
            with timed(spent, "bare aiohttp post"):
                await asyncio.gather(*(post() for _ in range(BATCH)))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    queue(BATCH)
    asyncio.run(worker_path(BATCH, {}))  # warm up: connections, templates, imports
    queue(n)
    spent: dict[str, float] = {}
    sent = asyncio.run(worker_path(n, spent))
    assert sent == n, f"sent {sent} of {n}"
    asyncio.run(bare_posts(n, spent))
    # A stream is claimed a few messages at a time (a claim every DUE_CHECK_SECONDS): what each claim and
    # record costs whatever its size weighs ten times as much per message.
    small = n // 10
    queue(small)
    spent_small: dict[str, float] = {}
    assert asyncio.run(worker_path(small, spent_small, STREAM_BATCH, f", {STREAM_BATCH} at a time")) == small
    for stage, seconds, count in [
        *((k, v, n) for k, v in spent.items()),
        *((k, v, small) for k, v in spent_small.items()),
    ]:
        print(
            json.dumps({"stage": stage, "n": count, "us_per_sms": round(seconds * 1e6 / count, 1)}),
            flush=True,
        )


if __name__ == "__main__":
    main()
