"""The gateway's delivery-report (`dlr`) settings: validation (the API issue fills this in)."""

from typing import Any


def clean_dlr(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of delivery-report settings")
    return value
