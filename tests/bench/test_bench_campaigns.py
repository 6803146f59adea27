"""The campaign benchmark's Polars version computes the marts' campaign_arms on the test
snapshot, and the floor counts what the arms count during the campaigns."""

from __future__ import annotations

import polars as pl

from pipelines.bench import campaigns as bench
from pipelines.campaigns.settings import load_settings
from pipelines.core import catalog


def test_polars_arms_are_the_marts_arms(snap, mart_con):
    arms = bench._polars_arms(snap, load_settings().pre_period_days)
    golden = catalog.frame(mart_con, "SELECT * FROM campaign_arms ORDER BY campaign_id, arm").select(arms.columns)
    assert arms.height == golden.height > 0
    assert arms.equals(golden.cast(arms.schema))
    assert bench.polars_arms(snap.id)["note"].startswith("answer checked")


def test_the_floor_counts_every_purchase_of_the_audiences_during_the_campaigns(mart_con, snapshot):
    floor = catalog.frame(mart_con, bench._FLOOR_SQL)
    # Operator subsidies count every purchase, so for them the floor and the arms agree.
    arms = catalog.frame(
        mart_con,
        "SELECT a.campaign_id, a.arm, a.transactions, a.ntd FROM campaign_arms a "
        "JOIN campaigns c USING (campaign_id) WHERE c.kind = 'operator_subsidy'",
    )
    joined = arms.join(floor, on=["campaign_id", "arm"], suffix="_floor")
    assert joined.height == arms.height > 0
    assert (joined["transactions"] == joined["transactions_floor"]).all()
    assert (joined["ntd"] == joined["ntd_floor"]).all()
    assert bench.floor(snapshot)["groups"] == floor.height
    assert floor.filter(pl.col("transactions") > 0).height == floor.height
