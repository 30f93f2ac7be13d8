"""Django's SQLite backend, with writers queued on a file lock rather than on SQLite's busy timeout.

SQLite's busy handler sleeps 1, 2, 5, 10, 15… ms between looks at a locked database, so a writer that finds it
locked waits up to a step longer than the lock is held: in a stream of single sends the intake spent over half
its time in those sleeps while the worker held short transactions (bench/PROFILE.md, seventh round). Every
transaction of ours first takes an exclusive `flock` on `<database>-writer.lock`, which the next waiter
finds free within half a millisecond of its release. SQLite's own lock still decides: the file lock only
orders our writers, and a writer that does not take it (the sqlite3 shell) meets the busy timeout as before.
"""

import fcntl
import os
import time

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_lock: int | None = None  # the lock file's descriptor while this connection holds it

    def _start_transaction_under_autocommit(self):
        if self.is_in_memory_db():
            return super()._start_transaction_under_autocommit()
        fd = os.open(f"{self.settings_dict['NAME']}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        if _wait_for_lock(fd, self.settings_dict["OPTIONS"].get("timeout", 5)):
            self._writer_lock = fd
        else:  # held past the busy timeout (a stopped process?): SQLite's own wait decides, and reports
            os.close(fd)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()

    def _release_writer_lock(self) -> None:
        fd, self._writer_lock = self._writer_lock, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock


def _wait_for_lock(fd: int, timeout: float) -> bool:
    """Take the lock, looking every half millisecond for up to `timeout` seconds. A blocking flock would hand
    it over sooner but could wait forever, where SQLite fails after its timeout with "database is locked"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
        except BaseException:
            os.close(fd)
            raise
