import os
import sys

from django.core.management.base import BaseCommand


def bind_address() -> str:
    return f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"


class Command(BaseCommand):
    help = "Serve the web app and API with gunicorn on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args, **opts):
        argv = [
            sys.executable, "-m", "gunicorn", "smsgate.wsgi:application",
            "--bind", bind_address(),
            "--workers", str(opts["workers"]),
            "--access-logfile", "-",
        ]  # fmt: skip
        os.execv(sys.executable, argv)
