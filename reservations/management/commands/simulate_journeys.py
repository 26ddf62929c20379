"""Simulated shoppers against the running service, over HTTP: the old quantity change (delete, then
create) against the new one (updateReservation), on a contended catalogue.

    python manage.py simulate_journeys [--base-url http://127.0.0.1:8000] [--api-key KEY] [--seed 7]

Both cohorts get the same plan from the same seed (arrival times, SKU, quantities, think times, who
buys) and run at the same time, each on its own copy of the catalogue (SKUs created with PUT
/api/v1/stock/{sku}/), so they meet the same server load and the same contention. The KPIs are
computed client-side from what each shopper observed (`compute_kpis`, a pure function).
"""

import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

JOURNEYS = ("old", "new")  # old: deleteReservation + createReservation; new: updateReservation
CATALOGUE = [(60, Decimal("59.90")), (45, Decimal("120.00")), (30, Decimal("24.50")), (15, Decimal("89.00"))]
POPULARITY = [0.4, 0.3, 0.2, 0.1]  # the first SKUs are the popular ones


# --- the plan (same for both cohorts) ---------------------------------------------------------------


@dataclass(frozen=True)
class ShopperPlan:
    shopper: int
    arrival: float  # seconds after the start
    sku_index: int
    quantities: tuple[int, ...]  # the first reservation, then each change
    thinks: tuple[float, ...]  # a pause before each change and before checkout
    buys: bool


def make_plan(*, seed: int, shoppers: int, window: float, think: float) -> list[ShopperPlan]:
    rng = random.Random(seed)
    plan = []
    arrival = 0.0
    for shopper in range(shoppers):
        arrival += rng.expovariate(shoppers / window)  # Poisson arrivals over the window
        quantities = [rng.choice([1, 1, 2])]
        for _ in range(rng.choice([1, 1, 2, 3])):
            quantities.append(rng.choice([q for q in (1, 2, 3) if q != quantities[-1]]))
        thinks = tuple(rng.expovariate(1 / think) for _ in quantities)
        sku_index = rng.choices(range(len(CATALOGUE)), weights=POPULARITY)[0]
        plan.append(ShopperPlan(shopper, arrival, sku_index, tuple(quantities), thinks, rng.random() < 0.7))
    return plan


# --- what a shopper observed, and the KPIs ----------------------------------------------------------


@dataclass(frozen=True)
class Call:
    op: str  # create | update | delete | confirm
    sent: float
    done: float
    status: int
    code: str = ""
    quantity: int = 0  # the quantity asked for (create, update)


@dataclass
class ShopperLog:
    shopper: int
    journey: str
    unit_price: Decimal
    calls: list[Call] = field(default_factory=list)
    outcome: str = ""  # confirmed | abandoned | lost_to_stock | lost_in_change | failed


STOCK_SHORT = "Reservations.Stock_insuficiente"


def compute_kpis(logs: list[ShopperLog], end: float) -> dict[str, Any]:
    """The seed's KPIs for one cohort, from the shoppers' observations (times in seconds).

    - reservation error rate: refused reservation attempts (create, update) / reservation attempts;
    - orders lost to stock errors: shoppers who ended without a reservation because of a
      Stock_insuficiente (at the start, or "during a change": after giving up their hold to change it);
    - units blocked x time: sum over holds of quantity x seconds held (until confirm, delete or `end`);
    - mean time between a cancellation and the new reservation: delete answered -> create answered;
    - conversion: confirmed shoppers / shoppers; revenue: confirmed units x unit price.
    """
    calls = [call for log in logs for call in log.calls]
    attempts = [call for call in calls if call.op in ("create", "update")]
    errors = sum(1 for call in attempts if call.status >= 400)
    unit_seconds = 0.0
    gaps: list[float] = []
    revenue = Decimal(0)
    for log in logs:
        held, since, cancelled_at = 0, 0.0, None
        for call in log.calls:
            if call.status >= 400:
                continue
            unit_seconds += held * (call.done - since)
            since = call.done
            if call.op in ("create", "update"):
                held = call.quantity
                if call.op == "create" and cancelled_at is not None:
                    gaps.append(call.done - cancelled_at)
                    cancelled_at = None
            elif call.op == "delete":
                held, cancelled_at = 0, call.done
            elif call.op == "confirm":
                revenue += held * log.unit_price
                held = 0
        unit_seconds += held * max(0.0, end - since)
    shoppers = len(logs)
    confirmed = sum(1 for log in logs if log.outcome == "confirmed")
    return {
        "shoppers": shoppers,
        "API calls": len(calls),
        "reservation attempts": len(attempts),
        "reservation error rate": errors / len(attempts) if attempts else 0.0,
        "stock errors": sum(1 for call in calls if call.code == STOCK_SHORT),
        "orders lost to stock errors": sum(1 for log in logs if log.outcome in ("lost_to_stock", "lost_in_change")),
        "  of which during a change": sum(1 for log in logs if log.outcome == "lost_in_change"),
        "units blocked x time (unit*s)": unit_seconds,
        "mean cancel -> new reservation (ms)": 1000 * sum(gaps) / len(gaps) if gaps else None,
        "confirmed": confirmed,
        "conversion": confirmed / shoppers if shoppers else 0.0,
        "revenue": revenue,
    }


def format_kpis(kpis: dict[str, dict[str, Any]]) -> str:
    names = list(next(iter(kpis.values())))
    rows = [("KPI", *kpis)]
    for name in names:
        rows.append((name, *(_show(kpis[journey][name]) for journey in kpis)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1 else f"{value:.1f}"
    return str(value)


# --- HTTP -------------------------------------------------------------------------------------------


class Api:
    """One keep-alive connection per thread to the service."""

    def __init__(self, base_url: str, api_key: str) -> None:
        parsed = urlparse(base_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise CommandError("--base-url must be http://host:port")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}
        self.local = threading.local()

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                connection.request(method, path, body=payload, headers=self.headers)
                response = connection.getresponse()
                raw = response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    raise
                continue
            return response.status, (json.loads(raw) if raw else {})
        raise AssertionError("unreachable")


class Simulation:
    def __init__(self, api: Api, run_id: str, t0: float, rtt: float = 0.0) -> None:
        self.api, self.run_id, self.t0, self.rtt = api, run_id, t0, rtt

    def sku(self, journey: str, index: int) -> str:
        return f"SIM-{self.run_id}-{journey}-{index + 1}"

    def create_catalogue(self) -> None:
        for journey in JOURNEYS:
            for index, (units, price) in enumerate(CATALOGUE):
                body = {"on_hand": units, "name": f"Simulated {index + 1}", "brand": "Sim", "unit_price": str(price)}
                status, answer = self.api.call("PUT", f"/api/v1/stock/{self.sku(journey, index)}/", body)
                if status not in (200, 201):
                    raise CommandError(f"PUT stock answered {status}: {answer}")

    def _call(self, log: ShopperLog, op: str, method: str, path: str, body: dict | None = None, *, quantity: int = 0):
        sent = time.monotonic() - self.t0
        time.sleep(self.rtt / 2)  # a shopper's front end is a network away: half on the way there…
        status, answer = self.api.call(method, path, body)
        time.sleep(self.rtt / 2)  # …and half back
        code = answer.get("code", "") if status >= 400 else ""
        log.calls.append(Call(op, sent, time.monotonic() - self.t0, status, code, quantity))
        return status, answer

    def shopper(self, plan: ShopperPlan, journey: str) -> ShopperLog:
        log = ShopperLog(plan.shopper, journey, CATALOGUE[plan.sku_index][1])
        user, sku = f"sim-{self.run_id}-{journey}-{plan.shopper}", self.sku(journey, plan.sku_index)

        def create(quantity: int) -> tuple[int, dict]:
            body = {"user_id": user, "sku": sku, "quantity": quantity, "channel": "web"}
            return self._call(log, "create", "POST", "/api/v1/reservations/", body, quantity=quantity)

        status, answer = create(plan.quantities[0])
        if status != 201:
            log.outcome = "lost_to_stock" if answer.get("code") == STOCK_SHORT else "failed"
            return log
        reservation_id, current = answer["reservation_id"], plan.quantities[0]
        for quantity, think in zip(plan.quantities[1:], plan.thinks, strict=False):
            time.sleep(think)
            if journey == "new":
                body = {"timestamp": datetime.now(UTC).isoformat(), "user_id": user, "sku": sku}
                body |= {"old_quantity": current, "new_quantity": quantity}
                status, _ = self._call(log, "update", "POST", "/api/v1/reservations/update/", body, quantity=quantity)
                if status == 200:
                    current = quantity  # refused (stock short): the shopper keeps what they hold
                continue
            self._call(log, "delete", "DELETE", f"/api/v1/reservations/{reservation_id}/")
            status, answer = create(quantity)
            if status != 201:  # the released units may be gone: try to get the old quantity back
                status, answer = create(current)
                if status != 201:
                    log.outcome = "lost_in_change" if answer.get("code") == STOCK_SHORT else "failed"
                    return log
            else:
                current = quantity
            reservation_id = answer["reservation_id"]
        time.sleep(plan.thinks[-1])
        if plan.buys:
            status, _ = self._call(log, "confirm", "POST", f"/api/v1/reservations/{reservation_id}/confirm/")
            log.outcome = "confirmed" if status == 200 else "failed"
        else:
            self._call(log, "delete", "DELETE", f"/api/v1/reservations/{reservation_id}/")
            log.outcome = "abandoned"
        return log


def save_chart(kpis: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib  # noqa: PLC0415 (requirements-bench.txt; only this command needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    shown = [
        "reservation error rate",
        "orders lost to stock errors",
        "units blocked x time (unit*s)",
        "mean cancel -> new reservation (ms)",
        "conversion",
        "revenue",
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for axis, name in zip(axes.flat, shown, strict=True):
        values = [float(kpis[journey][name] or 0) for journey in kpis]
        bars = axis.bar(list(kpis), values, color=["tab:gray", "tab:green"])
        axis.bar_label(bars, labels=[_show(kpis[journey][name]) for journey in kpis], fontsize=8)
        axis.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


class Command(BaseCommand):
    help = "Simulate shoppers over HTTP: delete+create (old) vs updateReservation (new) quantity changes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--api-key", default=getattr(settings, "DEMO_API_KEY", ""))
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--shoppers", type=int, default=120, help="per journey")
        parser.add_argument("--window", type=float, default=15.0, help="seconds over which shoppers arrive")
        parser.add_argument("--think", type=float, default=0.4, help="mean pause between steps, seconds")
        parser.add_argument(
            "--rtt-ms", type=float, default=40.0, help="front end <-> service round trip added per call"
        )
        parser.add_argument("--threads", type=int, default=64, help="concurrent shoppers per journey, at most")
        parser.add_argument("--chart", default=None, help="PNG path (default var/simulate_journeys-seed<seed>.png)")

    def handle(self, *args, **options) -> None:
        api = Api(options["base_url"], options["api_key"])
        plan = make_plan(
            seed=options["seed"], shoppers=options["shoppers"], window=options["window"], think=options["think"]
        )
        run_id = f"{options['seed']}-{int(time.time())}"
        simulation = Simulation(api, run_id, t0=0.0, rtt=options["rtt_ms"] / 1000)
        simulation.create_catalogue()
        simulation.t0 = time.monotonic()
        futures: dict[str, list] = {journey: [] for journey in JOURNEYS}
        with ThreadPoolExecutor(max_workers=2 * options["threads"]) as pool:
            for shopper in plan:  # the same arrival for both journeys' shopper
                time.sleep(max(0.0, shopper.arrival - (time.monotonic() - simulation.t0)))
                for journey in JOURNEYS:
                    futures[journey].append(pool.submit(simulation.shopper, shopper, journey))
            logs = {journey: [future.result() for future in futures[journey]] for journey in JOURNEYS}
        end = time.monotonic() - simulation.t0
        kpis = {journey: compute_kpis(logs[journey], end) for journey in JOURNEYS}
        labelled = {"old (delete+create)": kpis["old"], "new (updateReservation)": kpis["new"]}
        self.stdout.write(
            f"seed {options['seed']}: {options['shoppers']} shoppers per journey over {options['window']:.0f} s, "
            f"catalogue {[units for units, _ in CATALOGUE]} units, {options['rtt_ms']:.0f} ms front-end round trip, "
            f"run {run_id}, {end:.1f} s\n"
        )
        self.stdout.write(format_kpis(labelled))
        chart = Path(options["chart"] or settings.BASE_DIR / "var" / f"simulate_journeys-seed{options['seed']}.png")
        try:
            save_chart(labelled, chart, f"simulate_journeys seed {options['seed']} ({run_id})")
        except ImportError:
            self.stderr.write("matplotlib is not installed (pip install -r requirements-bench.txt): no chart")
            return
        self.stdout.write(f"\nchart: {chart}")
