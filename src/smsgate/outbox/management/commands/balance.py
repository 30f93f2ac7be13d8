from django.core.management.base import BaseCommand, CommandError

from smsgate.balance.check import CheckResult
from smsgate.balance.notify import format_amount
from smsgate.balance.runner import check_now
from smsgate.balance.schedule import checked_gateways
from smsgate.gateways.models import Gateway
from smsgate.outbox.worker import worker_name


class Command(BaseCommand):
    help = (
        "Check SMS balances now and print each reading (stored, and emailed to the gateway's `email` "
        "like a scheduled check). Exits 1 when a check failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--gateway", help="this gateway only (default: every gateway with checks enabled)"
        )
        parser.add_argument("--no-email", action="store_true", help="store the reading but email nobody")

    def handle(self, *args, **opts):
        gateways = _gateways(opts["gateway"])
        results = check_now(gateways, f"cli:{worker_name()}", email=not opts["no_email"])
        for result in results:
            self._show(result)
        failed = [r.gateway.name for r in results if r.error]
        if failed:
            raise CommandError(f"balance check failed for {', '.join(failed)}")

    def _show(self, result: CheckResult) -> None:
        name = result.gateway.name
        if result.error:
            self.stdout.write(f"{name}: FAILED: {result.error}")
        else:
            minimum = f" (minimum {format_amount(result.minimum)})" if result.minimum is not None else ""
            low = "LOW " if result.is_low else ""
            self.stdout.write(f"{name}: {low}balance {format_amount(result.balance)}{minimum}")
        if result.request is not None:
            self.stdout.write(f"  > {result.request.method} {result.request.url}")
        status = result.http_status if result.http_status is not None else "no answer"
        self.stdout.write(f"  < HTTP {status} in {result.duration_ms} ms")
        if result.raw:
            self.stdout.write("  " + result.raw[:500].replace("\n", "\n  "))
        if result.emailed_to:
            self.stdout.write(f"  emailed to {', '.join(result.emailed_to)}")
        if result.email_error:
            self.stdout.write(f"  {result.email_error}")


def _gateways(name: str | None) -> list[Gateway]:
    if name is None:
        gateways = list(checked_gateways().values())
        if not gateways:
            raise CommandError("no enabled gateway has balance checks enabled (its `balance` block)")
        return gateways
    gateway = Gateway.objects.filter(name=name).first()
    if gateway is None:
        known = ", ".join(Gateway.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"no gateway named {name!r} (known: {known})")
    if not (gateway.balance or {}).get("url"):
        raise CommandError(
            f"gateway {name} has no balance settings: add a `balance` block with url and field"
        )
    return [gateway]
