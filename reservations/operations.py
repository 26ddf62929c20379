"""The frame every write use case runs in: one transaction, deadlock retries, failure mapping, and
the `reservation.rejected` event for refused attempts (written after the rollback, because the
KPIs count them)."""

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import DatabaseError
from django.utils import timezone

from .db import atomic_with_retry
from .errors import DomainError, OperationFailed
from .events import Actor, EventData, event_record
from .models import EventType

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_SUBJECT_KEYS = ("reservation_id", "user_id", "sku", "old_quantity", "new_quantity", "channel")


def write_operation(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a service function (keyword-only, with an `actor`) as the write use case `operation`."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        transactional = atomic_with_retry(func)

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return transactional(*args, **kwargs)
            except DomainError as exc:
                _record_rejection(operation, exc, kwargs)
                raise
            except DatabaseError as exc:
                logger.exception("%s failed; transaction rolled back", operation)
                raise OperationFailed(operation) from exc

        return run

    return decorate


def _record_rejection(operation: str, exc: DomainError, call: dict[str, Any]) -> None:
    subject = {key: call[key] for key in _SUBJECT_KEYS if call.get(key) is not None}
    if "quantity" in call and "new_quantity" not in subject:
        subject["new_quantity"] = call["quantity"]
    subject.update(exc.subject)
    actor: Actor = call.get("actor") or Actor(name="unknown")
    try:
        event_record(
            EventData(
                type=EventType.REJECTED,
                occurred_at=timezone.now(),
                code=exc.code,
                operation=operation,
                **{k: v for k, v in subject.items() if k in EventData.__slots__},
            ),
            actor,
        )
    except DatabaseError:  # the refusal still reaches the client; only the KPI misses it
        logger.exception("could not record rejection of %s", operation)
