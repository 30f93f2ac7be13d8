import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from smsgate.gateways.config import InvalidGateway, export_gateway, import_gateways
from smsgate.gateways.models import Gateway


class Command(BaseCommand):
    help = "Gateways as code: import, export, list."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import", help="create or update gateways from a YAML or JSON file (- for stdin)"
        )
        imp.add_argument("file")
        exp = sub.add_parser("export", help="print gateways as YAML (secrets masked)")
        exp.add_argument("name", nargs="?")
        exp.add_argument("--with-secrets", action="store_true", help="include the secrets' real values")
        exp.add_argument("--format", choices=["yaml", "json"], default="yaml")
        sub.add_parser("list", help="one line per gateway")

    def handle(self, *args, **opts):
        getattr(self, f"_{opts['action']}")(opts)

    def _import(self, opts):
        data = _read(opts["file"])
        try:
            saved = import_gateways(data)
        except InvalidGateway as e:
            lines = [f"{field}: {reason}" for field, reason in e.errors.items()]
            raise CommandError("nothing imported; " + "; ".join(lines)) from None
        for gateway, created in saved:
            self.stdout.write(f"{'created' if created else 'updated'} {gateway.name}")

    def _export(self, opts):
        gateways = Gateway.objects.all()
        if opts["name"]:
            gateways = gateways.filter(name=opts["name"])
            if not gateways:
                raise CommandError(f"there is no gateway named {opts['name']!r}")
        data = [export_gateway(g, with_secrets=opts["with_secrets"]) for g in gateways]
        if opts["name"]:
            data = data[0]
        if opts["format"] == "json":
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), ending="")

    def _list(self, opts):
        for g in Gateway.objects.order_by("priority", "name"):
            state = "enabled " if g.enabled else "disabled"
            serves = ",".join(g.prefixes) or "any"
            self.stdout.write(
                f"{g.name:20} {state} {g.priority:>5} {serves:12} {g.method:4} {g.content_type:4} {g.url}"
            )


def _read(file: str):
    try:
        text = Path("/dev/stdin").read_text() if file == "-" else Path(file).read_text()
    except OSError as e:
        raise CommandError(f"cannot read {file}: {e.strerror}") from None
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON: one parser reads both
    except yaml.YAMLError as e:
        raise CommandError(f"{file} is not valid YAML or JSON: {str(e).splitlines()[0]}") from None
