"""Running balance checks: in the background of a worker, on schedule, or now for `smsgate balance`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from django.db import DatabaseError

from smsgate.balance.check import CheckResult, check_balance
from smsgate.balance.notify import email_results
from smsgate.balance.schedule import claim_due_checks, record_checks, record_emails
from smsgate.gateways.http import GatewayClient
from smsgate.gateways.models import Gateway

log = logging.getLogger("smsgate.balance")

POLL_SECONDS = 5.0  # how often a worker looks for due checks: a new gateway is checked within seconds

Db = Callable[..., Awaitable]
ClientFor = Callable[[Gateway], GatewayClient]


class BalanceChecks:
    """A worker's balance checks, run beside its messages on the same event loop and connections.

    `db` runs a function on the worker's database thread. One round at a time: a slow balance endpoint
    delays the next round, never a message.
    """

    def __init__(self, worker: str, db: Db, client_for: ClientFor) -> None:
        self.worker = worker
        self.db = db
        self.client_for = client_for
        self.task: asyncio.Task | None = None
        self.next_poll = 0.0

    def tick(self) -> None:
        """Start a round in the background if none is running and the poll interval has passed."""
        if (self.task and not self.task.done()) or time.monotonic() < self.next_poll:
            return
        self.next_poll = time.monotonic() + POLL_SECONDS
        self.task = asyncio.create_task(self._round())

    async def finish(self) -> None:
        """On stop: let a round in flight record its readings (bounded by the gateways' timeouts)."""
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _round(self) -> None:
        try:
            gateways = await self.db(claim_due_checks, self.worker)
            if gateways:
                await run_checks(self.worker, gateways, self.db, self.client_for)
        except DatabaseError as e:  # the worker's own loop reports the outage and backs off
            log.warning("balance checks skipped, the database failed: %s", e)
        except Exception:
            # Never the worker's end: the claimed checks' leases expire and another round retakes them.
            log.exception("balance checks failed; retried when their lease ends")


async def run_checks(worker: str, gateways: list[Gateway], db: Db, client_for: ClientFor) -> None:
    results = await fetch_balances(gateways, client_for)
    await db(record_checks, worker, results)
    # SMTP blocks: off the event loop, and off the database thread so messages keep being recorded.
    await asyncio.get_running_loop().run_in_executor(None, email_results, results)
    await db(record_emails, results)


async def fetch_balances(gateways: list[Gateway], client_for: ClientFor) -> list[CheckResult]:
    return list(await asyncio.gather(*(check_balance(client_for(g), g) for g in gateways)))


def check_now(gateways: list[Gateway], worker: str, *, email: bool = True) -> list[CheckResult]:
    """Check these gateways now, in this process: stored, scheduled and emailed like a worker's checks."""

    async def fetch() -> list[CheckResult]:
        async with GatewayClient() as client:
            return await fetch_balances(gateways, lambda gateway: client)

    results = asyncio.run(fetch())
    record_checks(worker, results)
    if email:
        email_results(results)
        record_emails(results)
    return results
