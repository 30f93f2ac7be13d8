"""A gateway's delivery-report (`dlr`) settings: what they mean, their validation, and presets.

    dlr:
      message_id: MessageSid          # where the provider's id for the SMS is in the callback
      status: MessageStatus           # where its delivery status is
      delivered: [delivered]          # status values that mean delivered
      undelivered: [undelivered, failed]

`message_id` and `status` are a field name (looked up in the form body, then the query string, then the
top level of a JSON body), or `json:` and a dotted path into a JSON body (`json:results.0.id`). Status values
compare without regard to case; any other value (queued, accepted, buffered…) is an intermediate report and
changes nothing.
"""

from typing import Any

from smsgate.gateways.verdict import RuleError, check_rule

KEYS = ("message_id", "status", "delivered", "undelivered")

# Checked against each provider's documentation of its callback (see docs/api.md for the shapes).
DLR_PRESETS: dict[str, dict[str, Any]] = {
    # Twilio's status callback: a form POST with MessageSid and MessageStatus; "failed" means Twilio could
    # not send it, "undelivered" that the carrier could not deliver it.
    "twilio": {
        "message_id": "MessageSid",
        "status": "MessageStatus",
        "delivered": ["delivered"],
        "undelivered": ["undelivered", "failed"],
    },
    # Vonage SMS API delivery receipt: GET query, form POST or JSON POST (the account's webhook setting),
    # with messageId and status; accepted and buffered are intermediate.
    "vonage": {
        "message_id": "messageId",
        "status": "status",
        "delivered": ["delivered"],
        "undelivered": ["expired", "failed", "rejected"],
    },
}


def clean_dlr(value: Any) -> dict:
    """The settings to store ({} = no delivery reports), or ValueError saying what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            "must be a mapping of delivery-report settings (message_id, status, delivered, undelivered)"
        )
    unknown = sorted(str(key) for key in value if key not in KEYS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    if not any(value.get(key) for key in KEYS):
        return {}
    cleaned = {
        "message_id": _location(value.get("message_id"), "message_id"),
        "status": _location(value.get("status"), "status"),
        "delivered": _values(value.get("delivered"), "delivered"),
        "undelivered": _values(value.get("undelivered"), "undelivered"),
    }
    if not cleaned["delivered"] and not cleaned["undelivered"]:
        raise ValueError("list the status values that mean delivered or undelivered (or both)")
    both = sorted(set(map(str.lower, cleaned["delivered"])) & set(map(str.lower, cleaned["undelivered"])))
    if both:
        raise ValueError(f"{', '.join(both)} cannot mean both delivered and undelivered")
    return cleaned


def _location(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} is required: the callback's field name, or json:path")
    value = value.strip()
    if value.startswith("re:"):
        raise ValueError(f"{key}: a regular expression cannot find a field; give its name or json:path")
    if value.startswith("json:"):
        try:
            check_rule(value, extraction=True)
        except RuleError as e:
            raise ValueError(f"{key}: {e}") from None
    return value


def _values(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"{key} must be a list of status values")
    values = [str(v).strip() for v in value]
    if not all(values):
        raise ValueError(f"{key} has an empty status value")
    return values
