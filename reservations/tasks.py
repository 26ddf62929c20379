"""Celery tasks of reservations: thin callers of one service each, safe to run twice or at once."""

import logging

from celery import shared_task

from . import services
from .relay import events_publish

logger = logging.getLogger(__name__)


# acks_late: the sweep is idempotent (it only moves rows still `temporary`), so a run lost with its
# worker is simply redone.
@shared_task(acks_late=True)
def expire_reservations() -> int:
    expired = services.reservations_expire()
    if expired:
        logger.info("expired %s overdue reservations", expired)
    return expired


# acks_late: a lost run republishes at most one batch; consumers deduplicate on event_id.
@shared_task(acks_late=True)
def publish_events() -> int:
    return events_publish()
