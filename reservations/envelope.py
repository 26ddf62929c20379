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


def event_envelope(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {field: getattr(event, field) for field in ENVELOPE_FIELDS}
    data["occurred_at"] = event.occurred_at.isoformat().replace("+00:00", "Z")
    data["reservation_id"] = str(event.reservation_id) if event.reservation_id else None
    return data
