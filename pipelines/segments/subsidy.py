"""The differential subsidy plan: per-segment amounts from the policy table, fitted to a budget."""

from __future__ import annotations

from typing import Any

import polars as pl


def subsidy_plan(members: pl.DataFrame, policy: pl.DataFrame, budget_ntd: int) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per-segment subsidy per head from the policy, scaled down (never up) to fit the budget.

    Scaled amounts are rounded down to whole NT$, so the total never exceeds the budget.
    """
    if budget_ntd < 0:
        raise ValueError(f"subsidy budget must not be negative, got {budget_ntd}")
    plan = policy.join(members, on="segment", how="left").with_columns(pl.col("members").fill_null(0))
    wanted = int((plan["members"] * plan["per_head_ntd"]).sum())
    factor = 1.0 if wanted <= budget_ntd else budget_ntd / wanted
    plan = plan.with_columns(
        (pl.col("per_head_ntd") * factor).floor().cast(pl.Int64).alias("per_head_ntd_planned"),
    ).with_columns((pl.col("members") * pl.col("per_head_ntd_planned")).alias("cost_ntd"))
    total = int(plan["cost_ntd"].sum())
    summary = {
        "budget_ntd": budget_ntd,
        "policy_cost_ntd": wanted,
        "scale_factor": factor,
        "total_cost_ntd": total,
        "unused_ntd": budget_ntd - total,
        "members_subsidised": int(plan.filter(pl.col("cost_ntd") > 0)["members"].sum()),
    }
    return plan.select(
        "segment", "subsidise", "members", "per_head_ntd", "per_head_ntd_planned", "cost_ntd", "why"
    ), summary
