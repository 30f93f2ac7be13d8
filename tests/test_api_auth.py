"""Tokens and scopes, both ways: each scope can do what it should and gets 403 for the rest."""

import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from conftest import subprocess_env
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from test_api_support import api, assert_error, tokens  # noqa: F401

from smsgate.api.models import Token
from smsgate.gateways import snapshot

pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"to": "+61491570156", "text": "hi"}

# (method, path, body) for every operation that needs a token; {m} is a message id, {t} a token id.
OPERATIONS = {
    "send": ("POST", "messages", SMS),
    "bulk": ("POST", "messages/bulk", {"messages": [SMS]}),
    "list": ("GET", "messages", None),
    "get": ("GET", "messages/{m}", None),
    "cancel": ("POST", "messages/{m}/cancel", None),
    "stats": ("GET", "stats", None),
    "gateways": ("GET", "gateways", None),
    "create_gateway": ("POST", "gateways", {"name": "new", "url": "https://example.com/send"}),
    "gateway": ("GET", "gateways/fake", None),
    "replace_gateway": ("PUT", "gateways/fake", {"name": "fake"}),  # + the fake gateway's url
    "patch_gateway": ("PATCH", "gateways/fake", {"enabled": False}),
    "delete_gateway": ("DELETE", "gateways/new", None),
    "preview": ("POST", "gateways/fake/preview", SMS),
    "test": ("POST", "gateways/fake/test", {"to": SMS["to"]}),
    "tokens": ("GET", "tokens", None),
    "create_token": ("POST", "tokens", {"name": "x", "scope": "read"}),
    "revoke_token": ("DELETE", "tokens/{t}", None),
}
ALLOWED = {
    "send": {"send", "bulk", "list", "get", "cancel"},
    "read": {"list", "get", "stats"},
    "admin": set(OPERATIONS),
}


@pytest.fixture
def world(make_gateway, api, tokens):  # noqa: F811
    """A gateway, a message sent by the send token, a token to revoke."""
    gateway = make_gateway()
    message = api.as_token(tokens.send).post("messages", SMS).json()["id"]
    spare, _ = Token.issue("spare", "read")
    return {"m": message, "t": spare.pk, "u": gateway.url}


def call(api, token, operation, world):  # noqa: F811
    method, path, body = OPERATIONS[operation]
    if operation == "replace_gateway":
        body = {**body, "url": world["u"]}
    kwargs = {} if body is None else {"body": body}
    return api.as_token(token).call(method, path.format(**world), **kwargs)


@pytest.mark.parametrize("scope", ["send", "read", "admin"])
def test_each_scope_may_do_exactly_what_it_should(api, tokens, world, scope):  # noqa: F811
    token = getattr(tokens, scope)
    for operation in OPERATIONS:
        # Each call starts from a world where the call can succeed.
        if operation == "cancel":
            world["m"] = api.as_token(tokens.send).post("messages", SMS).json()["id"]
        if operation == "delete_gateway":
            api.as_token(tokens.admin).post("gateways", OPERATIONS["create_gateway"][2])
        answer = call(api, token, operation, world)
        if operation in ALLOWED[scope]:
            assert answer.status < 400, (scope, operation, answer.status, answer.body[:300])
        else:
            body = assert_error(answer, 403, "Authorization")
            assert f"has scope {scope}" in body["message"], (operation, body)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "is missing"),
        ("Basic dXNlcjpwYXNz", "must be Bearer <token>"),
        ("Bearer", "must be Bearer <token>"),
        ("Bearer sg_not-a-real-token", "is not a token smsgate knows"),
        ("Bearer " + "x" * 300, "is not a token smsgate issued"),
    ],
)
def test_without_a_valid_token_every_operation_is_a_401(api, world, header, reason):  # noqa: F811
    for operation in OPERATIONS:
        method, path, body = OPERATIONS[operation]
        anonymous = api.as_token(None)
        headers = {"Authorization": header} if header else {}
        kwargs = {} if body is None else {"body": body}
        answer = anonymous.call(method, path.format(**world), headers=headers, **kwargs)
        error = assert_error(answer, 401, "Authorization")
        assert reason in error["message"]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working_at_once(api, tokens, world):  # noqa: F811
    sender = api.as_token(tokens.send)
    assert sender.get("messages").status == 200
    token = Token.objects.get(name="billing")
    assert api.delete(f"tokens/{token.pk}").status == 204
    error = assert_error(sender.get("messages"), 401, "Authorization")
    assert "'billing' was revoked" in error["message"]
    revoked_at = Token.objects.get(pk=token.pk).revoked_at
    assert api.delete(f"tokens/{token.pk}").status == 204  # again: no change
    assert Token.objects.get(pk=token.pk).revoked_at == revoked_at
    assert_error(api.delete("tokens/987654"), 404, "id")


def test_tokens_are_stored_hashed_and_shown_once(api):  # noqa: F811
    answer = api.post("tokens", {"name": "crm", "scope": "send"})
    assert answer.status == 201
    created = answer.json()
    text = created["token"]
    assert text.startswith("sg_") and created["prefix"] == text[:10]
    stored = Token.objects.get(pk=created["id"])
    assert stored.token_hash == Token.digest(text) and text not in json.dumps(
        list(Token.objects.values()), default=str
    )
    listed = {t["id"]: t for t in api.get("tokens").json()}
    assert "token" not in listed[created["id"]]
    assert listed[created["id"]]["scope"] == "send"
    assert api.as_token(text).get("messages").status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scope": "root"}, "scope"),
        ({"scope": "read"}, "name"),
        ({"name": "", "scope": "read"}, "name"),
    ],
)
def test_a_bad_token_request_is_a_422(api, body, field):  # noqa: F811
    assert_error(api.post("tokens", body), 422, field)


def test_last_use_is_recorded_to_the_minute(api, tokens, world):  # noqa: F811
    token = Token.objects.get(name="reports")
    assert token.last_used_at is None
    api.as_token(tokens.read).get("stats")
    first = Token.objects.get(pk=token.pk).last_used_at
    assert first is not None
    api.as_token(tokens.read).get("stats")
    assert Token.objects.get(pk=token.pk).last_used_at == first  # within the minute: no write
    Token.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    snapshot.forget()  # update() sends no signal; as if the token's second in memory had passed
    api.as_token(tokens.read).get("stats")
    assert Token.objects.get(pk=token.pk).last_used_at > first - timedelta(seconds=1)
    assert [t["last_used_at"] for t in api.get("tokens").json() if t["name"] == "reports"] != [None]


def smsgate(*args):
    out = io.StringIO()
    call_command("tokens", *args, stdout=out)
    return out.getvalue()


def test_the_cli_prints_only_the_token_so_a_script_can_capture_it(transactional_db):
    result = subprocess.run(
        [sys.executable, "-m", "smsgate", "tokens", "create", "billing", "--scope", "send"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
    )
    text = result.stdout.strip()
    assert text.startswith("sg_") and "\n" not in text
    assert Token.objects.get(token_hash=Token.digest(text)).scope == "send"


def test_the_cli_lists_and_revokes_by_id_or_unique_name(transactional_db):
    smsgate("create", "billing", "--scope", "send")
    smsgate("create", "ops", "--scope", "admin")
    listed = smsgate("list")
    assert "billing" in listed and "ops" in listed and "never used" in listed
    assert smsgate("revoke", "billing").startswith("revoked token")
    assert Token.objects.get(name="billing").revoked_at is not None
    assert "already revoked" in smsgate("revoke", str(Token.objects.get(name="billing").pk))
    data = json.loads(smsgate("list", "--json"))
    assert {t["name"]: t["revoked_at"] is not None for t in data} == {"billing": True, "ops": False}

    smsgate("create", "twin", "--scope", "read")
    smsgate("create", "twin", "--scope", "read")
    with pytest.raises(CommandError, match="2 live tokens are named 'twin'"):
        smsgate("revoke", "twin")
    with pytest.raises(CommandError, match="there is no token 4242"):
        smsgate("revoke", "4242")
    with pytest.raises(CommandError, match="no live token named 'ghost'"):
        smsgate("revoke", "ghost")
    with pytest.raises(CommandError):
        smsgate("create", "x", "--scope", "root")
