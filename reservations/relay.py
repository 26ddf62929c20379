"""Push delivery of outbox events to a Redis Stream (at least once; consumers deduplicate on event_id).

The relay claims unpublished events with SKIP LOCKED in event_id order, XADDs them and sets
`published_at` in the same transaction. A crash between XADD and COMMIT publishes those events
again on the next run (never loses them); two relays at once take disjoint events.
"""

import json
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .envelope import ENVELOPE_VERSION, event_envelope
from .models import Event


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def stream_fields(event: Event) -> dict[str, str]:
    """Flat stream entry: routing members readable without parsing, plus the whole event as JSON."""
    return {
        "event_id": str(event.event_id),
        "type": event.type,
        "version": ENVELOPE_VERSION,
        "data": json.dumps(event_envelope(event), separators=(",", ":")),
    }


def unpublished_events(limit: int) -> Any:
    """Unpublished events to claim, oldest first, skipping rows another relay holds.

    On PostgreSQL only events of transactions older than every running one are taken, so the
    stream carries events in event_id order even when a lower id commits late.
    """
    queryset = Event.objects.filter(published_at__isnull=True).order_by("event_id")
    if connection.vendor == "postgresql":
        queryset = queryset.filter(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))
    return queryset.select_for_update(skip_locked=True)[:limit]


def events_publish(*, batch_size: int | None = None, max_batches: int = 100) -> int:
    """Publish unpublished events to the stream, one transaction per batch; return how many."""
    url = settings.EVENT_STREAM_REDIS_URL
    if not url:
        return 0
    batch_size = batch_size or settings.EVENT_RELAY_BATCH_SIZE
    total = 0
    for _ in range(max_batches):
        done = _publish_batch(_client(url), batch_size)
        total += done
        if done < batch_size:
            break
    return total


def _publish_batch(client: redis.Redis, batch_size: int) -> int:
    with transaction.atomic():
        events = list(unpublished_events(batch_size))
        if not events:
            return 0
        pipe = client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(
                settings.EVENT_STREAM_NAME,
                stream_fields(event),
                maxlen=settings.EVENT_STREAM_MAXLEN,
                approximate=True,
            )
        # If this raises, the transaction rolls back and the events stay unpublished.
        pipe.execute()
        Event.objects.filter(event_id__in=[event.event_id for event in events]).update(published_at=timezone.now())
        return len(events)
