"""The consumer-facing shape of an outbox event, shared by the Redis Stream relay and the batch export
(and identical to a result of the pull feed GET /api/v1/events/)."""

from typing import Any

from .models import Event

ENVELOPE_VERSION = "1"
ENVELOPE_FIELDS = (
    "event_id",
    "type",
    "occurred_at",
    "reservation_id",
    "user_id",
    "sku",
    "old_quantity",
    "new_quantity",
    "status",
    "channel",
    "actor",
    "request_id",
    "code",
    "operation",
)


def envelope_from_values(values: tuple[Any, ...]) -> dict[str, Any]:
    """The envelope of an event given as its ENVELOPE_FIELDS values (what `values_list` returns)."""
    data: dict[str, Any] = dict(zip(ENVELOPE_FIELDS, values, strict=True))
    data["occurred_at"] = data["occurred_at"].isoformat().replace("+00:00", "Z")
    data["reservation_id"] = str(data["reservation_id"]) if data["reservation_id"] else None
    return data


def event_envelope(event: Event) -> dict[str, Any]:
    return envelope_from_values(tuple(getattr(event, field) for field in ENVELOPE_FIELDS))
