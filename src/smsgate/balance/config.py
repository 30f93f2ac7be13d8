"""The gateway's "Check SMS balance" block: validation (the balance issue fills this in)."""

from typing import Any


def clean_balance(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of balance settings")
    return value
