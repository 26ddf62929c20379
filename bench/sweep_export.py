"""Throughput of the expiry sweep and the batch export on N rows (default 100k), each against the same
work done as one raw SQL statement. Runs on a scratch PostgreSQL database it creates and drops.

    python bench/sweep_export.py [rows] [--db postgres://postgres@127.0.0.1:5432/checkout_bench]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SKUS = 1000


def scratch_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/checkout_bench_bg")
    args = parser.parse_args()
    scratch_database(args.db)
    os.environ["DATABASE_URL"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django  # noqa: PLC0415 - only after DATABASE_URL points at the scratch database

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.core.files.storage import storages  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from reporting.services import events_export  # noqa: PLC0415
    from reservations.services import reservations_expire  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    exports = tempfile.mkdtemp(prefix="bench-exports-")
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": exports}},
    }
    storages._backends = None
    storages._storages = {}
    n = args.rows
    per_sku = max(1, n // SKUS)

    def sql(statement: str, params: list | None = None) -> int:
        with connection.cursor() as cursor:
            cursor.execute(statement, params or [])
            return cursor.rowcount

    def load_overdue_holds() -> None:
        sql("TRUNCATE reservations_event, reservations_reservation, stock_stock, reporting_exportbatch CASCADE")
        sql(
            "INSERT INTO stock_stock (sku, name, brand, unit_price, on_hand, reserved, updated_at) "
            "SELECT 'SKU-' || s, 'p', 'b', 1, %s, %s, now() FROM generate_series(1, %s) s",
            [per_sku * 2, per_sku * 2, SKUS],
        )
        sql(
            "INSERT INTO reservations_reservation (reservation_id, user_id, sku, quantity, status, channel, "
            "expires_at, created_at, updated_at) SELECT gen_random_uuid(), 'u' || i, 'SKU-' || (1 + i %% %s), 2, "
            "'temporary', 'web', now() - interval '1 minute', now(), now() FROM generate_series(1, %s) i",
            [SKUS, n],
        )
        sql("ANALYZE")

    def timed(label: str, work) -> float:
        start = time.perf_counter()
        rows = work()
        seconds = time.perf_counter() - start
        print(f"{label:<44} {rows:>8} rows  {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s")
        return rows / seconds

    load_overdue_holds()
    timed("sweep: reservations_expire(batch_size=1000)", lambda: reservations_expire(batch_size=1000))
    assert sql("SELECT 1 FROM stock_stock WHERE reserved <> 0") == 0

    load_overdue_holds()
    timed(
        "sweep: one raw SQL statement",
        lambda: sql(
            "WITH expired AS (UPDATE reservations_reservation SET status = 'expired', updated_at = now() "
            "  WHERE status = 'temporary' AND expires_at <= now() "
            "  RETURNING reservation_id, user_id, sku, quantity, channel), "
            "released AS (UPDATE stock_stock s SET reserved = s.reserved - x.q, updated_at = now() "
            "  FROM (SELECT sku, sum(quantity) AS q FROM expired GROUP BY sku) x WHERE s.sku = x.sku) "
            "INSERT INTO reservations_event (type, occurred_at, reservation_id, user_id, sku, old_quantity, "
            "  new_quantity, status, channel, actor, request_id, code, operation) "
            "SELECT 'reservation.expired', now(), reservation_id, user_id, sku, quantity, quantity, 'expired', "
            "  channel, 'system:expiry', '', '', '' FROM expired"
        ),
    )
    assert sql("SELECT 1 FROM stock_stock WHERE reserved <> 0") == 0

    # The export: the n events the raw sweep just wrote.
    timed(
        "export: events_export(batch_size=50000)", lambda: sum(b.event_count for b in events_export(batch_size=50_000))
    )
    sql("UPDATE reservations_event SET exported_batch_id = NULL")
    sql("DELETE FROM reporting_exportbatch")
    sql(
        "INSERT INTO reporting_exportbatch (created_at, status, event_count, attempts, last_error, jsonl_file, "
        "jsonl_sha256, jsonl_size, csv_file, csv_sha256, csv_size) VALUES (now(), 'pending', 0, 0, '', '', '', 0, "
        "'', '', 0)"
    )

    def raw_export() -> int:
        rows = 0
        out = Path(exports) / "raw.csv"
        with connection.cursor() as cursor, out.open("wb") as target:
            raw = cursor.cursor
            with raw.copy(
                "COPY (UPDATE reservations_event SET exported_batch_id = (SELECT max(id) FROM reporting_exportbatch) "
                "WHERE exported_batch_id IS NULL RETURNING event_id, type, occurred_at, reservation_id, user_id, sku, "
                "old_quantity, new_quantity, status, channel, actor, request_id, code, operation) "
                "TO STDOUT (FORMAT csv)"
            ) as copy:
                for chunk in copy:
                    target.write(chunk)
                    rows += bytes(chunk).count(b"\n")
        return rows

    timed("export: one raw COPY (UPDATE … RETURNING) to CSV", raw_export)
    connection.close()
    server, name = args.db.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
