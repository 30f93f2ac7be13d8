"""The worker: claim due messages, send them concurrently, record the results, repeat until stopped."""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.utils import timezone

from smsgate.balance.runner import BalanceChecks
from smsgate.gateways.http import GatewayClient
from smsgate.gateways.models import Gateway
from smsgate.outbox.claim import claim_due, expire_overdue, extend_leases, lease_length, newly_due
from smsgate.outbox.deliver import Result, deliver
from smsgate.outbox.models import WorkerHeartbeat
from smsgate.outbox.record import record_results
from smsgate.outbox.wakeup import Wakeups

log = logging.getLogger("smsgate.worker")

IDLE_POLL_SECONDS = 0.5  # new messages are picked up within a second
# Between full claims an idle worker looks this often for newly due messages (one indexed read), so a
# message sent to an idle worker leaves within tens of milliseconds rather than a quarter second on average.
DUE_CHECK_SECONDS = 0.02
# A sender stamps a message due when it builds it and commits a moment later (later still when it waits for
# SQLite's write lock): one committed just after a claim can be stamped just before it. Looking this far back
# finds it; at worst a message held back (a paused gateway's) costs a few extra claims.
COMMIT_LAG = timedelta(seconds=1)
# A busy worker claims again once this share of its slots is free (or BATCH_WAIT_SECONDS have passed with
# results to record), rather than after each answer: one claim and one record transaction per batch, not
# per message. Half keeps the other half of the requests in flight while the claim runs.
REFILL_SHARE = 0.5
BATCH_WAIT_SECONDS = 0.05
EXPIRY_SECONDS = 1.0  # how late past its expiry a waiting message may be marked error
MAX_DB_BACKOFF_SECONDS = 30.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, *, concurrency: int | None = None, name: str | None = None):
        self.name = name or worker_name()
        self.concurrency = concurrency or settings.SMSGATE_WORKER_CONCURRENCY
        self.stopping = asyncio.Event()
        self.inflight: set[asyncio.Task] = set()
        self.finished: list[Result] = []
        self.clients: dict[int, GatewayClient] = {}
        self.balance = BalanceChecks(self.name, self.db, self._client)
        # Django's ORM is synchronous and its connection belongs to a thread: all database work goes
        # through this one thread, keeping one connection per worker.
        self.db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsgate-db")
        self.backlog = False
        self.last_claim_at = timezone.now()
        self.wakeups = Wakeups()

    async def db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.db_thread, fn, *args)

    def stop(self) -> None:
        self.stopping.set()

    async def run(self, *, drain: bool = False) -> int:
        """Run until stop() (or, with drain, until nothing is due). Returns how many attempts were made."""
        log.info(
            "worker %s started (concurrency %s%s)", self.name, self.concurrency, ", drain" if drain else ""
        )
        attempts = 0
        next_heartbeat = next_expiry = 0.0
        db_failures = 0
        self.wakeups.start()
        try:
            while not self.stopping.is_set():
                try:
                    if time.monotonic() >= next_heartbeat:
                        await self.db(self._heartbeat)
                        next_heartbeat = time.monotonic() + settings.SMSGATE_HEARTBEAT_SECONDS
                    if time.monotonic() >= next_expiry:
                        await self.db(expire_overdue)
                        next_expiry = time.monotonic() + EXPIRY_SECONDS
                    self.balance.tick()  # due balance checks, in the background
                    claimed = await self._claim_and_start()
                    attempts += claimed
                    await self._flush()
                    if db_failures:
                        log.info("database is back; carrying on")
                    db_failures = 0
                except DatabaseError as e:
                    db_failures += 1
                    await self._wait_for_database(e, db_failures)
                    continue
                if drain and not claimed and not self.inflight:
                    break
                await self._wait()
        finally:
            await self.wakeups.stop()
            await self._finish_inflight()
            await self._close()
        log.info("worker %s stopped after %s attempts", self.name, attempts)
        return attempts

    async def _claim_and_start(self) -> int:
        free = self.concurrency - len(self.inflight)
        if free <= 0:
            return 0
        self.last_claim_at = timezone.now()
        self.wakeups.event.clear()  # whatever was queued before this claim, it takes
        asked = min(free, settings.SMSGATE_CLAIM_BATCH)
        messages = await self.db(claim_due, self.name, asked)
        for message in messages:
            task = asyncio.create_task(deliver(self._client(message.gateway), message))
            self.inflight.add(task)
            task.add_done_callback(self._done)
        self.backlog = len(messages) == asked  # a full batch: more are probably due
        return len(messages)

    def _done(self, task: asyncio.Task) -> None:
        self.inflight.discard(task)
        if not task.cancelled():
            self.finished.append(task.result())

    async def _flush(self) -> None:
        if self.finished:
            batch, self.finished = self.finished, []
            try:
                await self.db(record_results, self.name, batch)
            except DatabaseError:
                self.finished[:0] = batch  # kept, and recorded once the database answers again
                raise
            outcomes = Counter(result.verdict.outcome for result in batch)
            noun = "attempt" if len(batch) == 1 else "attempts"
            log.info(
                "recorded %s %s: %s", len(batch), noun, ", ".join(f"{n} {o}" for o, n in outcomes.items())
            )

    async def _wait(self) -> None:
        """Sleep until a claim is worth making: half the slots free while a backlog waits, results to record
        (at most BATCH_WAIT_SECONDS), or, once the queue was emptied, time for new messages to arrive.

        Claiming again at once after a claim that emptied the queue would take messages one at a time as
        they arrive (a stream): a claim transaction per message instead of one per DUE_CHECK_SECONDS.
        """
        refill = max(1, int(self.concurrency * REFILL_SHARE))
        if self.backlog and self.concurrency - len(self.inflight) >= refill:
            await asyncio.sleep(0)  # more are due right away: claim again soon
            return
        if not self.inflight:
            await self._wait_idle()
            return
        started = time.monotonic()
        stopping = asyncio.ensure_future(self.stopping.wait())
        try:
            # After a claim that emptied the queue the next one comes DUE_CHECK_SECONDS later even when every
            # answer is back sooner: a stream is claimed in batches, not a message or two per answer.
            while not self.backlog or (self.inflight and self.concurrency - len(self.inflight) < refill):
                if not self.backlog:
                    limit = DUE_CHECK_SECONDS
                else:
                    limit = BATCH_WAIT_SECONDS if self.finished else IDLE_POLL_SECONDS
                left = started + limit - time.monotonic()
                if left <= 0 or stopping.done():
                    return
                waiters = [stopping, *self.inflight]
                await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _wait_idle(self) -> None:
        """Until the poll interval passes, stop() is called, or a message becomes due (or, on PostgreSQL, is
        announced as queued: outbox/wakeup.py)."""
        deadline = time.monotonic() + IDLE_POLL_SECONDS
        while not self.stopping.is_set() and time.monotonic() < deadline:
            waiters = [asyncio.ensure_future(e.wait()) for e in (self.stopping, self.wakeups.event)]
            await asyncio.wait(waiters, timeout=DUE_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if self.wakeups.event.is_set():
                return
            try:
                if await self.db(newly_due, self.last_claim_at - COMMIT_LAG):
                    return
            except DatabaseError:
                return  # the claim meets the outage too, and backs off

    async def _wait_for_database(self, error: DatabaseError, failures: int) -> None:
        delay = min(MAX_DB_BACKOFF_SECONDS, 0.5 * 2**failures)
        if failures == 1:
            log.warning(
                "database unavailable (%s); retrying with backoff", str(error).strip().splitlines()[0]
            )
        await self.db(_close_connection)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=delay)

    async def _finish_inflight(self) -> None:
        """On stop: no new claims, but every request already sent is awaited and recorded."""
        if self.inflight:
            log.info("waiting for %s requests in flight", len(self.inflight))
            await asyncio.wait(list(self.inflight))
        for delay in (0, 1, 2, 5, 10):
            await asyncio.sleep(delay)
            try:
                await self._flush()
                return
            except DatabaseError as e:
                log.warning("could not record %s results yet: %s", len(self.finished), e)
        log.error(
            "gave up recording %s results; their leases will expire and they will be retried",
            len(self.finished),
        )

    def _client(self, gateway: Gateway) -> GatewayClient:
        client = self.clients.get(gateway.pk)
        if client is None:
            client = self.clients[gateway.pk] = GatewayClient(self.concurrency)
        return client

    def _heartbeat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker=self.name,
            defaults={"last_seen": now},
            create_defaults={"started_at": now, "last_seen": now},
        )
        extend_leases(self.name, lease_length(list(Gateway.objects.filter(enabled=True))))

    async def _close(self) -> None:
        await self.balance.finish()
        for client in self.clients.values():
            await client.close()
        await self.db(_close_connection)
        self.db_thread.shutdown()


def _close_connection() -> None:
    connection.close()  # looked up in the calling thread: each thread has its own connection


def run_worker(*, drain: bool = False, concurrency: int | None = None) -> int:
    """Run a worker in this process with SIGTERM/SIGINT meaning "finish what is in flight, then exit"."""

    async def main() -> int:
        worker = Worker(concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        return await worker.run(drain=drain)

    return asyncio.run(main())
