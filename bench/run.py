"""`make bench`: the service as in production under wrk, next to the raw-SQL yardstick run by pgbench.

    python -m bench.run [--duration 12] [--only a,b,c,d] [--workers 3 --worker-class gthread --threads 4]

Order of a run: fresh databases (`checkout_bench`, `yardstick`), migrations, bulk data by SQL, SQL
queries per request counted in-process, gunicorn (production settings), then per scenario and client
count: reset the data, pgbench on the yardstick, wrk on the service. Then the batch scenario (d)
in-process. Prints the table, writes bench/results/bench-<time>.json, latest.json and a PNG chart.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Row, as_json, check_targets, format_table, parse_pgbench_tps, parse_wrk, row_from_wrk

REPO = Path(__file__).resolve().parent.parent


def yardstick_dir() -> Path:
    """The yardstick's SQL: `../shared/bench` when the repo sits beside it (the canonical copy), else the
    copy kept in `bench/yardstick/` (a clone elsewhere, e.g. /tmp/ci); BENCH_YARDSTICK_DIR overrides both.
    tests/test_bench_and_journeys.py checks the kept copy still equals the canonical one."""
    override = os.environ.get("BENCH_YARDSTICK_DIR")
    if override:
        return Path(override)
    canonical = REPO.parent / "shared" / "bench"
    return canonical if (canonical / "limit_update.sql").is_file() else REPO / "bench" / "yardstick"


YARDSTICK = yardstick_dir()
RESULTS = REPO / "bench" / "results"
LUA = REPO / "bench" / "lua"
PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
DEMO_KEY = "demokey1.LocalDemoOnlyNotASecret0000000"

N_SPREAD = 10_000  # (a): reservations u0..u9999 of SKUs B-0..B-9999, one each
N_HOT = 2_000  # (b): reservations h0..h1999 of HOT-1, whose stock leaves room for half of them at 2
HOT_ON_HAND = N_HOT + N_HOT // 2
N_MIX_SKUS = 100

LOAD_SQL = f"""
INSERT INTO stock_stock (sku, name, brand, unit_price, on_hand, reserved, updated_at)
  SELECT 'B-' || g, 'Bench ' || g, 'Bench', 10.00, 1000000, 1, now() FROM generate_series(0, {N_SPREAD - 1}) g;
INSERT INTO stock_stock (sku, name, brand, unit_price, on_hand, reserved, updated_at)
  VALUES ('HOT-1', 'Hot item', 'Bench', 99.00, {HOT_ON_HAND}, {N_HOT}, now());
INSERT INTO stock_stock (sku, name, brand, unit_price, on_hand, reserved, updated_at)
  SELECT 'M-' || g, 'Mix ' || g, 'Bench', 20.00, 100000000, 0, now() FROM generate_series(0, {N_MIX_SKUS - 1}) g;
INSERT INTO reservations_reservation
  (reservation_id, user_id, sku, quantity, status, channel, expires_at, created_at, updated_at)
  SELECT gen_random_uuid(), 'u' || g, 'B-' || g, 1, 'temporary', 'web', now() + interval '1 day', now(), now()
  FROM generate_series(0, {N_SPREAD - 1}) g;
INSERT INTO reservations_reservation
  (reservation_id, user_id, sku, quantity, status, channel, expires_at, created_at, updated_at)
  SELECT gen_random_uuid(), 'h' || g, 'HOT-1', 1, 'temporary', 'web', now() + interval '1 day', now(), now()
  FROM generate_series(0, {N_HOT - 1}) g;
ANALYZE;
"""

# Back to the loaded state: every bench reservation at quantity 1 with no update history.
RESET_SQL = f"""
UPDATE reservations_reservation SET quantity = 1, expires_at = now() + interval '1 day',
  last_update_timestamp = NULL, last_update_old_quantity = NULL, last_update_new_quantity = NULL,
  last_update_expires_at = NULL, last_update_event_id = NULL
  WHERE status = 'temporary' AND (sku LIKE 'B-%' OR sku = 'HOT-1');
UPDATE stock_stock SET reserved = 1 WHERE sku LIKE 'B-%' AND reserved <> 1;
UPDATE stock_stock SET reserved = {N_HOT}, on_hand = {HOT_ON_HAND} WHERE sku = 'HOT-1';
VACUUM ANALYZE reservations_reservation;
VACUUM ANALYZE stock_stock;
"""

HOT_CHECK_SQL = (
    "SELECT s.on_hand, s.reserved, coalesce(sum(r.quantity), 0) FROM stock_stock s "
    "LEFT JOIN reservations_reservation r ON r.sku = s.sku AND r.status = 'temporary' "
    "WHERE s.sku = 'HOT-1' GROUP BY s.on_hand, s.reserved"
)


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def psql(db: str, sql: str | None = None, file: Path | None = None) -> str:
    args = ["psql", *PG, "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db]
    args += ["-f", str(file) if file else "-"]  # a script, statement by statement (VACUUM included)
    return subprocess.run(args, input=sql, check=True, capture_output=True, text=True).stdout.strip()


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and its live descendants (gunicorn and its workers)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending.extend(int(child) for child in children)
    return total


def recreate_db(name: str) -> None:
    if name in {"checkout", "checkout_bg"} or name.startswith("test_"):
        raise SystemExit(f"refusing to use database {name!r}")
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{name}"')


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.db = args.db
        self.yard_db = args.yardstick_db
        self.base = f"http://127.0.0.1:{args.port}"
        self.run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0000"),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db}",
            "REDIS_URL": args.redis_url,
            # Production throttling stays on, with a budget the load generator does not exhaust.
            "API_THROTTLE_RATE": "100000000/min",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        self.gunicorn: subprocess.Popen | None = None
        self.rows: list[Row] = []
        self.queries: dict[str, float] = {}
        self.oversell: int | None = None

    # --- setup ------------------------------------------------------------------------------------
    def manage(self, *argv: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *argv], cwd=REPO, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def prepare(self) -> None:
        log(f"databases {self.db} and {self.yard_db}")
        recreate_db(self.db)
        self.manage("migrate", "--noinput")
        self.manage("seed_demo")
        psql(self.db, LOAD_SQL)
        recreate_db(self.yard_db)
        log(f"yardstick SQL from {YARDSTICK}")
        psql(self.yard_db, file=YARDSTICK / "limit_schema.sql")
        log("counting SQL queries per request in-process")
        out = subprocess.run(
            [sys.executable, "-m", "bench.queries"], cwd=REPO, env=self.env, check=True, capture_output=True, text=True
        ).stdout
        self.queries = json.loads(out.strip().splitlines()[-1])
        psql(self.db, RESET_SQL)

    def start_service(self) -> None:
        a = self.args
        cmd = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{a.port}", "--workers", str(a.workers), "--worker-class", a.worker_class,
            "--threads", str(a.threads), "--keep-alive", "30", "--backlog", "2048", "--log-level", "warning",
        ]  # fmt: skip
        log("gunicorn: " + " ".join(cmd[3:]))
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.service_log = (RESULTS / "gunicorn.log").open("w")  # 4xx warnings of django.request land here
        self.gunicorn = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=self.service_log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as response:  # noqa: S310 (local)
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not come up")

    def stop_service(self) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            self.gunicorn.wait(timeout=30)

    # --- measuring --------------------------------------------------------------------------------
    def yardstick(self, clients: int, seconds: int) -> float:
        jobs = min(2, clients)
        out = subprocess.run(
            ["pgbench", *PG, "-n", "-c", str(clients), "-j", str(jobs), "-T", str(seconds),
             "-f", str(YARDSTICK / "limit_update.sql"), self.yard_db],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return parse_pgbench_tps(out)

    def wrk(self, script: str, clients: int, seconds: int, **constants: object) -> dict:
        threads = min(2, clients)
        preamble = [f'KEY = "{DEMO_KEY}"', f"NTHREADS = {threads}", f'RUN_ID = "{self.run_id}"']
        preamble += [f"{name} = {json.dumps(value)}" for name, value in constants.items() if name != "SKU_OF"]
        preamble.append(f"function sku_of(i) {constants['SKU_OF']} end")
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"wrk-{constants.get('USER_PREFIX', '')}{script}"
        path.write_text("\n".join(preamble) + "\n" + (LUA / "common.lua").read_text() + (LUA / script).read_text())
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency", "--timeout", "10s",
             "-s", str(path), self.base],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return parse_wrk(out)

    def scenario(self, name: str, query_key: str, clients: int, script: str, **constants: object) -> Row:
        psql(self.db, RESET_SQL)
        seconds = self.args.duration
        tps = self.yardstick(clients, max(5, seconds - 2))
        log(f"{name} @ {clients}: yardstick {tps:.0f} tps; wrk {seconds} s")
        cpu_before = process_tree_cpu_seconds(self.gunicorn.pid)
        result = self.wrk(script, clients, seconds, **constants)
        cpu_seconds = process_tree_cpu_seconds(self.gunicorn.pid) - cpu_before
        row = row_from_wrk(name, clients, result, tps)
        row.cpu_ms_per_request = 1000 * cpu_seconds / result["requests"] if result["requests"] else None
        row.queries_per_request = self.queries.get(query_key)
        log(
            f"  -> {row.throughput:.0f} req/s, p99 {row.p99_ms:.1f} ms, {row.cpu_ms_per_request or 0:.2f} CPU ms/req, "
            f"errors {row.errors}"
        )
        self.rows.append(row)
        return row

    def run_http(self) -> None:
        only = self.args.only
        spread = {"NRES": N_SPREAD, "USER_PREFIX": "u", "SKU_OF": 'return "B-" .. i'}
        self.wrk("stock.lua", 2, 3, NSKU=N_SPREAD, SKU_OF='return "B-" .. i')  # warm-up
        if "a" in only:
            cheap = {"NSKU": N_SPREAD, "SKU_OF": spread["SKU_OF"]}
            self.scenario("stock GET (cheapest)", "retrieveStock", 8, "stock.lua", **cheap)
            for clients in self.args.clients:
                self.scenario("a update spread", "updateReservation", clients, "update.lua", **spread)
        if "b" in only:
            hot = {"NRES": N_HOT, "USER_PREFIX": "h", "SKU_OF": 'return "HOT-1"'}
            self.scenario("b hot SKU", "updateReservation", 64, "update.lua", **hot)
            on_hand, reserved, held = (int(v) for v in psql(self.db, HOT_CHECK_SQL).split("|"))
            self.oversell = max(0, reserved - on_hand) + abs(reserved - held)
            log(f"  HOT-1: on_hand {on_hand}, reserved {reserved}, sum of live holds {held}")
        if "c" in only:
            self.scenario("c checkout mix", "mix", 8, "mix.lua", NSKU=N_MIX_SKUS, SKU_OF='return "M-" .. i')

    def run_batch(self) -> None:
        log("(d) expiry sweep (and the export hook) in-process")
        out = subprocess.run(
            [sys.executable, "-m", "bench.batch"], cwd=REPO, env=self.env, check=True, capture_output=True, text=True
        ).stdout
        for item in json.loads(out.strip().splitlines()[-1]):
            self.rows.append(Row(**item))

    # --- output -----------------------------------------------------------------------------------
    def report(self) -> None:
        a = self.args
        setup = f"gunicorn {a.workers} x {a.worker_class}" + (f" x {a.threads} threads" if a.threads > 1 else "")
        print(f"\nbench {self.run_id} UTC: {setup}; wrk; yardstick pgbench; {os.cpu_count()} cores\n")
        print(format_table(self.rows))
        targets = check_targets(self.rows, self.oversell)
        print("\ntargets:")
        for target, met, measured in targets:
            mark = "n/a " if met is None else ("PASS" if met else "MISS")
            print(f"  {mark} {target}: {measured}")
        data = as_json(
            self.rows,
            run_id=self.run_id,
            service=setup,
            load_generator="wrk 4.1 + Lua (bench/lua)",
            duration_s=a.duration,
            queries_per_request=self.queries,
            oversell=self.oversell,
            targets=[{"target": t, "met": m, "measured": v} for t, m, v in targets],
        )
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"bench-{self.run_id}.json"
        out.write_text(json.dumps(data, indent=2))
        shutil.copyfile(out, RESULTS / "latest.json")
        chart(self.rows, RESULTS / f"bench-{self.run_id}.png", f"{self.run_id} UTC, {setup}")
        shutil.copyfile(RESULTS / f"bench-{self.run_id}.png", RESULTS / "latest.png")
        print(f"\nwrote {out.relative_to(REPO)} and the .png beside it")


def chart(rows: list[Row], path: Path, subtitle: str) -> None:
    import matplotlib  # noqa: PLC0415 (bench-only dependency)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [f"{r.scenario}\n@{r.clients}" for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    left.bar(labels, [r.ratio or 0 for r in rows], color="tab:blue")
    left.axhline(0.20, color="tab:red", linestyle="--", label="(a) target 0.20")
    left.axhline(0.5, color="tab:orange", linestyle=":", label="(d) target 0.5 (= 2x time)")
    left.set_ylabel("throughput / raw-SQL yardstick")
    left.legend()
    http = [r for r in rows if r.p99_ms is not None]
    x = range(len(http))
    right.bar([i - 0.2 for i in x], [r.p50_ms for r in http], width=0.4, label="p50")
    right.bar([i + 0.2 for i in x], [r.p99_ms for r in http], width=0.4, label="p99")
    right.axhline(50, color="tab:red", linestyle="--", label="p99 target 50 ms")
    right.set_xticks(list(x), [f"{r.scenario}\n@{r.clients}" for r in http])
    right.set_ylabel("latency ms")
    right.legend()
    for axis in (left, right):
        axis.tick_params(axis="x", labelsize=7, rotation=30)
    fig.suptitle(f"Checkout Reservations benchmark — {subtitle}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=12, help="seconds per wrk scenario")
    parser.add_argument("--clients", type=lambda s: [int(c) for c in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--only", default="abcd", help="scenario letters to run")
    # Gunicorn's rule of thumb, (2 x cores) + 1 sync workers: 5 on this 2-core machine. Measured against
    # gthread (3 x 4 threads, 4 x 2, 2 x 8): the same throughput within noise, a much tighter p99
    # (no GIL hand-offs between threads of one process); docs/performance.md.
    workers = os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1))
    parser.add_argument("--workers", type=int, default=int(workers))
    parser.add_argument("--worker-class", default=os.environ.get("BENCH_WORKER_CLASS", "sync"))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "1")))
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "checkout_bench"))
    parser.add_argument("--yardstick-db", default=os.environ.get("BENCH_YARDSTICK_DB", "yardstick"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--keep-running", action="store_true", help="leave gunicorn up (for profiling)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for tool in ("wrk", "pgbench", "psql"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install wrk postgresql-client)")
    bench = Bench(args)
    bench.prepare()
    try:
        if set(args.only) & set("abc"):
            bench.start_service()
            bench.run_http()
    finally:
        if not args.keep_running:
            bench.stop_service()
    if "d" in args.only:
        bench.run_batch()
    bench.report()


if __name__ == "__main__":
    main()
