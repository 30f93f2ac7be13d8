"""The OpenAPI document against the app: schemathesis fuzzes every operation (valid and invalid input) and
checks that no answer is a 5xx or breaks the document. Bounded: a few dozen examples per operation."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_api_support import assert_error

from smsgate.api.models import Token
from smsgate.gateways.config import save_gateway
from smsgate.wsgi import application

# POST /gateways/{name}/test sends a real request to the gateway's URL, which the fuzzer may have set to any
# host on earth (with a timeout of up to 600 s): it is tested against the fake gateway in test_api_gateways.
UNFUZZED = "/api/v1/gateways/{name}/test"
# Not checked: "schema-valid input is accepted". A schema cannot say which strings are phone numbers or
# templates that render, so a 422 for "to": "0" is the promised answer, not a failure. Everything else is
# checked, the negative side included: input the document forbids must be refused with a 4xx.
EXAMPLES = 30
# The same examples on every run: a negative case can reach the server as valid input (a mutated query value
# serialised to "to=", a mutated Authorization header replaced by the token below) and then, rarely and at
# random, fail "schema-violating request accepted" (schemathesis issues 2312, 4600). CI must not flake.


@pytest.fixture
def keep_connection():
    """The WSGI handler closes the database connection after each request, which would end the test's
    transaction; Django's own test Client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, keep_connection):
    admin, token = Token.issue("fuzzer", "admin")
    gateway, _ = save_gateway(
        {"name": "fake", "url": "http://127.0.0.1:9/send", "payload": "to={{ phone }}&text={{ message }}"}
    )
    return {"token": token, "admin": admin, "gateway": gateway}


# Loaded through the WSGI app itself, so the document under test is the one the app serves.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).exclude(path=UNFUZZED)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_openapi_promises(case, world):
    # A fuzzed DELETE /tokens/{id} may revoke the fuzzer's own token; the next example starts live again.
    Token.objects.filter(pk=world["admin"].pk).update(revoked_at=None)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world['token']}"}, excluded_checks=[positive_data_acceptance]
    )


@pytest.fixture
def live(served):
    from test_api_support import Api

    return Api(served)


def test_the_document_and_the_docs_page_need_no_token(live, transactional_db):
    answer = live.get("openapi.json")
    assert answer.status == 200
    document = answer.json()
    assert set(document["paths"]) == {
        "/api/v1/messages",
        "/api/v1/messages/bulk",
        "/api/v1/messages/{id}",
        "/api/v1/messages/{id}/cancel",
        "/api/v1/gateways",
        "/api/v1/gateways/{name}",
        "/api/v1/gateways/{name}/preview",
        "/api/v1/gateways/{name}/test",
        "/api/v1/gateways/{name}/balance",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/stats",
        "/api/v1/health",
        "/api/v1/dlr/{gateway}/{secret}",
    }
    assert document["components"]["securitySchemes"] == {"TokenAuth": {"type": "http", "scheme": "bearer"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if not path.startswith(("/api/v1/health", "/api/v1/dlr")):
                assert {"401", "403"} <= statuses, (method, path)
            errors = statuses - {"200", "201", "202", "204"}
            for status in errors:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    docs = live.get("docs")
    assert docs.status == 200 and b"/api/v1/openapi.json" in docs.body
    assert b"cdn.jsdelivr" not in docs.body  # served from our static files: works offline


def test_an_unknown_path_is_a_json_404(live, transactional_db):
    assert_error(live.get("nope"), 404, "path")
    assert_error(live.post("messages/1/nope", {}), 404, "path")


def test_an_unexpected_failure_is_a_json_500_and_is_logged(live, transactional_db, monkeypatch, caplog):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("smsgate.api.stats.collect_stats", broken)
    token = Token.issue("ops", "admin")[1]
    answer = live.as_token(token).get("stats")
    body = assert_error(answer, 500, "server")
    assert "disk on fire" not in body["message"]
    assert "disk on fire" in caplog.text
