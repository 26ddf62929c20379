"""The one lock protocol. Every write path takes row locks through these helpers, in this order:

1. reservation rows (by primary key, or the live one of a user and SKU);
2. then the stock row, implicitly, through the conditional UPDATEs in `stock.rows`
   (several SKUs: in ascending SKU order).

Expired holds of other shoppers are taken with SKIP LOCKED, so reclaiming them never waits on a
row that another request holds. Nothing else in the code base locks rows.
"""

import uuid
from datetime import datetime
from typing import Any

from django.db import connection

from stock.models import Stock

from .db import dt_param, for_update
from .events import EVENT_TABLE
from .models import EventType, Reservation, ReservationStatus

RESERVATION_TABLE = Reservation._meta.db_table

LIVE_COLUMNS = (
    "reservation_id, user_id, sku, quantity, status, channel, expires_at, last_update_timestamp, "
    "last_update_old_quantity, last_update_new_quantity, last_update_expires_at, last_update_event_id"
)


def lock_temporary_reservation_of_pair(*, user_id: str, sku: str) -> tuple[Any, ...] | None:
    """Lock and return the temporary reservation of (user, SKU) as a LIVE_COLUMNS tuple, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {LIVE_COLUMNS} FROM {RESERVATION_TABLE} "
            f"WHERE user_id = %s AND sku = %s AND status = %s{for_update()}",
            [user_id, sku, ReservationStatus.TEMPORARY],
        )
        return cursor.fetchone()


def lock_reservation(reservation_id: uuid.UUID) -> Reservation | None:
    return Reservation.objects.select_for_update().filter(pk=reservation_id).first()


def lock_expired_reservations(*, now: datetime, sku: str | None, limit: int) -> list[tuple[Any, ...]]:
    """Mark up to `limit` expired temporary reservations as expired, skipping rows others hold.

    Returns (reservation_id, user_id, sku, quantity, channel) of each one this transaction took.
    Set-based: one statement whatever the batch size.
    """
    sku_filter, params = ("AND sku = %s ", [sku]) if sku is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RESERVATION_TABLE} SET status = %s, updated_at = %s "
            f"WHERE status = %s AND expires_at <= %s AND reservation_id IN ("
            f"  SELECT reservation_id FROM {RESERVATION_TABLE} "
            f"  WHERE status = %s AND expires_at <= %s {sku_filter}"
            f"  ORDER BY expires_at LIMIT %s{for_update(skip_locked=True)}"
            f") RETURNING reservation_id, user_id, sku, quantity, channel",
            [
                ReservationStatus.EXPIRED,
                dt_param(now),
                ReservationStatus.TEMPORARY,
                dt_param(now),
                ReservationStatus.TEMPORARY,
                dt_param(now),
                *params,
                limit,
            ],
        )
        return cursor.fetchall()


def expire_overdue_recording_events(
    *, now: datetime, sku: str | None, limit: int, actor_name: str, request_id: str
) -> tuple[dict[str, int], int]:
    """PostgreSQL: `lock_expired_reservations` and the `reservation.expired` event of each row, in one
    statement, so the rows never travel to Python and back (the sweep's cost, docs/performance.md).

    Returns ({sku: units released}, number of reservations expired); the caller releases the stock.
    """
    sku_filter, params = ("AND sku = %s ", [sku]) if sku is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH expired AS ("
            f"  UPDATE {RESERVATION_TABLE} SET status = %s, updated_at = %s "
            f"  WHERE status = %s AND expires_at <= %s AND reservation_id IN ("
            f"    SELECT reservation_id FROM {RESERVATION_TABLE} "
            f"    WHERE status = %s AND expires_at <= %s {sku_filter}"
            f"    ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED"
            f"  ) RETURNING reservation_id, user_id, sku, quantity, channel"
            f"), recorded AS ("
            f"  INSERT INTO {EVENT_TABLE} (type, occurred_at, reservation_id, user_id, sku, old_quantity, "
            f"    new_quantity, status, channel, actor, request_id, code, operation) "
            f"  SELECT %s, %s, reservation_id, user_id, sku, quantity, quantity, %s, channel, %s, %s, '', '' "
            f"  FROM expired"
            f") SELECT sku, sum(quantity), count(*) FROM expired GROUP BY sku",
            [
                ReservationStatus.EXPIRED,
                dt_param(now),
                ReservationStatus.TEMPORARY,
                dt_param(now),
                ReservationStatus.TEMPORARY,
                dt_param(now),
                *params,
                limit,
                EventType.EXPIRED,
                dt_param(now),
                ReservationStatus.EXPIRED,
                actor_name,
                request_id,
            ],
        )
        rows = cursor.fetchall()
    return {row_sku: int(units) for row_sku, units, _ in rows}, sum(int(count) for _, _, count in rows)


def lock_stock(sku: str) -> Stock | None:
    """Lock one stock row for a correction of its levels (after any reservation rows, per the protocol)."""
    return Stock.objects.select_for_update().filter(sku=sku).first()
