"""Small helpers for the few hand-written SQL statements on the hot paths.

The same SQL runs on PostgreSQL and on the embedded SQLite default; only values need adapting
(SQLite keeps UUIDs as hex text and datetimes as naive UTC text) and SQLite has no row locks
(its IMMEDIATE transactions lock the whole database instead).
"""

import functools
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils.dateparse import parse_datetime

P = ParamSpec("P")
R = TypeVar("R")

# PostgreSQL SQLSTATEs worth a retry: the whole transaction was rolled back and running it again
# is expected to succeed.
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def dt_param(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def dt_value(value: Any) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=UTC)


def uuid_param(value: uuid.UUID) -> Any:
    return value if connection.features.has_native_uuid_field else value.hex


def uuid_value(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def id_membership(column: str, values: list) -> tuple[str, list]:
    """`column` is one of `values` (raw ids as the database returned them): one array parameter on
    PostgreSQL, a placeholder each on SQLite."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def for_update(*, skip_locked: bool = False) -> str:
    """The row-lock clause for this database ('' on SQLite, whose transactions lock the database)."""
    if not connection.features.has_select_for_update:
        return ""
    return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


def is_retryable(exc: DatabaseError) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite reports a busy database as OperationalError("database is locked").
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def atomic_with_retry(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in one transaction, re-running it after a deadlock or serialization failure.

    Every attempt starts from scratch, so a retried write never applies twice. When the attempts are
    used up the DatabaseError propagates; callers turn it into their operation's `_failed` error.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        attempts = max(1, settings.DB_RETRY_ATTEMPTS)
        for attempt in range(1, attempts + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except DatabaseError as exc:
                if attempt == attempts or not is_retryable(exc) or connection.in_atomic_block:
                    raise
                time.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    return wrapper
