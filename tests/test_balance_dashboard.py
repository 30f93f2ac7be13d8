"""The balance card on the dashboard (web/_balance.html with the balance_tags template tag)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def balance_gateway(make_gateway, fake_gateway):
    def make(*, name: str = "fake", **balance):
        block = {"enabled": True, "url": f"{fake_gateway.url}/balance", "field": "balance", **balance}
        return make_gateway(name=name, balance=block)

    return make


def check_now():
    call_command("balance", "--no-email", stdout=StringIO(), stderr=StringIO())


def dashboard(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_low_balance_is_a_warning_until_a_reading_above_the_minimum(
    admin_client,
    balance_gateway,
    fake_gateway,
):
    fake_gateway.set_mode(balance=12.5)
    balance_gateway(minimum_balance=50)
    check_now()

    page = dashboard(admin_client)
    assert 'data-balance="low"' in page
    assert "is low:\n12.5, below the minimum of 50." in page
    assert '<span class="badge badge-error">low</span>' in page

    fake_gateway.set_mode(balance=80)
    check_now()

    page = dashboard(admin_client)
    assert "data-balance=" not in page
    assert "<strong>80</strong>" in page
    assert '<span class="badge badge-sent">ok</span>' in page


def test_a_failed_check_is_a_warning_with_its_reason(admin_client, balance_gateway, fake_gateway):
    balance_gateway()
    fake_gateway.set_mode(mode="error500")
    with pytest.raises(CommandError, match="balance check failed"):
        check_now()

    page = dashboard(admin_client)
    assert 'data-balance="failed"' in page
    assert "The last balance check of <strong>fake</strong> failed" in page
    assert "gateway answered 500" in page
    assert '<span class="badge badge-error">check failed</span>' in page


def test_the_dashboard_says_when_sending_is_paused(admin_client, balance_gateway, fake_gateway):
    fake_gateway.set_mode(balance=3)
    balance_gateway(minimum_balance=10, pause_when_low=True)
    check_now()

    page = dashboard(admin_client)
    assert 'data-balance="paused"' in page
    assert "is paused because the balance is low" in page


def test_only_gateways_with_dashboard_notification_are_shown(admin_client, balance_gateway):
    balance_gateway(name="quiet", dashboard_notification=False)
    assert "SMS balance" not in dashboard(admin_client)

    balance_gateway(name="shown")
    page = dashboard(admin_client)
    assert "SMS balance" in page
    assert "not checked yet" in page
    assert "quiet" not in page.split('id="balance-title"')[1].split("</section>")[0]
