import pytest
import web_helpers
from web_helpers import field_errors, page_text

from smsgate.api.models import Token

pytestmark = pytest.mark.django_db

PAGE = "/config/api-tokens/"
admin_client = web_helpers.admin_client
operator_client = web_helpers.operator_client


def test_an_admin_creates_a_token_and_sees_it_once(admin_client):
    response = admin_client.post(PAGE, {"name": "billing", "scope": "send"})
    shown = response.context["shown"]
    token = Token.objects.get()
    assert (token.name, token.scope, token.token_hash) == ("billing", "send", Token.digest(shown))
    assert shown in page_text(response)
    assert shown not in page_text(admin_client.get(PAGE))  # once
    api = admin_client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {shown}")
    assert api.status_code == 200


def test_a_revoked_token_stops_working(admin_client):
    token, text = Token.issue("old", "read")
    admin_client.post(f"{PAGE}{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert admin_client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {text}").status_code == 401


def test_a_token_needs_a_name(admin_client):
    response = admin_client.post(PAGE, {"name": " ", "scope": "send"})
    assert "is required" in " ".join(field_errors(response, "name"))
    assert not Token.objects.exists()


def test_operators_cannot_manage_tokens(operator_client):
    assert operator_client.get(PAGE).status_code == 403
    assert operator_client.post(PAGE, {"name": "x", "scope": "admin"}).status_code == 403
    assert not Token.objects.exists()
