"""Batch export of outbox events: files, exactly-once membership, crash recovery, CSV injection, downloads."""

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import connection

from reporting import services
from reporting.models import ExportBatch
from reporting.services import events_export
from reservations.errors import InsufficientStock
from reservations.models import Event, Scope
from reservations.services import reservation_cancel, reservation_create
from tests.conftest import TEST_ACTOR
from tests.threads import wait_until


@pytest.fixture
def exports_dir(settings, tmp_path: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


class FailOnceOnCsvStorage(FileSystemStorage):
    """A real folder whose first CSV upload fails, as a network store might mid-export."""

    failed = False

    def _save(self, name: str, content) -> str:
        if name.endswith(".csv") and not FailOnceOnCsvStorage.failed:
            FailOnceOnCsvStorage.failed = True
            raise OSError("storage went away")
        return super()._save(name, content)


@pytest.fixture
def failing_storage_dir(settings, tmp_path: Path) -> Path:
    """The exports storage is a FailOnceOnCsvStorage in a fresh folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "tests.test_export.FailOnceOnCsvStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    FailOnceOnCsvStorage.failed = False
    return tmp_path


def _some_events(count: int, prefix: str = "user") -> list[int]:
    for index in range(count):
        reservation_create(user_id=f"{prefix}-{index}", sku="SKU-1", quantity=1, actor=TEST_ACTOR)
    return list(Event.objects.order_by("event_id").values_list("event_id", flat=True))


def settled() -> None:
    """Wait until every event is older than all running transactions of the cluster.

    The export only claims such events (`txid < pg_snapshot_xmin`); on a PostgreSQL shared with other
    load, a just-committed event can stay behind a concurrent transaction for a moment.
    """

    def unexportable() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM reservations_event "
                "WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            )
            return cursor.fetchone()[0]

    wait_until(lambda: unexportable() == 0)


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_export_puts_each_event_in_exactly_one_published_batch(make_stock, exports_dir):
    # Given 7 events
    make_stock("SKU-1", on_hand=100)
    event_ids = _some_events(7)
    assert len(event_ids) == 7

    # When exported in batches of 3
    settled()
    batches = events_export(batch_size=3)

    # Then three published batches cover the events in order, once each
    assert [(b.first_event_id, b.last_event_id, b.event_count) for b in batches] == [
        (event_ids[0], event_ids[2], 3),
        (event_ids[3], event_ids[5], 3),
        (event_ids[6], event_ids[6], 1),
    ]
    assert {b.status for b in batches} == {ExportBatch.Status.PUBLISHED}
    exported: list[int] = []
    for batch in batches:
        jsonl_rows = read_jsonl(exports_dir / batch.jsonl_file)
        csv_rows = read_csv(exports_dir / batch.csv_file)
        assert [row["event_id"] for row in jsonl_rows] == [int(row["event_id"]) for row in csv_rows]
        assert sha256_of(exports_dir / batch.jsonl_file) == batch.jsonl_sha256
        assert sha256_of(exports_dir / batch.csv_file) == batch.csv_sha256
        assert (exports_dir / batch.csv_file).stat().st_size == batch.csv_size
        events = list(Event.objects.filter(exported_batch=batch).order_by("event_id"))
        assert batch.period_start == events[0].occurred_at
        assert batch.period_end == events[-1].occurred_at
        exported += [row["event_id"] for row in jsonl_rows]
    assert exported == event_ids
    first = read_jsonl(exports_dir / batches[0].jsonl_file)[0]
    assert first["type"] == "reservation.created"
    assert first["user_id"] == "user-0"
    assert first["new_quantity"] == 1
    assert first["actor"] == "test"

    # And running it again exports nothing; a new event goes into a new batch
    settled()
    assert events_export(batch_size=3) == []
    new_ids = _some_events(1, prefix="later")[-1:]
    settled()
    again = events_export(batch_size=3)
    assert [(b.first_event_id, b.last_event_id, b.event_count) for b in again] == [(new_ids[0], new_ids[0], 1)]
    assert ExportBatch.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_csv_cells_that_look_like_formulas_are_neutralised(make_stock, exports_dir):
    make_stock("SKU-1", on_hand=1)
    reservation_create(user_id="=1+1", sku="SKU-1", quantity=1, channel="@web", actor=TEST_ACTOR)
    with pytest.raises(InsufficientStock):
        reservation_create(user_id="-2", sku="SKU-1", quantity=1, channel="+app", actor=TEST_ACTOR)

    settled()

    (batch,) = events_export()

    rows = read_csv(exports_dir / batch.csv_file)
    assert [(row["type"], row["user_id"], row["channel"]) for row in rows] == [
        ("reservation.created", "'=1+1", "'@web"),
        ("reservation.rejected", "'-2", "'+app"),
    ]
    assert rows[1]["code"] == "Reservations.Stock_insuficiente"
    # the JSONL keeps the values as they are: it is data, not a spreadsheet
    assert [row["user_id"] for row in read_jsonl(exports_dir / batch.jsonl_file)] == ["=1+1", "-2"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_export_is_redone_as_the_same_batch_and_published_once(make_stock, failing_storage_dir):
    tmp_path = failing_storage_dir
    make_stock("SKU-1", on_hand=10)
    event_ids = _some_events(4)

    # When the storage fails after the JSONL file was written
    settled()
    with pytest.raises(OSError, match="storage went away"):
        events_export()

    # Then the batch holds its events but is not published, and it is given back at once
    batch = ExportBatch.objects.get()
    assert (batch.status, batch.attempts, batch.lease_expires_at) == ("pending", 1, None)
    assert batch.last_error == "attempt 1: OSError('storage went away')"
    assert list(batch.events.order_by("event_id").values_list("event_id", flat=True)) == event_ids

    # When the next run comes
    settled()
    (redone,) = events_export()

    # Then the same batch is published by attempt 2, with attempt 2's files only
    assert (redone.pk, redone.status, redone.attempts, redone.event_count) == (batch.pk, "published", 2, 4)
    assert redone.jsonl_file.endswith("attempt-2.jsonl.gz")
    assert redone.csv_file.endswith("attempt-2.csv")
    assert [row["event_id"] for row in read_jsonl(tmp_path / redone.jsonl_file)] == event_ids
    assert ExportBatch.objects.count() == 1
    settled()
    assert events_export() == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_hands_back_the_batch_claimed_ahead(make_stock, failing_storage_dir):
    tmp_path = failing_storage_dir
    # Given two batches' worth of events and a storage that fails the first CSV
    make_stock("SKU-1", on_hand=10)
    event_ids = _some_events(4)
    settled()

    # When the first batch's write fails (the second batch was claimed ahead of it meanwhile)
    with pytest.raises(OSError, match="storage went away"):
        events_export(batch_size=2)

    # Then both batches are pending and free to take at once; the one never worked on has no attempt
    pending = list(ExportBatch.objects.order_by("id").values_list("status", "attempts", "lease_expires_at"))
    # (The claim ahead may also have run after the failed batch was given back and re-taken that one.)
    assert pending in ([("pending", 1, None), ("pending", 0, None)], [("pending", 1, None)])

    # And the next run publishes every event exactly once, in event_id order
    settled()
    batches = events_export(batch_size=2)
    assert [b.status for b in batches] == ["published", "published"]
    assert [row["event_id"] for b in batches for row in read_jsonl(tmp_path / b.jsonl_file)] == event_ids
    assert ExportBatch.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_attempt_that_lost_its_lease_does_not_publish(make_stock, exports_dir, settings):
    # Given an attempt whose lease ran out (a stuck worker) while another run redid its batch
    make_stock("SKU-1", on_hand=10)
    _some_events(2)
    settings.EXPORT_LEASE_SECONDS = 0
    # The steps themselves: the stuck attempt is simulated in-process.
    settled()
    stuck = services._lease_next_batch(batch_size=10)
    settled()
    (redone,) = services.events_export()
    assert (redone.pk, redone.attempts) == (stuck.batch_id, 2)

    # When the stuck attempt finishes and tries to publish
    assert services._export_leased(stuck, services.exports_storage()) is None

    # Then the batch keeps attempt 2's files and the stuck attempt's files are gone
    batch = ExportBatch.objects.get()
    assert (batch.status, batch.attempts, batch.jsonl_file) == ("published", 2, redone.jsonl_file)
    assert sorted(p.name for p in exports_dir.rglob("*") if p.is_file()) == [
        f"events-{batch.pk:08d}.attempt-2.csv",
        f"events-{batch.pk:08d}.attempt-2.jsonl.gz",
    ]


@pytest.mark.django_db(transaction=True)
def test_export_command_runs_the_service(make_stock, exports_dir):
    make_stock("SKU-1", on_hand=10)
    _some_events(2)
    out = io.StringIO()
    settled()
    call_command("export_events", stdout=out)
    batch = ExportBatch.objects.get()
    assert out.getvalue().splitlines()[-1] == "1 batch(es) published"
    assert batch.event_count == 2


@pytest.mark.django_db(transaction=True)
def test_analysts_list_and_download_batches_with_checksums(make_stock, exports_dir, api_key, anonymous):
    make_stock("SKU-1", on_hand=10)
    event_ids = _some_events(3)
    reservation_cancel(reservation_id=Event.objects.first().reservation_id, actor=TEST_ACTOR)
    settled()
    (batch,) = events_export()
    ExportBatch.objects.create()  # a pending batch is never listed nor downloadable
    anonymous.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key([Scope.REPORTS_READ])}")

    listed = anonymous.get("/api/v1/reports/batches/")
    assert listed.status_code == 200
    assert [(row["id"], row["event_count"], row["first_event_id"]) for row in listed.json()["results"]] == [
        (batch.pk, 4, event_ids[0])
    ]

    download = anonymous.get(f"/api/v1/reports/batches/{batch.pk}/download/?format=csv")
    body = b"".join(download.streaming_content)
    assert download.status_code == 200
    assert download["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest() == batch.csv_sha256
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="events-{batch.pk:08d}.csv"' in download["Content-Disposition"]
    assert [row["type"] for row in csv.DictReader(io.StringIO(body.decode()))][-1] == "reservation.cancelled"

    jsonl = anonymous.get(f"/api/v1/reports/batches/{batch.pk}/download/?format=jsonl")
    raw = b"".join(jsonl.streaming_content)
    assert jsonl["X-Checksum-SHA256"] == hashlib.sha256(raw).hexdigest() == batch.jsonl_sha256
    assert len(gzip.decompress(raw).splitlines()) == 4

    pending = ExportBatch.objects.filter(status="pending").get()
    missing = anonymous.get(f"/api/v1/reports/batches/{pending.pk}/download/?format=csv")
    assert (missing.status_code, missing.json()["code"]) == (404, "Reservations.Not_found")
    bad = anonymous.get(f"/api/v1/reports/batches/{batch.pk}/download/?format=xlsx")
    assert (bad.status_code, bad.json()["code"]) == (400, "Reservations.Invalid_request")


@pytest.mark.django_db(transaction=True)
def test_downloads_need_the_reports_scope(make_stock, api_key, anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key([Scope.EVENTS_READ])}")
    assert anonymous.get("/api/v1/reports/batches/").status_code == 403
    assert anonymous.get("/api/v1/reports/batches/1/download/").status_code == 403
    anonymous.credentials()
    assert anonymous.get("/api/v1/reports/batches/").status_code == 401
    assert connection.vendor == "postgresql"
