import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from smsgate.outbox.management.commands.serve import bind_address


class Command(BaseCommand):
    help = "Run the web server and a worker together (the single-machine setup); Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fake-gateway", type=int, metavar="PORT", help="also run the fake gateway on PORT"
        )

    def handle(self, *args, **opts):
        smsgate = [sys.executable, "-m", "smsgate"]
        commands = [smsgate + ["serve"], smsgate + ["worker"]]
        if opts["fake_gateway"]:
            commands.insert(0, smsgate + ["fake-gateway", "--port", str(opts["fake_gateway"])])
        children = [subprocess.Popen(c) for c in commands]
        self.stdout.write(f"smsgate is running at http://{bind_address()}/ — Ctrl-C to stop")
        stop = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(True))
        while not stop and all(c.poll() is None for c in children):
            time.sleep(0.2)
        for child in children:
            if child.poll() is None:
                child.terminate()
        codes = [child.wait() for child in children]
        sys.exit(0 if stop else max(codes))
