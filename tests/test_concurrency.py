"""Case C07 and friends: several real PostgreSQL connections at once (threads), no interleaving tricks."""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from reservations.models import Reservation
from stock.models import Stock
from tests.conftest import iso_now
from tests.test_acceptance_update import create, update

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call on its own thread (own DB connection) at the same instant; return results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_c07_no_oversell(make_stock, api_key):
    key = api_key()
    outcomes: Counter[tuple[int, ...]] = Counter()
    for round_number in range(50):
        sku = f"HOT-{round_number}"
        make_stock(sku, on_hand=5)
        a, b = client_with(key), client_with(key)

        results = run_together(lambda a=a, sku=sku: create(a, "A", sku, 3), lambda b=b, sku=sku: create(b, "B", sku, 3))

        codes = tuple(sorted(r.status_code for r in results))
        outcomes[codes] += 1
        refused = next(r for r in results if r.status_code == 403)
        assert refused.json()["code"] == "Reservations.Stock_insuficiente"
        stock = Stock.objects.get(sku=sku)
        assert stock.reserved == 3
        assert Reservation.objects.filter(sku_id=sku).count() == 1
    assert outcomes == {(201, 403): 50}


def test_concurrent_increases_of_one_sku_never_exceed_on_hand(make_stock, api_key):
    make_stock("S", on_hand=10)
    key = api_key()
    users = [f"U{i}" for i in range(8)]
    for user in users:
        assert create(client_with(key), user, "S", 1).status_code == 201

    # every user tries to go from 1 to 3 (+2 each, 16 wanted, 2 free)
    results = run_together(*[lambda u=u: update(client_with(key), u, "S", 1, 3) for u in users])

    codes = Counter(r.status_code for r in results)
    assert codes == {200: 1, 403: 7}
    assert Stock.objects.get(sku="S").reserved == 10
    assert sum(Reservation.objects.filter(sku_id="S").values_list("quantity", flat=True)) == 10


def test_concurrent_identical_updates_apply_once(make_stock, api_key):
    make_stock("S", on_hand=10)
    key = api_key()
    create(client_with(key), "A", "S", 3)
    timestamp = iso_now()

    results = run_together(*[lambda: update(client_with(key), "A", "S", 3, 5, timestamp=timestamp) for _ in range(4)])

    assert [r.status_code for r in results] == [200, 200, 200, 200]
    assert len({r.content for r in results}) == 1  # the replays answer the original body
    assert Stock.objects.get(sku="S").reserved == 5


def test_c08_hot_sku_storm(make_stock, api_key):
    """S=100, 200 users, 16 concurrent workers doing random create / update ±k / delete / confirm for 20 s."""
    import random
    import time

    from reservations.models import ReservationStatus

    make_stock("HOT", on_hand=100)
    key = api_key()
    deadline = time.monotonic() + 20
    statuses: Counter[int] = Counter()
    server_errors: list[bytes] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        client = client_with(key)
        try:
            while time.monotonic() < deadline:
                user = f"u{rng.randrange(200)}"
                current = Reservation.objects.filter(user_id=user, sku_id="HOT", status="temporary").first()
                choice = rng.random()
                if current is None:
                    response = create(client, user, "HOT", rng.randint(1, 5))
                elif choice < 0.5:
                    new = max(1, current.quantity + rng.choice([-3, -2, -1, 1, 2, 3]))
                    response = update(client, user, "HOT", current.quantity, new)
                elif choice < 0.75:
                    response = client.delete(f"/api/v1/reservations/{current.pk}/")
                else:
                    response = client.post(f"/api/v1/reservations/{current.pk}/confirm/")
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        server_errors.append(response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    stock = Stock.objects.get(sku="HOT")
    temporary = sum(
        Reservation.objects.filter(sku_id="HOT", status=ReservationStatus.TEMPORARY).values_list("quantity", flat=True)
    )
    confirmed = sum(
        Reservation.objects.filter(sku_id="HOT", status=ReservationStatus.CONFIRMED).values_list("quantity", flat=True)
    )
    assert server_errors == []
    assert sum(statuses.values()) > 200  # the storm really happened
    assert statuses[201] > 0 and statuses[200] > 0
    assert stock.reserved == temporary
    assert 0 <= stock.reserved <= stock.on_hand
    assert stock.on_hand == 100 - confirmed
