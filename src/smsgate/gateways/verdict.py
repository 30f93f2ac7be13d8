"""Decide from a gateway's HTTP answer whether an SMS counts as sent.

Many gateways (Vonage, ClickSend, Textlocal, Africa's Talking) answer 200 even when the message failed, so
the status code alone cannot decide: the operator writes a rule per gateway and this module applies it.

Rule syntax (`success_response`, `failure_response`):
  ""                         any 2xx (success rule only)
  re:<regex>                 re.search on the body
  json:<path>==<value>       dotted path with array indexes (messages.0.status); compared as text
  json:<path>!=<value>       the path must be present and differ
  json:<path>                present and truthy
  anything else              substring of the body (the classic setting, e.g. "OK:")

`message_id_path` is a bare dotted path (messages.0.apiMessageId) or re: with exactly one group.
"""

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

BODY_LIMIT = 200
_VALUE_LIMIT = 60
_MISSING = object()
_NOT_JSON = object()
# The JSON number grammar: a rule value written like this may compare numerically (1e+20 == 1e20).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")


class RuleError(ValueError):
    """A success/failure/message-id rule that cannot work; the message is written for the operator."""


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "sent" | "failed" (temporary: retry) | "rejected" (permanent)
    reason: str
    provider_message_id: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class _JsonRule:
    path: tuple[str, ...]
    op: str  # "==", "!=", or "" for present-and-truthy
    value: str


def _compile_regex(pattern: str, rule: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RuleError(f'"{rule}" is not a valid regular expression: {exc}') from None


@functools.lru_cache(maxsize=256)
def _parse_path(text: str, rule: str) -> tuple[str, ...]:
    path = text.strip()
    if not path:
        raise RuleError(f'"{rule}" has an empty JSON path; write e.g. json:messages.0.status==0')
    segments = tuple(path.split("."))
    if "" in segments:
        raise RuleError(f'"{rule}" has an empty segment in its JSON path "{path}"')
    return segments


def _strip_quotes(value: str) -> str:
    # Quotes let the operator keep leading/trailing spaces or say plainly that the value is text.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _split_operator(spec: str) -> tuple[str, str, str]:
    """Split at the first == or != so that a value may itself contain "=" (base64, URLs)."""
    positions = [(spec.find(op), op) for op in ("==", "!=") if op in spec]
    if not positions:
        return spec, "", ""
    index, op = min(positions)
    return spec[:index], op, spec[index + 2 :]


@functools.lru_cache(maxsize=256)  # the same few rules judge every answer
def _parse_json_rule(rule: str) -> _JsonRule:
    path, op, value = _split_operator(rule.removeprefix("json:"))
    return _JsonRule(_parse_path(path, rule), op, _strip_quotes(value.strip()))


def _check_extraction(rule: str) -> None:
    if rule.startswith("re:"):
        groups = _compile_regex(rule[3:], rule).groups
        if groups != 1:
            raise RuleError(f'"{rule}" must have exactly one (group) around the message id, it has {groups}')
        return
    path = rule.removeprefix("json:")
    if "==" in path or "!=" in path:
        raise RuleError(f'"{rule}" compares a value; a message id path is just the path, e.g. messages.0.id')
    _parse_path(path, rule)


def check_rule(rule: str, *, extraction: bool = False) -> None:
    """Raise RuleError if `rule` cannot work; for the settings form, so mistakes show before a send."""
    if not rule:
        return
    if extraction:
        _check_extraction(rule)
    elif rule.startswith("re:"):
        _compile_regex(rule[3:], rule)
    elif rule.startswith("json:"):
        _parse_json_rule(rule)


def _load_json(body: str) -> Any:
    try:
        # Some gateways send a UTF-8 BOM, which json.loads refuses.
        return json.loads(body.removeprefix("\ufeff"))
    except (ValueError, RecursionError):  # deep nesting exhausts the parser's stack, not a verdict
        return _NOT_JSON


def _step(node: Any, segment: str) -> Any:
    if isinstance(node, dict):
        return node.get(segment, _MISSING)
    if isinstance(node, list) and segment.isdigit() and segment.isascii():
        index = int(segment)
        return node[index] if index < len(node) else _MISSING
    return _MISSING


def _resolve(document: Any, path: tuple[str, ...]) -> tuple[Any, str]:
    """Return (value, "") or (_MISSING, the shortest path prefix that is missing)."""
    node = document
    for depth, segment in enumerate(path, start=1):
        node = _step(node, segment)
        if node is _MISSING:
            return _MISSING, ".".join(path[:depth])
    return node, ""


def json_text(value: Any) -> str:
    """The text a JSON value compares as: strings as-is, true/false/null, integral floats as ints."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _equals(found: Any, expected: str) -> bool:
    if json_text(found) == expected:
        return True
    # A number written differently in the rule (1.0, 1e+20, -0) still means the same number.
    is_number = isinstance(found, int | float) and not isinstance(found, bool)
    return is_number and _JSON_NUMBER.fullmatch(expected) is not None and float(expected) == found


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _VALUE_LIMIT else text[:_VALUE_LIMIT] + "…"


def _match_json(rule: _JsonRule, body: str) -> tuple[bool, str]:
    document = _load_json(body)
    if document is _NOT_JSON:
        return False, "the body is not JSON"
    found, missing = _resolve(document, rule.path)
    if found is _MISSING:
        return False, f"{missing} is missing"
    name = ".".join(rule.path)
    if rule.op == "==" and not _equals(found, rule.value):
        return False, f"{name} is {_show(found)}, not {_show(rule.value)}"
    if rule.op == "!=" and _equals(found, rule.value):
        return False, f"{name} is {_show(found)}, which the rule excludes"
    if not rule.op and not found:
        return False, f"{name} is {_show(found)}, not a true value"
    return True, ""


def _match(rule: str, body: str) -> tuple[bool, str]:
    if rule.startswith("re:"):
        if _compile_regex(rule[3:], rule).search(body):
            return True, ""
        return False, f"no match for {rule}"
    if rule.startswith("json:"):
        return _match_json(_parse_json_rule(rule), body)
    if rule in body:
        return True, ""
    return False, f'the body has no "{rule}"'


def matches(rule: str, body: str) -> tuple[bool, str]:
    """(matched, why not, for the operator). An empty rule matches anything; a broken rule never does."""
    if not rule:
        return True, ""
    try:
        return _match(rule, body)
    except RuleError as exc:
        return False, f"the rule is invalid: {exc}"


def extract(path: str, body: str) -> str:
    """The provider's message id via a dotted JSON path or re: with one group; "" when absent."""
    if not path:
        return ""
    try:
        check_rule(path, extraction=True)
    except RuleError:
        return ""  # a bad id path must not turn a sent message into a failure; the form reports it
    if path.startswith("re:"):
        found = re.search(path[3:], body)
        return (found.group(1) or "") if found else ""
    value, _ = _resolve(_load_json(body), _parse_path(path.removeprefix("json:"), path))
    if value is _MISSING or value is None or isinstance(value, dict | list):
        return ""
    return json_text(value)


def snippet(body: str) -> str:
    """The body as the operator reads it in the history: one line, at most BODY_LIMIT characters."""
    flat = " ".join(body.split())
    if not flat:
        return "(empty body)"
    return flat if len(flat) <= BODY_LIMIT else flat[:BODY_LIMIT] + "…"


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    # A plain dict is case-sensitive; HTTP header names are not.
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date); None when unusable."""
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT; "-0000" parses as naive
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _status_problem(status: int, headers: Mapping[str, str] | None) -> str:
    location = _header(headers, "location") if 300 <= status < 400 else None
    if location:  # gateways/http.py follows no redirect: a POST redirected would lose its message
        return f"redirected to {location}, which smsgate does not follow — put that in Gateway URL"
    if status == 429:
        return "rate limited"
    if status == 401:
        return "credentials refused — check the gateway's secrets"
    if status == 403:
        # BulkSMS and Vonage also answer 403 when the account is out of credit.
        return "credentials or account refused — check the gateway's secrets and the account's credit"
    if status >= 500:
        return "gateway error"
    if status >= 400:
        return "request refused — check the URL, the payload template and the number"
    return "unexpected status"


def _unsuccessful(status: int, body: str, headers: Mapping[str, str] | None) -> Verdict:
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(_header(headers, "retry-after"))
    wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
    reason = f"gateway answered {status} ({_status_problem(status, headers)}){wait}: {snippet(body)}"
    return Verdict("failed", reason, retry_after=retry_after)


def judge(
    success_response: str,
    failure_response: str,
    message_id_path: str,
    status: int,
    body: str,
    headers: Mapping[str, str] | None = None,
) -> Verdict:
    """Apply the gateway's rules: a failure match is permanent, a 2xx success match is sent, else retry."""
    if failure_response and matches(failure_response, body)[0]:
        reason = (
            f'gateway answered {status} and the body matches Failure response "{failure_response}": '
            f"{snippet(body)}"
        )
        return Verdict("rejected", reason)
    if not 200 <= status < 300:
        return _unsuccessful(status, body, headers)
    matched, why_not = matches(success_response, body)
    if matched:
        return Verdict("sent", "", extract(message_id_path, body))
    reason = f"gateway answered {status} but {why_not} (Successful response): {snippet(body)}"
    return Verdict("failed", reason)
