import json

from django.core.management.base import BaseCommand, CommandError

from smsgate.outbox.enqueue import InvalidMessage
from smsgate.outbox.testsend import DEFAULT_TEXT, TakenByWorker, send_test


class Command(BaseCommand):
    help = "Send one SMS now and show the exact request, the response and whether the success rule matched."

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True)
        parser.add_argument("--gateway", help="gateway name (default: the first enabled gateway)")
        parser.add_argument("--text", default=DEFAULT_TEXT)

    def handle(self, *args, **opts):
        try:
            message, result = send_test(opts["phone"], opts["text"], opts["gateway"])
        except (InvalidMessage, TakenByWorker) as e:
            raise CommandError(str(e)) from None
        self._show(message.pk, result)
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


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
