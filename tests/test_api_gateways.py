"""/gateways: create, read, replace, patch, delete, preview, test send — over real HTTP."""

import pytest
from conftest import SECRET
from test_api_support import api, assert_error, tokens  # noqa: F401

from smsgate.api.schemas import GatewayIn, GatewayOut, GatewayPatch
from smsgate.gateways.config import FIELDS
from smsgate.gateways.models import Gateway
from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

BURST = {
    "name": "burst",
    "url": "https://api.transmitsms.com/send-sms.json",
    "method": "POST",
    "content_type": "form",
    "payload": "to={{ phone_digits }}&message={{ message }}&from={{ sender }}",
    "headers": ["Authorization: Basic {{ (secrets.api_key ~ ':' ~ secrets.api_secret) | b64encode }}"],
    "secrets": {"api_key": "key1", "api_secret": SECRET},
    "success_response": "json:error.code==SUCCESS",
    "message_id_path": "message_id",
    "sender": "MyISP",
}


def test_a_created_gateway_comes_back_with_secrets_masked_and_its_dlr_url(api):  # noqa: F811
    answer = api.post("gateways", BURST)
    assert answer.status == 201, answer.body
    body = answer.json()
    assert body["secrets"] == {"api_key": "********", "api_secret": "********"}
    assert SECRET not in answer.body.decode()
    stored = Gateway.objects.get(name="burst")
    assert stored.secrets["api_secret"] == SECRET
    assert body["dlr_url"] == f"/api/v1/dlr/burst/{stored.dlr_secret}"
    assert body["timeout"] == 10 and body["enabled"] is True and body["dlr"] == {}
    assert api.get("gateways/burst").json() == body
    assert [g["name"] for g in api.get("gateways").json()] == ["burst"]
    assert SECRET not in api.get("gateways").body.decode()


def test_creating_a_name_that_exists_is_a_409(api):  # noqa: F811
    api.post("gateways", BURST)
    assert_error(api.post("gateways", BURST), 409, "name")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": "to={{ phnoe }}"}, "payload"),
        ({"payload": "{{ message"}, "payload"),
        ({"headers": ["Authorization: Bearer {{ secrets.missing }}"]}, "headers"),
        ({"success_response": "re:("}, "success_response"),
        ({"method": "GET", "content_type": "json"}, "content_type"),
        ({"method": "DELETE"}, "method"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 1e300}, "timeout"),
        ({"days_to_expire": -1}, "days_to_expire"),
        ({"name": "has space"}, "name"),
        ({"colour": "red"}, "colour"),
        ({"url": None}, "url"),
        ({"secrets": {"api_key": "********"}}, "secrets"),
        ({"dlr": {"message_id": "MessageSid"}}, "dlr"),
        ({"dlr": {"message_id": "id", "status": "s", "delivered": ["ok"], "oops": 1}}, "dlr.oops"),
        ({"payload": "nul\x00"}, "payload"),
    ],
)
def test_an_invalid_gateway_is_a_422_naming_the_field_and_changes_nothing(api, change, field):  # noqa: F811
    answer = api.post("gateways", {**BURST, **change})
    body = assert_error(answer, 422, *answer.fields)
    assert field in answer.fields, body
    assert not Gateway.objects.exists()


def test_put_replaces_every_field_and_keeps_masked_secrets(api):  # noqa: F811
    created = api.post("gateways", BURST).json()
    edited = {**created, "payload": "to={{ phone }}&text={{ message }}", "sender": ""}
    del edited["dlr_url"]
    answer = api.put("gateways/burst", edited)
    assert answer.status == 200, answer.body
    stored = Gateway.objects.get(name="burst")
    assert stored.payload == "to={{ phone }}&text={{ message }}"
    assert stored.secrets == BURST["secrets"]  # "********" kept the stored values
    # Fields left out take their defaults: a PUT is the whole gateway.
    answer = api.put("gateways/burst", {"name": "burst", "url": "https://example.com/send"})
    assert answer.status == 200, answer.body
    stored.refresh_from_db()
    assert (stored.payload, stored.headers, stored.secrets, stored.sender) == ("", [], {}, "")


def test_put_and_patch_cannot_rename_or_reach_a_missing_gateway(api):  # noqa: F811
    api.post("gateways", BURST)
    assert_error(api.put("gateways/burst", {**BURST, "name": "other"}), 422, "name")
    assert_error(api.patch("gateways/burst", {"name": "other"}), 422, "name")
    assert_error(api.put("gateways/ghost", {**BURST, "name": "ghost"}), 404, "name")
    assert_error(api.patch("gateways/ghost", {"enabled": False}), 404, "name")
    assert_error(api.get("gateways/ghost"), 404, "name")
    assert_error(api.get("gateways/not%20a%20slug"), 422, "name")


def test_patch_merges_fields_and_secrets(api):  # noqa: F811
    api.post("gateways", {**BURST, "secrets": {**BURST["secrets"], "spare": "x"}})
    answer = api.patch(
        "gateways/burst", {"enabled": False, "secrets": {"api_key": "key2", "spare": None}, "sender": None}
    )
    assert answer.status == 200, answer.body
    stored = Gateway.objects.get(name="burst")
    assert stored.enabled is False
    assert stored.secrets == {"api_key": "key2", "api_secret": SECRET}  # merged; null removed "spare"
    assert stored.sender == ""  # null: back to the default
    assert stored.payload == BURST["payload"]  # untouched
    assert_error(api.patch("gateways/burst", {"payload": "{{ nope }}"}), 422, "payload")
    assert Gateway.objects.get(name="burst").payload == BURST["payload"]


def test_dlr_settings_can_be_set_patched_and_turned_off(api):  # noqa: F811
    dlr = {"message_id": "MessageSid", "status": "MessageStatus", "delivered": ["delivered"]}
    answer = api.post("gateways", {**BURST, "dlr": dlr})
    assert answer.json()["dlr"] == {**dlr, "undelivered": []}
    answer = api.patch("gateways/burst", {"dlr": {"undelivered": ["failed"]}})
    assert answer.json()["dlr"] == {**dlr, "undelivered": ["failed"]}
    assert api.patch("gateways/burst", {"dlr": None}).json()["dlr"] == {}


def test_a_gateway_with_messages_cannot_be_deleted_but_can_be_disabled(api, tokens, make_gateway):  # noqa: F811
    make_gateway()
    api.post("gateways", BURST)
    assert api.delete("gateways/burst").status == 204
    assert not Gateway.objects.filter(name="burst").exists()
    assert_error(api.delete("gateways/burst"), 404, "name")

    api.as_token(tokens.send).post("messages", {"to": "+61491570156", "text": "hi"})
    body = assert_error(api.delete("gateways/fake"), 409, "name")
    assert "1 message(s)" in body["message"] and '"enabled": false' in body["message"]
    assert Gateway.objects.filter(name="fake").exists()


def test_preview_shows_the_request_with_secrets_masked_and_sends_nothing(api, fake_gateway):  # noqa: F811
    api.post("gateways", BURST)
    answer = api.post("gateways/burst/preview", {"to": "+61491570156", "text": 'Hi "Ann" & co'})
    assert answer.status == 200, answer.body
    request = answer.json()
    assert request["method"] == "POST"
    assert request["url"] == BURST["url"]
    assert request["body"] == "to=61491570156&message=Hi+%22Ann%22+%26+co&from=MyISP"
    assert request["headers"]["Authorization"] == "Basic ********"
    assert SECRET not in answer.body.decode()
    assert not Message.objects.exists()
    assert_error(api.post("gateways/burst/preview", {"to": "nope", "text": "x"}), 422, "to")
    assert_error(api.post("gateways/burst/preview", {"to": "+61491570156"}), 422, "text")
    assert_error(api.post("gateways/ghost/preview", {"to": "+61491570156", "text": "x"}), 404, "name")


def test_a_test_send_goes_out_now_and_reports_the_exchange(api, make_gateway, fake_gateway):  # noqa: F811
    make_gateway()
    answer = api.post("gateways/fake/test", {"to": "+61491570156", "text": "Test from the API"})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["matched"] is True and body["outcome"] == "sent"
    assert body["response"]["status"] == 200
    assert body["request"]["headers"]["Authorization"] == "Bearer ********"
    assert body["duration_ms"] >= 0
    assert body["message"]["status"] == "sent"
    assert [r["text"] for r in fake_gateway.received()] == ["Test from the API"]

    fake_gateway.set_mode(mode="error200")
    body = api.post("gateways/fake/test", {"to": "+61491570156"}).json()
    assert body["matched"] is False and body["outcome"] == "failed"
    assert body["reason"] and body["message"]["status"] == "error"
    assert SECRET not in api.get(f"messages/{body['message']['id']}").body.decode()
    assert_error(api.post("gateways/fake/test", {"to": "12"}), 422, "to")


def test_the_api_schemas_cover_every_gateway_field():
    """A field added to gateways.config.FIELDS must be added to the API's schemas too (or this fails)."""
    assert set(GatewayIn.model_fields) == set(FIELDS)
    assert set(GatewayPatch.model_fields) == set(FIELDS)
    assert set(GatewayOut.model_fields) == {*FIELDS, "dlr_url"}


def test_routing_and_throttling_fields_round_trip(api):  # noqa: F811
    routing = {"priority": 5, "prefixes": "+61, 64", "failover": True, "rate_limit": 2.5, "max_segments": 3}
    answer = api.post("gateways", {**BURST, **routing, "max_in_flight": 10, "unicode": "transliterate"})
    assert answer.status == 201, answer.body
    body = answer.json()
    assert body["prefixes"] == ["+61", "+64"]
    assert (body["priority"], body["failover"], body["rate_limit"]) == (5, True, 2.5)
    assert (body["max_in_flight"], body["max_segments"], body["unicode"]) == (10, 3, "transliterate")
    assert_error(api.patch("gateways/burst", {"priority": 10**12}), 422, "priority")
    assert_error(api.patch("gateways/burst", {"prefixes": ["+abc"]}), 422, "prefixes")
    assert api.patch("gateways/burst", {"prefixes": None}).json()["prefixes"] == []
