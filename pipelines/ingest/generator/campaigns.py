"""Campaigns planted in the SYNTHETIC city: offers and subsidies, their holdouts and true effects.

Each month after the first, a few merchants and chains send an offer to an audience of
shoppers and the operator sends a subsidy to its occasional shoppers; a random share of each
audience is held out (drawn from the campaign's seed and each member's ID, as the audience
command draws it). A treated member who is active that month makes extra purchases at the
offer's owner (or anywhere, for a subsidy) at a rate that depends on their tier, zero for
daily members: the true effect differs by segment and is written to the ground truth.
Every purchase by a treated member at the owner inside the campaign's days redeems it,
whether the offer caused it or not, as real offers do.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.core.draw import MAX_REACH, SYNTHETIC_KEY, holdout
from pipelines.core.schema import table
from pipelines.ingest.generator.population import Population, rng_for
from pipelines.ingest.generator.timing import HOUR_PROFILES, draw_times

_EPOCH = dt.date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000
#: A purchase's NT$ is lognormal around its category's median with this sigma (spending.py).
AMOUNT_SIGMA = 0.55


@dataclass
class Plan:
    """The campaigns of a snapshot and their audiences (one row per member and campaign)."""

    campaigns: pl.DataFrame  # the campaigns table
    month: np.ndarray  # per campaign: month index in the period
    first_day: np.ndarray  # per campaign: first day (days since epoch)
    stop_day: np.ndarray  # per campaign: the day after the last
    outlets: list[np.ndarray]  # per campaign: outlets whose purchases count (empty: any, a subsidy)
    category: np.ndarray  # per campaign: category of its extra purchases (-1: the member's own mix)
    offer_value: np.ndarray  # per campaign: NT$ per redemption
    campaign: np.ndarray  # per audience row: campaign index
    member: np.ndarray  # per audience row: member index
    treated: np.ndarray  # per audience row
    lift: np.ndarray  # per audience row: extra purchases the offer brings if treated (expected)


def _count(params_value: float, scale: float) -> int:
    return max(1, round(params_value * math.sqrt(scale)))


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def plan(pop: Population, seed: int) -> Plan:
    """Every campaign of the period: who owns it, who was in its audience and which arm."""
    p = pop.params
    rng = rng_for(seed, "campaigns")
    scale = pop.members.height / p.members_per_scale
    starts = p.month_starts()
    n_members = pop.members.height
    shoppers = np.flatnonzero(pop.uses(np.arange(n_members), "retail"))
    tier_names = [t.name for t in p.tiers]
    lift_of = {name: (offer, subsidy) for name, offer, subsidy in p.campaign_lift}
    offer_lift = np.array([lift_of.get(t, (0.0, 0.0))[0] for t in tier_names])
    subsidy_lift = np.array([lift_of.get(t, (0.0, 0.0))[1] for t in tier_names])
    rows: list[dict] = []
    month, first, stop, outlets, category = [], [], [], [], []
    # Per campaign, its audience rows: campaign index, member, treated, lift. Each list starts
    # with an empty part, so that a period without campaigns concatenates to empty arrays.
    parts: dict[str, list[np.ndarray]] = {
        "campaign": [np.array([], dtype=np.int64)],
        "member": [np.array([], dtype=np.int64)],
        "treated": [np.array([], dtype=bool)],
        "lift": [np.array([], dtype=np.float64)],
    }
    brands = pop.merchants["brand_id"]
    if "retail" not in p.scenes or len(shoppers) == 0 or pop.merchants.height == 0:
        starts = starts[:1]
    for m in range(1, len(starts)):
        n_offers = _count(p.offers_per_month, scale)
        for k in range(n_offers + 1):
            subsidy = k == n_offers
            day0 = _days(starts[m]) + int(rng.integers(1, 8))
            days = p.campaign_days
            size = _count(p.audience_members, scale)
            if subsidy:
                pool = shoppers[pop.member_tier[shoppers] == tier_names.index("occasional")]
                owner_kind, owner_id, cat, counted = "operator", None, -1, np.array([], dtype=np.int64)
                name, rule = f"Operator subsidy {starts[m]:%Y-%m}", "members who shop with the card only in some months"
                value = p.subsidy_value
            else:
                pool = shoppers
                outlet = int(rng.integers(pop.merchants.height))
                cat = int(pop.merchant_category[outlet])
                brand = brands[outlet]
                if brand is not None and rng.random() < 0.5:
                    owner_kind, owner_id = "chain", brand
                    counted = np.flatnonzero((brands == brand).to_numpy())
                    rule = "members who shop with the card"
                else:
                    owner_kind, owner_id, counted = "merchant", pop.merchants["merchant_id"][outlet], np.array([outlet])
                    # An outlet's offer goes to shoppers who live in its district.
                    district = pop.merchants["district_id"][outlet]
                    home = pop.districts["district_id"].gather(pop.home_at(shoppers, m)).to_numpy()
                    near = shoppers[home == district]
                    pool = near if len(near) else shoppers
                    rule = f"members who shop with the card and live in district {district}"
                name = f"{pop.merchants['merchant_name'][outlet] if owner_kind == 'merchant' else owner_id} offer"
                value = int(rng.choice(p.offer_values))
            # Never the whole eligible pool (core/draw.py, MAX_REACH); only members registered
            # before the campaign starts stay in its audience.
            chosen = np.sort(rng.choice(pool, min(size, int(len(pool) * MAX_REACH)), replace=False))
            chosen = chosen[pop.member_join_day[chosen] < day0]
            share = float(rng.choice(p.holdout_shares))
            campaign_seed = int(rng.integers(1, 2**31))
            index = len(rows)
            rows.append(
                {
                    "campaign_id": f"C{index + 1:05d}",
                    "campaign_name": name,
                    "kind": "operator_subsidy" if subsidy else "merchant_offer",
                    "owner_kind": owner_kind,
                    "owner_id": owner_id,
                    "audience_rule": f"{rule}: {len(chosen):,} drawn at random",
                    "start_date": dt.date.fromordinal(_EPOCH.toordinal() + day0),
                    "end_date": dt.date.fromordinal(_EPOCH.toordinal() + day0 + days - 1),
                    "offer_value": value,
                    "holdout_share": share,
                    "seed": campaign_seed,
                }
            )
            month.append(m)
            first.append(day0)
            stop.append(day0 + days)
            outlets.append(counted)
            category.append(cat)
            tier_lift = subsidy_lift if subsidy else offer_lift
            tier = pop.member_tier[chosen]
            lift = np.where(tier >= 0, tier_lift[np.maximum(tier, 0)], 0.0)
            parts["campaign"].append(np.full(len(chosen), index))
            parts["member"].append(chosen)
            members = pop.members["member_id"].gather(chosen)
            parts["treated"].append(~holdout(members, f"C{index + 1:05d}", campaign_seed, share, SYNTHETIC_KEY))
            parts["lift"].append(lift)
    campaigns = pl.DataFrame(rows, schema=table("campaigns").polars_schema)
    return Plan(
        campaigns=campaigns,
        month=np.array(month, dtype=np.int64),
        first_day=np.array(first, dtype=np.int64),
        stop_day=np.array(stop, dtype=np.int64),
        outlets=outlets,
        category=np.array(category, dtype=np.int64),
        offer_value=campaigns["offer_value"].to_numpy(),
        **{name: np.concatenate(arrays) for name, arrays in parts.items()},
    )


def tables(pop: Population, plan: Plan, months: int) -> dict[str, pl.DataFrame]:
    """The campaigns started in the population's first `months` months, their assignments and
    (as "campaign_effects") their true effects."""
    kept = plan.campaigns["campaign_id"].filter(pl.Series(plan.month < months)).implode()
    started = pl.col("campaign_id").is_in(kept)
    return {
        "campaigns": plan.campaigns.filter(started),
        "campaign_assignments": assignments(pop, plan).filter(started),
        "campaign_effects": truth(pop, plan).filter(started),
    }


def _window(pop: Population, plan: Plan, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For these audience rows: the days [lo, hi) of the campaign the member could buy on
    (registered and not yet dormant), and the share of the campaign's days that is, zero in a
    month the member does not use the card."""
    c, m = plan.campaign[rows], plan.member[rows]
    lo = np.maximum(plan.first_day[c], pop.member_join_day[m])
    hi = np.minimum(plan.stop_day[c], pop.member_stop_day[m])
    share = np.clip(hi - lo, 0, None) / (plan.stop_day[c] - plan.first_day[c])
    return lo, hi, share * pop.member_active[m, plan.month[c]]


def assignments(pop: Population, plan: Plan) -> pl.DataFrame:
    """The campaign_assignments table: the treatment arm is sent the offer on its first morning."""
    rng = rng_for(0, "campaign sends")
    sent = plan.first_day[plan.campaign] * _US_PER_DAY + (
        8 * 3_600_000_000 + rng.integers(0, 3_600_000_000, len(plan.campaign))
    )
    return pl.DataFrame(
        {
            "campaign_id": plan.campaigns["campaign_id"].gather(plan.campaign),
            "member_id": pop.members["member_id"].gather(plan.member),
            "arm": np.where(plan.treated, "treatment", "holdout"),
            "sent_at": pl.select(
                pl.when(pl.Series(plan.treated)).then(pl.Series(sent).cast(pl.Datetime("us")))
            ).to_series(),
        }
    )


def truth(pop: Population, plan: Plan) -> pl.DataFrame:
    """What each member of each audience would gain from being treated (expected extra
    purchases and NT$ at the counted outlets), for tests to check the measured effects."""
    medians = np.array([m for _, _, m in pop.params.category_mix])
    mean_amount = np.exp(AMOUNT_SIGMA**2 / 2)
    cat = plan.category[plan.campaign]
    # A subsidy's extra purchases follow the category mix: its mean ticket is the mix's.
    share = np.array([s for _, s, _ in pop.params.category_mix])
    mix_mean = float((share / share.sum()) @ medians) * mean_amount
    ticket = np.where(cat >= 0, medians[np.maximum(cat, 0)] * mean_amount, mix_mean)
    extra = plan.lift * _window(pop, plan, np.arange(len(plan.campaign)))[2]
    return pl.DataFrame(
        {
            "campaign_id": plan.campaigns["campaign_id"].gather(plan.campaign),
            "member_id": pop.members["member_id"].gather(plan.member),
            "arm": np.where(plan.treated, "treatment", "holdout"),
            "tier": pl.Series([t.name for t in pop.params.tiers] + [None]).gather(
                np.where(pop.member_tier[plan.member] >= 0, pop.member_tier[plan.member], len(pop.params.tiers))
            ),
            "true_extra_purchases": extra,
            "true_extra_ntd": extra * ticket,
        }
    )


def extra_purchases(
    pop: Population, plan: Plan, block_members: np.ndarray, seed: int, month: int, lo_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The purchases the block's treated members make because of this month's campaigns:
    (member, outlet or -1 for "one of the member's own", category or -1, time in us)."""
    rng = rng_for(seed, "campaign purchases", lo_day, int(block_members[0]) if len(block_members) else 0)
    rows = np.flatnonzero(
        (plan.month[plan.campaign] == month)
        & plan.treated
        & (plan.member >= block_members[0] if len(block_members) else False)
        & (plan.member <= block_members[-1] if len(block_members) else False)
    )
    c, m = plan.campaign[rows], plan.member[rows]
    lo, hi, share = _window(pop, plan, rows)
    n = rng.poisson(plan.lift[rows] * share)
    who = np.repeat(np.arange(len(rows)), n)
    c, m, lo, hi = c[who], m[who], lo[who], hi[who]
    day = lo + np.floor(rng.random(len(who)) * (hi - lo)).astype(np.int64)
    outlet = np.array([plan.outlets[i][rng.integers(len(plan.outlets[i]))] if len(plan.outlets[i]) else -1 for i in c])
    outlet = outlet.astype(np.int64) if len(outlet) else np.array([], dtype=np.int64)
    cat = plan.category[c]
    at = np.empty(len(who), dtype=np.int64)
    names = [h.category for h in pop.params.haunts]
    for i, name in enumerate(names):
        sel = cat == i
        at[sel] = draw_times(rng, day[sel], HOUR_PROFILES[name])
    own = cat < 0
    at[own] = draw_times(rng, day[own], HOUR_PROFILES["convenience_store"])
    return m, outlet, cat, at


def redemptions(plan: Plan, purchases: pl.DataFrame) -> pl.DataFrame:
    """Every purchase by a treated member at a campaign's counted outlets (any outlet for a
    subsidy) inside its days redeems it: the offer pays min(its value, the amount).
    `purchases` carries the payer's and the outlet's index as _member and _outlet."""
    if plan.campaigns.height == 0 or purchases.height == 0:
        return pl.DataFrame(schema={"campaign_id": pl.String, "purchase_id": pl.Int64, "value": pl.Int64})
    treated = pl.DataFrame(
        {"_campaign": plan.campaign[plan.treated], "_member": plan.member[plan.treated]},
        schema={"_campaign": pl.Int64, "_member": pl.Int64},
    )
    windows = pl.DataFrame(
        {
            "_campaign": np.arange(plan.campaigns.height),
            "_first": plan.first_day * _US_PER_DAY,
            "_stop": plan.stop_day * _US_PER_DAY,
            "_value": plan.offer_value,
        },
        schema={"_campaign": pl.Int64, "_first": pl.Int64, "_stop": pl.Int64, "_value": pl.Int64},
    )
    counted = pl.DataFrame(
        {
            "_campaign": np.concatenate([np.full(len(o), i) for i, o in enumerate(plan.outlets)] or [np.array([])]),
            "_outlet": np.concatenate([o for o in plan.outlets] or [np.array([])]),
        },
        schema={"_campaign": pl.Int64, "_outlet": pl.Int64},
    )
    subsidies = [i for i, o in enumerate(plan.outlets) if len(o) == 0]
    us = pl.col("purchased_at").cast(pl.Int64)
    hits = (
        purchases.select("purchase_id", "purchased_at", "amount", "_member", "_outlet")
        .join(treated, on="_member")
        .join(windows, on="_campaign")
        .filter((us >= pl.col("_first")) & (us < pl.col("_stop")))
        .join(counted, on=["_campaign", "_outlet"], how="left", coalesce=False)
        .filter(pl.col("_campaign").is_in(subsidies) | pl.col("_outlet_right").is_not_null())
    )
    return hits.select(
        campaign_id=plan.campaigns["campaign_id"].gather(hits["_campaign"]),
        purchase_id=pl.col("purchase_id"),
        value=pl.min_horizontal(pl.col("_value"), pl.col("amount").cast(pl.Int64)),
    ).sort("campaign_id", "purchase_id")
