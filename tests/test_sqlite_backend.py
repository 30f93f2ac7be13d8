"""The SQLite backend's writer lock: held for exactly as long as a transaction, however it ends."""

import fcntl
import os
import threading

import pytest
from django.db import connection, transaction

from smsgate.gateways.models import Gateway
from smsgate.outbox.models import Message

pytestmark = [
    pytest.mark.django_db(transaction=True),  # real transactions: a test case's own would hide the BEGIN
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the writer lock is SQLite's"),
]


def writer_lock_is_free() -> bool:
    """Whether another writer could take the lock now (a descriptor of its own, as another process has)."""
    fd = os.open(f"{connection.settings_dict['NAME']}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_transaction_holds_the_writer_lock_until_it_commits():
    assert writer_lock_is_free()
    with transaction.atomic():
        Message.objects.count()
        assert not writer_lock_is_free()
        with transaction.atomic():  # a savepoint: the same transaction, the same lock
            assert not writer_lock_is_free()
        assert not writer_lock_is_free()
    assert writer_lock_is_free()


def test_a_rolled_back_transaction_lets_the_lock_go():
    with pytest.raises(RuntimeError), transaction.atomic():
        assert not writer_lock_is_free()
        raise RuntimeError("the transaction fails")
    assert writer_lock_is_free()


def test_closing_a_connection_inside_a_transaction_lets_the_lock_go():
    transaction.set_autocommit(False)
    try:
        connection._start_transaction_under_autocommit()
        assert not writer_lock_is_free()
        connection.close()
        assert writer_lock_is_free()
    finally:
        connection.connect()


def test_a_lock_held_past_the_busy_timeout_leaves_the_decision_to_sqlite(make_gateway, monkeypatch):
    # Another process stopped while holding the file lock (but not SQLite's): writes go on, not hang.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.05)
    gateway = make_gateway()
    fd = os.open(f"{connection.settings_dict['NAME']}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with transaction.atomic():
            assert Gateway.objects.filter(pk=gateway.pk).update(name="went-on") == 1
    finally:
        os.close(fd)
    assert Gateway.objects.get(pk=gateway.pk).name == "went-on"
    assert writer_lock_is_free()


def test_a_second_writer_waits_for_the_first_and_then_writes(make_gateway):
    gateway = make_gateway()
    events: list[str] = []
    first_holds = threading.Event()

    def second_writer():
        first_holds.wait()
        with transaction.atomic():
            events.append("second began")
            Message.objects.filter(gateway=gateway).update(sender="second")
        connection.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with transaction.atomic():
        Message.objects.filter(gateway=gateway).update(sender="first")
        first_holds.set()
        thread.join(timeout=0.3)
        assert thread.is_alive(), "the second writer must wait for the first to commit"
        events.append("first committing")
    thread.join(timeout=10)
    assert events == ["first committing", "second began"]
