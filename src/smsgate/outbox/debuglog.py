"""The gateway's Debug switch: a readable block per request in $SMSGATE_HOME/logs/sms.log, secrets masked."""

import logging
from logging.handlers import RotatingFileHandler

from django.conf import settings

logger = logging.getLogger("smsgate.sms_debug")
logger.propagate = False


def _ensure_handler() -> None:
    if logger.handlers:
        return
    settings.SMSGATE_LOG_DIR.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(settings.SMSGATE_LOG_DIR / "sms.log", maxBytes=10_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def log_exchange(gateway: str, message_id: int, request, status: int | None, body: str, verdict) -> None:
    """`request` is the masked request and `body` the masked response: nothing secret reaches the file."""
    _ensure_handler()
    headers = "\n".join(f"  {name}: {value}" for name, value in request.headers)
    logger.info(
        "gateway=%s message=%s outcome=%s\n> %s %s\n%s\n> %s\n< HTTP %s\n< %s\n= %s\n",
        gateway,
        message_id,
        verdict.outcome,
        request.method,
        request.url,
        headers,
        request.body,
        status if status is not None else "(no answer)",
        body,
        verdict.reason or "sent",
    )
