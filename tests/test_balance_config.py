"""The `balance` block of a gateway: what import files, the API and the page may set, and what is refused."""

from datetime import timedelta

import pytest

from smsgate.balance.config import balance_request, clean_balance, period_length
from smsgate.gateways.config import InvalidGateway, export_gateway, import_gateways, save_gateway
from smsgate.gateways.models import Gateway

BASE = {"enabled": True, "url": "https://api.example.com/balance", "field": "balance"}


def test_an_empty_block_means_no_balance_checks():
    assert clean_balance(None) == {}
    assert clean_balance({}) == {}


def test_a_block_is_stored_with_every_default_filled_in():
    assert clean_balance(BASE) == {
        **BASE,
        "method": "GET",
        "payload": "",
        "period": "day",
        "email": [],
        "email_only_when_low": False,
        "dashboard_notification": True,
        "pause_when_low": False,
    }


@pytest.mark.parametrize(
    "given, stored",
    [
        ({"method": "post"}, {"method": "POST"}),
        ({"period": "Week"}, {"period": "week"}),
        ({"period": 15}, {"period": 15}),
        ({"period": 90.5}, {"period": 90.5}),
        ({"email": "ops@example.com"}, {"email": ["ops@example.com"]}),
        ({"email": "a@example.com, b@example.com"}, {"email": ["a@example.com", "b@example.com"]}),
        ({"email": ["a@example.com"]}, {"email": ["a@example.com"]}),
        ({"minimum_balance": 50}, {"minimum_balance": 50}),
        ({"minimum_balance": -10.5}, {"minimum_balance": -10.5}),
        ({"field": "data.account.balance"}, {"field": "data.account.balance"}),
        ({"field": r"re:CREDITS:([\d.]+)"}, {"field": r"re:CREDITS:([\d.]+)"}),
        ({"headers": {"X-Key": "{{ secrets.key }}"}}, {"headers": ["X-Key: {{ secrets.key }}"]}),
        ({"content_type": "JSON"}, {"content_type": "json"}),
        ({"minimum_balance": 5, "pause_when_low": True}, {"pause_when_low": True}),
        ({"email": "a@example.com", "email_only_when_low": True}, {"email_only_when_low": True}),
    ],
)
def test_it_accepts_and_normalises(given, stored):
    cleaned = clean_balance({**BASE, **given})
    assert {k: cleaned[k] for k in stored} == stored


@pytest.mark.parametrize("unset", [{"headers": None}, {"headers": []}, {"minimum_balance": None}])
def test_unset_optional_settings_are_left_out(unset):
    (name,) = unset
    assert name not in clean_balance({**BASE, **unset})


@pytest.mark.parametrize(
    "given, error",
    [
        ("yes", "must be a mapping of balance settings"),
        ({**BASE, "limit": 5}, "unknown balance setting(s) limit"),
        ({**BASE, "enabled": "yes"}, "balance.enabled: must be true or false"),
        ({"enabled": True, "field": "balance"}, "balance.url: is required when balance checks are enabled"),
        ({**BASE, "field": ""}, "balance.field: is required when balance checks are enabled"),
        ({**BASE, "field": "re:no group"}, "balance.field: "),
        ({**BASE, "field": "re:(a)(b)"}, "exactly one (group)"),
        ({**BASE, "field": "balance==5"}, "balance.field: "),
        ({**BASE, "field": "data..balance"}, "balance.field: "),
        ({**BASE, "method": "PUT"}, "balance.method: must be GET or POST"),
        (
            {**BASE, "period": "fortnight"},
            "balance.period: must be hour, day, week, month or a number of minutes",
        ),
        ({**BASE, "period": 0}, "balance.period: must be between 1 and"),
        ({**BASE, "period": True}, "balance.period: "),
        ({**BASE, "email": "not-an-address"}, "balance.email: 'not-an-address' is not an email address"),
        ({**BASE, "email": 5}, "balance.email: must be an address or a list of addresses"),
        ({**BASE, "minimum_balance": "50"}, "balance.minimum_balance: must be a number"),
        ({**BASE, "minimum_balance": float("nan")}, "balance.minimum_balance: must be a finite number"),
        ({**BASE, "minimum_balance": True}, "balance.minimum_balance: must be a number"),
        ({**BASE, "headers": "X-A: 1"}, "balance.headers: must be a list"),
        ({**BASE, "content_type": "yaml"}, "balance.content_type: must be json, form or xml"),
        ({**BASE, "pause_when_low": True}, "balance.pause_when_low: needs minimum_balance"),
        ({**BASE, "email_only_when_low": True}, "balance.email_only_when_low: needs email"),
        ({**BASE, "dashboard_notification": 1}, "balance.dashboard_notification: must be true or false"),
    ],
)
def test_it_refuses_with_the_setting_named(given, error):
    with pytest.raises(ValueError) as refused:
        clean_balance(given)
    assert error in str(refused.value)


def gateway(**balance) -> dict:
    return {
        "name": "acme",
        "url": "https://api.example.com/send",
        "payload": "to={{ phone }}&text={{ message }}",
        "headers": ["Authorization: Bearer {{ secrets.key }}"],
        "secrets": {"key": "k-123"},
        "balance": {**BASE, **balance},
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "balance, error",
    [
        (
            {"url": "https://x.example/b?k={{ secrets.nope }}"},
            "balance.url: uses secrets.nope but the gateway has no",
        ),
        ({"url": "https://x.example/b?to={{ phone }}"}, "balance.url: {{ phone }} cannot be used here"),
        ({"url": "https://x.example/b?to=%TO%"}, "balance.url: {{ phone }} cannot be used here"),
        ({"headers": ["X-Text: {{ message }}"]}, "balance.headers: {{ message }} cannot be used here"),
        ({"url": "https://x.example/{{ secrets.key"}, "balance.url: line 1"),
        ({"url": "ftp://x.example/balance"}, "balance.url: must be an http:// or https:// URL"),
        ({"headers": ["no colon"]}, "balance.headers: 'no colon' is not 'Name: value'"),
        (
            {"method": "POST", "content_type": "json", "payload": '{"a": '},
            "balance.payload: not valid JSON once filled in",
        ),
    ],
)
def test_templates_are_checked_at_import_not_at_check_time(balance, error):
    with pytest.raises(InvalidGateway) as refused:
        save_gateway(gateway(**balance))
    assert error in refused.value.errors["balance"]
    assert not Gateway.objects.exists()


@pytest.mark.django_db
def test_an_export_imports_back_unchanged():
    block = {"email": "ops@example.com", "minimum_balance": 20, "period": 60, "pause_when_low": True}
    saved, _ = save_gateway(gateway(**block))
    exported = export_gateway(saved)
    import_gateways([exported])
    saved.refresh_from_db()
    assert export_gateway(saved) == exported
    assert exported["balance"]["email"] == ["ops@example.com"]


@pytest.mark.django_db
def test_the_gateways_headers_are_sent_unless_the_block_has_its_own():
    saved, _ = save_gateway(gateway())
    assert balance_request(saved).headers == ["Authorization: Bearer {{ secrets.key }}"]
    saved, _ = save_gateway(gateway(headers=["X-Key: {{ secrets.key }}"]))
    assert balance_request(saved).headers == ["X-Key: {{ secrets.key }}"]


@pytest.mark.parametrize(
    "period, length",
    [
        ("hour", timedelta(hours=1)),
        ("day", timedelta(days=1)),
        ("week", timedelta(weeks=1)),
        ("month", timedelta(days=30)),
        (15, timedelta(minutes=15)),
    ],
)
def test_periods(period, length):
    assert period_length({"period": period}) == length
