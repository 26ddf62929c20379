"""(d) batch work against one raw SQL statement doing the same, in-process (production settings).

- sweep: 100,000 overdue temporary reservations (1,000 SKUs), expired by the service
  `reservations.services.reservations_expire`, then (reloaded identically) by one statement.
- export of 1,000,000 events: see EXPORT_HOOK below (TODO for the lead).

Prints one JSON line: a list of bench.report.Row fields.
"""

import json
import time
from collections.abc import Callable

import django

N_EXPIRED = 100_000
N_SKUS = 1_000
N_EVENTS = 1_000_000

# ---------------------------------------------------------------------------------------------------
# TODO(lead): wire the `reporting` export service here once its branch is merged.
# EXPORT_HOOK must export every unexported outbox event exactly as the beat task does and return the
# number of events exported, e.g.
#     from reporting.services import export_events
#     EXPORT_HOOK = lambda: export_events().event_count
# While it is None, the export row reads "not wired" and only the raw-SQL baseline below is ready
# (RAW_EXPORT_SQL: the same events as CSV via COPY, gzipped, which is what the service must approach).
EXPORT_HOOK: Callable[[], int] | None = None
# ---------------------------------------------------------------------------------------------------

LOAD_EXPIRED_SQL = f"""
INSERT INTO stock_stock (sku, name, brand, unit_price, on_hand, reserved, updated_at)
  SELECT 'X-' || g, 'Sweep ' || g, 'Bench', 5.00, 1000, {N_EXPIRED // N_SKUS}, now()
  FROM generate_series(0, {N_SKUS - 1}) g
  ON CONFLICT (sku) DO UPDATE SET reserved = EXCLUDED.reserved;
INSERT INTO reservations_reservation
  (reservation_id, user_id, sku, quantity, status, channel, expires_at, created_at, updated_at)
  SELECT gen_random_uuid(), 'x' || g, 'X-' || (g % {N_SKUS}), 1, 'temporary', 'web',
         now() - interval '1 minute', now() - interval '16 minutes', now() - interval '16 minutes'
  FROM generate_series(0, {N_EXPIRED - 1}) g;
ANALYZE reservations_reservation;
"""

CLEAN_EXPIRED_SQL = """
DELETE FROM reservations_event WHERE type = 'reservation.expired' AND sku LIKE 'X-%';
DELETE FROM reservations_reservation WHERE sku LIKE 'X-%';
"""

# The sweep as one statement: expire every overdue hold, release its units per SKU, write its event.
RAW_SWEEP_SQL = """
WITH expired AS (
  UPDATE reservations_reservation SET status = 'expired', updated_at = now()
  WHERE status = 'temporary' AND expires_at <= now()
  RETURNING reservation_id, user_id, sku, quantity, channel
), released AS (
  UPDATE stock_stock s SET reserved = s.reserved - e.units, updated_at = now()
  FROM (SELECT sku, sum(quantity) AS units FROM expired GROUP BY sku) e WHERE s.sku = e.sku
)
INSERT INTO reservations_event (type, occurred_at, reservation_id, user_id, sku, old_quantity, new_quantity,
  status, channel, actor, request_id, code, operation)
SELECT 'reservation.expired', now(), reservation_id, user_id, sku, quantity, quantity, 'expired', channel,
  'system:expiry', '', '', '' FROM expired
"""

RAW_EXPORT_SQL = (
    "COPY (SELECT event_id, type, occurred_at, reservation_id, user_id, sku, old_quantity, new_quantity, status, "
    "channel, actor, request_id, code, operation FROM reservations_event WHERE exported_batch_id IS NULL "
    "ORDER BY event_id) TO STDOUT (FORMAT csv, HEADER)"
)


def _sql(script: str) -> None:
    from django.db import connection  # noqa: PLC0415

    with connection.cursor() as cursor:
        for statement in filter(str.strip, script.split(";\n")):
            cursor.execute(statement)


def _timed(func: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    done = func()
    return time.perf_counter() - start, done


def sweep() -> dict:
    from django.db import connection, transaction  # noqa: PLC0415

    from reservations.services import reservations_expire  # noqa: PLC0415

    _sql(CLEAN_EXPIRED_SQL)
    _sql(LOAD_EXPIRED_SQL)
    service_s, service_n = _timed(reservations_expire)
    _sql(CLEAN_EXPIRED_SQL)
    _sql(LOAD_EXPIRED_SQL)

    def raw() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(RAW_SWEEP_SQL)
            return cursor.rowcount

    raw_s, raw_n = _timed(raw)
    _sql(CLEAN_EXPIRED_SQL)
    assert service_n == raw_n == N_EXPIRED, (service_n, raw_n)
    return {
        "scenario": "d expiry sweep",
        "clients": 1,
        "throughput": service_n / service_s,
        "yardstick": raw_n / raw_s,
        "ratio": raw_s / service_s,
        "seconds": service_s,
        "note": f"{service_n} rows: service {service_s:.2f} s, raw SQL {raw_s:.2f} s",
    }


def export() -> dict:
    row = {"scenario": "d export 1M events", "clients": 1}
    if EXPORT_HOOK is None:
        return {**row, "note": "not wired: TODO(lead) EXPORT_HOOK in bench/batch.py"}
    raise NotImplementedError("load N_EVENTS events, time EXPORT_HOOK and RAW_EXPORT_SQL like sweep()")


def main() -> None:
    django.setup()
    print(json.dumps([sweep(), export()]))


if __name__ == "__main__":
    main()
