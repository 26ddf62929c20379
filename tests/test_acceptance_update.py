"""Acceptance cases C01–C06, C10 and C12 (../shared/cases/acceptance.md), through the HTTP API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from reservations.models import EventType, Reservation
from tests.conftest import events_of, iso_now, make_overdue, snapshot, state_changes, stock_of

UPDATE = "/api/v1/reservations/update/"
CREATE = "/api/v1/reservations/"


def create(api, user_id: str, sku: str, quantity: int, **extra):
    return api.post(CREATE, {"user_id": user_id, "sku": sku, "quantity": quantity, **extra}, format="json")


def update(api, user_id: str, sku: str, old: int, new: int, timestamp: str | None = None):
    body = {
        "timestamp": timestamp or iso_now(),
        "user_id": user_id,
        "sku": sku,
        "old_quantity": old,
        "new_quantity": new,
    }
    return api.post(UPDATE, body, format="json")


def approx_now_plus(seconds: int) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now + timedelta(seconds=seconds - 5), now + timedelta(seconds=seconds + 1)


@pytest.mark.django_db
def test_c01_update_within_stock(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 3).data["reservation_id"]

    response = update(api, "A", "S", 3, 5)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"reservation_id", "sku", "new_quantity", "old_quantity", "expires_at", "event_id"}
    assert (body["reservation_id"], body["sku"], body["new_quantity"], body["old_quantity"]) == (
        reservation_id,
        "S",
        5,
        3,
    )
    low, high = approx_now_plus(900)
    assert low <= datetime.fromisoformat(body["expires_at"]) <= high
    assert stock_of("S").available == 5
    [modified] = events_of(EventType.MODIFIED)
    assert modified.event_id == body["event_id"]
    assert (modified.user_id, modified.sku, modified.old_quantity, modified.new_quantity) == ("A", "S", 3, 5)
    assert str(modified.reservation_id) == reservation_id


@pytest.mark.django_db
def test_c02_ttl_moves_only_on_success(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 3).data["reservation_id"]
    expires_before = Reservation.objects.get(pk=reservation_id).expires_at
    before = snapshot(reservation_id)

    refused = update(api, "A", "S", 3, 50)

    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "Reservations.Stock_insuficiente"
    assert refused.json()["available"] == 7
    assert snapshot(reservation_id) == before
    assert events_of(EventType.MODIFIED) == []
    [rejected] = events_of(EventType.REJECTED)
    assert (rejected.code, rejected.operation, rejected.new_quantity) == (
        "Reservations.Stock_insuficiente",
        "update",
        50,
    )

    accepted = update(api, "A", "S", 3, 4)

    assert accepted.status_code == 200
    assert Reservation.objects.get(pk=reservation_id).expires_at > expires_before


@pytest.mark.django_db
def test_c03_definitive_reservation_cannot_change(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 3).data["reservation_id"]
    assert api.post(f"{CREATE}{reservation_id}/confirm/").status_code == 200
    before = snapshot(reservation_id)

    updated = update(api, "A", "S", 3, 4)
    deleted = api.delete(f"{CREATE}{reservation_id}/")

    assert (updated.status_code, updated.json()["code"]) == (403, "Reservations.Reserva_definitiva")
    assert (deleted.status_code, deleted.json()["code"]) == (403, "Reservations.Reserva_definitiva")
    assert snapshot(reservation_id) == before
    assert before["on_hand"] == 7 and before["reserved"] == 0


@pytest.fixture
def failing_modified_event_insert(db):
    """A trigger that makes the outbox insert of a modification fail inside the update transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE OR REPLACE FUNCTION test_fail_event() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_modified BEFORE INSERT ON reservations_event
            FOR EACH ROW WHEN (NEW.type = 'reservation.modified') EXECUTE FUNCTION test_fail_event();
            """
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS test_fail_modified ON reservations_event")


@pytest.mark.django_db(transaction=True)
def test_c04_transactional_error_changes_nothing(api, make_stock, failing_modified_event_insert):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 3).data["reservation_id"]
    before = snapshot(reservation_id)
    total_events = len(events_of())

    response = update(api, "A", "S", 3, 4)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "Reservations.Update_failed"
    assert snapshot(reservation_id) == before
    assert len(events_of()) == total_events  # no rejection event either: nothing was refused, it failed


@pytest.mark.django_db
def test_c05_decrease_always_succeeds(api, make_stock):
    make_stock("S", on_hand=4)
    assert create(api, "A", "S", 4).status_code == 201
    assert create(api, "B", "S", 3).status_code == 403

    assert update(api, "A", "S", 4, 1).status_code == 200
    assert create(api, "B", "S", 3).status_code == 201
    assert stock_of("S").reserved == 4


@pytest.mark.django_db
def test_c06_ecommerce_sees_the_error_as_problem_json(api, make_stock):
    make_stock("S", on_hand=2)
    assert create(api, "A", "S", 2).status_code == 201

    response = create(api, "B", "S", 1)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == 403
    assert body["code"] == "Reservations.Stock_insuficiente"
    assert body["type"].endswith("Reservations.Stock_insuficiente")
    assert body["available"] == 0
    assert not Reservation.objects.filter(user_id="B").exists()


@pytest.mark.django_db
def test_c10_idempotent_replay(api, make_stock):
    make_stock("S", on_hand=10)
    create(api, "A", "S", 3)
    t1 = iso_now()

    first = update(api, "A", "S", 3, 5, timestamp=t1)
    again = update(api, "A", "S", 3, 5, timestamp=t1)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(events_of(EventType.MODIFIED)) == 1
    assert Reservation.objects.get(user_id="A").quantity == 5
    assert stock_of("S").reserved == 5


@pytest.mark.django_db
def test_c12_expired_holds_are_free_before_the_sweep(api, make_stock):
    make_stock("S", on_hand=1)
    reservation_a = create(api, "A", "S", 1).data["reservation_id"]
    make_overdue(reservation_a)

    b = create(api, "B", "S", 1)
    a_update = update(api, "A", "S", 1, 1)
    a_read = api.get(f"{CREATE}{reservation_a}/")

    assert b.status_code == 201
    assert (a_update.status_code, a_update.json()["code"]) == (410, "Reservations.Reserva_expirada")
    assert a_read.json()["status"] == "expired"
    assert stock_of("S").reserved == 1
    [expired] = events_of(EventType.EXPIRED)
    assert str(expired.reservation_id) == reservation_a


@pytest.mark.django_db
def test_overdue_but_unswept_reservation_reads_as_expired(api, make_stock):
    make_stock("S", on_hand=5)
    reservation_id = create(api, "A", "S", 2).data["reservation_id"]
    make_overdue(reservation_id)

    assert api.get(f"{CREATE}{reservation_id}/").json()["status"] == "expired"
    assert api.get(f"{CREATE}?status=expired").json()["count"] == 1
    assert api.get(f"{CREATE}?status=temporary").json()["count"] == 0
    assert update(api, "A", "S", 2, 3).status_code == 410
    assert Reservation.objects.get(pk=reservation_id).status == "temporary"  # the sweep's job, not a read's
    assert state_changes() == 1
