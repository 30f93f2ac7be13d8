"""GET /gateways/{name}/balance (smsgate.balance.api), served by a NinjaAPI of the test's own with the API's
error handling, so the router is tested the same whether or not /api/v1/ mounts it yet."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from ninja import NinjaAPI
from ninja.testing import TestClient

from smsgate.api import errors
from smsgate.api.models import Token
from smsgate.balance.api import router

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def client() -> TestClient:
    api = NinjaAPI(urls_namespace="balance-api-test")
    errors.install(api)
    api.add_router("/", router)
    return TestClient(api)


def bearer(scope: str) -> dict:
    _, text = Token.issue(f"a {scope} token", scope)
    return {"Authorization": f"Bearer {text}"}


@pytest.fixture
def gateway(make_gateway, fake_gateway):
    block = {"enabled": True, "url": f"{fake_gateway.url}/balance", "field": "balance", "minimum_balance": 50}
    return make_gateway(balance=block)


def check_now():
    call_command("balance", "--no-email", stdout=StringIO())


def test_it_returns_the_latest_reading_and_the_history_newest_first(client, gateway, fake_gateway):
    fake_gateway.set_mode(balance=1530.87)
    check_now()
    fake_gateway.set_mode(mode="error500")
    with pytest.raises(CommandError):
        check_now()
    fake_gateway.set_mode(balance=42.5)
    check_now()

    answer = client.get("/gateways/fake/balance", headers=bearer("read"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["gateway"] == "fake"
    assert (body["low"], body["failed"], body["paused"], body["minimum_balance"]) == (
        True,
        False,
        False,
        "50",
    )
    assert body["latest"]["balance"] == "42.5"
    assert [r["balance"] for r in body["history"]] == ["42.5", None, "1530.87"]
    failed = body["history"][1]
    assert failed["error"].startswith("gateway answered 500")
    assert failed["http_status"] == 500
    assert body["next_check_at"] is not None

    answer = client.get("/gateways/fake/balance?limit=1", headers=bearer("admin"))
    assert [r["balance"] for r in answer.json()["history"]] == ["42.5"]


def test_a_gateway_never_checked_has_no_reading(client, gateway):
    body = client.get("/gateways/fake/balance", headers=bearer("read")).json()
    assert (body["latest"], body["history"], body["low"], body["failed"]) == (None, [], False, False)


@pytest.mark.parametrize(
    "path, scope, status, message",
    [
        ("/gateways/nope/balance", "read", 404, "name: there is no gateway named 'nope'"),
        ("/gateways/fake/balance", "send", 403, "this needs read or admin"),
        ("/gateways/fake/balance?limit=0", "read", 422, "limit"),
    ],
)
def test_it_refuses(path, scope, status, message, client, gateway):
    answer = client.get(path, headers=bearer(scope))
    assert answer.status_code == status
    assert message in answer.json()["message"]
