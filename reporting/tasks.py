"""Celery tasks of reporting: thin callers of one service each."""

from celery import shared_task

from .services import events_export


# acks_late: an export lost with its worker leaves a pending batch that the next run redoes; nothing
# is published twice (see reporting.services), so running it again is always safe.
@shared_task(acks_late=True)
def export_events() -> int:
    return len(events_export())
