"""Plain-words descriptions of failed expectations, for the console and the HTML page."""

from __future__ import annotations

from typing import Any

from pipelines.quality.engine import Outcome


def observed(outcome: Outcome) -> str:
    r = outcome.result
    if outcome.exception:
        return outcome.exception
    if "unexpected_count" in r:
        present = r["element_count"] - r["missing_count"]
        return f"{r['unexpected_count']:,} of {present:,} values break the rule ({r['unexpected_percent']:.3g} %)"
    if outcome.expectation["type"] == "unexpected_rows_expectation":
        return f"{r['observed_value']:,} offending rows"
    value = r.get("observed_value")
    if outcome.expectation["type"] == "expect_table_columns_to_match_ordered_list":
        d = r.get("details", {})
        parts = [
            f"missing {', '.join(d['missing'])}" if d.get("missing") else "",
            f"unexpected {', '.join(d['unexpected'])}" if d.get("unexpected") else "",
        ]
        return "; ".join(p for p in parts if p) or f"columns out of order: {', '.join(value or [])}"
    return f"observed {value}"


def samples(outcome: Outcome) -> list[dict[str, Any]]:
    r = outcome.result
    return r.get("partial_unexpected_list") or r.get("details", {}).get("unexpected_rows") or []


def failure_lines(outcome: Outcome) -> list[str]:
    exp = outcome.expectation
    where = outcome.table + (f".{outcome.column}" if outcome.column else "")
    lines = [
        f"FAILED  {where}",
        f"  rule:     {exp.get('description') or exp['type']}",
        f"  observed: {observed(outcome)}",
        f"  check:    {exp['type']} (suite {outcome.suite})",
    ]
    rows = samples(outcome)
    if rows:
        lines.append("  e.g.:     " + "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows))
    return lines
