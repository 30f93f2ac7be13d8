import asyncio
import json

import aiohttp
from django.core.management.base import BaseCommand, CommandError

from smsgate.outbox.claim import claim_message
from smsgate.outbox.deliver import deliver
from smsgate.outbox.enqueue import InvalidMessage, NewMessage, enqueue
from smsgate.outbox.models import Message
from smsgate.outbox.record import record_results
from smsgate.outbox.worker import worker_name

DEFAULT_TEXT = "Test SMS from smsgate"


class Command(BaseCommand):
    help = "Send one SMS now and show the exact request, the response and whether the success rule matched."

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True)
        parser.add_argument("--gateway", help="gateway name (default: the first enabled gateway)")
        parser.add_argument("--text", default=DEFAULT_TEXT)

    def handle(self, *args, **opts):
        try:
            message = enqueue(NewMessage(to=opts["phone"], text=opts["text"], gateway=opts["gateway"]))
        except InvalidMessage as e:
            raise CommandError(str(e)) from None
        name = f"test:{worker_name()}"
        claimed = claim_message(name, message.pk)
        if claimed is None:  # a running worker was quicker
            raise CommandError(
                f"message {message.pk} was taken by a worker; see: smsgate messages show {message.pk}"
            )
        result = asyncio.run(_send(claimed))
        record_results(name, [result])
        # A test send is a question asked now: its answer is final, it is not retried later.
        Message.objects.filter(pk=claimed.pk, status=Message.Status.QUEUED).update(
            status=Message.Status.ERROR, last_error=f"{result.verdict.reason} (test send: not retried)"
        )
        self._show(claimed.pk, result)
        if result.verdict.outcome != "sent":
            raise CommandError(f"not sent: {result.verdict.reason}")

    def _show(self, message_id, result):
        request = result.request
        if request is not None:
            self.stdout.write(f"> {request.method} {request.url}")
            for name, value in request.headers:
                self.stdout.write(f"> {name}: {value}")
            if request.body:
                self.stdout.write(f">\n{request.body}")
        status = result.status if result.status is not None else "no answer"
        self.stdout.write(f"\n< HTTP {status} in {result.duration_ms} ms")
        if result.body:
            self.stdout.write(_pretty(result.body))
        verdict = result.verdict
        if verdict.outcome == "sent":
            provider = f" (gateway's id {verdict.provider_message_id})" if verdict.provider_message_id else ""
            self.stdout.write(f"\nSuccessful response matched: sent{provider}. Message {message_id}.")
        else:
            self.stdout.write(f"\nNot sent ({verdict.outcome}). Message {message_id}.")


async def _send(message):
    async with aiohttp.ClientSession() as session:
        return await deliver(session, message)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
