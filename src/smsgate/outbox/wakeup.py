"""PostgreSQL: a newly queued message wakes an idle worker at once (LISTEN/NOTIFY), not at its next look.

A trigger (migration 0004) notifies the channel below after every INSERT into the messages table — from the
API, the bulk API, the CLI and the web pages alike, once per statement, delivered at commit. A worker
listens on a connection of its own, in a thread of its own (psycopg blocks while it waits for one), and sets
an asyncio event. The look every DUE_CHECK_SECONDS stays: it is all SQLite has, it finds retries coming due,
and it carries on while the listening connection is down.
"""

import asyncio
import contextlib
import logging
import threading

import psycopg
from django.db import DatabaseError, connection

CHANNEL = "smsgate_queued"
RECHECK_SECONDS = 0.1  # how often the listening thread looks whether to stop: a worker's exit waits for it
RECONNECT_SECONDS = 1.0

log = logging.getLogger("smsgate.worker")


class Wakeups:
    """`event` is set when a message was queued; nothing happens on SQLite."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if connection.vendor != "postgresql":
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._listen, name="smsgate-listen", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Stop listening; returns once the listening connection is closed."""
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10 * RECHECK_SECONDS)

    def _listen(self) -> None:
        # `connection` here is this thread's own, opened with the worker's settings.
        while not self._stopping.is_set():
            try:
                connection.ensure_connection()
                raw = connection.connection
                raw.execute(f"LISTEN {CHANNEL}")
                while not self._stopping.is_set():
                    for _ in raw.notifies(timeout=RECHECK_SECONDS, stop_after=1):
                        self._loop.call_soon_threadsafe(self.event.set)
            except (DatabaseError, psycopg.Error) as e:
                log.debug("not listening for new messages (%s); looking every few ms instead", e)
                with contextlib.suppress(DatabaseError, psycopg.Error):
                    connection.close()
                self._stopping.wait(RECONNECT_SECONDS)
            except RuntimeError:
                break  # the worker's event loop is closed: it has stopped
        with contextlib.suppress(DatabaseError, psycopg.Error):
            connection.close()
