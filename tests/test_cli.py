import io
import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import SECRET, run_worker
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.outbox.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def smsgate(*args: str) -> str:
    out = io.StringIO()
    name, *rest = args
    call_command(name.replace("-", "_"), *rest, stdout=out)
    return out.getvalue()


GATEWAY = {
    "name": "burst",
    "url": "https://api.transmitsms.com/send-sms.json",
    "method": "POST",
    "content_type": "form",
    "payload": "to={{ phone_digits }}&message={{ message }}&from={{ sender }}",
    "headers": ["Authorization: Basic {{ (secrets.api_key ~ ':' ~ secrets.api_secret) | b64encode }}"],
    "secrets": {"api_key": "key1", "api_secret": SECRET},
    "success_response": "json:error.code==SUCCESS",
    "message_id_path": "message_id",
    "days_to_expire": 0.5,
}


def write(tmp_path, data, name="gw.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_import_creates_then_updates_by_name(tmp_path):
    assert smsgate("gateways", "import", write(tmp_path, GATEWAY)).strip() == "created burst"
    changed = {**GATEWAY, "days_to_expire": 2}
    assert smsgate("gateways", "import", write(tmp_path, [changed])).strip() == "updated burst"
    assert Gateway.objects.get(name="burst").days_to_expire == 2


def test_import_accepts_json(tmp_path):
    path = tmp_path / "gw.json"
    path.write_text(json.dumps([GATEWAY]))
    smsgate("gateways", "import", str(path))
    assert Gateway.objects.get().secrets["api_secret"] == SECRET


def test_an_invalid_import_changes_nothing_and_names_every_bad_field(tmp_path):
    good = {**GATEWAY, "name": "good"}
    bad = {
        **GATEWAY,
        "name": "bad",
        "method": "GET",
        "content_type": "json",
        "payload": "{{ phnoe }}",
        "days_to_expire": -1,
        "success_response": "re:(",
    }
    with pytest.raises(CommandError) as e:
        smsgate("gateways", "import", write(tmp_path, [good, bad]))
    message = str(e.value)
    assert message.startswith("nothing imported")
    for field in ("days_to_expire", "success_response"):
        assert f"gateway 2 (bad): {field}" in message
    assert not Gateway.objects.exists()


def test_templates_are_checked_at_import(tmp_path):
    with pytest.raises(CommandError) as e:
        smsgate("gateways", "import", write(tmp_path, {**GATEWAY, "payload": "to={{ phnoe }}"}))
    assert "payload" in str(e.value) and "phnoe" in str(e.value)
    with pytest.raises(CommandError) as e:
        smsgate("gateways", "import", write(tmp_path, {**GATEWAY, "method": "GET", "content_type": "json"}))
    assert "content_type" in str(e.value)


def test_export_masks_secrets_unless_asked(tmp_path):
    smsgate("gateways", "import", write(tmp_path, GATEWAY))
    masked = yaml.safe_load(smsgate("gateways", "export", "burst"))
    assert masked["secrets"] == {"api_key": "********", "api_secret": "********"}
    assert SECRET not in smsgate("gateways", "export")
    clear = yaml.safe_load(smsgate("gateways", "export", "burst", "--with-secrets"))
    assert clear["secrets"]["api_secret"] == SECRET
    assert {k: clear[k] for k in GATEWAY} == {**GATEWAY, "days_to_expire": 0.5}


def test_an_exported_file_imports_back_keeping_the_secrets(tmp_path):
    smsgate("gateways", "import", write(tmp_path, GATEWAY))
    exported = smsgate("gateways", "export", "--format", "json")
    path = tmp_path / "export.json"
    path.write_text(exported)
    assert smsgate("gateways", "import", str(path)).strip() == "updated burst"
    assert Gateway.objects.get().secrets["api_secret"] == SECRET


def test_gateways_list(tmp_path):
    smsgate(
        "gateways",
        "import",
        write(tmp_path, [GATEWAY, {**GATEWAY, "name": "au", "prefixes": ["+61"], "priority": 5}]),
    )
    first, second = smsgate("gateways", "list").splitlines()
    assert first.split()[:4] == ["au", "enabled", "5", "+61"]
    assert second.split()[:4] == ["burst", "enabled", "100", "any"]


def test_send_prints_the_id_and_queues(make_gateway):
    make_gateway()
    message_id = int(smsgate("send", "--to", "+14155552671", "--text", "hello").strip())
    assert Message.objects.get(pk=message_id).status == "queued"


@pytest.mark.parametrize(
    "args, field",
    [
        (["--to", "12ab", "--text", "x"], "to:"),
        (["--to", "+14155552671", "--text", ""], "text:"),
        (["--to", "+14155552671", "--text", "x", "--gateway", "nope"], "gateway:"),
        (["--to", "+14155552671", "--text", "x", "--expires-in", "-5"], "expires_in:"),
    ],
)
def test_send_refuses_bad_input_naming_the_field(make_gateway, args, field):
    make_gateway()
    with pytest.raises(CommandError) as e:
        smsgate("send", *args)
    assert str(e.value).startswith(field)
    assert not Message.objects.exists()


def test_national_numbers_use_the_default_region(make_gateway):
    make_gateway()
    smsgate("config", "--default-region", "au")
    data = json.loads(smsgate("send", "--to", "0491 570 156", "--text", "g'day", "--json"))
    assert data["phone"] == "+61491570156"


def test_messages_show_has_the_promised_fields(make_gateway):
    make_gateway()
    message_id = smsgate("send", "--to", "+14155552671", "--text", "€uro {braces}").strip()
    run_worker(drain=True)
    data = json.loads(smsgate("messages", "show", message_id, "--json"))
    for field in ("id", "phone", "text", "status", "gateway", "attempts", "last_error", "provider_message_id",
                  "encoding", "segments", "created_at", "sent_at", "expires_at"):  # fmt: skip
        assert field in data
    assert (data["status"], data["encoding"], data["segments"], data["attempts"]) == ("sent", "gsm7", 1, 1)
    assert data["attempt_log"][0]["outcome"] == "sent"
    listed = json.loads(smsgate("messages", "list", "--status", "sent", "--json"))
    assert [m["id"] for m in listed] == [int(message_id)]


def test_test_send_shows_request_response_and_verdict(make_gateway, fake_gateway):
    make_gateway()
    out = smsgate("test", "--phone", "+14155552671", "--text", "ping")
    assert "> POST " in out and "Bearer ********" in out
    assert "< HTTP 200" in out
    assert "Successful response matched" in out
    assert SECRET not in out
    assert Message.objects.get().status == "sent"


def test_a_failed_test_send_says_why_and_is_not_retried(make_gateway, fake_gateway):
    make_gateway()
    fake_gateway.set_mode(mode="error500")
    with pytest.raises(CommandError) as e:
        smsgate("test", "--phone", "+14155552671")
    assert "500" in str(e.value)
    message = Message.objects.get()
    assert message.status == "error" and "not retried" in message.last_error


def test_config_switches_sending(make_gateway):
    assert "sending_enabled  off" in smsgate("config", "--sending-enabled", "off")
    assert SiteSettings.load().sending_enabled is False
    with pytest.raises(CommandError):
        smsgate("config", "--default-region", "XX")


def test_init_creates_the_admin_once_and_prints_a_generated_password(monkeypatch):
    monkeypatch.delenv("SMSGATE_ADMIN_PASSWORD", raising=False)
    out = smsgate("init")
    password = out.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and admin.is_superuser
    assert "password" not in smsgate("init")
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_init_adds_the_demo_gateway_only_when_there_is_none(monkeypatch):
    monkeypatch.setenv("SMSGATE_ADMIN_PASSWORD", "pw-for-tests")
    smsgate("init", "--demo-gateway", "http://127.0.0.1:9999")
    assert Gateway.objects.get().url == "http://127.0.0.1:9999/send"
    Gateway.objects.update(url="http://example.invalid/send")
    smsgate("init", "--demo-gateway", "http://127.0.0.1:9999")
    assert Gateway.objects.get().url == "http://example.invalid/send"


def test_the_console_script_exits_non_zero_with_one_line_on_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "smsgate", "gateways", "import", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "SMSGATE_HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "cannot read" in result.stderr
