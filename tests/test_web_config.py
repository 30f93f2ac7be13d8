"""Config → SMS with the Django test client: every field's bad input is refused next to the field and
changes nothing; secrets are write-only; presets fill the page; Preview and Test send."""

import re

import pytest
import web_helpers
from conftest import SECRET
from web_helpers import field_errors, form_values, page_text

from smsgate.gateways.config import clean_gateway, export_gateway
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.presets import load_preset, preset_names
from smsgate.lib.mask import MASK
from smsgate.outbox.models import Message

# The web page fixtures: admin_client, fast_passwords, operator_client.
admin_client = web_helpers.admin_client
fast_passwords = web_helpers.fast_passwords
operator_client = web_helpers.operator_client

pytestmark = pytest.mark.django_db

NEW = "/config/sms/new/"


def form_data(**overrides) -> dict:
    """What the page posts for a valid JSON gateway; keyword arguments replace fields."""
    data = {
        "name": "acme",
        "url": "https://sms.example.com/send",
        "payload": '{"to": "{{ phone }}", "text": "{{ message }}"}',
        "method": "POST",
        "content_type": "json",
        "enabled": "on",
        "success_response": "json:status==ok",
        "days_to_expire": "1",
        "message_id_path": "message_id",
        "timeout": "10",
        "resend_on_timeout": "on",
        "headers": ["Authorization: Bearer {{ secrets.api_key }}", ""],
        "secret_name": ["api_key", ""],
        "secret_value": [SECRET, ""],
        "balance_method": "GET",
        "balance_period": "day",
        "balance_dashboard_notification": "on",
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_gateway_and_lands_on_its_page(admin_client):
    response = admin_client.post(NEW, form_data(), follow=True)
    assert response.redirect_chain[-1][0] == "/config/sms/acme/"
    assert "Added gateway acme." in page_text(response)
    gateway = Gateway.objects.get(name="acme")
    assert gateway.secrets == {"api_key": SECRET}
    assert gateway.headers == ["Authorization: Bearer {{ secrets.api_key }}"]
    assert gateway.days_to_expire == 1.0 and gateway.enabled and not gateway.debug
    assert gateway.balance == {}  # an untouched balance group stores nothing


def test_the_list_shows_each_gateway_with_a_link(admin_client, make_gateway):
    make_gateway()
    response = admin_client.get("/config/sms/")
    assert 'href="/config/sms/fake/"' in response.content.decode() and "Add a gateway" in page_text(response)


def test_editing_keeps_the_name_and_updates_the_fields(admin_client, make_gateway):
    make_gateway()
    data = form_data(name="renamed", days_to_expire="2.5", secret_value=[MASK, ""])
    response = admin_client.post("/config/sms/fake/", data)
    assert response.status_code == 302
    gateway = Gateway.objects.get()
    assert gateway.name == "fake" and gateway.days_to_expire == 2.5


def test_secrets_are_write_only(admin_client, make_gateway):
    make_gateway()
    page = admin_client.get("/config/sms/fake/").content.decode()
    assert SECRET not in page and MASK in page
    # ******** keeps the stored value ...
    admin_client.post("/config/sms/fake/", form_data(url="https://a.example/send", secret_value=[MASK, ""]))
    assert Gateway.objects.get().secrets == {"api_key": SECRET}
    # ... and a value typed anew replaces it.
    admin_client.post("/config/sms/fake/", form_data(secret_value=["new-key", ""]))
    assert Gateway.objects.get().secrets == {"api_key": "new-key"}


def test_an_empty_secret_is_saved_with_a_warning_to_type_it(admin_client):
    response = admin_client.post(NEW, form_data(secret_value=["", ""]), follow=True)
    assert "The secret api_key is empty: type its value before sending." in page_text(response)


def test_the_balance_group_is_stored_in_the_balance_block(admin_client):
    data = form_data(
        balance_enabled="on",
        balance_url="https://sms.example.com/balance",
        balance_field="data.balance",
        balance_method="GET",
        balance_period="hour",
        balance_email="ops@example.com",
        balance_dashboard_notification="on",
        balance_minimum_balance="12.5",
        balance_headers="Authorization: Bearer {{ secrets.api_key }}\n\n",
    )
    assert admin_client.post(NEW, data).status_code == 302
    balance = Gateway.objects.get().balance
    assert balance["enabled"] and balance["dashboard_notification"]
    assert balance["url"] == "https://sms.example.com/balance" and balance["field"] == "data.balance"
    assert balance["period"] == "hour" and balance["minimum_balance"] == 12.5
    assert balance["email"] == ["ops@example.com"]
    assert balance["headers"] == ["Authorization: Bearer {{ secrets.api_key }}"]


def test_a_balance_setting_the_checks_refuse_is_shown_next_to_its_input(admin_client):
    response = admin_client.post(NEW, form_data(balance_enabled="on", balance_url="https://x.example/b"))
    assert field_errors(response, "balance_field") == [
        "is required when balance checks are enabled (e.g. balance)"
    ]
    assert not Gateway.objects.exists()


BAD_INPUT = [
    # (what the page posts differently, where the error shows, words of the error)
    ({"payload": '{"to": "{{ phone }"}'}, "payload", "line 1"),
    ({"payload": '{"to": "{{ phnoe }}"}'}, "payload", "unknown placeholder {{ phnoe }}"),
    ({"payload": '{"to": {{ phone }}'}, "payload", "not valid JSON once filled in"),
    ({"payload": '{"key": "{{ secrets.nope }}"}'}, "payload", "no secret named nope"),
    ({"method": "GET"}, "content_type", "json needs method POST"),
    ({"url": "ftp://sms.example.com/send"}, "url", "must be an http:// or https:// URL"),
    ({"url": ""}, "url", "must be an http:// or https:// URL"),
    ({"days_to_expire": "-1"}, "days_to_expire", "must be from 0 to 365 days, not -1"),
    ({"days_to_expire": "ten"}, "days_to_expire", "must be a number of days, not 'ten'"),
    ({"days_to_expire": "nan"}, "days_to_expire", "must be a number of days"),
    ({"timeout": "0"}, "timeout", "must be from 0.1 to 300 seconds"),
    ({"success_response": "re:("}, "success_response", "not a valid regular expression"),
    ({"message_id_path": "re:no group"}, "message_id_path", "group"),
    ({"sender": "x" * 33}, "sender", "at most 32 characters"),
    ({"headers": ["Authorization Bearer"]}, "headers", "is not 'Name: value'"),
    ({"headers": ["X-Ok: {{ phnoe }}"]}, "headers", "unknown placeholder"),
    ({"secret_name": ["other"], "secret_value": [MASK]}, "secrets", "no value is stored for it; type it"),
    ({"secret_name": ["api_key", "api_key"], "secret_value": ["1", "2"]}, "secrets", "api_key appears twice"),
    ({"secret_name": [""], "secret_value": ["x"]}, "secrets", "a secret has a value but no name"),
    ({"balance_minimum_balance": "lots"}, "balance_minimum_balance", "must be a number, not 'lots'"),
    ({"balance_email": "not-an-address"}, "balance_email", "'not-an-address' is not an email address"),
    ({"balance_url": "https://x.example/{{ phone }}"}, "balance", "a balance request has no message"),
    ({"method": "PUT"}, "method", "Select a valid choice"),
]


@pytest.mark.parametrize("changes, shown_at, words", BAD_INPUT)
def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(
    admin_client, make_gateway, changes, shown_at, words
):
    make_gateway()
    before = export_gateway(Gateway.objects.get(), with_secrets=True)
    response = admin_client.post("/config/sms/fake/", form_data(**changes))
    assert response.status_code == 200
    errors = field_errors(response, shown_at)
    assert any(words in error for error in errors), errors
    assert "Nothing was saved" in page_text(response)
    after = Gateway.objects.get()
    assert export_gateway(after, with_secrets=True) == before


@pytest.mark.parametrize(
    "name, words",
    [
        ("bad name!", "must be 1-64 letters, digits, '-' or '_'"),
        ("", "must be 1-64"),
        ("fake", "exists already"),
    ],
)
def test_a_new_gateway_needs_a_free_valid_name(admin_client, make_gateway, name, words):
    make_gateway()
    response = admin_client.post(NEW, form_data(name=name))
    assert any(words in e for e in field_errors(response, "name"))
    assert Gateway.objects.count() == 1


def test_the_page_shows_help_and_the_placeholder_table(admin_client):
    text = page_text(admin_client.get(NEW))
    for words in (
        "Gateway URL",
        "Successful response",
        "Days to expire",
        "Custom headers",
        "Check SMS balance",
    ):
        assert words in text
    assert "{{ phone_digits }}" in text and "{{ secrets.NAME }}" in text and "%TO%" in text


def test_start_from_a_preset_fills_the_form(admin_client):
    response = admin_client.get(NEW + "?preset=demo")
    html = response.content.decode()
    assert 'value="http://127.0.0.1:9090/send"' in html
    assert "Filled in from the demo preset" in page_text(response)


def test_an_unknown_preset_says_so_and_shows_the_empty_form(admin_client):
    response = admin_client.get(NEW + "?preset=nope")
    assert "Could not use the preset nope" in page_text(response)


@pytest.mark.parametrize("name", [n for n in preset_names() if n != "demo"] or ["demo"])
def test_every_preset_fills_the_page_and_saves_as_written_once_its_secrets_are_typed(admin_client, name):
    page = admin_client.get(f"{NEW}?preset={name}")
    posted = form_values(page, "gateway-form")  # what the browser sends back, untouched
    preset = load_preset(name)
    secrets = [key for key in posted["secret_name"] if key]
    assert secrets == list(preset.get("secrets") or {})
    posted["secret_value"] = [f"typed-{key}" for key in secrets] + [""]
    response = admin_client.post(NEW, posted)
    assert response.status_code == 302, page_text(response)
    saved = export_gateway(Gateway.objects.get(name=name), with_secrets=True)
    expected = clean_gateway({**preset, "secrets": {key: f"typed-{key}" for key in secrets}})
    assert saved == expected


def test_preview_shows_the_request_masked_and_sends_nothing(admin_client, make_gateway, fake_gateway):
    make_gateway()
    response = admin_client.post(
        "/config/sms/fake/preview/", {"preview-phone": "+61491570156", "preview-text": 'Hi "there" & 50%'}
    )
    text = page_text(response)
    assert f"POST {fake_gateway.url}/send" in text
    assert "Authorization: Bearer ********" in text
    assert '"text": "Hi \\"there\\" & 50%"' in text
    assert SECRET not in response.content.decode()
    assert fake_gateway.received() == [] and not Message.objects.exists()


def test_preview_answers_a_fetch_with_its_panel_only(admin_client, make_gateway):
    make_gateway()
    response = admin_client.post(
        "/config/sms/fake/preview/", {"preview-phone": "+61491570156"}, headers={"X-Requested-With": "fetch"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card panel" id="preview-panel">')
    assert "Test SMS from smsgate" in html


def test_preview_refuses_a_bad_phone_next_to_the_field(admin_client, make_gateway):
    make_gateway()
    response = admin_client.post("/config/sms/fake/preview/", {"preview-phone": "12", "preview-text": "hi"})
    assert any("too short" in e or "not a phone" in e for e in field_errors(response, "phone"))


def test_test_send_shows_request_answer_time_and_verdict(admin_client, make_gateway, fake_gateway):
    make_gateway()
    response = admin_client.post("/config/sms/fake/test/", {"test-phone": "+61491570156", "test-text": ""})
    text = page_text(response)
    assert "Sent. The gateway answered 200 and the answer matched the Successful response" in text
    assert "json:status==ok" in text
    assert re.search(r"Took \d+ ms \. Kept in the history as SMS \d+", text), text
    assert "Authorization: Bearer ********" in text and SECRET not in text
    assert len(fake_gateway.received()) == 1
    assert Message.objects.get().status == Message.Status.SENT


def test_test_send_explains_why_an_answer_did_not_count(admin_client, make_gateway, fake_gateway):
    make_gateway()
    fake_gateway.set_mode(mode="error200")
    response = admin_client.post("/config/sms/fake/test/", {"test-phone": "+61491570156"})
    text = page_text(response)
    assert "Not sent." in text
    assert 'status is "error", not "ok" (Successful response)' in text
    assert Message.objects.get().status == Message.Status.ERROR


def test_test_send_refuses_a_bad_phone_next_to_the_field(admin_client, make_gateway, fake_gateway):
    make_gateway()
    response = admin_client.post("/config/sms/fake/test/", {"test-phone": "not a number"})
    assert any("letters" in e for e in field_errors(response, "phone"))
    assert fake_gateway.received() == [] and not Message.objects.exists()


def test_the_sending_switch_and_region_are_saved(admin_client):
    response = admin_client.post("/config/sms/", {"default_region": "au"}, follow=True)
    assert "Saved: sending is off, default region AU." in page_text(response)
    site = SiteSettings.load()
    assert not site.sending_enabled and site.default_region == "AU"


def test_an_unknown_region_is_refused_next_to_the_field(admin_client):
    response = admin_client.post("/config/sms/", {"sending_enabled": "on", "default_region": "ZZ"})
    assert field_errors(response, "default_region") == ["'ZZ' is not a known country code (e.g. AU, GB, US)"]
    site = SiteSettings.load()
    assert site.sending_enabled and site.default_region == "US"


def test_an_operator_is_refused_every_config_page(operator_client, make_gateway):
    make_gateway()
    for url in ("/config/sms/", NEW, "/config/sms/fake/"):
        response = operator_client.get(url)
        assert response.status_code == 403
        assert "Only administrators can see and change the gateway settings." in page_text(response)
    for url in ("/config/sms/", "/config/sms/fake/", "/config/sms/fake/preview/", "/config/sms/fake/test/"):
        assert operator_client.post(url, form_data(phone="+61491570156")).status_code == 403
    assert Gateway.objects.get().url.endswith("/send") and not Message.objects.exists()


def test_routing_and_limits_are_set_on_the_page(admin_client):
    fields = {"prefixes": "61, +64", "priority": "20", "failover": "on", "rate_limit": "15"}
    admin_client.post(NEW, form_data(**fields, max_in_flight="4", max_segments="3", unicode="transliterate"))
    gateway = Gateway.objects.get(name="acme")
    assert (gateway.prefixes, gateway.priority, gateway.failover) == (["+61", "+64"], 20, True)
    assert (gateway.rate_limit, gateway.max_in_flight, gateway.max_segments) == (15, 4, 3)
    assert gateway.unicode == "transliterate"


@pytest.mark.parametrize(
    "field, value, says",
    [("prefixes", "abc", "is not a number prefix"), ("priority", "first", "whole number"),
     ("rate_limit", "-1", "from 0 to 10000"), ("max_segments", "2.5", "whole number")],
)  # fmt: skip
def test_bad_routing_values_are_refused_next_to_their_field(admin_client, field, value, says):
    response = admin_client.post(NEW, form_data(**{field: value}))
    assert says in " ".join(response.context["form"].errors[field])
    assert not Gateway.objects.exists()
