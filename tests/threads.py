"""Helpers for tests that race real threads, each with its own database connection."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections


def in_thread(target: Callable[[], Any], results: list[Any], errors: list[BaseException]) -> threading.Thread:
    """A started thread running `target` on its own connection, closed at the end."""

    def run() -> None:
        try:
            results.append(target())
        except BaseException as exc:  # the test asserts there are none
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def lock_waiters() -> int:
    """Sessions of this test database waiting on a row lock right now."""
    with connections["default"].cursor() as cursor:
        # pg_stat_activity is snapshotted per transaction; the caller may be inside one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
