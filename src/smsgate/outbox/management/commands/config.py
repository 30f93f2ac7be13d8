import phonenumbers
from django.core.management.base import BaseCommand, CommandError

from smsgate.gateways.models import SiteSettings


def _switch(value: str) -> bool:
    if value.lower() in ("on", "true", "yes", "1"):
        return True
    if value.lower() in ("off", "false", "no", "0"):
        return False
    raise CommandError(f"--sending-enabled must be on or off, not {value!r}")


class Command(BaseCommand):
    help = "Show or change the global settings: the master sending switch and the default phone region."

    def add_arguments(self, parser):
        parser.add_argument("--sending-enabled", metavar="on|off")
        parser.add_argument("--default-region", metavar="CC", help="two-letter country code, e.g. AU, US, GB")

    def handle(self, *args, **opts):
        settings = SiteSettings.load()
        if opts["sending_enabled"] is not None:
            settings.sending_enabled = _switch(opts["sending_enabled"])
        if opts["default_region"] is not None:
            region = opts["default_region"].upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise CommandError(
                    f"--default-region: {opts['default_region']!r} is not a known country code"
                )
            settings.default_region = region
        settings.save()
        self.stdout.write(f"sending_enabled  {'on' if settings.sending_enabled else 'off'}")
        self.stdout.write(f"default_region   {settings.default_region}")
