"""updateReservation rules 1–6 beyond the acceptance cases, and the bad-input list of issue #2."""

from datetime import UTC, datetime, timedelta

import pytest

from reservations.models import EventType, Reservation
from tests.conftest import events_of, iso_now, snapshot, stock_of
from tests.test_acceptance_update import CREATE, UPDATE, create, update


@pytest.fixture
def held(api, make_stock) -> str:
    """A holds 3 of S (on_hand 10)."""
    make_stock("S", on_hand=10)
    return create(api, "A", "S", 3).data["reservation_id"]


def test_quantity_conflict_reports_the_current_quantity(api, held):
    before = snapshot(held)

    response = update(api, "A", "S", 2, 5)

    assert response.status_code == 409
    assert response.json()["code"] == "Reservations.Quantity_conflict"
    assert response.json()["current_quantity"] == 3
    assert snapshot(held) == before


def test_stale_timestamp_is_refused(api, held):
    t_new, t_old = iso_now(), iso_now(-60)
    assert update(api, "A", "S", 3, 5, timestamp=t_new).status_code == 200
    assert update(api, "A", "S", 5, 3, timestamp=iso_now(1)).status_code == 200
    before = snapshot(held)

    response = update(api, "A", "S", 3, 4, timestamp=t_old)

    assert (response.status_code, response.json()["code"]) == (409, "Reservations.Stale_request")
    assert snapshot(held) == before


def test_replay_is_recognised_only_for_the_last_applied_update(api, held):
    t1 = iso_now(-2)
    first = update(api, "A", "S", 3, 5, timestamp=t1)
    assert update(api, "A", "S", 5, 6, timestamp=iso_now()).status_code == 200

    late_replay = update(api, "A", "S", 3, 5, timestamp=t1)

    assert first.status_code == 200
    assert late_replay.status_code == 409
    assert Reservation.objects.get(pk=held).quantity == 6


def test_replay_with_other_offset_of_the_same_instant_is_the_same_request(api, held):
    instant = datetime.now(UTC).replace(microsecond=0)
    utc = update(api, "A", "S", 3, 5, timestamp=instant.isoformat())
    madrid = update(api, "A", "S", 3, 5, timestamp=instant.astimezone(timezone_plus(1)).isoformat())
    assert madrid.json() == utc.json()


def timezone_plus(hours: int):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_same_quantity_refreshes_ttl_without_a_modification(api, held):
    before = Reservation.objects.get(pk=held).expires_at

    response = update(api, "A", "S", 3, 3)

    assert response.status_code == 200
    assert Reservation.objects.get(pk=held).expires_at > before
    assert events_of(EventType.MODIFIED) == []
    [refreshed] = events_of(EventType.REFRESHED)
    assert refreshed.event_id == response.json()["event_id"]
    assert stock_of("S").reserved == 3


def test_increase_checks_only_the_delta(api, make_stock):
    make_stock("S", on_hand=5)
    create(api, "A", "S", 3)

    assert update(api, "A", "S", 3, 5).status_code == 200  # needs 2 more, 2 available
    assert stock_of("S").available == 0
    refused = update(api, "A", "S", 5, 6)
    assert (refused.status_code, refused.json()["available"]) == (403, 0)


def test_decrease_releases_stock_and_writes_a_modification(api, held):
    response = update(api, "A", "S", 3, 1)

    assert response.status_code == 200
    assert stock_of("S").reserved == 1
    [modified] = events_of(EventType.MODIFIED)
    assert (modified.old_quantity, modified.new_quantity) == (3, 1)


def test_no_reservation_is_not_found(api, make_stock):
    make_stock("S", on_hand=10)
    response = update(api, "nobody", "S", 1, 2)
    assert (response.status_code, response.json()["code"]) == (404, "Reservations.Not_found")


def test_cancelled_reservation_is_not_found(api, held):
    assert api.delete(f"{CREATE}{held}/").status_code == 204
    response = update(api, "A", "S", 3, 2)
    assert (response.status_code, response.json()["code"]) == (404, "Reservations.Not_found")


def test_swept_expired_reservation_is_gone(api, held):
    Reservation.objects.filter(pk=held).update(status="expired")
    response = update(api, "A", "S", 3, 2)
    assert (response.status_code, response.json()["code"]) == (410, "Reservations.Reserva_expirada")


VALID = {"user_id": "A", "sku": "S", "old_quantity": 3, "new_quantity": 4}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"new_quantity": 0}, "new_quantity"),
        ({"new_quantity": -1}, "new_quantity"),
        ({"new_quantity": 2.5}, "new_quantity"),
        ({"new_quantity": 4.0}, "new_quantity"),
        ({"new_quantity": "3"}, "new_quantity"),
        ({"new_quantity": True}, "new_quantity"),
        ({"new_quantity": None}, "new_quantity"),
        ({"new_quantity": 2147483648}, "new_quantity"),
        ({"new_quantity": 10**20}, "new_quantity"),
        ({"new_quantity": 1001}, "new_quantity"),
        ({"old_quantity": "3"}, "old_quantity"),
        ({"old_quantity": 0}, "old_quantity"),
        ({"timestamp": "2026-12-03T10:00:00"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": 1733220000}, "timestamp"),
        ({"user_id": ""}, "user_id"),
        ({"sku": "x" * 65}, "sku"),
    ],
)
def test_bad_input_is_a_400_that_changes_nothing(api, held, change, field):
    before = snapshot(held)
    total_events = len(events_of())

    response = api.post(UPDATE, {"timestamp": iso_now(), **VALID, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "Reservations.Invalid_request"
    assert field in response.json()["errors"]
    assert snapshot(held) == before
    assert len(events_of()) == total_events


@pytest.mark.parametrize("missing", ["timestamp", "user_id", "sku", "old_quantity", "new_quantity"])
def test_missing_field_is_a_400(api, held, missing):
    body = {"timestamp": iso_now(), **VALID}
    del body[missing]
    response = api.post(UPDATE, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")
    assert missing in response.json()["errors"]
    assert Reservation.objects.get(pk=held).quantity == 3


def test_unknown_sku_is_a_400(api, held):
    response = update(api, "A", "NO-SUCH-SKU", 3, 4)
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")
    assert Reservation.objects.get(pk=held).quantity == 3


def test_malformed_json_is_a_400(api, held):
    response = api.generic("POST", UPDATE, "{not json", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")


@pytest.mark.django_db(transaction=True)
def test_update_runs_a_fixed_small_number_of_queries(api, held, django_assert_num_queries):
    # The API key was verified by `held`'s request and is cached; then BEGIN, lock the reservation,
    # reserve the stock delta, insert the event and update the reservation (one statement), COMMIT.
    with django_assert_num_queries(5):
        response = update(api, "A", "S", 3, 4)
    assert response.status_code == 200
