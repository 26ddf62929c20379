"""The embedded default (`make run` with no DATABASE_URL): SQLite in WAL mode with IMMEDIATE transactions."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_sqlite_default_migrates_seeds_and_never_oversells(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings.base")

    manage("migrate", "--noinput", env=env)
    seeded = manage("seed_demo", env=env)
    assert "demo catalogue: SKU-001…SKU-050 (50 new; 50 SKUs in all)" in seeded
    assert "(0 new; 50 SKUs in all)" in manage("seed_demo", env=env)  # idempotent

    script = (ROOT / "tests" / "scripts" / "sqlite_no_oversell.py").read_text()
    output = manage("shell", "-c", script, env=env)

    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    _, on_hand, reserved, *_ = line.split(" ", 3)
    assert (int(on_hand), int(reserved)) == (5, 5)  # 2 creates of 2 fit, then one +1 update: 5 of 5
    assert line.count("'created'") == 2
    assert line.count("'updated'") == 1
    assert line.count("Reservations.Stock_insuficiente") == 7


def test_beat_schedules_the_stream_relay_only_with_a_stream_to_push_to(tmp_path):
    show = "from django.conf import settings; print(sorted(settings.CELERY_BEAT_SCHEDULE))"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "EVENT_STREAM_REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings.base")
    assert manage("shell", "-c", show, env=env).splitlines()[-1] == "['expire-reservations', 'export-events']"
    env["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    assert (
        manage("shell", "-c", show, env=env).splitlines()[-1]
        == "['expire-reservations', 'export-events', 'publish-events']"
    )
