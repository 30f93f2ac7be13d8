"""The dashboard's balance card (web/_balance.html) gets its data here, so the web views need no change."""

from decimal import Decimal

from django import template

from smsgate.balance.notify import format_amount
from smsgate.balance.status import BalanceStatus, dashboard_statuses

register = template.Library()


@register.simple_tag
def balance_statuses() -> list[BalanceStatus]:
    """Gateways with balance checks and dashboard_notification on, each with its latest reading."""
    return dashboard_statuses()


@register.filter
def amount(value: Decimal | None) -> str:
    """1530.870000 as 1530.87."""
    return format_amount(value)
