"""The campaign marts for every campaign against a bare DuckDB join and Polars, for `make bench`.

The floor is the least any campaign measurement needs: each purchase's payer (card or wallet)
joined to the campaigns' audiences and days, grouped by campaign and arm with count and sum.
Polars does the marts' member and arm figures (the payer, the owner's outlets, the pre-period
and the campaign's days, per member then per arm), and its arms are checked against the
marts' before the step reports. The marts do all of it and the effect statistics: CUPED
aggregates per campaign, segment and metric, and the t-tests on them (tea-tasting's, over arrays). The segment marts
they read (rfm) are built first by `prepare` and not timed: they have their own benchmark.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import polars as pl

from pipelines import marts
from pipelines.bench.harness import Measurement, env, generated, note_limit, timed_query, versus_floor
from pipelines.bench.merchants import prepare as prepare_segments
from pipelines.campaigns.marts import build as build_campaign_marts
from pipelines.campaigns.settings import load_settings
from pipelines.core import catalog
from pipelines.core.family import MartWriter
from pipelines.core.snapshot import Snapshot

_FLOOR_SQL = """
SELECT a.campaign_id, a.arm, count(*) AS transactions, sum(p.amount)::BIGINT AS ntd
FROM purchases p
LEFT JOIN cards c ON c.card_id = p.card_id
LEFT JOIN members m ON m.account_id = p.account_id
JOIN campaign_assignments a ON a.member_id = coalesce(c.member_id, m.member_id)
JOIN campaigns k ON k.campaign_id = a.campaign_id
WHERE p.purchased_at >= k.start_date AND p.purchased_at < k.end_date + 1
GROUP BY ALL
"""


def floor(snapshot: str) -> dict:
    return timed_query(snapshot, _FLOOR_SQL)


def _polars_arms(snap: Snapshot, pre_days: int) -> pl.DataFrame:
    """campaign_arms' member figures, by Polars: what the marts compute before the statistics."""

    def scan(name: str) -> pl.LazyFrame:
        return pl.scan_parquet(snap.files(name))

    payer = (
        scan("purchases")
        .join(scan("cards").select("card_id", pl.col("member_id").alias("card_member")), on="card_id", how="left")
        .join(
            scan("members").select("account_id", pl.col("member_id").alias("wallet_member")),
            on="account_id",
            how="left",
        )
        .join(scan("merchants").select("merchant_id", "brand_id"), on="merchant_id", how="left")
        .select(
            pl.coalesce("card_member", "wallet_member").alias("member_id"),
            pl.col("purchased_at").dt.date().alias("day"),
            "merchant_id",
            "brand_id",
            "amount",
        )
        .drop_nulls("member_id")
    )
    campaigns = scan("campaigns").select(
        "campaign_id",
        "owner_kind",
        "owner_id",
        "start_date",
        (pl.col("end_date") + dt.timedelta(days=1)).alias("stop_date"),
        (pl.col("start_date") - dt.timedelta(days=pre_days)).alias("pre_start"),
    )
    audience = scan("campaign_assignments").select("campaign_id", "member_id", "arm")
    hits = (
        audience.join(campaigns, on="campaign_id")
        .join(payer, on="member_id")
        .filter(
            (pl.col("day") >= pl.col("pre_start"))
            & (pl.col("day") < pl.col("stop_date"))
            & (
                (pl.col("owner_kind") == "operator")
                | ((pl.col("owner_kind") == "merchant") & (pl.col("merchant_id") == pl.col("owner_id")))
                | ((pl.col("owner_kind") == "chain") & (pl.col("brand_id") == pl.col("owner_id")))
            )
        )
        .group_by("campaign_id", "member_id", (pl.col("day") >= pl.col("start_date")).alias("during"))
        .agg(pl.len().alias("transactions"), pl.col("amount").sum().alias("ntd"))
    )
    during = hits.filter("during").drop("during")
    before = hits.filter(~pl.col("during")).drop("during").rename({"transactions": "pre_t", "ntd": "pre_ntd"})
    members = (
        audience.join(during, on=["campaign_id", "member_id"], how="left")
        .join(before, on=["campaign_id", "member_id"], how="left")
        .fill_null(0)
    )
    return (
        members.group_by("campaign_id", "arm")
        .agg(
            pl.len().alias("members"),
            (pl.col("pre_t") > 0).sum().alias("pre_buyers"),
            pl.col("pre_t").sum().alias("pre_transactions"),
            pl.col("pre_ntd").sum().alias("pre_ntd"),
            (pl.col("transactions") > 0).sum().alias("buyers"),
            pl.col("transactions").sum().alias("transactions"),
            pl.col("ntd").sum().alias("ntd"),
        )
        .sort("campaign_id", "arm")
        .collect(engine="streaming")
    )


def polars_arms(snapshot: str) -> dict:
    snap = Snapshot.open(snapshot)
    start = time.perf_counter()
    arms = _polars_arms(snap, load_settings().pre_period_days)
    seconds = time.perf_counter() - start
    with marts.connect(snap) as con:
        golden = catalog.frame(con, "SELECT * FROM campaign_arms ORDER BY campaign_id, arm").select(arms.columns)
    if not arms.equals(golden.cast(arms.schema)):
        raise AssertionError("the Polars arms differ from the campaign marts' campaign_arms")
    return {"seconds": seconds, "groups": arms.height, "note": "answer checked against the marts' campaign_arms"}


def prepare(snapshot: str) -> None:
    """Write the segment marts the campaign marts read, and the campaign marts the Polars answer
    is checked against (neither timed), where `marts.connect` finds them."""
    prepare_segments(snapshot)
    snap = Snapshot.open(snapshot)
    folder = marts.marts_dir(snap)
    with marts.connect(snap) as con:
        build_campaign_marts(MartWriter(con, snap, folder, folder / ".scratch"))


def mart(snapshot: str) -> dict:
    """The campaign family's build step: members, arms, effects and results of every campaign."""
    snap = Snapshot.open(snapshot)
    with marts.connect(snap) as con, tempfile.TemporaryDirectory() as tmp:
        out = MartWriter(con, snap, Path(tmp), Path(tmp) / ".scratch")
        start = time.perf_counter()
        build_campaign_marts(out)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "groups": out.built["campaign_results"],
            "note": f"{out.built['campaign_results']} campaigns, {out.built['campaign_members']:,} audience members",
        }


def part(scale: float, data: Path) -> list[Measurement]:
    """The campaign marts next to DuckDB's bare join of purchases to audiences, and Polars."""
    environment = env(data, "campaigns")
    snap = f"bench-campaigns-s{scale:g}"
    gen = generated(snap, scale, environment)
    os.environ.update(environment)
    prepare(snap)
    steps = {
        "floor: DuckDB purchases joined to audiences and days, by campaign and arm": "floor",
        "polars: the arms' member figures (payer, owner, before and during)": "polars_arms",
        "campaign marts (members, arms, CUPED effects by segment, results)": "mart",
    }
    out = versus_floor(gen, "campaigns", "purchases", steps, environment, snapshot=snap)
    note_limit("campaigns", out[1], out[3])
    return out
