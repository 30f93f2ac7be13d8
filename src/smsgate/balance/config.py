"""The gateway's "Check SMS balance" block: validation, defaults, and the request it describes.

The block lives in `Gateway.balance` (JSON) with the same names in the API and import files. It is stored
normalised: every setting present with its default, except the optional ones left unset: `headers` (then
the gateway's own headers are sent; an empty list means the same), `content_type` (the gateway's) and
`minimum_balance` (then nothing is ever low).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from smsgate.balance.amount import MAX_BALANCE
from smsgate.gateways.render import ALIASES, validate_templates
from smsgate.gateways.verdict import RuleError, check_rule

PERIODS = {"hour": 60, "day": 24 * 60, "week": 7 * 24 * 60, "month": 30 * 24 * 60}  # in minutes
MAX_PERIOD_MINUTES = 366 * 24 * 60
DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "url": "",
    "method": "GET",
    "payload": "",
    "field": "",
    "period": "day",
    "email": [],
    "email_only_when_low": False,
    "dashboard_notification": True,
    "pause_when_low": False,
}
OPTIONAL = ("headers", "content_type", "minimum_balance")
KNOWN = (*DEFAULTS, *OPTIONAL)
TEMPLATES = ("url", "payload", "headers")
# Balance requests carry no message, so only the gateway's secrets can be filled in.
PLACEHOLDERS = {"secrets"}

_parser = SandboxedEnvironment()
# Parsing refuses unknown filters, so it must know render.py's (b64encode builds Basic auth headers, which
# balance requests share with the gateway); only the names matter here, render.py does the rendering.
_parser.filters.update(dict.fromkeys(("b64encode", "urlencode"), str))


def clean_balance(value: Any) -> dict:
    """The block to store, or ValueError naming the first bad setting ("balance.field: …")."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of balance settings (enabled, url, field, period, …)")
    unknown = sorted(set(value) - set(KNOWN))
    if unknown:
        raise ValueError(
            f"unknown balance setting(s) {', '.join(map(str, unknown))} (known: {', '.join(KNOWN)})"
        )
    # None, like an empty list of headers, means "not set": the default applies (the gateway's headers).
    cleaned = {**DEFAULTS, **{k: v for k, v in value.items() if v is not None and v != []}}
    for name, check in CHECKS.items():
        if name in cleaned:
            try:
                cleaned[name] = check(cleaned[name])
            except (TypeError, ValueError) as e:
                raise ValueError(f"balance.{name}: {e}") from None
    _check_together(cleaned)
    return cleaned


def _check_together(block: dict) -> None:
    if block["enabled"]:
        for name, example in (("url", "https://api.example.com/balance"), ("field", "balance")):
            if not block[name]:
                raise ValueError(
                    f"balance.{name}: is required when balance checks are enabled (e.g. {example})"
                )
    if block["pause_when_low"] and "minimum_balance" not in block:
        raise ValueError("balance.pause_when_low: needs minimum_balance, the balance below which to pause")
    if block["email_only_when_low"] and not block["email"]:
        raise ValueError("balance.email_only_when_low: needs email, the addresses to alert")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    return value


def _method(value: Any) -> str:
    method = _text(value).upper()
    if method not in ("GET", "POST"):
        raise ValueError(f"must be GET or POST, not {value!r}")
    return method


def _content_type(value: Any) -> str:
    content_type = _text(value).lower()
    if content_type not in ("json", "form", "xml"):
        raise ValueError(f"must be json, form or xml, not {value!r}")
    return content_type


def _headers(value: Any) -> list[str]:
    if isinstance(value, dict):  # {"Name": "value"} is accepted too, as for the gateway's headers
        value = [f"{k}: {v}" for k, v in value.items()]
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ValueError(
            'must be a list of "Name: value" strings (leave it out to use the gateway\'s headers)'
        )
    return value


def _field(value: Any) -> str:
    rule = _text(value).strip()
    if rule:
        try:
            check_rule(rule, extraction=True)
        except RuleError as e:
            raise ValueError(f"{e} (a dotted JSON path like data.balance, or re: with one group)") from None
    return rule


def _period(value: Any) -> str | int | float:
    if isinstance(value, str) and value.strip().lower() in PERIODS:
        return value.strip().lower()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be hour, day, week, month or a number of minutes, not {value!r}")
    if not 1 <= value <= MAX_PERIOD_MINUTES:
        raise ValueError(f"must be between 1 and {MAX_PERIOD_MINUTES} minutes (a year), not {value:g}")
    return value


def _email(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ValueError("must be an address or a list of addresses")
    addresses = [a.strip() for a in value if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address!r} is not an email address") from None
    return addresses


def _amount(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    if not math.isfinite(value) or not abs(Decimal(str(value))) < MAX_BALANCE:
        raise ValueError(f"must be a finite number below {MAX_BALANCE:,.0f}, not {value!r}")
    return value


CHECKS = {
    "enabled": _bool,
    "url": lambda v: _text(v).strip(),
    "method": _method,
    "content_type": _content_type,
    "payload": _text,
    "headers": _headers,
    "field": _field,
    "period": _period,
    "email": _email,
    "email_only_when_low": _bool,
    "dashboard_notification": _bool,
    "minimum_balance": _amount,
    "pause_when_low": _bool,
}


@dataclass(frozen=True)
class BalanceRequest:
    """The balance block seen as a gateway's templates, so `render_request` builds and escapes it."""

    url: str
    method: str
    content_type: str
    payload: str
    headers: list[str]
    secrets: Mapping[str, object]


def balance_request(gateway) -> BalanceRequest:
    block = gateway.balance or {}
    method = block.get("method", "GET")
    headers = block.get("headers")
    return BalanceRequest(
        url=block.get("url", ""),
        method=method,
        # A GET carries any payload as its query string, which is form-encoded whatever the gateway posts.
        content_type="form" if method == "GET" else block.get("content_type") or gateway.content_type,
        payload=block.get("payload", ""),
        headers=list(gateway.headers or []) if headers is None else headers,
        secrets=gateway.secrets or {},
    )


def validate_balance_templates(gateway) -> dict[str, str]:
    """{"balance": "balance.url: …"} when the templates could not build a balance request, else {}.

    Needs the whole gateway (its secrets, headers and content type), so gateways/config.py calls it once
    every field is clean; a typo in a secret's name is refused at import, never found at check time.
    """
    block = gateway.balance or {}
    if not block.get("url"):
        return {}
    request = balance_request(gateway)
    problems = _unknown_placeholders(request) or validate_templates(request)
    if not problems:
        return {}
    return {"balance": "; ".join(f"balance.{reason}" for reason in problems.values())}


def _unknown_placeholders(request: BalanceRequest) -> dict[str, str]:
    """{field: "field: reason"}, as validate_templates reports them."""
    errors: dict[str, str] = {}
    for field in TEMPLATES:
        sources = request.headers if field == "headers" else [getattr(request, field)]
        for source in sources:
            for alias, placeholder in ALIASES.items():
                source = source.replace(alias, placeholder)
            try:
                names = meta.find_undeclared_variables(_parser.parse(source)) - PLACEHOLDERS
            except TemplateSyntaxError as e:
                errors.setdefault(field, f"{field}: line {e.lineno}: {e.message}")
                continue
            if names:
                shown = ", ".join(f"{{{{ {n} }}}}" for n in sorted(names))
                errors.setdefault(
                    field,
                    f"{field}: {shown} cannot be used here: a balance request has no message,"
                    " only {{ secrets.NAME }}",
                )
    return errors


def period_length(block: Mapping[str, Any]) -> timedelta:
    period = block.get("period", DEFAULTS["period"])
    minutes = PERIODS[period] if isinstance(period, str) else period
    return timedelta(minutes=minutes)


def settings_hash(gateway) -> str:
    """What a reading depends on: the block, and the secrets and headers its request may use."""
    request = balance_request(gateway)
    data = [gateway.balance or {}, request.headers, dict(request.secrets), request.content_type]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def minimum_of(block: Mapping[str, Any]) -> Decimal | None:
    minimum = block.get("minimum_balance")
    return None if minimum is None else Decimal(str(minimum))
