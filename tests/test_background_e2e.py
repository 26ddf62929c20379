"""End to end: a real Celery worker and beat (subprocesses) on the test database and Redis."""

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from config.celery import app as celery_app
from reporting.models import ExportBatch
from reservations.models import Event, EventType, Reservation
from reservations.services import reservation_create
from tests.conftest import TEST_ACTOR, stock_of
from tests.threads import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.flushdb()  # this suite's own Redis database: stale task messages and stream entries go
    return client


@pytest.fixture
def exports_dir(settings, tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def celery_process(transactional_db, redis_db, exports_dir, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `celery worker`/`celery beat` subprocesses; all are stopped at teardown, whatever happened."""
    started: list[subprocess.Popen] = []
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "CELERY_BROKER_URL": django_settings.REDIS_URL,
        "EXPORTS_ROOT": str(exports_dir),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat-schedule"),
        "RESERVATION_TTL_SECONDS": "2",
        "RESERVATION_SWEEP_SECONDS": "1",
        "EXPORT_INTERVAL_SECONDS": "2",
        "EVENT_RELAY_SECONDS": "1",
        "CONN_MAX_AGE": "0",
    }

    def start(kind: str, **env: str) -> subprocess.Popen:
        if kind == "worker":
            args = ["worker", "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        else:
            args = ["beat", "--max-interval", "1"]
        log = (tmp_path / f"{kind}-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [CELERY, "-A", "config", *args, "--loglevel", "INFO"],
            cwd=BASE_DIR,
            env={**base_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches every child
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            stop(process, signal.SIGTERM)


def stop(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def exported_rows(root: Path) -> tuple[list[int], list[int]]:
    """Event ids in the JSONL and CSV files of every published batch, in batch order."""
    jsonl_ids: list[int] = []
    csv_ids: list[int] = []
    for batch in ExportBatch.objects.filter(status="published").order_by("first_event_id"):
        with gzip.open(root / batch.jsonl_file, "rt") as lines:
            jsonl_ids += [json.loads(line)["event_id"] for line in lines]
        with (root / batch.csv_file).open(newline="") as rows:
            csv_ids += [int(row["event_id"]) for row in csv.DictReader(rows)]
    return jsonl_ids, csv_ids


def all_exported() -> bool:
    total = Event.objects.count()
    return total > 0 and Event.objects.filter(exported_batch__status="published").count() == total


def test_worker_and_beat_expire_export_and_publish(celery_process, api, make_stock, settings, redis_db, exports_dir):
    # Given a worker and a beat running with a 2 s TTL, 1 s sweeps, 2 s exports and a 1 s relay
    settings.RESERVATION_TTL_SECONDS = 2
    celery_process("worker")
    celery_process("beat")
    make_stock("S", on_hand=10)

    # When three reservations of 2 are created through the API
    ids = []
    for user in ("e2e-1", "e2e-2", "e2e-3"):
        response = api.post("/api/v1/reservations/", {"user_id": user, "sku": "S", "quantity": 2}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["reservation_id"])
    assert stock_of("S").reserved == 6

    # Then the worker expires them once each and releases the stock
    wait_until(lambda: Reservation.objects.filter(status="expired").count() == 3, timeout=30, interval=0.2)
    assert stock_of("S").reserved == 0
    assert stock_of("S").on_hand == 10
    expired = Event.objects.filter(type=EventType.EXPIRED)
    assert sorted(str(e.reservation_id) for e in expired) == sorted(ids)
    assert set(expired.values_list("actor", flat=True)) == {"system:expiry"}

    # And the exports hold every event exactly once, in JSONL and CSV alike
    wait_until(all_exported, timeout=30, interval=0.2)
    event_ids = list(Event.objects.order_by("event_id").values_list("event_id", flat=True))
    assert len(event_ids) == 6
    assert exported_rows(exports_dir) == (event_ids, event_ids)

    # And the Redis Stream carries the same events, in order
    def stream_ids() -> list[int]:
        return [int(fields[b"event_id"]) for _, fields in redis_db.xrange(settings.EVENT_STREAM_NAME)]

    wait_until(lambda: len(stream_ids()) >= len(event_ids), timeout=30, interval=0.2)
    assert stream_ids() == event_ids
    _, last = redis_db.xrevrange(settings.EVENT_STREAM_NAME, count=1)[0]
    envelope = json.loads(last[b"data"])
    assert (last[b"type"], last[b"version"]) == (b"reservation.expired", b"1")
    assert (envelope["event_id"], envelope["status"], envelope["old_quantity"]) == (event_ids[-1], "expired", 2)
    assert Event.objects.filter(published_at__isnull=True).count() == 0


def test_worker_killed_mid_export_loses_and_duplicates_nothing(celery_process, make_stock, exports_dir):
    # Given events and a worker that pauses between writing a batch's files and publishing it
    make_stock("S", on_hand=10)
    for user in ("k-1", "k-2", "k-3"):
        reservation_create(user_id=user, sku="S", quantity=1, actor=TEST_ACTOR)
    event_ids = list(Event.objects.order_by("event_id").values_list("event_id", flat=True))
    worker = celery_process("worker", EXPORT_PAUSE_BEFORE_PUBLISH_SECONDS="60", EXPORT_LEASE_SECONDS="2")
    celery_app.send_task("reporting.tasks.export_events")

    # When it is killed -9 after both files are written
    wait_until(lambda: len(list(exports_dir.rglob("*.attempt-1.*"))) == 2, timeout=30, interval=0.1)
    stop(worker, signal.SIGKILL)
    pending = ExportBatch.objects.get()
    assert (pending.status, pending.attempts, pending.event_count) == ("pending", 1, 3)

    # And a fresh worker and beat take over
    celery_process("worker", EXPORT_LEASE_SECONDS="2")
    celery_process("beat", EXPORT_INTERVAL_SECONDS="1")
    wait_until(lambda: ExportBatch.objects.filter(status="published").exists(), timeout=30, interval=0.2)

    # Then the same batch is published once, by attempt 2, and every event is in exactly one batch
    batch = ExportBatch.objects.get()
    assert (batch.pk, batch.status, batch.attempts) == (pending.pk, "published", 2)
    assert batch.jsonl_file.endswith(".attempt-2.jsonl.gz")
    assert exported_rows(exports_dir) == (event_ids, event_ids)
    assert set(Event.objects.values_list("exported_batch_id", flat=True)) == {batch.pk}
