"""The expiry sweep: C11 (concurrent sweeps never double) and C09 (no deadlock reaches a client)."""

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from reservations.errors import DomainError
from reservations.models import Event, EventType, Reservation, ReservationStatus
from reservations.services import reservation_create, reservation_update, reservations_expire
from reservations.tasks import expire_reservations
from stock.models import Stock
from tests.conftest import TEST_ACTOR, events_of, make_overdue, stock_of
from tests.threads import in_thread, lock_waiters, wait_until

TERMINAL_EVENT = {
    ReservationStatus.CONFIRMED: EventType.CONFIRMED,
    ReservationStatus.CANCELLED: EventType.CANCELLED,
    ReservationStatus.EXPIRED: EventType.EXPIRED,
}


def _three_overdue_holds() -> list:
    ids = []
    for user in ("a", "b", "c"):
        reservation = reservation_create(user_id=user, sku="S", quantity=2, actor=TEST_ACTOR)
        make_overdue(reservation.reservation_id)
        ids.append(reservation.reservation_id)
    return ids


@pytest.mark.parametrize("batch_size", [1, 1000])
@pytest.mark.django_db(transaction=True)
def test_c11_concurrent_sweeps_expire_each_reservation_once(make_stock, batch_size):
    # Given three overdue holds of 2 on S=10
    make_stock("S", on_hand=10)
    ids = _three_overdue_holds()
    assert stock_of("S").reserved == 6
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sweep(wait_for_partner: bool) -> int:
        if wait_for_partner:
            start.wait()
        return reservations_expire(batch_size=batch_size)

    def settled() -> int:
        """Sweeps that are either done or stuck on the stock row (having taken reservations)."""
        return lock_waiters() + len(counts)

    # When two sweeps start at once and a third while they run. The test holds the stock row, so a
    # sweep that took reservations is stuck inside its transaction until the third has run.
    with transaction.atomic():
        Stock.objects.select_for_update().get(sku="S")
        first = [in_thread(lambda: sweep(True), counts, errors) for _ in range(2)]
        wait_until(lambda: settled() == 2)
        third = in_thread(lambda: sweep(False), counts, errors)
        wait_until(lambda: settled() == 3)
    for thread in [*first, third]:
        thread.join(10)

    # Then each reservation is expired exactly once
    assert errors == []
    # Batches of 1: each sweep takes one hold. Batches of 1000: SKIP LOCKED lets the first two split
    # the holds between them or one take all; either way the three sweeps together expire three.
    assert len(counts) == 3 and sum(counts) == 3
    if batch_size == 1:
        assert counts == [1, 1, 1]
    assert stock_of("S").reserved == 0
    assert stock_of("S").on_hand == 10
    expired = events_of(EventType.EXPIRED)
    assert sorted(str(event.reservation_id) for event in expired) == sorted(str(i) for i in ids)
    assert {(event.actor, event.old_quantity, event.new_quantity, event.status) for event in expired} == {
        ("system:expiry", 2, 2, "expired")
    }
    assert set(Reservation.objects.values_list("status", flat=True)) == {ReservationStatus.EXPIRED}
    # And a later sweep (the Celery task) finds nothing to do
    assert expire_reservations() == 0
    assert len(events_of(EventType.EXPIRED)) == 3


ROUNDS = 200
PER_ROUND = 2  # reservations raced on per round, on different SKUs


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_c09_updates_deletes_confirms_and_sweeps_race_without_raw_errors(make_stock, api_key):
    # Given stock on two SKUs and, every round, holds whose expires_at is about now
    make_stock("A", on_hand=10_000)
    make_stock("B", on_hand=10_000)
    key = api_key()
    rng = random.Random(9)
    barrier = threading.Barrier(5)
    round_holds: list[tuple] = []
    outcomes: Counter = Counter()
    unexpected: list[BaseException] = []
    outcome_lock = threading.Lock()

    def note(outcome: str) -> None:
        with outcome_lock:
            outcomes[outcome] += 1

    def api_client() -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    def updater() -> None:
        for _reservation_id, user_id, sku in list(round_holds):
            try:
                reservation_update(
                    user_id=user_id,
                    sku=sku,
                    old_quantity=2,
                    new_quantity=3,
                    timestamp=datetime.now(UTC),
                    actor=TEST_ACTOR,
                )
                note("update:200")
            except DomainError as exc:  # includes OperationFailed (Reservations.Update_failed)
                note(f"update:{exc.code}")

    def deleter(client: APIClient) -> None:
        for reservation_id, _, _ in reversed(round_holds):
            response = client.delete(f"/api/v1/reservations/{reservation_id}/")
            code = response.json()["code"] if response.status_code >= 400 else ""
            assert response.status_code in (204, 403, 500), response.content
            assert response.status_code != 500 or code == "Reservations.Delete_failed"
            note(f"delete:{response.status_code}{code}")

    def confirmer(client: APIClient) -> None:
        for reservation_id, _, _ in list(round_holds):
            response = client.post(f"/api/v1/reservations/{reservation_id}/confirm/")
            code = response.json()["code"] if response.status_code >= 400 else ""
            assert response.status_code in (200, 404, 410, 500), response.content
            assert response.status_code != 500 or code == "Reservations.Confirm_failed"
            note(f"confirm:{response.status_code}{code}")

    def sweeper() -> None:
        note(f"sweep:{min(reservations_expire(), 1)}")

    def worker(act) -> None:
        client = api_client()
        try:
            for _ in range(ROUNDS):
                barrier.wait()
                try:
                    act(client)
                except BaseException as exc:
                    unexpected.append(exc)
                barrier.wait()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(act,), daemon=True)
        for act in (lambda c: updater(), deleter, confirmer, lambda c: sweeper())
    ]
    for thread in threads:
        thread.start()
    created = []
    for round_no in range(ROUNDS):
        round_holds.clear()
        for index, sku in enumerate(("A", "B")[:PER_ROUND]):
            user_id = f"r{round_no}-{index}"
            reservation = reservation_create(user_id=user_id, sku=sku, quantity=2, actor=TEST_ACTOR)
            offset = timedelta(milliseconds=rng.randint(-15, 15))
            Reservation.objects.filter(pk=reservation.reservation_id).update(expires_at=datetime.now(UTC) + offset)
            round_holds.append((reservation.reservation_id, user_id, sku))
            created.append(reservation.reservation_id)
        barrier.wait()  # go
        barrier.wait()  # everyone done with this round
    for thread in threads:
        thread.join(10)
    reservations_expire()  # whatever is left overdue

    # Then no raw error reached anyone, and every reservation ended in exactly one final state
    assert unexpected == []
    reservations = {r.reservation_id: r for r in Reservation.objects.all()}
    assert set(reservations) == set(created)
    assert {r.status for r in reservations.values()} <= {"confirmed", "cancelled", "expired"}
    terminal = Counter(
        (event.reservation_id, event.type) for event in Event.objects.filter(type__in=list(TERMINAL_EVENT.values()))
    )
    assert sum(terminal.values()) == len(created)
    for reservation_id, reservation in reservations.items():
        assert terminal[(reservation_id, TERMINAL_EVENT[reservation.status])] == 1
    modified = Counter(Event.objects.filter(type=EventType.MODIFIED).values_list("reservation_id", flat=True))
    assert set(modified.values()) <= {1}
    for reservation in reservations.values():
        assert reservation.quantity == (3 if reservation.reservation_id in modified else 2)
    for sku in ("A", "B"):
        confirmed = sum(r.quantity for r in reservations.values() if r.sku_id == sku and r.status == "confirmed")
        assert stock_of(sku).reserved == 0
        assert stock_of(sku).on_hand == 10_000 - confirmed
    # and the race really happened: each kind of ending was reached
    assert {r.status for r in reservations.values()} == {"confirmed", "cancelled", "expired"}
    assert outcomes["update:200"] > 0
    assert outcomes["confirm:200"] > 0
