"""The synthetic population behaves like card members and its behaviour does not depend on the scale.

What the generator planted (data/ground_truth/<snapshot>/: each member's profile, scenes, tier
and planned active months, and each shopper's regular outlets) is recovered from the events,
and the per-member figures of member_behaviour.sql agree within 5 % at two scales.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipelines import marts
from pipelines.core import catalog
from pipelines.core.paths import ground_truth_dir
from pipelines.core.period import month_end
from pipelines.core.snapshot import Snapshot
from pipelines.ingest.behaviour import INVARIANT, member_behaviour, relative_differences
from pipelines.ingest.generator import generate
from pipelines.ingest.generator.params import GeneratorParams
from pipelines.ingest.generator.timing import time_order
from pipelines.quality.gate import validate

PARAMS = GeneratorParams()
NOW = dt.datetime(2026, 11, 23, 12, 0)
#: Two scales four times apart, each with whole neighbourhoods of every category's outlets.
SMALL, LARGE = 0.5, 2.0


def _member_events(snapshot: str) -> pl.DataFrame:
    """Every event with the member who acted (payer, rider, sender), its scene and month, read
    straight from the snapshot's Parquet files with Polars."""
    snap = Snapshot.open(snapshot)

    def read(name: str) -> pl.DataFrame:
        return pl.read_parquet(snap.files(name))

    cards = read("cards").filter(pl.col("member_id").is_not_null()).select("card_id", "member_id")
    accounts = read("members").select("account_id", "member_id")
    month = pl.col("at").dt.truncate("1mo").cast(pl.Date).alias("month")
    trips = read("trips").join(cards, on="card_id").select("member_id", pl.col("tap_in_at").alias("at"))
    bought = read("purchases")
    by_card = bought.join(cards, on="card_id").select("member_id", "merchant_id", "payment_method", "purchased_at")
    by_wallet = bought.join(accounts, on="account_id").select(
        "member_id", "merchant_id", "payment_method", "purchased_at"
    )
    purchases = pl.concat([by_card, by_wallet]).rename({"purchased_at": "at"})
    bills = read("bill_payments").join(accounts, on="account_id").select("member_id", pl.col("paid_at").alias("at"))
    sent = (
        read("transfers")
        .join(accounts, left_on="from_account_id", right_on="account_id")
        .select("member_id", pl.col("transferred_at").alias("at"))
    )
    return pl.concat(
        [
            trips.with_columns(
                scene=pl.lit("transit"), merchant_id=pl.lit(None, pl.String), payment_method=pl.lit(None, pl.String)
            ),
            purchases.with_columns(scene=pl.lit("retail")),
            bills.with_columns(
                scene=pl.lit("bills"), merchant_id=pl.lit(None, pl.String), payment_method=pl.lit(None, pl.String)
            ),
            sent.with_columns(
                scene=pl.lit("p2p"), merchant_id=pl.lit(None, pl.String), payment_method=pl.lit(None, pl.String)
            ),
        ],
        how="diagonal",
    ).with_columns(month)


def _truth(snapshot: str) -> dict[str, pl.DataFrame]:
    folder = ground_truth_dir() / snapshot
    # Written a block at a time: a folder of parts each.
    return {name: pl.read_parquet(folder / name / "*.parquet") for name in ("members", "repertoires")}


# --- what was planted, on the test snapshot ---------------------------------------------------


@pytest.fixture(scope="module")
def events(snapshot) -> pl.DataFrame:
    return _member_events(snapshot)


def test_dormant_members_leave_no_trace(con, truth, events):
    dormant = truth["members"].filter(pl.col("profile") == "dormant")
    assert 0.1 < dormant.height / truth["members"].height < 0.3
    assert events.join(dormant, on="member_id").height == 0
    con.register("dormant", dormant.select("member_id").to_arrow())
    received = con.execute(
        """SELECT count(*) FROM transfers x JOIN members m ON m.account_id = x.to_account_id
           JOIN dormant d USING (member_id)"""
    ).fetchone()[0]
    assert received == 0  # not even as the recipient of a transfer


def test_members_act_only_in_their_scenes_and_active_months(truth, events):
    planned = truth["members"].select(
        "member_id",
        "active_months",
        "wallet_only",
        *(pl.col(f"uses_{s}") for s in ("transit", "retail", "bills", "p2p")),
    )
    joined = events.join(planned, on="member_id")
    uses = pl.coalesce(
        pl.when(pl.col("scene") == s).then(pl.col(f"uses_{s}")) for s in ("transit", "retail", "bills", "p2p")
    )
    assert joined.filter(~uses).height == 0
    assert joined.filter(~pl.col("active_months").list.contains(pl.col("month"))).height == 0
    assert joined.filter(pl.col("wallet_only") & (pl.col("payment_method") == "card")).height == 0
    # Single-scene members exist and stay in their scene.
    profiles = truth["members"]["profile"].value_counts()
    assert set(profiles["profile"]) >= {"transit_only", "wallet_only", "every_scene", "dormant"}


def test_planned_users_show_up_in_each_scene(truth, events):
    members = truth["members"].filter(pl.col("active_months").list.len() > 0)
    for scene in ("transit", "retail", "bills", "p2p"):
        planned = members.filter(pl.col(f"uses_{scene}"))["member_id"]
        seen = events.filter(pl.col("scene") == scene)["member_id"].unique()
        assert seen.is_in(planned.implode()).all(), scene
        assert seen.len() >= 0.85 * planned.len(), scene


def test_tiers_differ_in_how_often_members_use_the_card(truth, events):
    per_month = events.group_by("member_id", "month").len()
    # Staff-card holders commute every month whatever their tier; churners were active until they left.
    members = truth["members"].filter(
        pl.col("tier").is_not_null(),
        pl.col("dormant_from").is_null(),
        ~pl.col("member_id").is_in(truth["employees"]["member_id"].implode()),
    )
    median = dict(
        per_month.join(members.select("member_id", "tier"), on="member_id")
        .group_by("tier")
        .agg(pl.col("len").median())
        .iter_rows()
    )
    assert median["occasional"] < median["regular"] < median["daily"]
    # Planned active months per tier follow the tier's monthly chance, and members act in
    # nearly all of them.
    acted = per_month.group_by("member_id").len("acted")
    by_tier = (
        members.join(acted, on="member_id", how="left")
        .group_by("tier")
        .agg(
            (pl.col("active_months").list.len().sum() / (pl.len() * len(PARAMS.month_starts()))).alias("planned"),
            (pl.col("acted").fill_null(0).sum() / pl.col("active_months").list.len().sum()).alias("acted"),
        )
    )
    for tier in PARAMS.tiers:
        row = by_tier.filter(pl.col("tier") == tier.name).row(0, named=True)
        assert row["planned"] == pytest.approx(tier.monthly_active, abs=0.08), tier.name
        assert row["acted"] > 0.8, tier.name


def test_unknown_demographics_are_a_small_share(con):
    gender, birth_year, district, minors_unknown = con.execute(
        """SELECT avg((gender IS NULL)::INT), avg((birth_year IS NULL)::INT), avg((home_district_id IS NULL)::INT),
                  count(*) FILTER (WHERE birth_year IS NULL AND guardian_member_id IS NOT NULL)
           FROM members"""
    ).fetchone()
    for observed, planned in (
        (gender, PARAMS.unknown_gender_share),
        (birth_year, PARAMS.unknown_birth_year_share),
        (district, PARAMS.unknown_district_share),
    ):
        assert 0 < observed < 2 * planned
    assert minors_unknown == 0  # a guardian registers a minor's birth year


# --- regular places and scale invariance, on two larger snapshots -------------------------------


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> dict[float, dict]:
    """Snapshots at two scales (same seed), validated and with their marts, in a private data
    folder: each scale's member_behaviour figures, its events and what was planted."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARD_INSIGHTS_DATA", str(tmp_path_factory.mktemp("scales")))
        out = {}
        for scale in (SMALL, LARGE):
            snapshot = f"scale-{scale:g}"
            generate(snapshot, scale=scale, seed=11)
            assert validate(snapshot, now=NOW).success
            marts.build(snapshot)
            with marts.connect(snapshot) as con:
                month = catalog.frame(
                    con, "SELECT month, customers, transactions FROM merchant_month WHERE level = 'outlet'"
                )
                types = catalog.frame(
                    con,
                    """SELECT month, value, customers FROM merchant_cells
                       WHERE level = 'outlet' AND dimension = 'customer_type'""",
                )
            out[scale] = {
                "behaviour": member_behaviour(snapshot),
                "events": _member_events(snapshot),
                "truth": _truth(snapshot),
                "merchant_month": month,
                "customer_type": types,
                "merchants": pl.read_parquet(Snapshot.open(snapshot).files("merchants")),
            }
        yield out


def test_member_behaviour_matches_a_count_by_hand(scaled):
    """member_behaviour.sql against the same figures computed with Polars from the raw files."""
    got = scaled[SMALL]["behaviour"]
    ev = scaled[SMALL]["events"]
    members = scaled[SMALL]["truth"]["members"].height  # everyone joined by the period's end
    bought = ev.filter(pl.col("scene") == "retail")
    pairs = bought.group_by("member_id", "merchant_id", "month").len()
    assert got["purchases_per_member_outlet_month"] == pytest.approx(pairs["len"].sum() / pairs.height)
    member_months = bought.select("member_id", "month").unique().height
    assert got["outlets_per_member_month"] == pytest.approx(pairs.height / member_months)
    per_outlet = (
        pairs.group_by("member_id", "merchant_id")
        .agg(pl.col("len").sum())
        .sort(["member_id", "len", "merchant_id"], descending=[False, True, False])
    )
    top3 = per_outlet.group_by("member_id", maintain_order=True).head(3)["len"].sum()
    assert got["top3_outlet_share"] == pytest.approx(top3 / per_outlet["len"].sum())
    first = pairs.with_columns(first=pl.col("month").min().over("member_id", "merchant_id")).filter(
        pl.col("month") > PARAMS.start
    )
    assert got["returning_share"] == pytest.approx((first["first"] < first["month"]).mean())
    snap_members = pl.read_parquet(Snapshot.open(f"scale-{SMALL:g}").files("members"))
    registered = sum(snap_members.filter(pl.col("join_date") <= month_end(m)).height for m in PARAMS.month_starts())
    active = ev.select("member_id", "month").unique().height
    assert got["monthly_active_share"] == pytest.approx(active / registered)
    for scene in ("transit", "retail", "bills", "p2p"):
        users = ev.filter(pl.col("scene") == scene)["member_id"].n_unique()
        assert got[f"adoption_{scene}"] == pytest.approx(users / members), scene


def test_per_member_behaviour_does_not_depend_on_the_scale(scaled):
    small, large = scaled[SMALL]["behaviour"], scaled[LARGE]["behaviour"]
    differences = relative_differences(small, large)
    assert set(differences) == set(INVARIANT)
    assert max(differences.values()) < 0.05, differences
    # and there is real repeat behaviour to keep: members come back to their outlets.
    assert small["purchases_per_member_outlet_month"] > 1.3
    assert small["top3_outlet_share"] > 0.3
    assert small["returning_share"] > 0.4


def test_merchant_profiles_show_the_same_repeat_behaviour_at_both_scales(scaled):
    """The merchant marts' visits per customer and new-vs-returning split (outlets, months after
    the first), equal to the raw figures and within 5 % of each other."""
    figures = {}
    for scale, s in scaled.items():
        month = s["merchant_month"]
        visits = month["transactions"].sum() / month["customers"].sum()
        assert visits == pytest.approx(s["behaviour"]["purchases_per_member_outlet_month"])
        types = s["customer_type"].filter(pl.col("value") != "no history")
        returning = types.filter(pl.col("value") == "returning")["customers"].sum() / types["customers"].sum()
        assert returning == pytest.approx(s["behaviour"]["returning_share"])
        figures[scale] = (visits, returning)
        assert visits > 1.3 and returning > 0.4
    (v1, r1), (v2, r2) = figures[SMALL], figures[LARGE]
    assert abs(v2 - v1) / v1 < 0.05 and abs(r2 - r1) / r1 < 0.05


def _planted_at_purchase(s: dict) -> pl.DataFrame:
    """Each member purchase with whether its outlet was one of the member's regular outlets of
    that category in that month, and the slot it held."""
    reps = s["truth"]["repertoires"]
    bought = (
        s["events"]
        .filter(pl.col("scene") == "retail")
        .join(s["merchants"].select("merchant_id", "category"), on="merchant_id")
    )
    current = bought.join(reps, on=["member_id", "category", "merchant_id"], how="left").with_columns(
        held=pl.col("slot").is_not_null()
        & (pl.col("valid_from").is_null() | (pl.col("month") >= pl.col("valid_from")))
        & (pl.col("valid_until").is_null() | (pl.col("month") < pl.col("valid_until")))
    )
    # An outlet held in two versions joins twice: callers count a purchase as regular if either holds.
    return current


def test_most_purchases_go_to_planted_regular_outlets(scaled):
    s = scaled[LARGE]
    bought = _planted_at_purchase(s)
    per_purchase = bought.group_by("member_id", "merchant_id", "at").agg(
        pl.col("held").any(), pl.col("category").first()
    )
    share = per_purchase["held"].mean()
    # Exploring purchases avoid the member's regular outlets, so the share is the planted one.
    assert share == pytest.approx(PARAMS.regular_share, abs=0.01)
    # Within a category, the planted slots take their planted shares of the regular purchases.
    held = bought.filter(pl.col("held"))
    slots = held.group_by("category", "slot").agg(pl.len(), pl.col("share_of_category").first())
    slots = slots.with_columns(observed=pl.col("len") / pl.col("len").sum().over("category"))
    big = slots.filter(pl.col("category").is_in(["convenience_store", "food_and_drink"]))
    assert ((big["observed"] - big["share_of_category"]).abs() < 0.02).all(), big


def test_regular_outlets_lie_near_home_and_favour_the_favourite_chain(scaled):
    s = scaled[LARGE]
    reps = s["truth"]["repertoires"].filter(pl.col("valid_from").is_null())
    members = s["truth"]["members"]
    merchants = s["merchants"]
    at_home = (
        reps.filter(pl.col("anchor") == "home")
        .join(merchants.select("merchant_id", "district_id"), on="merchant_id")
        .join(members.select("member_id", "previous_home_district_id"), on="member_id")
    )
    near = (at_home["district_id"] == at_home["previous_home_district_id"]).mean()
    # Chance: the share of a category's outlets in the member's district.
    per_district = merchants.group_by("category", "district_id").len()
    per_district = per_district.with_columns(chance=pl.col("len") / pl.col("len").sum().over("category"))
    chance = (
        at_home.join(
            per_district,
            left_on=["category", "previous_home_district_id"],
            right_on=["category", "district_id"],
            how="left",
        )["chance"]
        .fill_null(0)
        .mean()
    )
    assert near > 3 * chance
    # Every anchor is used: home, work (or school) and the way between.
    assert set(reps["anchor"]) == {"home", "work", "path"}
    # Chain outlets in a repertoire belong to the member's favourite chain far more often than
    # the one in six of a chance pick.
    categories = [h.category for h in PARAMS.haunts]
    favourite = members.select(
        "member_id", pl.col("favourite_brand_ids").list.get(categories.index("convenience_store")).alias("fav")
    )
    chains = (
        reps.filter(pl.col("category") == "convenience_store")
        .join(merchants.select("merchant_id", "brand_id"), on="merchant_id")
        .filter(pl.col("brand_id").is_not_null())
        .join(favourite, on="member_id")
    )
    assert (chains["brand_id"] == chains["fav"]).mean() > 2 / PARAMS.brands_per_category


def test_repertoires_change_slowly_and_follow_moves(scaled):
    s = scaled[LARGE]
    reps = s["truth"]["repertoires"]
    members = s["truth"]["members"]
    shoppers = reps["member_id"].n_unique()
    changed = reps.filter(pl.col("valid_from").is_not_null())["member_id"].n_unique()
    assert 0.05 < changed / shoppers < 0.4  # some change within half a year, most do not
    movers = members.filter(pl.col("moved_from").is_not_null()).select("member_id", "moved_from")
    assert movers.height > 0
    # The outlets a mover left behind: held until the move, not after.
    left = reps.filter(pl.col("valid_until").is_not_null()).join(movers, on="member_id")
    left = left.filter(pl.col("valid_until") == pl.col("moved_from"))
    assert left.height > 0
    bought = (
        s["events"]
        .filter(pl.col("scene") == "retail")
        .join(left.select("member_id", "merchant_id", "moved_from"), on=["member_id", "merchant_id"])
    )
    before = bought.filter(pl.col("month") < pl.col("moved_from")).height
    after = bought.filter(pl.col("month") >= pl.col("moved_from")).height
    assert before > 10 * max(after, 1)


def test_members_keep_joining_every_month(scaled):
    joins = pl.read_parquet(Snapshot.open(f"scale-{LARGE:g}").files("members")).filter(
        pl.col("join_date") >= PARAMS.start
    )
    months = joins.select(pl.col("join_date").dt.truncate("1mo")).unique().height
    assert months == len(PARAMS.month_starts())


def test_time_order_is_the_stable_argsort():
    """The generator's radix sort of event times gives numpy's stable argsort exactly, ties included."""
    rng = np.random.default_rng(5)
    origin = 20_089 * 86_400_000_000
    at = origin + rng.integers(0, 31 * 86_400_000_000, 50_000)
    at[::7] = at[1]  # many ties
    assert (time_order(at, origin) == np.argsort(at, kind="stable")).all()
    before = np.array([origin - 5, origin + 3, origin - 5])  # outside the radix range: falls back
    assert (time_order(before, origin) == np.argsort(before, kind="stable")).all()
