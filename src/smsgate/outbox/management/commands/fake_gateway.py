"""`smsgate fake-gateway`: the bundled fake SMS gateway, for `make run` and trying presets by hand."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from smsgate.fakegw.server import serve


class Command(BaseCommand):
    help = (
        "Run the fake SMS gateway (Clickatell, BurstSMS, Vonage and generic endpoints) on loopback; "
        "control it under /_fake/ (mode, received, stats, reset)."
    )
    # It touches no database and no model, so it starts even before migrations have run.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=9090, help="port to listen on (default 9090)")

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        serve(host, port)
