"""Shared by the web page tests: logged-in clients for both roles, and reading an error next to its field."""

import html
import re
from html.parser import HTMLParser

import pytest

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The default hasher spends half a second per password on purpose; tests log in dozens of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("ada", password=PASSWORD)
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(client, django_user_model):
    user = django_user_model.objects.create_user("otto", password=PASSWORD)
    client.force_login(user)
    return client


class _FieldErrors(HTMLParser):
    """Collects the text of <p class="error"> inside the element with data-field="<name>"."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.depth = 0  # open elements inside the field's element, 0 = outside
        self.in_error = False
        self.errors: list[str] = []
        self.found = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            if tag not in ("input", "br", "img", "meta", "link"):
                self.depth += 1
            if tag == "p" and "error" in (attrs.get("class") or "").split():
                self.in_error = True
                self.errors.append("")
        elif attrs.get("data-field") == self.name:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if tag == "p":
                self.in_error = False

    def handle_data(self, data):
        if self.in_error:
            self.errors[-1] += data


def field_errors(response, name: str) -> list[str]:
    """The error lines next to field `name` (its data-field element); fails if there is no such field."""
    parser = _FieldErrors(name)
    parser.feed(response.content.decode())
    assert parser.found, f"the page has no field {name!r}"
    return [" ".join(e.split()) for e in parser.errors]


def page_text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(text).split())


class _FormValues(HTMLParser):
    """What a browser would post for the form with class `css_class`, as {name: [values]}."""

    def __init__(self, css_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.css_class = css_class
        self.inside = False
        self.values: dict[str, list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = self.css_class in (attrs.get("class") or "").split()
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.values.setdefault(name, []).append(
                attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
            )
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.values.setdefault(self.select, []).append(attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.values.setdefault(name, []).append("")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea][-1] += data


def form_values(response, css_class: str) -> dict[str, list[str]]:
    parser = _FormValues(css_class)
    parser.feed(response.content.decode())
    # A browser drops the newline right after <textarea>, as the HTML parsing rules say.
    return {name: [v.removeprefix("\n") for v in values] for name, values in parser.values.items()}
