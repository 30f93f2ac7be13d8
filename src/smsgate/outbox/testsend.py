"""The operator's test send: one SMS sent now, in this process, with the whole exchange returned."""

import asyncio

from smsgate.gateways.http import GatewayClient
from smsgate.outbox.claim import claim_message
from smsgate.outbox.deliver import Result, deliver
from smsgate.outbox.enqueue import NewMessage, enqueue
from smsgate.outbox.models import Message
from smsgate.outbox.record import record_results
from smsgate.outbox.worker import worker_name

DEFAULT_TEXT = "Test SMS from smsgate"


class TakenByWorker(RuntimeError):
    """A running worker claimed the message first; it is sent all the same, by that worker."""


def send_test(phone: str, text: str | None = None, gateway: str | None = None) -> tuple[Message, Result]:
    """Queue one SMS and send it at once, whatever the switches say. Raises InvalidMessage on bad input.

    It is recorded in the history like any SMS but not retried when it fails: the operator asked now.
    """
    message = enqueue(NewMessage(to=phone, text=text or DEFAULT_TEXT, gateway=gateway))
    name = f"test:{worker_name()}"
    claimed = claim_message(name, message.pk)
    if claimed is None:
        raise TakenByWorker(f"message {message.pk} was taken by a worker; see its history")
    result = _run(deliver_once(claimed))
    record_results(name, [result])
    Message.objects.filter(pk=claimed.pk, status=Message.Status.QUEUED).update(
        status=Message.Status.ERROR, last_error=f"{result.verdict.reason} (test send: not retried)"
    )
    claimed.refresh_from_db()
    return claimed, result


async def deliver_once(message: Message) -> Result:
    async with GatewayClient() as client:
        return await deliver(client, message)


def _run(coroutine):
    """asyncio.run, also from a thread that already runs a loop (an async web view): then in a new thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
