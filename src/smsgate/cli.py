"""The `smsgate` console script: Django's management commands under one name."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args and "-" in args[0] and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")  # `smsgate fake-gateway` runs the fake_gateway command
    execute_from_command_line(["smsgate", *args])
