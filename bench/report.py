"""Pure functions of the benchmark: parsing tool output, ratios, the table. No I/O, no Django."""

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

WRK_MARKER = "BENCHJSON "


@dataclass
class Row:
    """One line of the table: a scenario measured at a client count, and its yardstick."""

    scenario: str
    clients: int
    throughput: float | None = None  # requests (or rows) per second
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    errors: dict[str, int] = field(default_factory=dict)  # non-2xx answers and socket errors, by code
    yardstick: float | None = None  # raw-SQL transactions (or rows) per second, same client count
    ratio: float | None = None
    queries_per_request: float | None = None
    # CPU (user + system) the service's processes spent per request: steadier than req/s on a machine
    # whose neighbours come and go, so it is the figure to compare two versions of the code by.
    cpu_ms_per_request: float | None = None
    seconds: float | None = None  # for batch scenarios (d)
    note: str = ""


def parse_wrk(stdout: str) -> dict[str, Any]:
    """The JSON line our Lua `done` writes; socket errors are folded into the codes."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            return json.loads(line[len(WRK_MARKER) :])
    raise ValueError("wrk output has no BENCHJSON line")


def parse_pgbench_tps(stdout: str) -> float:
    match = re.search(r"^tps = ([0-9.]+)", stdout, re.MULTILINE)
    if match is None:
        raise ValueError("pgbench output has no tps line")
    return float(match.group(1))


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def errors_of(codes: dict[str, int], socket_errors: dict[str, int] | None = None) -> dict[str, int]:
    """Everything but 2xx, by status and problem code, plus socket errors ("socket:timeout")."""
    errors = {key: n for key, n in codes.items() if not key.startswith("2") and n}
    for kind, n in (socket_errors or {}).items():
        if n:
            errors[f"socket:{kind}"] = n
    return dict(sorted(errors.items()))


def row_from_wrk(scenario: str, clients: int, wrk: dict[str, Any], yardstick: float | None) -> Row:
    seconds = wrk["duration_us"] / 1e6
    throughput = wrk["requests"] / seconds if seconds else 0.0
    return Row(
        scenario=scenario,
        clients=clients,
        throughput=throughput,
        p50_ms=wrk["p50_us"] / 1000,
        p95_ms=wrk["p95_us"] / 1000,
        p99_ms=wrk["p99_us"] / 1000,
        errors=errors_of(wrk["codes"], wrk.get("socket_errors")),
        yardstick=yardstick,
        ratio=ratio(throughput, yardstick),
    )


def count_5xx(errors: dict[str, int]) -> int:
    return sum(n for key, n in errors.items() if key[:1] == "5")


def check_targets(rows: list[Row], oversell: int | None = None) -> list[tuple[str, bool | None, str]]:
    """The issue's targets as (target, met, measured). `met` is None when a figure is missing."""
    by = {(row.scenario, row.clients): row for row in rows}
    out: list[tuple[str, bool | None, str]] = []
    a8 = by.get(("a update spread", 8))
    cheap = by.get(("stock GET (cheapest)", 8))
    b = by.get(("b hot SKU", 64))
    if a8 is not None:
        out.append(("(a) 8 clients >= 0.20 x yardstick", _ge(a8.ratio, 0.20), _fmt(a8.ratio, "x")))
        half = ratio(a8.throughput, cheap.throughput if cheap else None)
        out.append(("(a) 8 clients >= 0.5 x GET /stock/{sku}/", _ge(half, 0.5), _fmt(half, "x")))
        out.append(("(a) 8 clients p99 < 50 ms", None if a8.p99_ms is None else a8.p99_ms < 50, _fmt(a8.p99_ms, "ms")))
    if b is not None:
        out.append(("(b) zero 5xx", count_5xx(b.errors) == 0, str(count_5xx(b.errors))))
        out.append(("(b) zero oversell", None if oversell is None else oversell == 0, str(oversell)))
        vs_a = ratio(b.throughput, a8.throughput if a8 else None)
        out.append(("(b) >= 0.8 x (a) at 8 clients", _ge(vs_a, 0.8), _fmt(vs_a, "x")))
    for row in rows:
        if row.scenario.startswith("d "):
            # Throughput ratio >= 0.5 is the same as taking at most 2x the raw statement's time.
            slower = None if not row.ratio else 1 / row.ratio
            out.append((f"({row.scenario}) within 2x raw SQL time", _ge(row.ratio, 0.5), _fmt(slower, "x time")))
    return out


def _ge(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _fmt(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.2f} {unit}"


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (
    "scenario",
    "clients",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors by code",
    "yardstick/s",
    "ratio",
    "SQL/req",
    "CPU ms/req",
)


def table_lines(rows: list[Row]) -> list[tuple[str, ...]]:
    lines = []
    for row in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in row.errors.items()) or "0"
        if row.note:  # batch scenarios say how long each side took
            errors = f"{errors}; {row.note}" if row.errors else row.note
        lines.append(
            (
                row.scenario,
                str(row.clients),
                _cell(row.throughput, ".0f"),
                _cell(row.p50_ms, ".1f"),
                _cell(row.p95_ms, ".1f"),
                _cell(row.p99_ms, ".1f"),
                errors,
                _cell(row.yardstick, ".0f"),
                _cell(row.ratio, ".2f"),
                _cell(row.queries_per_request, ".0f"),
                _cell(row.cpu_ms_per_request, ".2f"),
            )
        )
    return lines


def format_table(rows: list[Row]) -> str:
    lines = [HEADER, *table_lines(rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)))
        if n == 0:
            out.append("-|-".join("-" * w for w in widths))
    return "\n".join(out)


def as_json(rows: list[Row], **meta: Any) -> dict[str, Any]:
    return {**meta, "rows": [asdict(row) for row in rows]}
