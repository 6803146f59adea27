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
    # A rule met without a figure to show (a set of columns, a key) says so in words.
    return "" if value is None else f"observed {value}"


def not_applicable(outcome: Outcome) -> str:
    """Why a rule was not evaluated, in words."""
    return {
        "previous": "not applicable: no previous snapshot to compare with",
        "scene": "not applicable: the scene is declared absent",
        "parent": "not applicable: the snapshot does not extend another",
    }.get(outcome.expectation["meta"].get("requires", ""), "not applicable")


def volume_rows(document: dict[str, Any]) -> list[dict[str, str]]:
    """What the volume rules saw, one row per event table, in words and rounded figures."""
    observed = document.get("observed", {})
    lowest: dict[str, tuple[float, str]] = {}
    for row in observed.get("monthly_volume", []):
        share = row["share_of_median_month"]
        if share is not None and (row["table_name"] not in lowest or share < lowest[row["table_name"]][0]):
            lowest[row["table_name"]] = (share, str(row["month"])[:7])
    change = {r["table_name"]: r["rows_per_day_ratio"] for r in observed.get("volume_change", [])}
    rows = []
    for row in observed.get("volume", []):
        table = row["table_name"]
        share, month = lowest.get(table, (None, ""))
        ratio = change.get(table)
        rows.append(
            {
                "table": table,
                "rows": f"{row['rows']:,}",
                "rows per day": f"{row['rows_per_day']:,.1f}",
                "events per active payer-month": ""
                if row["per_payer_month"] is None
                else f"{row['per_payer_month']:.2f}",
                "lowest month vs median month": "" if share is None else f"{share:.2f} ({month})",
                "rows per day vs previous": "" if ratio is None else f"{ratio:.2f}x",
            }
        )
    return rows


def volume_lines(document: dict[str, Any]) -> list[str]:
    """The observed volumes as console lines."""
    rows = volume_rows(document)
    if not rows:
        return []
    absent = sorted(set(("transit", "retail", "bills", "p2p")) - set(document.get("scenes", [])))
    lines = ["observed volume" + (f" (absent scenes: {', '.join(absent)})" if absent else "") + ":"]
    for r in rows:
        lines.append(
            f"  {r['table']:<14} {r['rows']:>12} rows  {r['rows per day']:>10}/day  "
            f"{r['events per active payer-month']:>7} per active payer-month  "
            f"lowest month {r['lowest month vs median month'] or '-'}"
            + (f"  vs previous {r['rows per day vs previous']}" if r["rows per day vs previous"] else "")
        )
    return lines


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
