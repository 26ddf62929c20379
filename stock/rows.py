"""The stock row arithmetic, as single conditional UPDATEs (the row lock is taken by the UPDATE).

The CHECK constraints `0 <= reserved <= on_hand` are the last line of defence; these statements are
written so they never trip them: a reservation only succeeds when `on_hand - reserved` covers it.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from reservations.db import dt_param

from .models import Stock

STOCK_TABLE = Stock._meta.db_table


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def stock_try_reserve(*, sku: str, quantity: int, now: datetime) -> bool:
    """Hold `quantity` more units if they are available; False (and nothing changed) otherwise."""
    return (
        _execute(
            f"UPDATE {STOCK_TABLE} SET reserved = reserved + %s, updated_at = %s "
            "WHERE sku = %s AND on_hand - reserved >= %s",
            [quantity, dt_param(now), sku, quantity],
        )
        == 1
    )


def stock_release(*, sku: str, quantity: int, now: datetime) -> None:
    _execute(
        f"UPDATE {STOCK_TABLE} SET reserved = reserved - %s, updated_at = %s WHERE sku = %s",
        [quantity, dt_param(now), sku],
    )


def stock_release_many(*, quantities: dict[str, int], now: datetime) -> None:
    """Release units of many SKUs (the expiry sweep), taking their row locks in ascending SKU order,
    so two transactions releasing the same SKUs cannot deadlock."""
    skus = sorted(quantities)
    if connection.vendor != "postgresql":  # SQLite: the transaction already holds the database lock
        for sku in skus:
            stock_release(sku=sku, quantity=quantities[sku], now=now)
        return
    # Set-based: two statements whatever the number of SKUs (one per SKU cost ~1 ms each).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {STOCK_TABLE} WHERE sku = ANY(%s) ORDER BY sku FOR UPDATE", [skus])
        cursor.execute(
            f"UPDATE {STOCK_TABLE} AS s SET reserved = s.reserved - r.quantity, updated_at = %s "
            "FROM unnest(%s::text[], %s::int[]) AS r(sku, quantity) WHERE s.sku = r.sku",
            [dt_param(now), skus, [quantities[sku] for sku in skus]],
        )


def stock_consume(*, sku: str, quantity: int, now: datetime) -> None:
    """A confirmed hold leaves the warehouse: both `on_hand` and `reserved` drop."""
    _execute(
        f"UPDATE {STOCK_TABLE} SET on_hand = on_hand - %s, reserved = reserved - %s, updated_at = %s WHERE sku = %s",
        [quantity, quantity, dt_param(now), sku],
    )


def stock_levels(sku: str) -> tuple[int, int] | None:
    """(on_hand, reserved) of a SKU, or None when the SKU is unknown."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT on_hand, reserved FROM {STOCK_TABLE} WHERE sku = %s", [sku])
        return cursor.fetchone()


def known_skus(skus: Iterable[str]) -> set[str]:
    return set(Stock.objects.filter(sku__in=list(skus)).values_list("sku", flat=True))
