"""The Config → SMS form: the page's fields in, `clean_gateway` decides, so the page and an import file
accept and refuse exactly the same gateways, with the same reasons."""

import json
import math
from itertools import zip_longest
from typing import Any

from django import forms

from smsgate.balance.config import DEFAULTS as BALANCE_DEFAULTS
from smsgate.balance.config import PERIODS as BALANCE_PERIODS
from smsgate.gateways.config import InvalidGateway, clean_gateway, export_gateway
from smsgate.gateways.models import Gateway

BALANCE_KEYS = [
    "enabled",
    "url",
    "method",
    "payload",
    "headers",
    "field",
    "period",
    "email",
    "email_only_when_low",
    "dashboard_notification",
    "minimum_balance",
    "pause_when_low",
]
PERIODS = [(name, name) for name in BALANCE_PERIODS]  # hour, day, week, month
# Fields that are rows or groups on the page rather than one input: their errors go above the group.
BLOCKS = ("headers", "secrets", "balance", "dlr")
RESERVED_NAMES = {"new"}  # /config/sms/new/ is the page that adds a gateway


def _text(label: str, help_text: str, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, help_text=help_text, required=False, **kwargs)


def _check(label: str, help_text: str) -> forms.BooleanField:
    return forms.BooleanField(label=label, help_text=help_text, required=False)


class GatewayForm(forms.Form):
    name = _text(
        "Name",
        "A short name: letters, digits, - and _. The API and the CLI choose a gateway by it.",
        max_length=64,
    )
    url = _text(
        "Gateway URL",
        "Where each SMS is sent. Placeholders work here too, percent-encoded: "
        "https://api.example.com/send?to={{ phone_digits }}",
        max_length=2000,
    )
    payload = _text(
        "Payload",
        "The body of a POST, or the query string of a GET, with placeholders from the table. Each value is "
        "escaped for where it lands (JSON string, form field, XML), so write the quotes of the format only.",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        strip=False,
    )
    method = forms.ChoiceField(
        label="Method",
        choices=[("POST", "POST"), ("GET", "GET")],
        help_text="POST sends the payload as the body; GET appends it to the URL as the query string.",
    )
    content_type = forms.ChoiceField(
        label="Content type",
        choices=[("json", "JSON"), ("form", "Form (x-www-form-urlencoded)"), ("xml", "XML")],
        help_text="How a POST body is encoded; sets Content-Type unless a custom header does. "
        "JSON and XML need POST.",
    )
    enabled = _check(
        "Enable SMS sending", "Off: SMS for this gateway wait in the queue until it is on again."
    )
    debug = _check("Debug", "Write every request and answer to $SMSGATE_HOME/logs/sms.log, secrets masked.")
    success_response = _text(
        "Successful response",
        "What the answer must contain to count as sent. Empty: any 2xx status. Text: the body contains it "
        "(OK:). re:… a regular expression. json:path==value, e.g. json:messages.0.status==0.",
        max_length=500,
    )
    days_to_expire = _text(
        "Days to expire",
        "Keep retrying a failed SMS this long (0.5 = 12 hours), then mark it Error.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    failure_response = _text(
        "Failure response",
        "An answer that matches is a permanent failure (an invalid number): not retried. "
        "Same forms as Successful response.",
        max_length=500,
    )
    message_id_path = _text(
        "Message id",
        "Where the gateway's id for the SMS is in its answer: a JSON path (messages.0.apiMessageId) "
        "or re: with one group.",
        max_length=500,
    )
    sender = _text(
        "Sender ID",
        "The {{ sender }} of SMS that don't name one: up to 11 letters, or a number.",
        max_length=32,
    )
    timeout = _text(
        "Timeout (seconds)",
        "How long to wait for the gateway's answer.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    resend_on_timeout = _check(
        "Send again after a timeout",
        "No answer in time means the gateway may have sent the SMS. On: send again (maybe twice); "
        "off: don't (maybe never).",
    )
    prefixes = _text(
        "Serves numbers starting with",
        "Country or number prefixes, separated by commas: +61, +64. Empty: any number. The most specific "
        "prefix wins; among equals, the lower priority.",
        max_length=500,
    )
    priority = _text(
        "Priority",
        "Lower first among gateways serving a number equally: give a backup a higher number.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}),
    )
    failover = _check(
        "Fail over",
        "After a temporary failure, send the next attempt through the next gateway serving the number; "
        "while this gateway keeps failing, its SMS go there at once.",
    )
    rate_limit = _text(
        "Messages per second",
        "The gateway's rate limit, for all workers together. 0: no limit.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    max_in_flight = _text(
        "Requests at once",
        "At most this many requests to the gateway at the same time. 0: no limit.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}),
    )
    max_segments = _text(
        "Maximum segments",
        "Refuse longer SMS when they are queued. 0: no limit.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}),
    )
    unicode = forms.ChoiceField(
        label="Characters outside GSM-7",
        required=False,
        choices=[("keep", "Keep: the SMS is sent as UCS-2"), ("transliterate", "Replace with look-alikes")],
        help_text="Curly quotes, dashes and accents make an SMS UCS-2: 70 characters a segment, not 160.",
    )
    balance_enabled = _check("Enable", "Ask the gateway for the account's balance regularly.")
    balance_url = _text(
        "Check URL",
        "The gateway's balance address; {{ secrets.NAME }} works here.",
        max_length=2000,
    )
    balance_field = _text(
        "Field name",
        "Where the balance is in the answer: a JSON path such as balance or data.balance.",
        max_length=200,
    )
    balance_method = forms.ChoiceField(label="Method", choices=[("GET", "GET"), ("POST", "POST")])
    balance_payload = _text(
        "Payload",
        "Body of a POST balance request (most gateways need none).",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        strip=False,
    )
    balance_headers = _text(
        "Headers",
        "One Name: value per line. Empty: the gateway's own custom headers are sent.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    balance_period = forms.ChoiceField(label="Once per", choices=PERIODS, help_text="How often to check.")
    balance_email = _text(
        "Email",
        "Send the balance to this address after each check; separate several with commas.",
        max_length=500,
    )
    balance_email_only_when_low = _check("Only when low", "Email only when the balance is below the minimum.")
    balance_dashboard_notification = _check(
        "Dashboard notification", "Show the balance on the dashboard, with a warning when it is low."
    )
    balance_minimum_balance = _text(
        "Minimum balance",
        "Below this the balance is low.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )
    balance_pause_when_low = _check(
        "Pause sending when low", "Hold SMS in the queue while the balance is low."
    )

    def __init__(self, data=None, *, gateway: Gateway | None = None, start: dict[str, Any] | None = None):
        """`gateway`: the stored one being edited; `start`: field values to begin from (a preset)."""
        self.gateway = gateway
        values = start if start is not None else _values(gateway)
        super().__init__(data, initial=_initial(values))
        if gateway is not None:
            self.fields["name"].disabled = True
        self.fields["balance_period"].choices = _with_current(
            PERIODS, (values.get("balance") or {}).get("period")
        )
        self.block_errors: dict[str, list[str]] = {}
        self.dlr = values.get("dlr") if start is not None else None
        self.header_rows = _posted_headers(data) if data is not None else list(values.get("headers") or [])
        self.secret_rows = (
            _posted_secrets(data) if data is not None else list((values.get("secrets") or {}).items())
        )
        self.gateway_data: dict[str, Any] = {}

    @property
    def dlr_json(self) -> str:
        """A preset's delivery-report settings ride along in a hidden field (the page has no inputs)."""
        if self.is_bound:
            return self.data.get("dlr_json", "")
        return json.dumps(self.dlr) if self.dlr else ""

    def is_valid(self) -> bool:
        return super().is_valid() and not self.block_errors

    def empty_secrets(self) -> list[str]:
        return [name for name, value in self.secret_rows if name and not value]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        data = self._gateway_data(cleaned)
        if self.errors or self.block_errors:
            return cleaned
        try:
            clean_gateway(data, self.gateway)
        except InvalidGateway as e:
            for field, reason in e.errors.items():
                self._add_gateway_error(field, reason)
        self.gateway_data = data
        return cleaned

    def _gateway_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        name = self.gateway.name if self.gateway else cleaned["name"].strip()
        if self.gateway is None and (name in RESERVED_NAMES or Gateway.objects.filter(name=name).exists()):
            self.add_error("name", f"a gateway named {name!r} exists already; choose another name")
        data = {
            "name": name,
            **{f: cleaned[f] for f in ("url", "payload", "method", "content_type", "enabled", "debug")},
            **{f: cleaned[f] for f in ("success_response", "failure_response", "message_id_path", "sender")},
            "days_to_expire": _number(cleaned["days_to_expire"]),
            "timeout": _number(cleaned["timeout"]),
            "resend_on_timeout": cleaned["resend_on_timeout"],
            "prefixes": cleaned["prefixes"],
            "priority": _whole(cleaned["priority"] or "100"),
            "failover": cleaned["failover"],
            "rate_limit": _number(cleaned["rate_limit"] or "0"),
            "max_in_flight": _whole(cleaned["max_in_flight"] or "0"),
            "max_segments": _whole(cleaned["max_segments"] or "0"),
            "unicode": cleaned["unicode"] or "keep",
            "headers": self.header_rows,
            "secrets": self._secrets(),
            "balance": self._balance(cleaned),
        }
        dlr = self.data.get("dlr_json")
        if dlr:
            try:
                data["dlr"] = json.loads(dlr)
            except ValueError:
                self.block_errors.setdefault("dlr", []).append(
                    "the preset's delivery-report settings are not JSON"
                )
        return data

    def _secrets(self) -> dict[str, str]:
        secrets: dict[str, str] = {}
        for name, value in self.secret_rows:
            if not name:
                self.block_errors.setdefault("secrets", []).append("a secret has a value but no name")
            elif name in secrets:
                self.block_errors.setdefault("secrets", []).append(f"{name} appears twice")
            secrets[name] = value
        return secrets

    def _balance(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The group as the balance block; None leaves a setting unset (smsgate.balance applies defaults)."""
        block = {key: cleaned[f"balance_{key}"] for key in BALANCE_KEYS}
        block["headers"] = [line.strip() for line in block["headers"].splitlines() if line.strip()] or None
        if block["period"] not in BALANCE_PERIODS:  # a number of minutes, kept from an imported file
            minutes = _number(block["period"])
            block["period"] = int(minutes) if isinstance(minutes, float) and minutes.is_integer() else minutes
        minimum = block["minimum_balance"].strip()
        block["minimum_balance"] = None
        if minimum:
            number = _number(minimum)
            if isinstance(number, float):
                block["minimum_balance"] = number
            else:
                self.add_error("balance_minimum_balance", f"must be a number, not {minimum!r}")
        stored = (self.gateway.balance if self.gateway else None) or {}
        if not stored and _untouched(block):
            return {}  # the group left as it came stores nothing, so exports stay short
        return {**stored, **block}

    def _add_gateway_error(self, field: str, reason: str) -> None:
        if field == "balance" and reason.startswith("balance."):
            # "balance.field: is required when …" belongs next to the Field name input.
            key, _, rest = reason.removeprefix("balance.").partition(":")
            if key in BALANCE_KEYS and f"balance_{key}" in self.fields:
                self.add_error(f"balance_{key}", rest.strip())
                return
        if field in BLOCKS:
            self.block_errors.setdefault(field, []).append(reason)
        elif field in self.fields:
            self.add_error(field, reason)
        else:
            self.add_error(None, f"{field}: {reason}")


def _values(gateway: Gateway | None) -> dict[str, Any]:
    if gateway is not None:
        return export_gateway(gateway)
    return {**export_gateway(Gateway()), "name": "", "method": "POST", "content_type": "json"}


def _initial(values: dict[str, Any]) -> dict[str, Any]:
    initial = {
        field: values.get(field) for field in GatewayForm.base_fields if not field.startswith("balance_")
    }
    for number in ("days_to_expire", "timeout", "rate_limit"):
        if isinstance(initial[number], float):
            initial[number] = f"{initial[number]:g}"
    initial["prefixes"] = ", ".join(values.get("prefixes") or [])
    balance = {**BALANCE_DEFAULTS, **(values.get("balance") or {})}
    for key in BALANCE_KEYS:
        initial[f"balance_{key}"] = balance.get(key)
    initial["balance_headers"] = "\n".join(balance.get("headers") or [])
    email = balance.get("email") or []
    initial["balance_email"] = email if isinstance(email, str) else ", ".join(email)
    minimum = balance.get("minimum_balance")
    initial["balance_minimum_balance"] = "" if minimum is None else f"{minimum:g}"
    return initial


def _with_current(choices: list[tuple[str, str]], current: Any) -> list[tuple[str, str]]:
    """Keep a stored value the list doesn't offer, so saving the page doesn't change it behind one's back."""
    if current and current not in dict(choices):
        label = f"{current:g} minutes" if isinstance(current, int | float) else str(current)
        return [*choices, (str(current), label)]
    return choices


def _posted_headers(data) -> list[str]:
    return [line.strip() for line in data.getlist("headers") if line.strip()]


def _posted_secrets(data) -> list[tuple[str, str]]:
    rows = zip_longest(data.getlist("secret_name"), data.getlist("secret_value"), fillvalue="")
    return [(name.strip(), value.strip()) for name, value in rows if name.strip() or value.strip()]


def _number(text: str) -> float | str:
    """The number typed, or the text as it was so the gateway check names it ("must be a number of days,
    not 'ten'"). nan and inf are text here: no gateway waits forever."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _whole(text: str) -> int | str:
    """The whole number typed, or the text as it was, for the gateway check to name."""
    try:
        return int(text.strip())
    except ValueError:
        return text


def _untouched(block: dict[str, Any]) -> bool:
    return all(value in (None, "", [], BALANCE_DEFAULTS.get(key)) for key, value in block.items())
