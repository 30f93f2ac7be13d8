"""Reading a balance out of a gateway's answer: a number, a numeric string, or "KES 1785.50".

Anything that is not clearly one number is refused with a reason. A misread balance is worse than none:
a 0 would raise a false alarm (or pause sending), a wrong big number would hide a real one.
"""

import re
from decimal import Decimal, InvalidOperation

from smsgate.gateways.verdict import extract, matches, snippet

MAX_BALANCE = Decimal("1e18")  # what the reading's column holds
PLACES = Decimal("0.000001")  # the reading's column keeps 6 decimal places
# 1785.50, -5, 1,234,567.89 (thousands grouped with commas). "1.234,56" reads as two numbers: refused.
_NUMBER = re.compile(r"(?<![\d.,])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d]|[.,]\d)")


class UnreadableBalance(ValueError):
    """The answer has no balance we can trust; str() is the reason the operator reads."""


def read_balance(field: str, body: str) -> Decimal:
    """The balance at `field` (dotted JSON path or re: with one group) in `body`, or UnreadableBalance."""
    text = extract(field, body)
    if text == "":
        raise UnreadableBalance(_why_missing(field, body))
    return parse_amount(text)


def parse_amount(text: str) -> Decimal:
    """One number out of a value: 1267.92865, "15.53590000", "KES 1785.50", "USD 1,234.50", "-2.10 EUR"."""
    value = text.strip()
    amount = _plain_decimal(value)
    if amount is None:
        found = _NUMBER.findall(value)
        if len(found) != 1:
            what = "no number we can read" if not found else f"{len(found)} numbers"
            raise UnreadableBalance(
                f"{_shown(value)} has {what}; the balance must be exactly one number (1234.50, 1,234.50)"
            )
        amount = Decimal(found[0].replace(",", "").replace("−", "-"))
    if not abs(amount) < MAX_BALANCE:
        raise UnreadableBalance(f"{_shown(value)} is not a plausible balance")
    return amount.quantize(PLACES)


def _plain_decimal(value: str) -> Decimal | None:
    """A value that is a number as it stands (JSON numbers, 1e+20); None when it needs picking apart."""
    if value in ("true", "false", "null"):
        raise UnreadableBalance(f"the value is {value}, not a number")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        raise UnreadableBalance(f"{_shown(value)} is not a number")
    return amount


def _why_missing(field: str, body: str) -> str:
    if field.startswith("re:"):
        return f"no match for {field} in the answer: {snippet(body)}"
    matched, why_not = matches(f"json:{field.removeprefix('json:')}", body)
    if matched:  # present and truthy, yet extract gave nothing: an object or a list
        why_not = f"{field} is an object or a list, not a number"
    elif why_not.endswith("not a true value"):
        why_not = f"{field} is null or empty"
    return f"{why_not}: {snippet(body)}"


def _shown(value: str) -> str:
    return f'"{value}"' if len(value) <= 60 else f'"{value[:60]}…"'
