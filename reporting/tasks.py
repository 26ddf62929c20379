"""Celery tasks of reporting: thin callers of one service each."""

import logging

from celery import shared_task

from .services import events_export

logger = logging.getLogger(__name__)


# acks_late: an export lost with its worker leaves a pending batch that the next run redoes; nothing
# is published twice (see reporting.services), so running it again is always safe.
@shared_task(acks_late=True)
def export_events() -> int:
    batches = events_export()
    for batch in batches:
        logger.info(
            "published export batch %s: %s events, %s-%s",
            batch.pk,
            batch.event_count,
            batch.first_event_id,
            batch.last_event_id,
        )
    return len(batches)
