"""Regression tests for what a breaking session found: every bad request is a clean 4xx problem."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from reservations.models import ApiClient, Reservation, Scope
from tests.conftest import snapshot
from tests.test_acceptance_update import CREATE, UPDATE, create

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(api, make_stock) -> str:
    make_stock("S", on_hand=10)
    return create(api, "A", "S", 3).json()["reservation_id"]


@pytest.mark.parametrize(
    "timestamp",
    [
        "9999-12-31T23:59:59-01:00",  # would be year 10000 in UTC
        "0001-01-01T00:00:00+01:00",  # would be year 0 in UTC
        (datetime.now(UTC) + timedelta(hours=1)).isoformat(),  # far ahead: would make every later update stale
        (datetime.now(UTC) - timedelta(days=2)).isoformat(),
    ],
)
def test_implausible_timestamps_are_refused(api, held, timestamp):
    before = snapshot(held)
    body = {"timestamp": timestamp, "user_id": "A", "sku": "S", "old_quantity": 3, "new_quantity": 4}

    response = api.post(UPDATE, body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")
    assert "timestamp" in response.json()["errors"]
    assert snapshot(held) == before
    assert api.get(f"{CREATE}{held}/").status_code == 200
    assert api.get(CREATE).status_code == 200


def test_a_slightly_fast_client_clock_is_accepted(api, held):
    ahead = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    body = {"timestamp": ahead, "user_id": "A", "sku": "S", "old_quantity": 3, "new_quantity": 4}
    assert api.post(UPDATE, body, format="json").status_code == 200


def test_deeply_nested_json_is_a_400(api, held):
    response = api.generic("POST", UPDATE, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")


def test_oversized_body_is_a_400(api, held):
    response = api.generic("POST", UPDATE, '{"user_id": "' + "x" * 3_000_000 + '"}', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request")


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/nothing/", "/api/v1/reservations/not-a-uuid/", "/api/v1/reservations/zzz/confirm/"]
)
def test_unknown_api_urls_are_problem_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "Reservations.Not_found"


@pytest.mark.parametrize("sku", ["a\x00b", "S" * 65, " SKU-001 ", "a b", "a/b"])
def test_malformed_sku_in_the_stock_path_is_refused(api, sku):
    from urllib.parse import quote

    path = f"/api/v1/stock/{quote(sku, safe='')}/"
    read, write = api.get(path), api.put(path, {"on_hand": 1}, format="json")
    assert read.status_code in (400, 404)
    assert write.status_code in (400, 404)
    assert write["Content-Type"] == "application/problem+json"
    assert api.get("/api/v1/stock/").json()["count"] == 0


def test_nul_in_query_parameters_is_a_400(api, held):
    for path in ("/api/v1/stock/?brand=%00", f"{CREATE}?user_id=%00", f"{CREATE}?sku=%00"):
        response = api.get(path)
        assert (response.status_code, response.json()["code"]) == (400, "Reservations.Invalid_request"), path


def test_wrong_method_and_media_type_are_clean_problems(api, held):
    wrong_method = api.put(f"{CREATE}{held}/", {}, format="json")
    wrong_media = api.generic("POST", UPDATE, "a=b", content_type="application/x-www-form-urlencoded")

    assert wrong_method.status_code == 405
    assert wrong_method.json()["title"] == "Method Not Allowed"
    assert wrong_method.json()["code"] == "Reservations.Method_not_allowed"
    assert wrong_media.status_code == 415
    assert wrong_media.json()["code"] == "Reservations.Unsupported_media_type"
    assert "{" not in wrong_media.json()["title"]


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_need_the_read_scope_too(make_stock, api_key, method):
    make_stock("S")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key([Scope.RESERVATIONS_READ])}")
    assert getattr(client, method)("/api/v1/events/").status_code == 403
    assert getattr(client, method)("/api/v1/stock/").status_code == 200


def test_empty_scopes_option_grants_nothing(db):
    with pytest.raises(CommandError):
        call_command("create_api_client", "nobody", "--scopes", "")
    assert not ApiClient.objects.exists()


def test_key_guessing_is_throttled_per_address(db, settings):
    cache.clear()
    settings.AUTH_FAILURES_PER_MINUTE = 3
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Api-Key guess.guess")
    codes = [guesser.get("/api/v1/stock/").status_code for _ in range(5)]
    cache.clear()
    assert codes == [401, 401, 401, 429, 429]


def test_read_failure_code_is_named_for_reads(api, held, monkeypatch):
    from reservations import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "reservation_get", broken)
    response = api.get(f"{CREATE}{held}/")
    assert (response.status_code, response.json()["code"]) == (500, "Reservations.Read_failed")
    assert Reservation.objects.filter(pk=held).exists()


def test_events_after_out_of_range_is_a_400(api, db):
    assert api.get("/api/v1/events/?after=99999999999999999999").status_code == 400
