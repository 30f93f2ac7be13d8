import json

from django.core.management.base import BaseCommand, CommandError

from smsgate.outbox.enqueue import InvalidMessage, NewMessage, enqueue
from smsgate.outbox.serialize import message_dict


class Command(BaseCommand):
    help = "Queue one SMS and print its id."

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", required=True, help="phone number (E.164, or national in the default region)"
        )
        parser.add_argument("--text", required=True)
        parser.add_argument("--gateway", help="gateway name (default: the first enabled gateway)")
        parser.add_argument("--sender", help="sender ID (default: the gateway's)")
        parser.add_argument("--reference", default="", help="your own id for this message")
        parser.add_argument(
            "--expires-in", type=float, help="seconds to keep retrying (default: gateway's days)"
        )
        parser.add_argument("--json", action="store_true", help="print the message as JSON")

    def handle(self, *args, **opts):
        new = NewMessage(
            to=opts["to"],
            text=opts["text"],
            gateway=opts["gateway"],
            sender=opts["sender"],
            expires_in=opts["expires_in"],
            reference=opts["reference"],
        )
        try:
            message = enqueue(new)
        except InvalidMessage as e:
            raise CommandError(str(e)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(message_dict(message), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(str(message.pk))
