import os
import sys

from django.core.management.base import BaseCommand

from smsgate.settings import envint


def bind_address() -> str:
    return f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"


class Command(BaseCommand):
    help = "Serve the web app and API with gunicorn on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=envint("WEB_CONCURRENCY", 2))
        parser.add_argument("--threads", type=int, default=envint("WEB_THREADS", 4))

    def handle(self, *args, **opts):
        # Threads keep client connections alive (a sync worker closes each one after a single answer), and
        # one waits on the database (a commit's fsync, a PostgreSQL round trip) while another parses. On 2
        # cores, 16 clients sending one SMS each: 2 x 4 threads beat 2 x 2 by 4-8 % on SQLite; 8 threads,
        # 3 or 1 processes were no better. SQLite writers still queue on its one write lock.
        argv = [
            sys.executable, "-m", "gunicorn", "smsgate.wsgi:application",
            "--bind", bind_address(),
            "--workers", str(opts["workers"]),
            "--worker-class", "gthread",
            "--threads", str(opts["threads"]),
            "--access-logfile", "-",
        ]  # fmt: skip
        os.execv(sys.executable, argv)
