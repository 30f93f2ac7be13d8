"""The REST API v1 at /api/v1/: one NinjaAPI, a router per resource, one error shape everywhere."""

import json

from ninja import NinjaAPI, Router
from ninja.parser import Parser

from smsgate.api import dlr, errors, gateways, health, messages, stats, tokens
from smsgate.balance import api as balance_api

DESCRIPTION = """Send, track and configure SMS over HTTP.

Authenticate with `Authorization: Bearer <token>` (`smsgate tokens create NAME --scope send|read|admin`).
`send` tokens send and read their own messages; `read` tokens read every message and the stats; `admin`
tokens may also manage gateways and tokens. `/health`, `/openapi.json`, `/docs` and the delivery-report
URLs need no token.

Every error is `{"message": "field: reason", "detail": [{"field": ..., "message": ...}]}`: 401 without a
valid token, 403 for a token without the scope, 404, 409 for a conflict with the current state, 422 for bad
input.
"""


def strict_json(body: bytes):
    """JSON as the RFC has it: NaN and Infinity (which Python's parser accepts) are refused."""
    return json.loads(body, parse_constant=_refuse_constant)


class StrictJson(Parser):
    def parse_body(self, request):
        return strict_json(request.body)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


api = NinjaAPI(
    title="smsgate",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    parser=StrictJson(),
)
errors.install(api)
for module in (messages, gateways, tokens, stats, health, dlr):
    api.add_router("/", module.router)
api.add_router("/", balance_api.router)  # GET /gateways/{name}/balance, from smsgate.balance

# Last, so it only sees what no route above matched: an unknown path is a JSON 404 like any other error.
unknown = Router()


@unknown.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unknown_path(request, rest: str):
    raise errors.ApiError(404, "path", f"/api/v1/{rest} is not part of the API (see /api/v1/docs)")


api.add_router("/", unknown)
