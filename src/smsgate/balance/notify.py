"""Emailing a balance reading to the gateway's `email` addresses, through Django's email backend."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.mail import send_mail
from django.utils import timezone

from smsgate.balance.check import CheckResult
from smsgate.balance.schedule import pauses

log = logging.getLogger("smsgate.balance")

RAW_IN_EMAIL = 1000


def email_results(results: list[CheckResult]) -> None:
    """Email each result that should be; a mail server that fails is noted on the result, never raised.

    Blocking (SMTP): the worker runs this off its event loop and off its database thread.
    """
    for result in results:
        email_result(result)


def email_result(result: CheckResult) -> None:
    block = result.gateway.balance or {}
    to = list(block.get("email") or [])
    if not to or (block.get("email_only_when_low") and not is_alert(result)):
        return
    try:
        send_mail(subject(result), body(result), None, to)
    except Exception as e:  # smtplib, socket and SSL errors alike: the next check emails again
        result.email_error = f"could not email {', '.join(to)}: {type(e).__name__}: {e}"
        log.warning("gateway=%s balance email failed: %s", result.gateway.name, result.email_error)
        return
    result.emailed_to = to


def is_alert(result: CheckResult) -> bool:
    return bool(result.error) or result.is_low


def subject(result: CheckResult) -> str:
    name = result.gateway.name
    if result.error:
        return f"smsgate: {name} balance check FAILED (balance unknown)"
    balance = format_amount(result.balance)
    if result.is_low:
        return f"smsgate: LOW balance on {name}: {balance} (minimum {format_amount(result.minimum)})"
    return f"smsgate: {name} balance {balance}"


def body(result: CheckResult) -> str:
    checked = timezone.localtime(result.checked_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [f"Gateway: {result.gateway.name}", f"Checked at: {checked}"]
    if result.error:
        lines += ["Balance: unknown, the check failed", f"Reason: {result.error}"]
    else:
        lines.append(f"Balance: {format_amount(result.balance)}")
    if result.minimum is not None:
        low = " (the balance is BELOW it)" if result.is_low else ""
        lines.append(f"Minimum balance: {format_amount(result.minimum)}{low}")
    if pauses(result.gateway.balance or {}, result.balance):
        lines.append("Sending through this gateway is paused until a reading is back above the minimum.")
    if result.request is not None:
        lines.append(f"Request: {result.request.method} {result.request.url}")
    if result.http_status is not None:
        raw = result.raw[:RAW_IN_EMAIL] + ("…" if len(result.raw) > RAW_IN_EMAIL else "")
        lines += [f"Answer: HTTP {result.http_status}", "", raw]
    return "\n".join(lines) + "\n"


def format_amount(amount: Decimal | None) -> str:
    """1530.870000 as 1530.87, 1500.000000 as 1500."""
    if amount is None:
        return "unknown"
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
