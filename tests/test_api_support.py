"""Shared by the test_api_* files: an HTTP client for the running app, and tokens of each scope.

`api` talks over real HTTP (urllib, no proxy) to the app as `smsgate serve` runs it (`served`); `inproc`
drives the same views through Django's test Client, for the few tests that must share the test's database
connection.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils.datastructures import CaseInsensitiveMapping

from smsgate.api.models import Token

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_MISSING = object()


@dataclass
class Answer:
    status: int
    headers: CaseInsensitiveMapping  # servers differ in how they spell header names
    body: bytes
    _parsed: Any = field(default=_MISSING, repr=False)

    @classmethod
    def of(cls, status: int, headers, body: bytes) -> "Answer":
        return cls(status, CaseInsensitiveMapping(dict(headers)), body)

    def json(self) -> Any:
        if self._parsed is _MISSING:
            self._parsed = json.loads(self.body)
        return self._parsed

    @property
    def fields(self) -> list[str]:
        """The fields an error body names."""
        return [d["field"] for d in self.json()["detail"]]


class Api:
    """Calls /api/v1 (or any path starting with /) with a bearer token; errors are answers, not raises."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def as_token(self, token: str | None) -> "Api":
        return type(self)(self.base_url, token)

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else f"/api/v1/{path}")

    def call(
        self,
        method: str,
        path: str,
        body: Any = _MISSING,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = raw if raw is not None else (None if body is _MISSING else json.dumps(body).encode())
        request = urllib.request.Request(self.url(path), data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with _opener.open(request, timeout=60) as response:
                return Answer.of(response.status, response.headers, response.read())
        except urllib.error.HTTPError as e:
            return Answer.of(e.code, e.headers, e.read())

    def get(self, path: str, **kw) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = _MISSING, **kw) -> Answer:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = _MISSING, **kw) -> Answer:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = _MISSING, **kw) -> Answer:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw) -> Answer:
        return self.call("DELETE", path, **kw)


class InProcessApi(Api):
    """The same interface through Django's test Client: same thread, same database connection."""

    def __init__(self, base_url: str = "", token: str | None = None):
        super().__init__(base_url, token)
        self.client = Client()

    def call(self, method, path, body=_MISSING, *, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else (b"" if body is _MISSING else json.dumps(body).encode())
        all_headers = dict(headers or {})
        if self.token is not None:
            all_headers["Authorization"] = f"Bearer {self.token}"
        response = self.client.generic(
            method, self.url(path), data=data, content_type=content_type, headers=all_headers
        )
        return Answer.of(response.status_code, response.headers, response.content)


@dataclass
class Tokens:
    send: str
    read: str
    admin: str
    other_send: str  # a second send token, to show a send token sees only its own messages


@pytest.fixture
def tokens(transactional_db) -> Tokens:
    return Tokens(
        send=Token.issue("billing", "send")[1],
        read=Token.issue("reports", "read")[1],
        admin=Token.issue("ops", "admin")[1],
        other_send=Token.issue("helpdesk", "send")[1],
    )


@pytest.fixture
def api(served, tokens) -> Api:
    """Over real HTTP, as an admin token; .as_token(tokens.send) for another."""
    return Api(served, tokens.admin)


@pytest.fixture
def inproc(tokens) -> InProcessApi:
    return InProcessApi(token=tokens.admin)


def assert_error(answer: Answer, status: int, *fields: str) -> dict:
    """The answer is the API's error shape with this status, naming these fields (in this order)."""
    assert answer.status == status, (answer.status, answer.body[:500])
    assert answer.headers.get("Content-Type", "").startswith("application/json")
    body = answer.json()
    assert set(body) == {"message", "detail"}
    assert answer.fields == list(fields), body
    for detail in body["detail"]:
        assert detail["message"]
        assert f"{detail['field']}: {detail['message']}" in body["message"]
    return body
