"""A failure mid-transaction answers the operation's `_failed` code and leaves nothing half done."""

import pytest
from django.db import connection

from reservations.models import Reservation
from tests.conftest import iso_now, snapshot
from tests.test_acceptance_update import CREATE, create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failing_event_type(db):
    """Make the outbox insert of one event type raise, like a database failing mid-transaction."""
    created: list[str] = []

    def install(event_type: str) -> None:
        name = "test_fail_" + event_type.replace(".", "_")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION test_fail_event() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON reservations_event FOR EACH ROW "
                f"WHEN (NEW.type = '{event_type}') EXECUTE FUNCTION test_fail_event()"
            )
        created.append(name)

    yield install
    with connection.cursor() as cursor:
        for name in created:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON reservations_event")


def test_create_failure_holds_nothing(api, make_stock, failing_event_type):
    make_stock("S", on_hand=5)
    failing_event_type("reservation.created")

    response = create(api, "A", "S", 2)

    assert (response.status_code, response.json()["code"]) == (500, "Reservations.Create_failed")
    assert response["Content-Type"] == "application/problem+json"
    assert not Reservation.objects.exists()
    assert api.get("/api/v1/stock/S/").json()["reserved"] == 0


@pytest.mark.parametrize(
    ("event_type", "method", "suffix", "code"),
    [
        ("reservation.confirmed", "post", "confirm/", "Reservations.Confirm_failed"),
        ("reservation.refreshed", "post", "refresh/", "Reservations.Refresh_failed"),
        ("reservation.cancelled", "delete", "", "Reservations.Delete_failed"),
    ],
)
def test_other_write_failures_change_nothing(api, make_stock, failing_event_type, event_type, method, suffix, code):
    make_stock("S", on_hand=5)
    reservation_id = create(api, "A", "S", 2).json()["reservation_id"]
    before = snapshot(reservation_id)
    failing_event_type(event_type)

    response = getattr(api, method)(f"{CREATE}{reservation_id}/{suffix}")

    assert (response.status_code, response.json()["code"]) == (500, code)
    assert snapshot(reservation_id) == before


def test_stock_upsert_failure_changes_nothing(api, make_stock, failing_event_type):
    make_stock("S", on_hand=5)
    failing_event_type("stock.adjusted")

    response = api.put("/api/v1/stock/S/", {"on_hand": 9}, format="json")

    assert (response.status_code, response.json()["code"]) == (500, "Reservations.Upsert_failed")
    assert api.get("/api/v1/stock/S/").json()["on_hand"] == 5


def test_lock_timeout_is_a_clean_update_failed(api, make_stock, settings):
    """A reservation row held by someone else past the lock timeout: 500 Update_failed, nothing changed."""
    import psycopg

    make_stock("S", on_hand=5)
    reservation_id = create(api, "A", "S", 2).json()["reservation_id"]
    before = snapshot(reservation_id)
    params = connection.get_connection_params()
    holder = psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"]
    )
    try:
        holder.execute("SELECT 1 FROM reservations_reservation WHERE reservation_id = %s FOR UPDATE", [reservation_id])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        response = api.post(
            "/api/v1/reservations/update/",
            {
                "timestamp": iso_now(),
                "user_id": "A",
                "sku": "S",
                "old_quantity": 2,
                "new_quantity": 3,
            },
            format="json",
        )
    finally:
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert (response.status_code, response.json()["code"]) == (500, "Reservations.Update_failed")
    assert snapshot(reservation_id) == before
