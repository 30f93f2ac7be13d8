"""Logging in and out, roles, password change, CSRF, and `smsgate users`."""

import io
import os
import subprocess
import sys

import pytest
import web_helpers
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from web_helpers import PASSWORD, field_errors, page_text

# The web page fixtures: admin_client, fast_passwords, operator_client.
admin_client = web_helpers.admin_client
fast_passwords = web_helpers.fast_passwords
operator_client = web_helpers.operator_client

pytestmark = pytest.mark.django_db


def users(*args: str) -> str:
    out = io.StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("url", ["/", "/logs/sms/", "/logs/sms/1/", "/config/sms/", "/test/", "/live.json"])
def test_every_page_sends_a_stranger_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def test_logging_in_leads_to_the_page_asked_for(client, django_user_model):
    django_user_model.objects.create_user("otto", password=PASSWORD)
    response = client.post(
        "/login/?next=/logs/sms/", {"username": "otto", "password": PASSWORD, "next": "/logs/sms/"}
    )
    assert response.status_code == 302 and response["Location"] == "/logs/sms/"


def test_a_wrong_password_is_refused_with_a_reason(client, django_user_model):
    django_user_model.objects.create_user("otto", password=PASSWORD)
    response = client.post("/login/", {"username": "otto", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in page_text(response)
    assert "_auth_user_id" not in client.session


def test_logging_out_takes_a_post_and_ends_the_session(operator_client):
    assert operator_client.get("/logout/").status_code == 405
    response = operator_client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert operator_client.get("/").status_code == 302


def test_an_operator_sees_no_config_link_and_gets_the_403_page(operator_client):
    dashboard = operator_client.get("/")
    assert "Config → SMS" not in page_text(dashboard) and "operator" in page_text(dashboard)
    response = operator_client.get("/config/sms/")
    assert response.status_code == 403
    assert "Not allowed" in page_text(response)


def test_an_operator_may_use_the_history_send_and_test_send(operator_client):
    for url in ("/", "/logs/sms/", "/test/", "/live.json", "/logs/sms/export.csv"):
        assert operator_client.get(url).status_code == 200, url


def test_an_administrator_sees_the_config_link(admin_client):
    assert 'href="/config/sms/"' in admin_client.get("/").content.decode()


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"old_password": "wrong", "new_password1": "a-new-secret-1", "new_password2": "a-new-secret-1"},
         "old_password", "Your old password was entered incorrectly"),
        ({"old_password": PASSWORD, "new_password1": "a-new-secret-1", "new_password2": "another-one-2"},
         "new_password2", "The two password fields didn’t match"),
        ({"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
         "new_password2", "too short"),
    ],
)  # fmt: skip
def test_a_bad_password_change_is_refused_next_to_the_field(operator_client, data, field, words):
    response = operator_client.post("/password/", data)
    assert any(words in e for e in field_errors(response, field)), field_errors(response, field)
    assert get_user_model().objects.get(username="otto").check_password(PASSWORD)


def test_a_password_change_takes_effect(operator_client):
    data = {"old_password": PASSWORD, "new_password1": "a-new-secret-1", "new_password2": "a-new-secret-1"}
    response = operator_client.post("/password/", data, follow=True)
    assert "Your password is changed." in page_text(response)
    assert get_user_model().objects.get(username="otto").check_password("a-new-secret-1")


def test_every_form_needs_its_csrf_token(django_user_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("ada", password=PASSWORD))
    for url in ("/", "/config/sms/", "/config/sms/new/", "/password/", "/logout/", "/test/"):
        response = client.post(url, {})
        assert response.status_code == 403, url
        assert "The form could not be accepted" in page_text(response)
    page = client.get("/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == 2  # the send form and the logout button


def test_users_add_creates_an_administrator_with_a_printed_password():
    out = users("add", "ada", "--role", "admin")
    assert out.startswith("Created admin 'ada' with password: ")
    user = get_user_model().objects.get(username="ada")
    assert user.is_superuser and user.is_staff
    assert user.check_password(out.strip().rsplit(" ", 1)[1])


def test_users_add_creates_an_operator_with_the_given_password():
    assert (
        users("add", "otto", "--role", "operator", "--password", PASSWORD).strip()
        == "Created operator 'otto'"
    )
    user = get_user_model().objects.get(username="otto")
    assert not user.is_superuser and not user.is_staff and user.check_password(PASSWORD)
    assert users("list").split() == ["otto", "operator"]


def test_users_add_refuses_an_existing_name_in_one_line():
    users("add", "ada", "--role", "admin")
    with pytest.raises(CommandError, match=r"^user 'ada' already exists$"):
        users("add", "ada", "--role", "operator")


def test_users_add_refuses_a_short_password():
    with pytest.raises(CommandError, match="--password: This password is too short"):
        users("add", "ada", "--role", "admin", "--password", "abc")
    assert not get_user_model().objects.exists()


def test_users_add_needs_a_known_role():
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        users("add", "ada", "--role", "boss")


@pytest.mark.parametrize("https, secure", [("true", "True"), ("false", "False")])
def test_smsgate_https_makes_the_cookies_secure(tmp_path, https, secure):
    env = {
        **os.environ,
        "SMSGATE_HTTPS": https,
        "SMSGATE_HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "smsgate.settings",
    }
    code = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LOGIN_URL)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [secure, secure, "/login/"]
