"""Authentication, scopes, throttling, the error catalogue and the OpenAPI schema."""

import math
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from reservations.errors import CATALOGUE
from reservations.models import ApiClient, Scope
from tests.test_acceptance_update import CREATE, create, update

pytestmark = pytest.mark.django_db

OPEN_PATHS = {"/api/schema/", "/api/docs/", "/api/redoc/", "/healthz"}
SAMPLE_ARGS = {
    "reservation_id": "3f2b6c1e-1f6e-4a53-9a53-0b7c6f7f2a10",
    "sku": "SKU-1",
    "pk": "1",
    "batch_id": "1",
    "id": "1",
}


def api_paths() -> list[str]:
    """Every routed URL under /api/ with sample arguments (admin is Django's own login)."""
    paths: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = (prefix + str(pattern.pattern)).replace("^", "").replace("$", "")
                if "(?P<format>" in route:
                    continue
                for name, value in SAMPLE_ARGS.items():
                    route = route.replace(f"<str:{name}>", value).replace(f"<int:{name}>", value)
                    route = route.replace(f"(?P<{name}>[0-9a-fA-F-]{{32,36}})", value).replace(
                        f"(?P<{name}>[^/.]+)", value
                    )
                    route = route.replace(f"(?P<{name}>[^/]+)", value)
                paths.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted({p for p in paths if p.startswith("/api/") or p == "/healthz"})


def test_every_api_url_needs_credentials(anonymous):
    paths = api_paths()
    assert "/api/v1/reservations/update/" in paths and "/api/v1/events/" in paths
    checked = 0
    for path in paths:
        if path in OPEN_PATHS:
            continue
        for method in ("get", "post", "put", "delete"):
            response = getattr(anonymous, method)(path)
            if response.status_code == 405:
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["code"] == "Reservations.Unauthorized"
            assert response["WWW-Authenticate"] == "Api-Key"
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("path", sorted(OPEN_PATHS))
def test_docs_and_health_are_open(anonymous, path):
    assert anonymous.get(path).status_code == 200


def test_docs_use_no_cdn(anonymous):
    html = anonymous.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower() and "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in anonymous.get("/api/redoc/").content.decode().lower()
    for asset in ("swagger-ui-dist/swagger-ui-bundle.js", "redoc/bundles/redoc.standalone.js"):
        assert anonymous.get(f"/static/drf_spectacular_sidecar/{asset}").status_code == 200, asset
    # The Redoc bundle itself names a CDN logo: the pages' policy keeps the browser from fetching it.
    for page in ("/api/docs/", "/api/redoc/"):
        assert anonymous.get(page)["Content-Security-Policy"] == "img-src 'self' data:", page


def test_wrong_and_revoked_keys_are_401(make_stock, api_key):
    make_stock("S")
    key = api_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert client.get("/api/v1/stock/").json()["code"] == "Reservations.Unauthorized"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/stock/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/stock/").status_code == 200
    stored = ApiClient.objects.get()
    stored.revoked = True
    stored.save()  # as the admin does; other web processes notice within API_KEY_CACHE_SECONDS
    assert client.get("/api/v1/stock/").status_code == 401


def test_keys_are_hashed_at_rest(api_key):
    key = api_key()
    stored = ApiClient.objects.get()
    assert key not in (stored.id, stored.hashed_key) and key.split(".")[1] not in stored.hashed_key


def test_missing_scope_is_403_forbidden(make_stock, api_key):
    make_stock("S", on_hand=5)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key([Scope.RESERVATIONS_READ])}")

    refused = create(reader, "A", "S", 1)
    events = reader.get("/api/v1/events/")
    stock = reader.put("/api/v1/stock/S/", {"on_hand": 1}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (403, "Reservations.Forbidden")
    assert (events.status_code, stock.status_code) == (403, 403)
    assert reader.get("/api/v1/stock/S/").status_code == 200
    assert reader.get(CREATE).status_code == 200


def test_throttling_per_client_is_429(make_stock, api_key, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": "3/min"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        make_stock("S")
        first, second = APIClient(), APIClient()
        first.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key(name='first')}")
        second.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key(name='second')}")
        codes = [first.get("/api/v1/stock/S/").status_code for _ in range(4)]
        throttled = first.get("/api/v1/stock/S/")
        assert codes == [200, 200, 200, 429]
        assert throttled.json()["code"] == "Reservations.Throttled"
        assert int(throttled["Retry-After"]) >= 1
        assert second.get("/api/v1/stock/S/").status_code == 200  # a budget per client
    finally:
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK  # restored by the fixture
        SimpleRateThrottle.THROTTLE_RATES = {"client": "100000/min"}
        cache.clear()


@pytest.mark.parametrize("budget", [1000, 60])
def test_throttle_leases_never_grant_more_than_the_budget(settings, budget):
    """Web processes take units of a window's budget in leases; together they never exceed it.
    Each "process" here is simulated by forgetting this process's leases before its turn."""
    from django.core.cache import cache

    from reservations.api import auth

    settings.API_THROTTLE_LEASE = 10
    cache.clear()
    lease = auth.lease_size(budget)
    assert lease == (10 if budget == 1000 else 1)  # small budgets stay exact

    def process_takes(requests: int) -> int:
        auth._leases.clear()  # another process: no units held locally
        return sum(auth.take_from_window("client:k", 7, budget=budget, timeout=60) for _ in range(requests))

    first = process_takes(3)  # 3 requests: one lease of 10, or three of 1
    rest = process_takes(budget)  # every other unit, lease by lease, until refused
    assert first == 3
    # What the first process held unused is lost to the others (an early refusal), never granted twice.
    assert rest == budget - lease * math.ceil(3 / lease)
    assert process_takes(1) == 0
    cache.clear()


def test_api_calls_skip_the_admin_middleware_and_the_admin_keeps_it(api, make_stock):
    make_stock("S")
    api_request = api.get("/api/v1/stock/S/").wsgi_request
    assert not hasattr(api_request, "session") and not hasattr(api_request, "_messages")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    assert page.status_code == 200 and hasattr(page.wsgi_request, "session")
    assert "csrftoken" in page.cookies
    refused = browser.post("/admin/login/", {"username": "x", "password": "y"})  # no CSRF token
    assert refused.status_code == 403


def test_every_catalogue_code_is_reachable(api, make_stock):
    """One request per row of the brief's error catalogue (500s are covered by C04 and test_failures)."""
    make_stock("S", on_hand=2)
    seen: dict[str, int] = {}

    def note(response) -> None:
        seen[response.json()["code"]] = response.status_code

    note(create(api, "A", "S", 0))
    note(APIClient().get("/api/v1/stock/"))
    limited = APIClient()
    _, key = ApiClient.objects.create_key(name="limited", scopes=[])
    limited.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    note(limited.get("/api/v1/stock/"))
    note(create(api, "A", "S", 3))
    reservation = create(api, "A", "S", 1).json()["reservation_id"]
    note(create(api, "A", "S", 1))
    note(update(api, "A", "S", 2, 1))
    note(update(api, "B", "S", 1, 2))
    t = timezone.now()
    update(api, "A", "S", 1, 2, timestamp=t.isoformat())
    note(update(api, "A", "S", 2, 1, timestamp=(t - timedelta(minutes=1)).isoformat()))
    api.post(f"{CREATE}{reservation}/confirm/")
    note(update(api, "A", "S", 2, 1))
    other = create(api, "C", "S", 0 + 1)  # stock is gone: 403 again, fine
    assert other.status_code == 403
    from reservations.models import Reservation

    expired = Reservation.objects.create(
        user_id="D", sku_id="S", quantity=1, status="expired", expires_at=t, created_at=t, updated_at=t
    )
    note(api.post(f"{CREATE}{expired.pk}/refresh/"))

    expected = {error.code: error.status for error in CATALOGUE if error.code != "Reservations.Throttled"}
    assert seen == expected


def test_schema_validates_and_documents_errors_per_operation(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), "--format", "openapi-json")
    import json

    schema = json.loads(target.read_text())
    operations = {
        op["operationId"]: op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)
    }
    expected_ids = {
        "createReservation",
        "retrieveReservation",
        "listReservations",
        "deleteReservation",
        "updateReservation",
        "refreshReservation",
        "confirmReservation",
        "listStock",
        "retrieveStock",
        "upsertStock",
        "listEvents",
    }
    assert expected_ids <= set(operations)
    update_responses = operations["updateReservation"]["responses"]
    assert set(update_responses) == {"200", "400", "401", "403", "404", "409", "410", "429", "500"}
    described = " ".join(r["description"] for r in update_responses.values())
    for code in (
        "Reservations.Reserva_definitiva",
        "Reservations.Stock_insuficiente",
        "Reservations.Quantity_conflict",
        "Reservations.Stale_request",
        "Reservations.Reserva_expirada",
        "Reservations.Update_failed",
    ):
        assert code in described
    for operation_id in expected_ids:
        assert {"400", "401", "403", "429"} <= set(operations[operation_id]["responses"]), operation_id
    assert operations["createReservation"]["responses"]["500"]["description"] == "Reservations.Create_failed"
