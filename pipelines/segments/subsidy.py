"""The differential subsidy plan: which segments get how much, fitted to a budget.

Where past operator subsidies were measured against a holdout (the campaign marts), a
segment's plan follows what they returned: the extra NT$ spent per NT$ of subsidy, with its
uncertainty. Where no campaign measured a segment, the policy table decides. The plan says
which it used for each segment.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import polars as pl

#: A measured segment is subsidised when a subsidy brought back at least this many NT$ of extra
#: spending per NT$ it cost (the point estimate; its interval is shown beside it).
MIN_RETURN = 1.0
#: Treated members a segment needs across past subsidies for its measurement to be used.
MIN_TREATED = 30


def measured_returns(returns: pl.DataFrame, confidence: float = 0.95) -> pl.DataFrame:
    """Per segment measured by past subsidies: NT$ of extra spending per NT$ of subsidy, its
    interval, and the subsidy's cost per treated member (rpt_subsidy_returns)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * pl.col("incremental_var").sqrt()
    usable = returns.filter((pl.col("treated") >= MIN_TREATED) & (pl.col("cost_ntd") > 0))
    return usable.select(
        "segment",
        "campaigns",
        "treated",
        (pl.col("incremental_ntd") / pl.col("cost_ntd")).alias("return_per_ntd"),
        ((pl.col("incremental_ntd") - half) / pl.col("cost_ntd")).alias("return_lower"),
        ((pl.col("incremental_ntd") + half) / pl.col("cost_ntd")).alias("return_upper"),
        (pl.col("cost_ntd") / pl.col("treated")).round(0).cast(pl.Int64).alias("measured_per_head_ntd"),
    )


def subsidy_plan(
    members: pl.DataFrame, policy: pl.DataFrame, budget_ntd: int, returns: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per-segment subsidy per head, measured returns first (ranked by return), then the
    policy table; scaled down evenly (never up) to fit the budget. Scaled amounts are rounded
    down to whole NT$, so the total never exceeds the budget."""
    if budget_ntd < 0:
        raise ValueError(f"subsidy budget must not be negative, got {budget_ntd}")
    measured = measured_returns(_NO_RETURNS if returns is None else returns)
    ratio = pl.col("return_per_ntd")
    unmeasured, worth = ratio.is_null(), ratio >= MIN_RETURN
    plan = (
        policy.join(members, on="segment", how="left")
        .with_columns(pl.col("members").fill_null(0))
        .join(measured, on="segment", how="left")
        .with_columns(
            basis=pl.when(unmeasured)
            .then(pl.lit("policy table"))
            .otherwise(pl.format("measured in {} subsidy campaign(s)", pl.col("campaigns"))),
            subsidise=pl.when(unmeasured).then("subsidise").when(worth).then(pl.lit("yes")).otherwise(pl.lit("no")),
            per_head_ntd=pl.when(unmeasured)
            .then("per_head_ntd")
            .when(worth)
            .then("measured_per_head_ntd")
            .otherwise(0),
            why=pl.when(unmeasured)
            .then("why")
            .when(worth)
            .then(pl.format("Past subsidies brought NT${} of extra spending per NT$", ratio.round(2)))
            .otherwise(pl.format("Past subsidies brought back only NT${} per NT$", ratio.round(2))),
        )
    )
    wanted = int((plan["members"] * plan["per_head_ntd"]).sum())
    factor = 1.0 if wanted <= budget_ntd else budget_ntd / wanted
    plan = (
        plan.with_columns(
            (pl.col("per_head_ntd") * factor).floor().cast(pl.Int64).alias("per_head_ntd_planned"),
        )
        .with_columns((pl.col("members") * pl.col("per_head_ntd_planned")).alias("cost_ntd"))
        .sort("return_per_ntd", descending=True, nulls_last=True, maintain_order=True)
    )
    total = int(plan["cost_ntd"].sum())
    summary = {
        "budget_ntd": budget_ntd,
        "policy_cost_ntd": wanted,
        "scale_factor": factor,
        "total_cost_ntd": total,
        "unused_ntd": budget_ntd - total,
        "members_subsidised": int(plan.filter(pl.col("cost_ntd") > 0)["members"].sum()),
        "segments_measured": int(plan["return_per_ntd"].is_not_null().sum()),
    }
    return plan.select(
        "segment",
        "subsidise",
        "members",
        "per_head_ntd",
        "per_head_ntd_planned",
        "cost_ntd",
        "basis",
        pl.col("return_per_ntd").round(2),
        pl.col("return_lower").round(2),
        pl.col("return_upper").round(2),
        "why",
    ), summary


_NO_RETURNS = pl.DataFrame(
    schema={
        "segment": pl.String,
        "campaigns": pl.Int64,
        "treated": pl.Int64,
        "cost_ntd": pl.Int64,
        "incremental_ntd": pl.Float64,
        "incremental_var": pl.Float64,
    }
)
