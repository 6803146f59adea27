"""The gate's floor for `make bench`: the same conditions as the suites, as plain DuckDB SQL.

One query per table, the way one would write the checks by hand for speed: a single scan,
foreign keys as LEFT JOINs to the (small) parent tables, duplicates as count - count(DISTINCT),
value sets as hash joins, plus the cross-table rules of the relationships suite. No engine,
no samples, no verdict file: the least work that decides the same pass/fail.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.bench.harness import Measurement, env, generated, measure, note_limit
from pipelines.core import catalog
from pipelines.core.network import stations
from pipelines.core.schema import TABLES, Table
from pipelines.core.snapshot import Snapshot


def _literal(value: object) -> str:
    return catalog.sql_literal(str(value)) if isinstance(value, str) else str(value)


def floor_query(t: Table, period: tuple[str, str], now: str) -> str:
    checks: list[str] = []
    joins: list[str] = []
    for i, c in enumerate(t.columns):
        col = f'b."{c.name}"'
        if not c.nullable:
            checks.append(f"count(*) FILTER (WHERE {col} IS NULL)")
        if c.unique:
            checks.append(f"count({col}) - count(DISTINCT {col})")
        bounds = [f"{col} < {c.min}" if c.min is not None else "", f"{col} > {c.max}" if c.max is not None else ""]
        if any(bounds):
            checks.append(f"count(*) FILTER (WHERE {' OR '.join(b for b in bounds if b)})")
        allowed = c.allowed or (
            tuple(s.station_id for s in stations()) if c.references == "stations.station_id" else None
        )
        if allowed:
            # A hash join on the allowed values: DuckDB's IN over many strings is 20x slower.
            values = ", ".join(f"({_literal(v)})" for v in allowed)
            joins.append(f"LEFT JOIN (VALUES {values}) s{i}(v) ON s{i}.v = {col}")
            checks.append(f"count(*) FILTER (WHERE {col} IS NOT NULL AND s{i}.v IS NULL)")
        if c.pattern:
            checks.append(f"count(*) FILTER (WHERE NOT regexp_full_match({col}, {_literal(c.pattern)}))")
        if c.references:
            parent, pcol = c.references.split(".")
            joins.append(f'LEFT JOIN (SELECT DISTINCT "{pcol}" AS k FROM "{parent}") j{i} ON j{i}.k = {col}')
            checks.append(f"count(*) FILTER (WHERE {col} IS NOT NULL AND j{i}.k IS NULL)")
    if t.time_column:
        col = f'b."{t.time_column}"'
        checks.append(
            f"count(*) FILTER (WHERE {col} < TIMESTAMP '{period[0]} 00:00:00' "
            f"OR {col} > TIMESTAMP '{period[1]} 23:59:59.999999' OR {col} > TIMESTAMP '{now}')"
        )
    extra = {
        "trips": [
            "count(*) FILTER (WHERE (b.mode IN ('mrt', 'lrt')) <> "
            "(b.origin_station_id IS NOT NULL AND b.destination_station_id IS NOT NULL))",
            "count(*) FILTER (WHERE b.tap_out_at < b.tap_in_at OR b.tap_out_at > b.tap_in_at + INTERVAL 6 HOUR)",
        ],
        "purchases": [
            "count(*) FILTER (WHERE NOT ((b.payment_method = 'card' AND b.card_id IS NOT NULL AND b.account_id IS NULL)"
            " OR (b.payment_method = 'wallet' AND b.account_id IS NOT NULL AND b.card_id IS NULL)))"
        ],
        "transfers": ["count(*) FILTER (WHERE b.from_account_id = b.to_account_id)"],
        "cards": [
            "count(*) FILTER (WHERE (b.card_type = 'staff') <> (b.employer_id IS NOT NULL))",
            "count(*) FILTER (WHERE b.card_type = 'staff' AND b.member_id IS NULL)",
        ],
        "members": [
            f"count(*) FILTER (WHERE {period[1][:4]} - b.birth_year BETWEEN 14 AND 20 "
            "AND b.guardian_member_id IS NULL)",
            f"count(*) FILTER (WHERE {period[1][:4]} - g.birth_year < 20)",
        ],
    }
    checks += extra.get(t.name, [])
    if t.name == "members":
        joins.append("LEFT JOIN members g ON g.member_id = b.guardian_member_id")
    return f'SELECT count(*), {", ".join(checks)} FROM "{t.name}" b {" ".join(joins)}'


def floor(snapshot: str) -> dict[str, float]:
    """Every table's floor query; returns seconds and how many checks found a problem."""
    snap = Snapshot.open(snapshot)
    period, now = (snap.start.isoformat(), snap.end.isoformat()), "2100-01-01 00:00:00"
    con = catalog.connect(snap)
    start = time.perf_counter()
    problems = 0
    for t in TABLES:
        row = con.execute(floor_query(t, period, now)).fetchone()
        problems += sum(row[1:]) if row[0] else 1
    return {"seconds": time.perf_counter() - start, "problems": problems}


def validate(snapshot: str) -> dict:
    from pipelines.quality.gate import validate as run_validate

    start = time.perf_counter()
    verdict = run_validate(snapshot)
    return {"seconds": time.perf_counter() - start, "passed": verdict.success}


def part(scale: float, data: Path) -> list[Measurement]:
    """The whole gate next to the hand-written DuckDB floor, on one snapshot."""
    environment = env(data, "gate")
    snap = f"bench-gate-s{scale:g}"
    gen = generated(snap, scale, environment)
    gate = measure(f"gate (validate) scale {scale:g}", "gate", "validate", environment, snapshot=snap)
    plain = measure(f"floor (plain DuckDB checks) scale {scale:g}", "gate", "floor", environment, snapshot=snap)
    for m in (gate, plain):
        m.detail["rows"] = gen.detail["rows"]
        m.detail["largest"] = gen.detail["largest"]
    gate.detail["note"] = (
        f"{gate.seconds / plain.seconds:.2f}x the floor; largest table {gen.detail['largest']:,} rows; "
        f"verdict {'passed' if gate.detail['passed'] else 'FAILED'}; floor problems {plain.detail['problems']}"
    )
    note_limit("gate", gate, plain)
    return [gen, gate, plain]
