"""create, retrieve, list, delete, refresh, confirm and the stock endpoints."""

import time
from datetime import UTC, datetime

import pytest

from reservations.models import EventType, Reservation
from tests.conftest import events_of, make_overdue, snapshot, stock_of
from tests.test_acceptance_update import CREATE, create

pytestmark = pytest.mark.django_db


def test_create_holds_stock_and_writes_an_event(api, make_stock):
    make_stock("S", on_hand=10)

    response = create(api, "A", "S", 4, channel="app")

    assert response.status_code == 201
    body = response.json()
    assert (body["user_id"], body["sku"], body["quantity"], body["status"], body["channel"]) == (
        "A",
        "S",
        4,
        "temporary",
        "app",
    )
    assert stock_of("S").reserved == 4
    [created] = events_of(EventType.CREATED)
    assert (created.user_id, created.sku, created.new_quantity, created.channel) == ("A", "S", 4, "app")
    assert created.actor == "client:test-client"


def test_second_temporary_reservation_of_the_pair_is_refused(api, make_stock):
    make_stock("S", on_hand=10)
    first = create(api, "A", "S", 1).json()["reservation_id"]

    response = create(api, "A", "S", 2)

    assert (response.status_code, response.json()["code"]) == (409, "Reservations.Reserva_existente")
    assert response.json()["reservation_id"] == first
    assert stock_of("S").reserved == 1


def test_create_after_own_overdue_hold_replaces_it(api, make_stock):
    make_stock("S", on_hand=3)
    old = create(api, "A", "S", 3).json()["reservation_id"]
    make_overdue(old)

    response = create(api, "A", "S", 2)

    assert response.status_code == 201
    assert Reservation.objects.get(pk=old).status == "expired"
    assert stock_of("S").reserved == 2


@pytest.mark.parametrize("quantity", [0, -2, 1001, 2.5, "2", None])
def test_create_with_bad_quantity_changes_nothing(api, make_stock, quantity):
    make_stock("S", on_hand=10)
    response = create(api, "A", "S", quantity)
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")
    assert stock_of("S").reserved == 0
    assert not Reservation.objects.exists()


def test_create_with_unknown_sku_is_a_400(api, make_stock):
    response = create(api, "A", "NOPE", 1)
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")
    assert not Reservation.objects.exists()


def test_delete_releases_and_repeating_is_a_no_op(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 4).json()["reservation_id"]

    first = api.delete(f"{CREATE}{reservation_id}/")
    again = api.delete(f"{CREATE}{reservation_id}/")

    assert (first.status_code, again.status_code) == (204, 204)
    assert stock_of("S").reserved == 0
    assert Reservation.objects.get(pk=reservation_id).status == "cancelled"
    assert len(events_of(EventType.CANCELLED)) == 1


def test_delete_of_unknown_reservation_is_404(api, db):
    response = api.delete(f"{CREATE}00000000-0000-0000-0000-000000000000/")
    assert (response.status_code, response.json()["code"]) == (404, "Reservations.Not_found")


def test_refresh_moves_the_ttl(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 1).json()["reservation_id"]
    before = Reservation.objects.get(pk=reservation_id).expires_at

    response = api.post(f"{CREATE}{reservation_id}/refresh/")

    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["expires_at"]) > before
    assert len(events_of(EventType.REFRESHED)) == 1


def test_refresh_of_overdue_reservation_is_gone(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 1).json()["reservation_id"]
    make_overdue(reservation_id)
    before = snapshot(reservation_id)

    response = api.post(f"{CREATE}{reservation_id}/refresh/")

    assert (response.status_code, response.json()["code"]) == (410, "Reservations.Reserva_expirada")
    assert snapshot(reservation_id) == before


def test_confirm_consumes_stock_and_repeating_returns_the_same(api, make_stock):
    make_stock("S", on_hand=10)
    reservation_id = create(api, "A", "S", 4).json()["reservation_id"]

    first = api.post(f"{CREATE}{reservation_id}/confirm/")
    again = api.post(f"{CREATE}{reservation_id}/confirm/")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["status"] == "confirmed"
    stock = stock_of("S")
    assert (stock.on_hand, stock.reserved) == (6, 0)
    assert len(events_of(EventType.CONFIRMED)) == 1


def test_confirm_of_cancelled_is_404_and_of_overdue_is_410(api, make_stock):
    make_stock("S", on_hand=10)
    cancelled = create(api, "A", "S", 1).json()["reservation_id"]
    api.delete(f"{CREATE}{cancelled}/")
    overdue = create(api, "B", "S", 1).json()["reservation_id"]
    make_overdue(overdue)

    assert api.post(f"{CREATE}{cancelled}/confirm/").json()["code"] == "Reservations.Not_found"
    assert api.post(f"{CREATE}{overdue}/confirm/").json()["code"] == "Reservations.Reserva_expirada"
    assert stock_of("S").on_hand == 10


def test_list_filters_and_paginates(api, make_stock):
    make_stock("S", on_hand=100)
    make_stock("T", on_hand=100)
    for user in ("A", "B", "C"):
        create(api, user, "S", 1)
    create(api, "A", "T", 1)

    assert api.get(f"{CREATE}?user_id=A").json()["count"] == 2
    assert api.get(f"{CREATE}?sku=S").json()["count"] == 3
    assert api.get(f"{CREATE}?user_id=A&sku=T").json()["count"] == 1
    page = api.get(f"{CREATE}?limit=2").json()
    assert (page["count"], len(page["results"])) == (4, 2)
    assert api.get(f"{CREATE}?status=bogus").status_code == 400


def test_retrieve_unknown_or_malformed_id_is_404(api, db):
    assert api.get(f"{CREATE}{'1' * 32}/").json()["code"] == "Reservations.Not_found"
    assert api.get(f"{CREATE}not-a-uuid/").status_code == 404


def test_stock_upsert_create_update_and_refuse_below_reserved(api, db):
    created = api.put(
        "/api/v1/stock/NEW/", {"on_hand": 5, "name": "New", "brand": "Acme", "unit_price": "9.99"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["available"] == 5
    create(api, "A", "NEW", 3)

    updated = api.put("/api/v1/stock/NEW/", {"on_hand": 8}, format="json")
    refused = api.put("/api/v1/stock/NEW/", {"on_hand": 2}, format="json")

    assert (updated.status_code, updated.json()["available"], updated.json()["name"]) == (200, 5, "New")
    assert (refused.status_code, refused.json()["code"], refused.json()["reserved"]) == (
        400,
        "Reservations.Invalid_request",
        3,
    )
    assert stock_of("NEW").on_hand == 8
    assert [e.new_quantity for e in events_of(EventType.STOCK_ADJUSTED)] == [5, 8]


def test_stock_upsert_counts_overdue_holds_as_free(api, make_stock):
    make_stock("S", on_hand=5)
    reservation_id = create(api, "A", "S", 4).json()["reservation_id"]
    make_overdue(reservation_id)

    response = api.put("/api/v1/stock/S/", {"on_hand": 1}, format="json")

    assert response.status_code == 200
    assert (stock_of("S").on_hand, stock_of("S").reserved) == (1, 0)


def test_stock_read(api, make_stock):
    make_stock("S", on_hand=7)
    create(api, "A", "S", 2)
    assert api.get("/api/v1/stock/S/").json()["available"] == 5
    assert api.get("/api/v1/stock/").json()["count"] == 1
    assert api.get("/api/v1/stock/NOPE/").json()["code"] == "Reservations.Not_found"


def feed_settles(api, count: int) -> None:
    """Wait until `count` events are visible in the feed.

    The feed holds back events while any older transaction on the PostgreSQL cluster is still running
    (selectors.events_after), so under concurrent load elsewhere they appear a moment after commit.
    """
    deadline = time.monotonic() + 10
    while len(api.get("/api/v1/events/?after=0&limit=1000").json()["results"]) < count:
        assert time.monotonic() < deadline, "events never became visible in the feed"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_event_feed_pages_in_order(api, make_stock):
    make_stock("S", on_hand=10)
    for user in "ABCDE":
        create(api, user, "S", 1)
    feed_settles(api, 5)

    first = api.get("/api/v1/events/?after=0&limit=3").json()
    rest = api.get(f"/api/v1/events/?after={first['next_after']}&limit=100").json()

    ids = [e["event_id"] for e in first["results"] + rest["results"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 5
    assert first["next_after"] == ids[2]
    assert rest["next_after"] == ids[-1]
    assert api.get(f"/api/v1/events/?after={ids[-1]}").json() == {"results": [], "next_after": ids[-1]}
    assert datetime.fromisoformat(first["results"][0]["occurred_at"]) <= datetime.now(UTC)


@pytest.mark.django_db(transaction=True)
def test_event_feed_never_skips_an_event_that_commits_late(api, make_stock):
    """A transaction holding a lower event id commits after a higher id: the feed waits for it."""
    import psycopg
    from django.conf import settings
    from django.db import connection

    make_stock("S", on_hand=10)
    params = connection.get_connection_params()
    slow = psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        dbname=settings.DATABASES["default"]["NAME"],
    )
    try:
        with slow.cursor() as cursor:  # takes the lower id, stays uncommitted
            cursor.execute(
                "INSERT INTO reservations_event (type, occurred_at, user_id, sku, status, channel, actor, request_id, "
                "code, operation) VALUES ('stock.adjusted', now(), '', 'S', '', '', 'slow', '', '', '') RETURNING event_id"
            )
            slow_id = cursor.fetchone()[0]
        create(api, "A", "S", 1)  # commits a higher id

        while_open = api.get("/api/v1/events/?after=0").json()
        slow.commit()
        feed_settles(api, 2)
        after_commit = api.get("/api/v1/events/?after=0").json()
    finally:
        slow.close()

    assert while_open["results"] == []
    ids = [e["event_id"] for e in after_commit["results"]]
    assert ids[0] == slow_id and len(ids) == 2 and ids[1] > slow_id
