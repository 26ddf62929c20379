"""Run inside `manage.py shell` on the embedded SQLite default: racing creates and updates never oversell."""

import threading

from django.db import connection

from reservations.errors import DomainError
from reservations.events import Actor
from reservations.services import reservation_create, reservation_update
from stock.models import Stock
from stock.services import stock_upsert

actor = Actor(name="sqlite-check")
stock_upsert(sku="RACE", on_hand=5, actor=actor)
outcomes: list[str] = []
barrier = threading.Barrier(8)


def shopper(index: int) -> None:
    try:
        barrier.wait()
        reservation_create(user_id=f"u{index}", sku="RACE", quantity=2, actor=actor)
        outcomes.append("created")
        from django.utils import timezone

        reservation_update(
            user_id=f"u{index}", sku="RACE", old_quantity=2, new_quantity=3, timestamp=timezone.now(), actor=actor
        )
        outcomes.append("updated")
    except DomainError as exc:
        outcomes.append(exc.code)
    finally:
        connection.close()


threads = [threading.Thread(target=shopper, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
stock = Stock.objects.get(sku="RACE")
print("RESULT", stock.on_hand, stock.reserved, sorted(outcomes))  # noqa: T201
