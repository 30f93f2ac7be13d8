"""Gateways as data: validation, import and export (the same field names as the API)."""

import math
import re
from typing import Any

from django.db import transaction

from smsgate.api.dlr_config import clean_dlr
from smsgate.balance.config import clean_balance, validate_balance_templates
from smsgate.gateways.models import Gateway
from smsgate.gateways.render import validate_templates
from smsgate.gateways.routing import normalise_prefix
from smsgate.gateways.verdict import RuleError, check_rule
from smsgate.lib.mask import MASK

FIELDS = [
    "name",
    "enabled",
    "url",
    "method",
    "content_type",
    "payload",
    "headers",
    "secrets",
    "success_response",
    "message_id_path",
    "failure_response",
    "days_to_expire",
    "debug",
    "timeout",
    "sender",
    "resend_on_timeout",
    "priority",
    "prefixes",
    "failover",
    "rate_limit",
    "max_in_flight",
    "max_segments",
    "unicode",
    "balance",
    "dlr",
]
REQUIRED = ["name", "url"]
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


class InvalidGateway(ValueError):
    """All that is wrong with one gateway definition: {field: reason}."""

    def __init__(self, errors: dict[str, str], label: str = ""):
        self.errors = errors
        self.label = label
        where = f"{label}: " if label else ""
        super().__init__("; ".join(f"{where}{field}: {reason}" for field, reason in errors.items()))


def export_gateway(gateway: Gateway, *, with_secrets: bool = False) -> dict[str, Any]:
    data = {field: getattr(gateway, field) for field in FIELDS}
    if not with_secrets:
        data["secrets"] = {name: MASK for name in gateway.secrets}
    return data


def clean_gateway(data: Any, existing: Gateway | None = None) -> dict[str, Any]:
    """Check a gateway definition: the values to store, or InvalidGateway naming every bad field.

    Secrets given as "********" keep the stored value, so an export can be edited and imported back.
    """
    if not isinstance(data, dict):
        raise InvalidGateway({"gateway": "must be a mapping of field names to values"})
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        errors["fields"] = f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})"
    base = (
        export_gateway(existing, with_secrets=True)
        if existing
        else export_gateway(Gateway(), with_secrets=True)
    )
    values = {**base, **{k: v for k, v in data.items() if k in FIELDS}}
    for field in REQUIRED:
        if field not in data and not existing:
            errors[field] = "is required"
    for field, check in CHECKS.items():
        if field in errors:
            continue
        try:
            values[field] = check(values[field])
        except (TypeError, ValueError) as e:
            errors[field] = str(e)
    if "secrets" not in errors:
        values["secrets"] = _keep_masked_secrets(values["secrets"], existing)
    if not errors:
        errors.update(validate_templates(Gateway(**values)))
        errors.update(validate_balance_templates(Gateway(**values)))
    if errors:
        raise InvalidGateway(errors, str(data.get("name", "")))
    return values


def _keep_masked_secrets(secrets: dict[str, str], existing: Gateway | None) -> dict[str, str]:
    stored = existing.secrets if existing else {}
    kept = {}
    for name, value in secrets.items():
        if value == MASK:
            if name not in stored:
                raise InvalidGateway({"secrets": f"{name} is {MASK} but no value is stored for it; type it"})
            value = stored[name]
        kept[name] = value
    return kept


def _name(value: Any) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise ValueError("must be 1-64 letters, digits, '-' or '_'")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    return value


def _choice(*options: str):
    def check(value: Any) -> str:
        text = _text(value)
        upper = options[0].isupper()
        text = text.upper() if upper else text.lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}, not {value!r}")
        return text

    return check


def _number(minimum: float, maximum: float, what: str):
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"must be a number of {what}, not {value!r}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be from {minimum:g} to {maximum:g} {what}, not {value:g}")
        return float(value)

    return check


def _whole(minimum: int, maximum: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {value!r}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be from {minimum} to {maximum}, not {value}")
        return value

    return check


def _prefixes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # "+61, +64" is accepted too
        value = [p for p in value.replace(",", " ").split() if p]
    if not isinstance(value, list) or not all(isinstance(p, (str, int)) for p in value):
        raise ValueError('must be a list of number prefixes such as ["+61", "+64"]')
    return sorted({normalise_prefix(str(p)) for p in value})


def _headers(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):  # {"Name": "value"} is accepted too
        value = [f"{k}: {v}" for k, v in value.items()]
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ValueError('must be a list of "Name: value" strings')
    return value


def _secrets(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of names to values")
    for name, secret in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{name!r} is not a valid secret name (letters, digits, _)")
        if not isinstance(secret, (str, int)):
            raise ValueError(f"{name} must be text")
    return {name: str(secret) for name, secret in value.items()}


def _rule(extraction: bool):
    def check(value: Any) -> str:
        text = _text(value)
        if text:
            try:
                check_rule(text, extraction=extraction)
            except RuleError as e:
                raise ValueError(str(e)) from None
        return text

    return check


def _sender(value: Any) -> str:
    text = _text(value)
    if len(text) > 32:
        raise ValueError("must be at most 32 characters")
    return text


CHECKS = {
    "name": _name,
    "enabled": _bool,
    "url": _text,
    "method": _choice("POST", "GET"),
    "content_type": _choice("json", "form", "xml"),
    "payload": _text,
    "headers": _headers,
    "secrets": _secrets,
    "success_response": _rule(extraction=False),
    "message_id_path": _rule(extraction=True),
    "failure_response": _rule(extraction=False),
    "days_to_expire": _number(0, 365, "days"),
    "debug": _bool,
    "timeout": _number(0.1, 300, "seconds"),
    "sender": _sender,
    "resend_on_timeout": _bool,
    "priority": _whole(-1_000_000, 1_000_000),
    "prefixes": _prefixes,
    "failover": _bool,
    "rate_limit": _number(0, 10_000, "messages per second"),
    "max_in_flight": _whole(0, 10_000),
    "max_segments": _whole(0, 255),
    "unicode": _choice("keep", "transliterate"),
    "balance": clean_balance,
    "dlr": clean_dlr,
}


def save_gateway(data: Any) -> tuple[Gateway, bool]:
    """Create or update one gateway by name. Returns (gateway, created)."""
    name = data.get("name") if isinstance(data, dict) else None
    existing = Gateway.objects.filter(name=name).first() if isinstance(name, str) else None
    values = clean_gateway(data, existing)
    gateway = existing or Gateway()
    for field, value in values.items():
        setattr(gateway, field, value)
    gateway.save()
    return gateway, existing is None


def import_gateways(items: Any) -> list[tuple[Gateway, bool]]:
    """Import one gateway or a list, all or nothing; InvalidGateway lists every bad field of every item."""
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise InvalidGateway({"file": "must hold one gateway (a mapping) or a list of them"})
    problems: dict[str, str] = {}
    saved = []
    names = [item.get("name") for item in items if isinstance(item, dict)]
    duplicates = {n for n in names if names.count(n) > 1}
    with transaction.atomic():
        for index, item in enumerate(items):
            label = f"gateway {index + 1}" + (
                f" ({item['name']})" if isinstance(item, dict) and "name" in item else ""
            )
            if isinstance(item, dict) and item.get("name") in duplicates:
                problems[f"{label}: name"] = "appears more than once in the file"
                continue
            try:
                saved.append(save_gateway(item))
            except InvalidGateway as e:
                problems.update({f"{label}: {field}": reason for field, reason in e.errors.items()})
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise InvalidGateway(problems)
    return saved
