import json

from django.core.management.base import BaseCommand, CommandError

from smsgate.api.models import Token
from smsgate.api.tokens import token_json


class Command(BaseCommand):
    help = "API tokens: create (prints the token once), list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="issue a token; only the token is printed, so scripts can keep it"
        )
        create.add_argument("name", help="who uses it, e.g. billing")
        create.add_argument("--scope", required=True, choices=Token.Scope.values)
        lst = sub.add_parser("list", help="every token, with when it was last used")
        lst.add_argument("--json", action="store_true")
        rev = sub.add_parser("revoke", help="stop a token working (servers notice within a second)")
        rev.add_argument("token", help="its id, or its name when that is unique among live tokens")

    def handle(self, *args, **opts):
        getattr(self, f"_{opts['action']}")(opts)

    def _create(self, opts):
        name = opts["name"].strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise CommandError("the name must be 1-100 printable characters")
        _, text = Token.issue(name, opts["scope"])
        self.stdout.write(text)

    def _list(self, opts):
        tokens = Token.objects.all()
        if opts["json"]:
            data = [{k: _iso(v) for k, v in token_json(t).items()} for t in tokens]
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for t in tokens:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
            self.stdout.write(f"{t.pk:>5} {t.name:20} {t.scope:5} {t.prefix}…  {used:16}  {state}")

    def _revoke(self, opts):
        token = _find(opts["token"])
        if token.revoked_at:
            self.stdout.write(f"token {token.pk} ({token.name}) was already revoked")
            return
        token.revoke()
        self.stdout.write(f"revoked token {token.pk} ({token.name})")


def _find(ref: str) -> Token:
    if ref.isdigit():
        token = Token.objects.filter(pk=int(ref)).first() if int(ref) < 2**63 else None
        if token is None:
            raise CommandError(f"there is no token {ref}")
        return token
    live = list(Token.objects.filter(name=ref, revoked_at=None))
    if not live:
        raise CommandError(f"there is no live token named {ref!r}")
    if len(live) > 1:
        ids = ", ".join(str(t.pk) for t in live)
        raise CommandError(f"{len(live)} live tokens are named {ref!r} (ids {ids}); revoke one by id")
    return live[0]


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
