import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

ROLES = ("admin", "operator")


class Command(BaseCommand):
    help = "People who log in to the web pages: administrators (everything) and operators (history, send)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a user; prints a generated password when none is given")
        add.add_argument("name")
        add.add_argument("--role", choices=ROLES, required=True)
        add.add_argument("--password", help="the password (default: a generated one, printed once)")
        sub.add_parser("list", help="one line per user: name and role")

    def handle(self, *args, **opts):
        getattr(self, f"_{opts['action']}")(opts)

    def _add(self, opts):
        User = get_user_model()
        name = opts["name"]
        if User.objects.filter(username=name).exists():
            raise CommandError(f"user {name!r} already exists")
        password = opts["password"]
        if password is not None:
            try:
                validate_password(password, User(username=name))
            except ValidationError as e:
                raise CommandError(f"--password: {' '.join(e.messages)}") from None
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        admin = opts["role"] == "admin"
        User.objects.create_user(name, password=password, is_staff=admin, is_superuser=admin)
        if generated:
            # Printed once: only its hash is stored.
            self.stdout.write(f"Created {opts['role']} {name!r} with password: {password}")
        else:
            self.stdout.write(f"Created {opts['role']} {name!r}")

    def _list(self, opts):
        for user in get_user_model().objects.order_by("username"):
            role = "admin" if user.is_superuser else "operator"
            state = "" if user.is_active else " (inactive)"
            self.stdout.write(f"{user.username:20} {role}{state}")
