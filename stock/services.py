"""Write use cases of stock levels."""

from decimal import Decimal

from django.utils import timezone

from reservations.errors import InvalidRequest
from reservations.events import Actor, EventData, event_record
from reservations.locks import lock_stock
from reservations.models import EventType
from reservations.operations import write_operation
from reservations.services import reclaim_overdue_holds

from .models import Stock


@write_operation("upsert")
def stock_upsert(
    *,
    sku: str,
    on_hand: int,
    actor: Actor,
    name: str | None = None,
    brand: str | None = None,
    unit_price: Decimal | None = None,
) -> tuple[Stock, bool]:
    """Create a SKU or set its `on_hand` (and descriptive fields). Returns (stock, created).

    Units still held by live reservations cannot be removed: `on_hand` below `reserved` is refused.
    Holds that are overdue count as free, so they are reclaimed first.
    """
    if type(on_hand) is not int or on_hand < 0:
        raise InvalidRequest("on_hand must be a non-negative integer", field="on_hand")
    now = timezone.now()
    reclaim_overdue_holds(sku=sku, now=now, actor=actor)
    stock = lock_stock(sku)
    created = stock is None
    old_on_hand = None if created else stock.on_hand
    if created:
        stock = Stock(sku=sku)
    elif on_hand < stock.reserved:
        raise InvalidRequest(
            f"on_hand {on_hand} is below the {stock.reserved} units held by reservations",
            field="on_hand",
            reserved=stock.reserved,
        )
    stock.on_hand = on_hand
    for field, value in (("name", name), ("brand", brand), ("unit_price", unit_price)):
        if value is not None:
            setattr(stock, field, value)
    stock.save()
    event_record(
        EventData(
            type=EventType.STOCK_ADJUSTED,
            occurred_at=now,
            sku=sku,
            old_quantity=old_on_hand,
            new_quantity=on_hand,
        ),
        actor,
    )
    return stock, created
