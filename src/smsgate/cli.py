"""The `smsgate` console script: Django's management commands under one name."""

import os
import signal
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args[:1] == ["worker"]:
        # Until the worker installs its own handlers (after Django starts), a stop request finds nothing
        # in flight: exit 0 at once rather than die by the signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _exit_cleanly)
    if args and "-" in args[0] and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")  # `smsgate fake-gateway` runs the fake_gateway command
    execute_from_command_line(["smsgate", *args])


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)
