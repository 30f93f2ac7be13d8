from django.core.management.base import BaseCommand

from smsgate.outbox.worker import run_worker


class Command(BaseCommand):
    help = "Send queued SMS until stopped (SIGTERM/SIGINT finish what is in flight, then exit 0)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--drain", action="store_true", help="send everything due now, then exit (cron mode)"
        )
        parser.add_argument("--concurrency", type=int, help="requests in flight at most (default 50)")

    def handle(self, *args, **opts):
        run_worker(drain=opts["drain"], concurrency=opts["concurrency"])
