import json

from django.core.management.base import BaseCommand, CommandError

from smsgate.outbox.models import Message
from smsgate.outbox.serialize import message_dict


class Command(BaseCommand):
    help = "The SMS history: list messages, show one with its attempts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        lst = sub.add_parser("list", help="newest first")
        lst.add_argument("--status", choices=Message.Status.values)
        lst.add_argument("--limit", type=int, default=50)
        lst.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="one message and every attempt")
        show.add_argument("id", type=int)
        show.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        if opts["action"] == "list":
            self._list(opts)
        else:
            self._show(opts)

    def _list(self, opts):
        messages = Message.objects.select_related("gateway")
        if opts["status"]:
            messages = messages.filter(status=opts["status"])
        messages = messages[: opts["limit"]]
        if opts["json"]:
            self.stdout.write(json.dumps([message_dict(m) for m in messages], indent=2, ensure_ascii=False))
            return
        for m in messages:
            text = m.text.replace("\n", " ")
            text = text if len(text) <= 40 else text[:39] + "…"
            self.stdout.write(
                f"{m.pk:>8} {m.created_at:%Y-%m-%d %H:%M:%S} {m.status:9} {m.phone:16} {m.gateway.name:12} "
                f"{m.attempts_count:>3}  {text}"
            )

    def _show(self, opts):
        message = Message.objects.select_related("gateway").filter(pk=opts["id"]).first()
        if message is None:
            raise CommandError(f"there is no message {opts['id']}")
        data = message_dict(message, with_attempts=True)
        if opts["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for key, value in data.items():
            if key != "attempt_log":
                self.stdout.write(f"{key:20} {value if value is not None else '-'}")
        for n, attempt in enumerate(data["attempt_log"], 1):
            self.stdout.write(
                f"\nattempt {n}: {attempt['started_at']} via {attempt['gateway']} → {attempt['outcome']}"
                f" (HTTP {attempt['http_status'] or '-'}, {attempt['duration_ms'] or 0} ms)"
            )
            if attempt["reason"]:
                self.stdout.write(f"  reason: {attempt['reason']}")
