import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from smsgate.settings import envint


def bind_address() -> str:
    return f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"


class Command(BaseCommand):
    help = "Serve the web app and API with gunicorn on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=envint("WEB_CONCURRENCY", 1))
        parser.add_argument("--threads", type=int, default=settings.WEB_THREADS)

    def handle(self, *args, **opts):
        # An event loop per process reads the requests (uvicorn, under gunicorn's process management); the
        # single sends are queued together by the intake, everything else runs in Django on WEB_THREADS
        # threads (smsgate/asgi.py). One process by default: one writer and the biggest batches; two were
        # no faster on either database on 2 cores (docs/decisions.md).
        os.environ["WEB_THREADS"] = str(opts["threads"])  # read again by settings in the server
        argv = [
            sys.executable, "-m", "gunicorn", "smsgate.asgi:application",
            "--bind", bind_address(),
            "--workers", str(opts["workers"]),
            "--worker-class", "uvicorn_worker.UvicornWorker",  # its access log: settings.LOGGING
        ]  # fmt: skip
        os.execv(sys.executable, argv)
