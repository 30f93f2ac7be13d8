"""GET /api/v1/gateways/{name}/balance: the latest reading and the history, for read and admin tokens.

Mounted by the API with `api.add_router("/", smsgate.balance.api.router)`.
"""

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Query, Router
from pydantic import Field

from smsgate.api import auth
from smsgate.api.errors import ApiError, responses
from smsgate.api.schemas import SLUG_PATTERN, Schema
from smsgate.balance.status import HISTORY_LIMIT, status_json
from smsgate.gateways.models import Gateway

router = Router(tags=["balance"], auth=auth.STATS)

MAX_HISTORY = 500


class ReadingOut(Schema):
    checked_at: str
    balance: str | None = Field(description='decimal as text ("1530.87"); null when the check failed')
    minimum_balance: str | None
    is_low: bool
    error: str = Field(description="why the check failed; empty when it read a balance")
    http_status: int | None
    raw: str = Field(description="the gateway's answer, first 4 KB, secrets masked")
    duration_ms: int | None
    emailed_to: list[str]
    email_error: str


class BalanceOut(Schema):
    gateway: str
    enabled: bool
    minimum_balance: str | None
    low: bool = Field(description="the latest reading is below the current minimum")
    failed: bool = Field(description="the latest check failed")
    paused: bool = Field(description="pause_when_low holds this gateway's messages in the queue")
    next_check_at: str | None
    latest: ReadingOut | None
    history: list[ReadingOut] = Field(description="newest first")


@router.get(
    "/gateways/{name}/balance",
    response={200: BalanceOut, **responses(401, 403, 404, 422)},
    summary="A gateway's balance",
    description="The latest balance reading and the history, newest first. A failed check has no balance "
    "(never 0) and says why in `error`.",
)
def gateway_balance(
    request: HttpRequest,
    name: Annotated[str, Path(pattern=SLUG_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = HISTORY_LIMIT,
):
    gateway = Gateway.objects.filter(name=name).first()
    if gateway is None:
        raise ApiError(404, "name", f"there is no gateway named {name!r}")
    return status_json(gateway, limit)
