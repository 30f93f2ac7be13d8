"""What the API reads and writes, as pydantic models: they are validated on the way in and are the OpenAPI
document's schemas.

Every string a client sends must be storable in any database we support: PostgreSQL refuses NUL characters
and unpaired surrogates (JSON allows "\\ud800"), so they are refused here with a reason, never a 500.
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from smsgate.api.models import Token
from smsgate.gateways.models import Gateway
from smsgate.outbox.enqueue import MAX_SENDER_LENGTH, MAX_TEXT_LENGTH
from smsgate.outbox.models import Attempt, Message

MAX_BULK = 10_000
MAX_EXPIRES_IN = 366 * 86400  # a year: longer would only keep a number retrying forever
MAX_PAGE = 500
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,64}$"

# Taken from the models, so a status added there is accepted here instead of failing answers.
Status = Literal[tuple(Message.Status.values)]
Outcome = Literal[tuple(Attempt.Outcome.values)]


def storable(value: Any, where: str = "") -> Any:
    """`value` unchanged, or ValueError if some string in it could not be stored."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where}must not contain NUL (\\u0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where}must not contain unpaired surrogates (\\ud800-\\udfff)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, where)
            storable(item, f"{where}{key}: " if not where else f"{where.removesuffix(': ')}.{key}: ")
    elif isinstance(value, list):
        for item in value:
            storable(item, where)
    return value


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(value: Any) -> datetime:
    """An RFC 3339 time with its offset (2026-11-27T09:00:00Z), in UTC; a bare number or a time without an
    offset is refused rather than guessed."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be a date and time with its offset, e.g. 2026-11-27T09:00:00Z")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("is not a date and time that exists") from None


Text = Annotated[str, AfterValidator(storable)]
Json = Annotated[dict[str, Any], AfterValidator(storable)]
Moment = Annotated[datetime, BeforeValidator(rfc3339)]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


class Schema(BaseModel):
    """Our schemas are built from dicts, so they are plain pydantic models: ninja's Schema reads Django
    objects field by field, a cost that a bulk answer of 10,000 messages pays 10,000 times."""


class Input(Schema):
    """A request body: unknown fields are refused, so a misspelt "form" is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class MessageIn(Input):
    to: Text = Field(max_length=50, description="E.164 (+61491570156) or national in the default region")
    text: Text = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    gateway: Text | None = Field(
        None, max_length=64, description="default: the first enabled gateway by name"
    )
    sender: Text | None = Field(None, max_length=MAX_SENDER_LENGTH, description="default: the gateway's")
    expires_in: float | None = Field(
        None, gt=0, le=MAX_EXPIRES_IN, allow_inf_nan=False, description="seconds; default: the gateway's days"
    )
    reference: Text = Field("", max_length=200, description="your own id for this message")


class BulkIn(Input):
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BULK,
        description="each item as the body of POST /messages; an invalid item is refused alone",
    )


class RequestOut(Schema):
    method: str
    url: str
    headers: dict[str, str]
    body: str


class AttemptOut(Schema):
    id: int
    gateway: str
    worker: str
    started_at: datetime
    duration_ms: int | None
    request: RequestOut
    http_status: int | None
    response_body: str
    outcome: Outcome
    reason: str


class MessageOut(Schema):
    id: int
    to: str
    text: str
    sender: str
    status: Status
    gateway: str
    reference: str
    attempts: int = Field(description="how many requests were made to the gateway")
    last_error: str
    provider_message_id: str
    encoding: Literal["gsm7", "ucs2"]
    segments: int
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime
    delivered_at: datetime | None
    delivery_status: Literal[tuple(Message.Delivery.values)] | None = Field(
        description="the final fate from the gateway's delivery report; null until one arrives"
    )


class MessageDetailOut(MessageOut):
    attempt_log: list[AttemptOut] = Field(description="every request to a gateway, oldest first")


class MessagePage(Schema):
    messages: list[MessageOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null at the end")


class BulkItemOut(Schema):
    index: int
    message: MessageOut | None = None
    error: dict[str, Any] | None = Field(None, description="the error object, as for POST /messages")


class BulkOut(Schema):
    accepted: int
    rejected: int
    results: list[BulkItemOut]


def _default(field: str) -> Any:
    return Gateway._meta.get_field(field).get_default()


class DlrIn(Input):
    message_id: Text = Field(
        "",
        max_length=200,
        description='where the provider\'s id is: a form/query/JSON field name, or "json:a.b.0"',
    )
    status: Text = Field("", max_length=200, description="where the delivery status is, same syntax")
    delivered: list[Text] = Field(default_factory=list, description="status values meaning delivered")
    undelivered: list[Text] = Field(default_factory=list, description="status values meaning not delivered")


Headers = list[Text] | dict[Text, Text]
Prefixes = list[Text] | Text
MAX_WHOLE = 1_000_000  # well inside a database integer, far past any sane setting
PER_S = "SMS per second, all workers together; 0: no limit"


class GatewayIn(Input):
    """A whole gateway (POST, PUT). Fields left out take their defaults."""

    name: Slug
    enabled: bool = _default("enabled")
    url: Text = Field(max_length=2000)
    method: Literal["POST", "GET"] = _default("method")
    content_type: Literal["json", "form", "xml"] = _default("content_type")
    payload: Text = _default("payload")
    headers: Headers = Field(default_factory=list, description='"Name: value" lines, or a mapping')
    secrets: dict[Text, Text] = Field(
        default_factory=dict, description='write-only; "********" keeps the stored value'
    )
    success_response: Text = Field(_default("success_response"), max_length=500)
    message_id_path: Text = Field(_default("message_id_path"), max_length=500)
    failure_response: Text = Field(_default("failure_response"), max_length=500)
    days_to_expire: float = Field(_default("days_to_expire"), ge=0, le=366, allow_inf_nan=False)
    debug: bool = _default("debug")
    timeout: float = Field(_default("timeout"), ge=0.1, le=600, allow_inf_nan=False)
    sender: Text = Field(_default("sender"), max_length=MAX_SENDER_LENGTH)
    resend_on_timeout: bool = _default("resend_on_timeout")
    priority: int = Field(
        _default("priority"), ge=-MAX_WHOLE, le=MAX_WHOLE, description="lower is tried first"
    )
    prefixes: Prefixes = Field(default_factory=list, description='numbers it serves, e.g. ["+61"]; [] = all')
    failover: bool = Field(
        _default("failover"), description="a temporary failure retries on the next gateway"
    )
    rate_limit: float = Field(
        _default("rate_limit"), ge=0, le=MAX_WHOLE, allow_inf_nan=False, description=PER_S
    )
    max_in_flight: int = Field(_default("max_in_flight"), ge=0, le=MAX_WHOLE, description="0: no limit")
    max_segments: int = Field(_default("max_segments"), ge=0, le=MAX_WHOLE, description="0: no limit")
    unicode: Literal["keep", "transliterate"] = _default("unicode")
    balance: Json = Field(default_factory=dict, description="the balance check settings")
    dlr: DlrIn | None = Field(None, description="delivery report settings; null or {} turns them off")


class GatewayPatch(Input):
    """Some fields of a gateway (PATCH, as JSON merge patch): null resets a field to its default; inside
    `secrets`, `balance` and `dlr` only the keys given change, and a key set to null is removed."""

    name: Slug | None = None
    enabled: bool | None = None
    url: Text | None = Field(None, max_length=2000)
    method: Literal["POST", "GET"] | None = None
    content_type: Literal["json", "form", "xml"] | None = None
    payload: Text | None = None
    headers: Headers | None = None
    secrets: dict[Text, Text | None] | None = None
    success_response: Text | None = Field(None, max_length=500)
    message_id_path: Text | None = Field(None, max_length=500)
    failure_response: Text | None = Field(None, max_length=500)
    days_to_expire: float | None = Field(None, ge=0, le=366, allow_inf_nan=False)
    debug: bool | None = None
    timeout: float | None = Field(None, ge=0.1, le=600, allow_inf_nan=False)
    sender: Text | None = Field(None, max_length=MAX_SENDER_LENGTH)
    resend_on_timeout: bool | None = None
    priority: int | None = Field(None, ge=-MAX_WHOLE, le=MAX_WHOLE)
    prefixes: Prefixes | None = None
    failover: bool | None = None
    rate_limit: float | None = Field(None, ge=0, le=MAX_WHOLE, allow_inf_nan=False)
    max_in_flight: int | None = Field(None, ge=0, le=MAX_WHOLE)
    max_segments: int | None = Field(None, ge=0, le=MAX_WHOLE)
    unicode: Literal["keep", "transliterate"] | None = None
    balance: Json | None = None
    dlr: Json | None = None


class GatewayOut(Schema):
    name: str
    enabled: bool
    url: str
    method: str
    content_type: str
    payload: str
    headers: list[str]
    secrets: dict[str, str] = Field(description='every value is "********": secrets are write-only')
    success_response: str
    message_id_path: str
    failure_response: str
    days_to_expire: float
    debug: bool
    timeout: float
    sender: str
    resend_on_timeout: bool
    priority: int
    prefixes: list[str]
    failover: bool
    rate_limit: float
    max_in_flight: int
    max_segments: int
    unicode: str
    balance: dict[str, Any]
    dlr: dict[str, Any]
    dlr_url: str = Field(
        description="where the gateway posts delivery reports (read-only; the path has a secret)"
    )


class PreviewIn(Input):
    to: Text = Field(max_length=50)
    text: Text = Field(min_length=1, max_length=MAX_TEXT_LENGTH)


class GatewayTestIn(Input):
    to: Text = Field(max_length=50)
    text: Text | None = Field(None, min_length=1, max_length=MAX_TEXT_LENGTH)


class ResponseOut(Schema):
    status: int | None = Field(description="the HTTP status; null when no answer came")
    body: str


class GatewayTestOut(Schema):
    message: MessageOut
    request: RequestOut | None
    response: ResponseOut
    duration_ms: int
    matched: bool = Field(description="true when the answer counted as sent (the success rule matched)")
    outcome: Literal["sent", "failed", "rejected", "unknown"]
    reason: str


class TokenIn(Input):
    name: Text = Field(min_length=1, max_length=100)
    scope: Literal[tuple(Token.Scope.values)]


class TokenOut(Schema):
    id: int
    name: str
    scope: str
    prefix: str = Field(description="the first characters of the token, to recognise it")
    created_at: datetime
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the token itself; shown this once, stored only as a hash")
