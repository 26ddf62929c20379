"""Shared fixtures: real PostgreSQL (pytest-django's test database) and real HTTP-level API calls."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from reservations.events import Actor
from reservations.models import ApiClient, Event, EventType, Reservation, Scope
from stock.models import Stock

TEST_ACTOR = Actor(name="test", request_id="test-request")


@pytest.fixture
def make_stock(db) -> Callable[..., Stock]:
    def make(sku: str = "SKU-1", on_hand: int = 10, **fields: Any) -> Stock:
        fields.setdefault("name", f"Product {sku}")
        fields.setdefault("brand", "Acme")
        fields.setdefault("unit_price", Decimal("10.00"))
        return Stock.objects.create(sku=sku, on_hand=on_hand, **fields)

    return make


@pytest.fixture
def api_key(db) -> Callable[..., str]:
    def make(scopes: list[str] | None = None, name: str = "test-client") -> str:
        _, key = ApiClient.objects.create_key(name=name, scopes=list(Scope.values) if scopes is None else scopes)
        return key

    return make


@pytest.fixture
def api(api_key) -> APIClient:
    """An API client authenticated with every scope."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key()}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def stock_of(sku: str) -> Stock:
    return Stock.objects.get(sku=sku)


def events_of(event_type: str | None = None, **filters: Any) -> list[Event]:
    queryset = Event.objects.all() if event_type is None else Event.objects.filter(type=event_type)
    return list(queryset.filter(**filters).order_by("event_id"))


def state_changes() -> int:
    """Events that describe a change (everything but recorded rejections)."""
    return Event.objects.exclude(type=EventType.REJECTED).count()


def snapshot(reservation_id: Any) -> dict[str, Any]:
    """What "unchanged" means in the acceptance cases: quantity, expires_at, status, stock, event count."""
    reservation = Reservation.objects.get(pk=reservation_id)
    stock = Stock.objects.get(sku=reservation.sku_id)
    return {
        "quantity": reservation.quantity,
        "status": reservation.status,
        "expires_at": reservation.expires_at,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "state_events": state_changes(),
    }


def make_overdue(reservation_id: Any, seconds_ago: int = 5) -> None:
    """Move a reservation's TTL into the past (as if time had passed)."""
    Reservation.objects.filter(pk=reservation_id).update(expires_at=datetime.now(UTC) - timedelta(seconds=seconds_ago))


def iso_now(offset_seconds: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat()


@pytest.fixture
def count_queries():
    """Count SQL statements run by a block, including BEGIN/COMMIT-free raw cursors."""
    return lambda: CaptureQueriesContext(connection)
