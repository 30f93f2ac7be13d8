import os
import secrets
import sys

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from smsgate.gateways.config import save_gateway
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.presets import demo_gateway


class Command(BaseCommand):
    help = "Create or upgrade the database and the first administrator. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-gateway",
            metavar="URL",
            help="when no gateway exists yet, add a 'demo' gateway sending to the fake gateway at URL",
        )

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        SiteSettings.load()
        self._create_admin()
        if opts["demo_gateway"] and not Gateway.objects.exists():
            save_gateway(demo_gateway(opts["demo_gateway"]))
            self.stdout.write(f"Added gateway 'demo' sending to the fake gateway at {opts['demo_gateway']}")

    def _create_admin(self) -> None:
        User = get_user_model()
        username = os.environ.get("SMSGATE_ADMIN_USER", "admin")
        if User.objects.filter(username=username).exists():
            return
        password = os.environ.get("SMSGATE_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if generated:
            # Printed once: it is not stored anywhere in clear.
            self.stdout.write(f"Created administrator {username!r} with password: {password}")
        else:
            self.stdout.write(f"Created administrator {username!r}")
        sys.stdout.flush()
