"""Reads of reservations and events."""

import uuid

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Event, Reservation, ReservationStatus


def effective_status(reservation: Reservation) -> str:
    if reservation.status == ReservationStatus.TEMPORARY and reservation.expires_at <= timezone.now():
        return ReservationStatus.EXPIRED
    return reservation.status


def reservation_get(reservation_id: uuid.UUID) -> Reservation | None:
    return Reservation.objects.filter(pk=reservation_id).first()


def reservation_list(*, user_id: str | None = None, sku: str | None = None, status: str | None = None) -> QuerySet:
    """Filtered reservations, newest first. `status` means the effective status (overdue = expired)."""
    queryset = Reservation.objects.all().order_by("-created_at", "reservation_id")
    if user_id:
        queryset = queryset.filter(user_id=user_id)
    if sku:
        queryset = queryset.filter(sku_id=sku)
    if status:
        now = timezone.now()
        overdue = Q(status=ReservationStatus.TEMPORARY, expires_at__lte=now)
        if status == ReservationStatus.TEMPORARY:
            queryset = queryset.filter(status=status, expires_at__gt=now)
        elif status == ReservationStatus.EXPIRED:
            queryset = queryset.filter(Q(status=status) | overdue)
        else:
            queryset = queryset.filter(status=status)
    return queryset


def events_after(*, after: int, limit: int) -> list[Event]:
    """Events with `event_id > after`, in order, never skipping one that commits late.

    On PostgreSQL an id is taken at insert, not at commit, so a transaction still running may hold a
    lower id than one already committed. Only events of transactions older than every running one
    (`txid < pg_snapshot_xmin`) are handed out; the rest come on the next read.
    """
    queryset = Event.objects.filter(event_id__gt=after).order_by("event_id")
    if connection.vendor == "postgresql":
        queryset = queryset.filter(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))
    return list(queryset[:limit])
