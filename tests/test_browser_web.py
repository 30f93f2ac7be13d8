"""The web pages in Debian's chromium, headless: an administrator sets up a gateway from a preset and
sends, an operator is refused the config page, the live counter agrees with Python, the dashboard draws.

Playwright's sync API runs an event loop in the thread that starts it, and Django refuses database work in
a thread with a running loop; so the browser lives in a thread of its own and each test hands it steps
(`browser.run(steps)`), doing its database work in between on the test's thread.

SMSGATE_SCREENSHOTS=DIR writes one PNG per page into DIR (docs/screenshots/take.py does that).
"""

import csv
import io
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import run_worker
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.lib.segments import encoding_and_segments
from smsgate.outbox.enqueue import NewMessage, build_message, enqueue
from smsgate.outbox.models import Attempt, Message, WorkerHeartbeat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
SHOTS = os.environ.get("SMSGATE_SCREENSHOTS")
PHONE = "+61491570156"

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)


class Browser:
    """Chromium in a thread of its own; `run(steps, *args)` calls steps there and returns their result."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chromium")
        self.run(self._start)

    def _start(self) -> None:
        self._playwright = sync_playwright().start()
        self.chromium = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def run(self, steps, *args, timeout: float = 60):
        return self._thread.submit(steps, *args).result(timeout=timeout)

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        def open_page() -> Page:
            context = self.chromium.new_context(
                viewport={"width": width, "height": height}, accept_downloads=True
            )
            return context.new_page()

        return self.run(open_page)

    def close(self) -> None:
        def stop() -> None:
            self.chromium.close()
            self._playwright.stop()

        self.run(stop)
        self._thread.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. "
            "Install it with `make chromium` (apt-get install -y chromium).",
            pytrace=False,
        )
    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    browser.run(page.context.close)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def shot(page: Page, name: str, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page, animations="disabled")


def log_in(page: Page, base: str, name: str, screenshot: bool = False) -> None:
    page.goto(base + "/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    if screenshot:
        shot(page, "login")
    page.click("button:has-text('Log in')")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_an_administrator_sets_up_a_preset_gateway_and_sends(
    browser, page, served, fake_gateway, django_user_model
):
    django_user_model.objects.create_superuser("ada", password=PASSWORD)
    SiteSettings.objects.update_or_create(pk=1, defaults={"default_region": "AU"})
    base = served
    text = f"Hello from the browser {uuid.uuid4().hex[:8]}"

    def configure(page: Page) -> None:
        log_in(page, base, "ada", screenshot=True)
        page.click("nav >> text=Config → SMS")
        page.click("text=Add a gateway")
        page.select_option("#preset", "burstsms")  # the page fills itself in
        expect(page.locator("#id_url")).to_have_value("https://api.transmitsms.com/send-sms.json")
        expect(page.locator("#id_success_response")).to_have_value("json:error.code==SUCCESS")
        expect(page.locator("#id_name")).to_have_value("burstsms")
        page.fill(
            "#id_url", f"{fake_gateway.url}/send-sms.json"
        )  # the bundled fake gateway answers like BurstSMS
        secrets = page.locator("input[name=secret_value]")
        secrets.nth(0).fill("my-api-key")
        secrets.nth(1).fill("my-api-secret")
        page.click("text=Add a header")
        page.locator("input[name=headers]").last.fill("X-Client: smsgate")
        page.click("button:has-text('Add gateway')")
        expect(page.locator(".flash")).to_contain_text("Added gateway burstsms.")

    def preview(page: Page) -> None:
        page.fill("#id_days_to_expire", "2")  # typed, not saved: Preview must leave it as it is
        page.fill("#id_preview-phone", "0491 570 156")
        page.fill("#id_preview-text", "50% off & more")
        page.click("button:has-text('Preview')")
        request = page.get_by_test_id("preview")
        expect(request).to_contain_text(f"POST {fake_gateway.url}/send-sms.json")
        expect(request).to_contain_text("Authorization: Basic ********")
        expect(request).to_contain_text("X-Client: smsgate")
        expect(request).to_contain_text("to=61491570156&message=50%25+off+%26+more")
        expect(page.locator("#id_days_to_expire")).to_have_value("2")

    def test_send(page: Page) -> None:
        page.fill("#id_test-phone", PHONE)
        page.click("button:has-text('Send now')")
        verdict = page.get_by_test_id("verdict")
        expect(verdict).to_contain_text(
            "Sent. The gateway answered 200 and the answer matched the Successful"
        )
        expect(verdict).to_contain_text("json:error.code==SUCCESS")
        expect(page.locator("#test-panel")).to_contain_text("Took ")
        expect(page.locator("#test-panel")).to_contain_text('"code": "SUCCESS"')
        page.reload()  # a fresh page for the picture, with both panels filled again
        page.fill("#id_preview-phone", PHONE)
        page.click("button:has-text('Preview')")
        expect(page.get_by_test_id("preview")).to_be_visible()
        page.fill("#id_test-phone", PHONE)
        page.click("button:has-text('Send now')")
        expect(page.get_by_test_id("verdict")).to_be_visible()
        shot(page, "gateway")
        page.goto(base + "/config/sms/")
        shot(page, "gateways")

    def send(page: Page) -> None:
        page.goto(base + "/")
        page.fill("#id_phone", PHONE)
        page.fill("#id_text", text)
        expect(page.locator(".counter")).to_have_text(
            f"{len(text)} characters · GSM-7 · 1 SMS · {160 - len(text)} left in this part"
        )
        page.click("button:has-text('Send')")
        expect(page.locator(".flash")).to_contain_text(f"to {PHONE}.")

    browser.run(configure, page)
    saved = Gateway.objects.get(name="burstsms")
    assert saved.secrets == {"api_key": "my-api-key", "api_secret": "my-api-secret"}
    assert saved.headers[-1] == "X-Client: smsgate"
    browser.run(preview, page)
    assert fake_gateway.received() == []  # Preview sends nothing
    browser.run(test_send, page)
    assert len(fake_gateway.received()) == 2
    browser.run(send, page)
    message = Message.objects.get(text=text)
    run_worker(lambda: Message.objects.filter(pk=message.pk, status=Message.Status.SENT).exists())

    def find_it(page: Page) -> str:
        page.click("nav >> text=Logs → SMS")
        page.fill("#id_q", text.split()[-1])
        page.click("button:has-text('Filter')")
        rows = page.locator("table.history tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(PHONE)
        expect(rows.first).to_contain_text("Sent")
        with page.expect_download() as download:
            page.click("text=Export CSV")
        exported = Path(download.value.path()).read_text()
        rows.first.locator("td.wide").click()  # anywhere on the row opens it
        expect(page.locator("h1")).to_contain_text(f"SMS {message.pk}")
        expect(page.locator("main")).to_contain_text(text)
        expect(page.locator("main")).to_contain_text("GSM-7 · 1 SMS part")
        expect(page.locator(".attempt").first).to_contain_text("Sent")
        expect(page.locator(".attempt").first).to_contain_text("Authorization: Basic ********")
        shot(page, "message")
        return exported

    exported = browser.run(find_it, page)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["id"], r["phone"], r["text"], r["status"]) for r in rows] == [
        (str(message.pk), PHONE, text, "sent")
    ]


def test_an_operator_is_refused_the_config_page_but_may_test_send(
    browser, page, served, make_gateway, django_user_model
):
    django_user_model.objects.create_user("otto", password=PASSWORD)
    make_gateway(name="burstsms")
    base = served

    def steps(page: Page) -> None:
        log_in(page, base, "otto")
        expect(page.locator("nav.menu")).not_to_contain_text("Config")
        response = page.goto(base + "/config/sms/")
        assert response.status == 403
        expect(page.locator("h1")).to_have_text("Not allowed")
        expect(page.locator("main")).to_contain_text(
            "Only administrators can see and change the gateway settings."
        )
        shot(page, "403")
        page.click("nav >> text=Test send")
        page.fill("#id_test-phone", PHONE)
        page.fill("#id_test-text", "Is the gateway up?")
        page.click("button:has-text('Send now')")
        expect(page.get_by_test_id("verdict")).to_contain_text("Sent. The gateway answered 200")
        shot(page, "test_send")
        page.goto(base + "/password/")
        shot(page, "password")

    browser.run(steps, page)


COUNTER_CASES = [
    "",
    "Hello",
    "x" * 160,
    "x" * 161,
    "x" * 306,
    "x" * 307,
    "☺" * 134,
    "☺" * 135,
    "[" * 153,
    "€" * 80,
    "€" * 81,
    "[{}]~^|\\ and \f",
    "Grüße ☺",
    "café ’quoted’",
    "\u00a0non-breaking",
    "🙂" * 35,
    "🙂" * 36,
    "a" + "🙂" * 34,
    "x" * 152 + "€" + "x" * 10,
    "ΓΔΘ ÆØÅ æøå Ç ¿¡ §",
    "line\nbreak\r\n",
    "\x1b escape",
    "ç lower cedilla",
]


def test_the_live_counter_agrees_with_python(browser, page, served, django_user_model):
    django_user_model.objects.create_user("otto", password=PASSWORD)
    base = served

    def count(page: Page) -> list:
        log_in(page, base, "otto")
        results = page.evaluate("(texts) => texts.map((t) => window.smsgate.segments(t))", COUNTER_CASES)
        page.fill("#id_text", "Grüße ☺")
        expect(page.locator(".counter")).to_contain_text("Unicode (UCS-2) · 1 SMS")
        expect(page.locator(".counter")).to_contain_text("because of “☺”")
        return results

    results = browser.run(count, page)
    for text, result in zip(COUNTER_CASES, results, strict=True):
        assert (result["encoding"], result["segments"]) == encoding_and_segments(text), repr(text)


def test_the_dashboard_draws_30_days_and_counts_live(
    browser, page, served, fake_gateway, make_gateway, django_user_model
):
    django_user_model.objects.create_superuser("ada", password=PASSWORD)
    make_gateway(name="burstsms")
    make_gateway(name="vonage", enabled=False)
    _seed_history(days=30)
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="worker-1", started_at=now, last_seen=now)
    base = served

    def look(page: Page) -> None:
        page.clock.install()
        log_in(page, base, "ada")
        expect(page.locator("svg.chart rect.sent")).to_have_count(30)
        expect(page.locator("[data-live=queued]")).to_have_text("0")
        expect(page.locator("main")).not_to_contain_text("No worker is running")
        expect(page.locator("main")).to_contain_text("gateway answered 500")  # burstsms's last error
        shot(page, "dashboard")

    def counts_again(page: Page) -> None:
        page.clock.run_for(5_000)  # the dashboard polls every 5 s
        expect(page.locator("[data-live=queued]")).to_have_text("2")
        page.click("nav >> text=Logs → SMS")
        expect(page.locator("table.history tbody tr")).to_have_count(50)
        expect(page.locator(".pager")).to_contain_text("Older →")
        shot(page, "history", full_page=False)

    browser.run(look, page)
    enqueue(NewMessage(to=PHONE, text="one"))
    enqueue(NewMessage(to=PHONE, text="two"))
    browser.run(counts_again, page)

    phone = browser.new_page(width=390, height=844)

    def on_a_phone(phone: Page) -> None:
        log_in(phone, base, "ada")
        expect(phone.locator("svg.chart")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the dashboard is {width}px wide on a 390px screen"
        shot(phone, "dashboard-phone")
        phone.context.close()

    browser.run(on_a_phone, phone)


PHONES = ["+61491570156", "+61491570157", "+61491571266", "+61491572549", "+61491573770", "+61491578888"]
TEXTS = [
    "Your invoice #{n} of $49.00 is due on 1 Dec. Pay online at https://isp.example/pay",
    "Your verification code is {n}. It expires in 10 minutes.",
    "Planned maintenance tonight 01:00–03:00: the internet may drop for a few minutes.",
    "Service restored in your area. Thank you for your patience!",
    "Hi, your new router ships today. Tracking: AU{n}",
]
FAILURE = "gateway answered 500 (the gateway failed): Internal Server Error"


def _seed_history(days: int) -> None:
    """A month of sent and failed SMS with their attempts, in time order like real ones."""
    region = SiteSettings.load().default_region
    # Each day's SMS fall between its midnight and the time of day it is now, so that today has some
    # whenever the test runs (at 00:03, five hours before now is yesterday).
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    so_far = timezone.now() - midnight
    messages = []
    for day in range(days - 1, -1, -1):
        count = 8 + (day * 7) % 13
        for i in range(count):
            text = TEXTS[(day + i) % len(TEXTS)].format(n=48213 + day * 31 + i)
            new = NewMessage(to=PHONES[(day + i) % len(PHONES)], text=text, gateway="burstsms")
            message = build_message(new, region)
            failed = i % 9 == 4
            message.status = Message.Status.ERROR if failed else Message.Status.SENT
            sent_at = midnight - timedelta(days=day) + so_far * (i + 1) / (count + 1)
            message.created_at = message.sent_at = sent_at
            message.attempts_count = 1
            message.last_error = FAILURE if failed else ""
            messages.append(message)
    Message.objects.bulk_create(messages)
    Attempt.objects.bulk_create(
        Attempt(
            message=m,
            gateway_name="burstsms",
            started_at=m.created_at,
            duration_ms=180,
            http_status=500 if m.last_error else 200,
            outcome=Attempt.Outcome.FAILED if m.last_error else Attempt.Outcome.SENT,
            reason=m.last_error,
        )
        for m in messages
    )
