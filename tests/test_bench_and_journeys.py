"""Pure functions of `make bench` and `simulate_journeys`: no server, no clock."""

from decimal import Decimal
from pathlib import Path

import pytest
from rest_framework.exceptions import ValidationError

from bench.report import Row, check_targets, errors_of, format_table, parse_pgbench_tps, parse_wrk, row_from_wrk
from reservations.api.serializers import ReservationUpdateSerializer, update_payload
from reservations.management.commands.simulate_journeys import Call, ShopperLog, compute_kpis, make_plan

WRK = (
    'Running 10s test\nBENCHJSON {"requests":5000,"duration_us":10000000,"p50_us":12000,"p95_us":30000,'
    '"p99_us":45000,"max_us":90000,"socket_errors":{"connect":0,"read":1,"write":0,"timeout":0},'
    '"codes":{"200":4990,"409 Reservations.Quantity_conflict":8,"500 Reservations.Update_failed":2}}\n'
)


def test_wrk_row_throughput_latency_errors_and_ratio():
    row = row_from_wrk("a update spread", 8, parse_wrk(WRK), yardstick=2000.0)
    assert row.throughput == pytest.approx(500.0)
    assert (row.p50_ms, row.p95_ms, row.p99_ms) == (12.0, 30.0, 45.0)
    assert row.ratio == pytest.approx(0.25)
    assert row.errors == {
        "409 Reservations.Quantity_conflict": 8,
        "500 Reservations.Update_failed": 2,
        "socket:read": 1,
    }
    assert "a update spread" in format_table([row])


def test_pgbench_tps_and_errors_of():
    assert parse_pgbench_tps("latency average = 4.4 ms\ntps = 1812.345678 (without initial connection time)\n") == (
        pytest.approx(1812.345678)
    )
    assert errors_of({"200": 10, "201": 3, "204": 1}) == {}


def test_targets_from_rows():
    rows = [
        Row("stock GET (cheapest)", 8, throughput=800.0),
        Row("a update spread", 8, throughput=500.0, yardstick=2000.0, ratio=0.25, p99_ms=40.0),
        Row("b hot SKU", 64, throughput=380.0, errors={"403 Reservations.Stock_insuficiente": 5}),
        Row("d expiry sweep", 1, throughput=40_000.0, yardstick=100_000.0, ratio=0.4),
    ]
    met = {target: ok for target, ok, _ in check_targets(rows, oversell=0)}
    assert met["(a) 8 clients >= 0.20 x yardstick"] is True
    assert met["(a) 8 clients >= 0.5 x GET /stock/{sku}/"] is True  # 500 / 800
    assert met["(a) 8 clients p99 < 50 ms"] is True
    assert met["(b) zero 5xx"] is True
    assert met["(b) zero oversell"] is True
    assert met["(b) >= 0.8 x (a) at 8 clients"] is False  # 380 / 500 = 0.76
    assert met["(d expiry sweep) within 2x raw SQL time"] is False  # 2.5x the raw time


def test_journey_kpis_on_a_tiny_deterministic_input():
    price = Decimal("10.00")
    # old journey: create 1 at t=1, cancel at t=3, re-create 2 at t=3.5, confirm at t=5.
    changed = ShopperLog(1, "old", price, outcome="confirmed")
    changed.calls = [
        Call("create", 0.9, 1.0, 201, quantity=1),
        Call("delete", 2.9, 3.0, 204),
        Call("create", 3.4, 3.5, 201, quantity=2),
        Call("confirm", 4.9, 5.0, 200),
    ]
    # refused at the start: counts as a lost order and a failed attempt.
    lost = ShopperLog(2, "old", price, outcome="lost_to_stock")
    lost.calls = [Call("create", 1.0, 1.1, 403, "Reservations.Stock_insuficiente", quantity=3)]
    # still holding 1 unit when the run ends at t=10.
    holding = ShopperLog(3, "old", price, outcome="failed")
    holding.calls = [Call("create", 7.9, 8.0, 201, quantity=1)]

    kpis = compute_kpis([changed, lost, holding], end=10.0)

    assert kpis["reservation attempts"] == 4
    assert kpis["reservation error rate"] == pytest.approx(0.25)
    assert kpis["stock errors"] == 1
    assert kpis["orders lost to stock errors"] == 1
    assert kpis["  of which during a change"] == 0
    # 1 unit x 2 s + 2 units x 1.5 s + 1 unit x 2 s
    assert kpis["units blocked x time (unit*s)"] == pytest.approx(7.0)
    assert kpis["mean cancel -> new reservation (ms)"] == pytest.approx(500.0)
    assert kpis["confirmed"] == 1
    assert kpis["conversion"] == pytest.approx(1 / 3)
    assert kpis["revenue"] == Decimal("20.00")


def test_same_seed_same_plan():
    assert make_plan(seed=3, shoppers=20, window=5, think=0.2) == make_plan(seed=3, shoppers=20, window=5, think=0.2)


@pytest.mark.parametrize(
    "body",
    [
        {
            "timestamp": "2026-12-03T10:00:00+01:00",
            "user_id": "u1",
            "sku": "SKU-1",
            "old_quantity": 1,
            "new_quantity": 2,
        },
        {"timestamp": "2026-12-03T10:00:00Z", "user_id": "u1", "sku": "SKU-1", "old_quantity": 5, "new_quantity": 1000},
        {"timestamp": "2026-12-03T10:00:00Z", "user_id": " u1 ", "sku": "SKU-1", "old_quantity": 1, "new_quantity": 2},
        {"timestamp": "2026-12-03T10:00:00Z", "user_id": "ü", "sku": "SKU-1", "old_quantity": 1, "new_quantity": 2},
        {"timestamp": "2026-12-03T10:00:00Z", "user_id": 7, "sku": "SKU-1", "old_quantity": 1, "new_quantity": 2},
    ],
)
def test_fast_update_payload_is_what_the_serializer_returns(body):
    serializer = ReservationUpdateSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert update_payload(body) == dict(serializer.validated_data)


@pytest.mark.parametrize(
    "changes",
    [
        {"new_quantity": 0},
        {"new_quantity": "3"},
        {"new_quantity": 2.5},
        {"new_quantity": True},
        {"new_quantity": 10**30},
        {"timestamp": "2026-12-03T10:00:00"},
        {"timestamp": None},
        {"user_id": ""},
        {"sku": "x" * 65},
    ],
)
def test_invalid_update_bodies_get_the_serializers_errors(changes):
    body = {"timestamp": "2026-12-03T10:00:00Z", "user_id": "u1", "sku": "SKU-1", "old_quantity": 1, "new_quantity": 2}
    body |= changes
    serializer = ReservationUpdateSerializer(data=body)
    assert not serializer.is_valid()
    with pytest.raises(ValidationError) as raised:
        update_payload(body)
    assert raised.value.detail == serializer.errors


def test_update_over_http_and_a_revoked_key_is_refused_at_once(api_key, make_stock):
    from rest_framework.test import APIClient

    from reservations.models import ApiClient

    make_stock("SKU-1", on_hand=10)
    key = api_key(name="revocable")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert (
        client.post(
            "/api/v1/reservations/", {"user_id": "u1", "sku": "SKU-1", "quantity": 1}, format="json"
        ).status_code
        == 201
    )
    body = {"timestamp": "2026-12-03T10:00:00Z", "user_id": "u1", "sku": "SKU-1", "old_quantity": 1, "new_quantity": 3}
    answer = client.post("/api/v1/reservations/update/", body, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["new_quantity"] == 3
    from reservations.models import Event, Reservation

    stored = Reservation.objects.get(user_id="u1", sku_id="SKU-1")
    assert (stored.quantity, stored.last_update_event_id) == (3, answer.json()["event_id"])
    assert Event.objects.get(event_id=answer.json()["event_id"]).type == "reservation.modified"
    assert client.post("/api/v1/reservations/update/", body, format="json").json() == answer.json()  # replay
    revoked = ApiClient.objects.get(name="revocable")
    revoked.revoked = True
    revoked.save()
    assert client.get("/api/v1/stock/SKU-1/").status_code == 401


def test_the_kept_yardstick_copy_equals_the_shared_one():
    """bench/yardstick/ lets `make bench` run from a clone anywhere; it must stay the shared yardstick."""
    repo = Path(__file__).resolve().parent.parent
    canonical = repo.parent / "shared" / "bench"
    if not canonical.is_dir():
        pytest.skip("no ../shared/bench beside this clone to compare with")
    for name in ("limit_schema.sql", "limit_update.sql"):
        assert (repo / "bench" / "yardstick" / name).read_text() == (canonical / name).read_text()
