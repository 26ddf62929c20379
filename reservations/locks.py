"""The one lock protocol. Every write path takes row locks through these helpers, in this order:

1. reservation rows (by primary key, or the live one of a user and SKU);
2. then the stock row, implicitly, through the conditional UPDATEs in `stock.rows`
   (several SKUs: in ascending SKU order).

(`expire_due_statement` is run by `events.events_record_expired`, which adds the events to it.)
Expired holds of other shoppers are taken with SKIP LOCKED, so reclaiming them never waits on a
row that another request holds. Nothing else in the code base locks rows.
"""

import uuid
from datetime import datetime
from typing import Any

from django.db import connection

from stock.models import Stock

from .db import dt_param, for_update
from .models import Reservation, ReservationStatus

RESERVATION_TABLE = Reservation._meta.db_table

LIVE_COLUMNS = (
    "reservation_id, user_id, sku, quantity, status, channel, expires_at, last_update_timestamp, "
    "last_update_old_quantity, last_update_new_quantity, last_update_expires_at, last_update_event_id"
)
# What `expire_due_statement` returns of each reservation it expired.
EXPIRED_COLUMNS = "reservation_id, user_id, sku, quantity, status, channel, expires_at"


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


def expire_due_statement(*, now: datetime, sku: str | None, limit: int) -> tuple[str, list[Any]]:
    """The statement that locks and expires up to `limit` overdue temporary reservations (of one SKU,
    or any), skipping rows others hold; it RETURNs `EXPIRED_COLUMNS` of each one it took. Set-based:
    one statement whatever the batch size. `events.events_record_expired` runs it, so that on
    PostgreSQL the rows' events are written by the same statement.

    The candidates are a MATERIALIZED CTE, not an `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
    subquery: PostgreSQL may plan the latter as a semi-join that rescans the subquery once per outer
    row, and each rescan skips the rows this statement already changed, so the UPDATE took every
    overdue row instead of `limit` (the batch bound did not hold).
    """
    sku_filter, params = ("AND sku = %s ", [sku]) if sku is not None else ("", [])
    sql = (
        f"WITH due AS MATERIALIZED ("
        f"  SELECT reservation_id FROM {RESERVATION_TABLE} "
        f"  WHERE status = %s AND expires_at <= %s {sku_filter}"
        f"  ORDER BY expires_at LIMIT %s{for_update(skip_locked=True)}"
        f") UPDATE {RESERVATION_TABLE} SET status = %s, updated_at = %s "
        f"WHERE status = %s AND expires_at <= %s AND reservation_id IN (SELECT reservation_id FROM due) "
        f"RETURNING {EXPIRED_COLUMNS}"
    )
    return sql, [
        ReservationStatus.TEMPORARY,
        dt_param(now),
        *params,
        limit,
        ReservationStatus.EXPIRED,
        dt_param(now),
        ReservationStatus.TEMPORARY,
        dt_param(now),
    ]


def lock_stock(sku: str) -> Stock | None:
    """Lock one stock row for a correction of its levels (after any reservation rows, per the protocol)."""
    return Stock.objects.select_for_update().filter(sku=sku).first()
