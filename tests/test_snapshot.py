"""The configuration kept in memory for a second: changes made here apply at once, others within the bound."""

import subprocess
import sys
import time

import pytest
from conftest import subprocess_env
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from test_api_support import api, assert_error, inproc, tokens  # noqa: F401

from smsgate.api.models import Token
from smsgate.gateways import snapshot
from smsgate.gateways.models import Gateway, SiteSettings

pytestmark = pytest.mark.django_db(transaction=True)

SMS = {"to": "+61491570156", "text": "hi"}


def test_a_send_with_the_configuration_in_memory_makes_one_query(inproc, make_gateway):  # noqa: F811
    make_gateway()
    SiteSettings.load()  # created on first use, which clears what is kept
    assert inproc.post("messages", SMS).status == 202
    with CaptureQueriesContext(connection) as queries:
        assert inproc.post("messages", SMS).status == 202
    statements = [q["sql"].split()[0] for q in queries]
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["INSERT"]


def test_a_gateway_saved_in_this_process_is_used_at_once(api, make_gateway):  # noqa: F811
    make_gateway()
    assert api.post("messages", SMS).json()["gateway"] == "fake"
    make_gateway(name="australia", prefixes=["+61"])
    assert api.post("messages", SMS).json()["gateway"] == "australia"
    gateway = Gateway.objects.get(name="australia")
    gateway.enabled = False
    gateway.save()
    assert api.post("messages", SMS).json()["gateway"] == "fake"
    make_gateway(name="spare")
    assert "spare" in snapshot.gateways()
    Gateway.objects.filter(name="spare").delete()
    assert_error(api.post("messages", {**SMS, "gateway": "spare"}), 422, "gateway")


def test_site_settings_saved_in_this_process_apply_at_once(api, make_gateway):  # noqa: F811
    make_gateway()
    national = {"to": "0491 570 156", "text": "hi"}
    assert_error(api.post("messages", national), 422, "to")  # not a US number
    site = SiteSettings.load()
    site.default_region = "AU"
    site.save()
    assert api.post("messages", national).json()["to"] == "+61491570156"


def test_a_change_no_signal_announces_is_seen_within_the_bound(api, make_gateway):  # noqa: F811
    make_gateway()
    assert api.post("messages", SMS).status == 202
    Gateway.objects.update(enabled=False)  # as another process would: this process hears nothing
    assert api.post("messages", SMS).status == 202  # the gateways read a moment ago
    time.sleep(snapshot.MAX_AGE_SECONDS)
    assert_error(api.post("messages", SMS), 422, "gateway")


def test_a_token_revoked_without_a_signal_is_refused_within_the_bound(api, tokens, make_gateway):  # noqa: F811
    make_gateway()
    sender = api.as_token(tokens.send)
    assert sender.post("messages", SMS).status == 202  # creates the site settings row, which clears all
    assert sender.post("messages", SMS).status == 202  # keeps the token
    Token.objects.filter(name="billing").update(revoked_at=timezone.now())  # as another process would
    assert sender.post("messages", SMS).status == 202  # the token as read a moment ago
    time.sleep(snapshot.MAX_AGE_SECONDS)
    error = assert_error(sender.post("messages", SMS), 401, "Authorization")
    assert "'billing' was revoked" in error["message"]


def test_a_token_revoked_by_another_process_is_refused_within_the_bound(api, tokens, make_gateway):  # noqa: F811
    make_gateway()
    sender = api.as_token(tokens.send)
    assert sender.post("messages", SMS).status == 202
    assert sender.post("messages", SMS).status == 202
    argv = [sys.executable, "-m", "smsgate", "tokens", "revoke", "billing"]
    subprocess.run(argv, env=subprocess_env(), check=True, capture_output=True)
    time.sleep(snapshot.MAX_AGE_SECONDS)
    assert_error(sender.post("messages", SMS), 401, "Authorization")


def test_what_a_transaction_read_is_not_kept_for_others(make_gateway):
    make_gateway()
    with transaction.atomic():
        make_gateway(name="uncommitted")
        assert "uncommitted" in snapshot.gateways()  # this transaction sees its own write
        transaction.set_rollback(True)
    assert list(snapshot.gateways()) == ["fake"]


def test_a_flush_clears_what_is_kept(make_gateway):
    make_gateway()
    assert list(snapshot.gateways()) == ["fake"]
    call_command("flush", interactive=False, verbosity=0)
    assert snapshot.gateways() == {}


def test_unknown_tokens_are_not_kept(api):  # noqa: F811
    before = len(snapshot._entries)
    for i in range(20):
        assert api.as_token(f"sg_guess{i}").get("messages").status == 401
    assert len(snapshot._entries) == before  # else each guess would hold memory until the next change
