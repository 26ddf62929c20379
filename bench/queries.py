"""SQL statements per request, counted in-process with Django's CaptureQueriesContext.

Run by bench/run.py against the freshly loaded bench database (production settings from the
environment); prints one JSON line {operationId: statements}. "mix" is the mean of one checkout
journey's requests (create, update, refresh, confirm or delete, 60/40).
"""

import json
import os
from datetime import UTC, datetime

import django


def main() -> None:
    django.setup()
    from django.db import connection  # noqa: PLC0415 (after setup)
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    key = os.environ.get("BENCH_KEY", "demokey1.LocalDemoOnlyNotASecret0000000")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    counts: dict[str, int] = {}

    def call(name: str, method: str, path: str, body: dict | None = None, expect: int = 200):
        with CaptureQueriesContext(connection) as captured:
            if method == "get":
                response = client.get(path)
            else:
                response = getattr(client, method)(path, data=json.dumps(body or {}), content_type="application/json")
        assert response.status_code == expect, (name, response.status_code, response.content)
        counts[name] = len(captured.captured_queries)
        return response

    call("cold key cache", "get", "/api/v1/stock/B-1/")  # a process's first request also looks the key up
    call("retrieveStock", "get", "/api/v1/stock/B-0/")
    stamp = datetime.now(UTC).isoformat()
    body = {"timestamp": stamp, "user_id": "u0", "sku": "B-0", "old_quantity": 1, "new_quantity": 2}
    call("updateReservation", "post", "/api/v1/reservations/update/", body)
    create = {"user_id": "q1", "sku": "M-0", "quantity": 1}
    created = call("createReservation", "post", "/api/v1/reservations/", create, 201)
    rid = created.json()["reservation_id"]
    body = {"timestamp": stamp, "user_id": "q1", "sku": "M-0", "old_quantity": 1, "new_quantity": 2}
    call("updateReservation(mix)", "post", "/api/v1/reservations/update/", body)
    call("refreshReservation", "post", f"/api/v1/reservations/{rid}/refresh/")
    call("confirmReservation", "post", f"/api/v1/reservations/{rid}/confirm/")
    created = call("createReservation", "post", "/api/v1/reservations/", {**create, "user_id": "q2"}, 201)
    call("deleteReservation", "delete", f"/api/v1/reservations/{created.json()['reservation_id']}/", expect=204)
    journey = ["createReservation", "updateReservation(mix)", "refreshReservation"]
    last = 0.6 * counts["confirmReservation"] + 0.4 * counts["deleteReservation"]
    counts["mix"] = round((sum(counts[name] for name in journey) + last) / 4, 1)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
