"""Retail, bill and peer-to-peer scenes: one month of purchases, bill payments and transfers."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.ingest.generator.campaigns import AMOUNT_SIGMA, Plan, extra_purchases
from pipelines.ingest.generator.places import Repertoire
from pipelines.ingest.generator.population import Block, Population, rng_for
from pipelines.ingest.generator.timing import HOUR_PROFILES, active_window, draw_days, draw_times, time_order

_US_PER_MINUTE = 60_000_000


def _member_counts(
    pop: Population,
    members: np.ndarray,
    rng: np.random.Generator,
    mean: float,
    scene: str,
    month: int,
    lo_day: int,
    hi_day: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in `members` repeated once per event of the scene, and everyone's active window.

    Only members who use the scene and are active this month have events; the count follows
    their rate and the share of the month they were registered and not dormant."""
    lo, hi = active_window(pop.member_join_day, pop.member_stop_day, lo_day, hi_day)
    frac = np.clip(hi[members] - lo[members], 0, None) / (hi_day - lo_day)
    on = pop.active_in(members, month) & pop.uses(members, scene)
    count = rng.poisson(mean * pop.member_rate[members] * frac * on)
    return np.repeat(np.arange(len(members)), count), lo, hi


def _amount(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.maximum(1, np.round(rng.lognormal(np.log(median), sigma))).astype(np.int32)


def _active_at(pop: Population, member: np.ndarray, us: np.ndarray) -> np.ndarray:
    day = us // (1440 * _US_PER_MINUTE)
    return (pop.member_join_day[member] <= day) & (day < pop.member_stop_day[member])


def _outlets(
    pop: Population, rep: Repertoire, rng: np.random.Generator, who: np.ndarray, cat: np.ndarray, month: int
) -> np.ndarray:
    """An outlet per purchase of the given categories: mostly one of the member's regular
    outlets, else one explored nearby; -1 where the city has none."""
    regular = rng.random(len(who)) < pop.params.regular_share
    rows = rep.rows(who)
    merchant = np.full(len(who), -1)
    for c in range(len(pop.params.category_mix)):
        idx = np.flatnonzero(cat == c)
        picked = np.full(len(idx), -1)
        reg = regular[idx]
        picked[reg] = rep.regular(rng, rows[idx[reg]], c, month)
        # A purchase with no regular outlet of its category (a tiny city) explores instead.
        away = picked < 0
        picked[away] = rep.explore(pop, rng, rows[idx[away]], c, month)
        merchant[idx] = picked
    return merchant


def month_spending(
    pop: Population, block: Block, rep: Repertoire, plan: Plan, seed: int, month: int, lo_day: int, hi_day: int
) -> dict[str, pl.DataFrame]:
    """The block's purchases, bill payments and sent transfers in [lo_day, hi_day) (month index
    `month` of the period), sorted by time."""
    rng = rng_for(seed, "spending", lo_day, block.index)
    p = pop.params
    members = pop.members
    account_ids = members["account_id"]

    # --- purchases: mostly at the member's regular outlets, the rest exploring nearby -------
    rows, lo, hi = _member_counts(pop, block.members, rng, p.purchases, "retail", month, lo_day, hi_day)
    who = block.members[rows]
    cats = [c for c, _, _ in p.category_mix]
    share = np.array([s for _, s, _ in p.category_mix])
    cat = rng.choice(len(cats), len(who), p=share / share.sum())
    merchant = _outlets(pop, rep, rng, who, cat, month)
    keep = merchant >= 0
    who, cat, merchant = who[keep], cat[keep], merchant[keep]
    day = draw_days(rng, lo[who], hi[who])
    at = np.empty(len(who), dtype=np.int64)
    for i, c in enumerate(cats):
        sel = cat == i
        at[sel] = draw_times(rng, day[sel], HOUR_PROFILES[c])
    # Campaigns: the extra purchases an offer or a subsidy brought the block's treated members.
    e_who, e_outlet, e_cat, e_at = extra_purchases(pop, plan, block.members, seed, month, lo_day)
    own = e_cat < 0
    e_cat[own] = rng.choice(len(cats), int(own.sum()), p=share / share.sum())
    e_outlet[own] = _outlets(pop, rep, rng, e_who[own], e_cat[own], month)
    e_ok = e_outlet >= 0
    who = np.concatenate([who, e_who[e_ok]])
    cat = np.concatenate([cat, e_cat[e_ok]])
    merchant = np.concatenate([merchant, e_outlet[e_ok]])
    at = np.concatenate([at, e_at[e_ok]])
    amount = _amount(rng, np.array([m for _, _, m in p.category_mix])[cat], AMOUNT_SIGMA)
    wallet = pop.member_wallet_only[who] | (rng.random(len(who)) < p.wallet_payment_share)
    purchases = pl.DataFrame(
        {
            "purchased_at": pl.Series(at).cast(pl.Datetime("us")),
            "merchant_id": pop.merchants["merchant_id"].gather(merchant),
            "amount": amount,
            "payment_method": pl.Series(["card", "wallet"]).gather(wallet.astype(np.int64)),
            "card_id": pl.select(
                pl.when(pl.Series(~wallet)).then(pop.cards["card_id"].gather(pop.member_card[who]))
            ).to_series(),
            "account_id": pl.select(pl.when(pl.Series(wallet)).then(account_ids.gather(who))).to_series(),
            # Dropped before writing: who paid and where, for the campaigns' redemptions.
            "_member": who.astype(np.int64),
            "_outlet": merchant.astype(np.int64),
        }
    )

    # --- transfers: everyday sends within friend and family clusters, and split bills ---------
    # Only members who use transfers send or receive them, and only in months they are active.
    s_rows, _, _ = _member_counts(pop, block.members, rng, p.p2p_transfers, "p2p", month, lo_day, hi_day)
    sender = block.members[s_rows]
    s_lo, s_hi = active_window(pop.member_join_day[sender], pop.member_stop_day[sender], lo_day, hi_day)
    t_at = draw_times(rng, draw_days(rng, s_lo, s_hi), HOUR_PROFILES["transfer"])
    recipient = pop.friends.other(rng, sender, pop.member_cluster[sender])
    t_amount = (
        np.maximum(1, np.round(rng.lognormal(np.log(p.transfer_median_ntd), 0.8, len(sender)) / 10)) * 10
    ).astype(np.int32)
    # Split the bill: after a larger food-and-drink purchase by a member who uses transfers,
    # one to three friends pay back a share.
    food = np.flatnonzero((np.array(cats)[cat] == "food_and_drink") & (amount >= 300) & (pop.member_cluster[who] >= 0))
    split = food[rng.random(len(food)) < p.split_bill_share]
    k = rng.integers(1, 4, len(split))
    payer = np.repeat(who[split], k)
    friend = pop.friends.other(rng, payer, pop.member_cluster[payer])
    s_at = np.repeat(at[split], k) + np.round(rng.uniform(5, 180, len(payer)) * _US_PER_MINUTE).astype(np.int64)
    s_amount = np.maximum(1, np.round(np.repeat(amount[split], k) / (np.repeat(k, k) + 1))).astype(np.int32)
    frm = np.concatenate([sender, friend])
    to = np.concatenate([recipient, payer])
    t_at = np.concatenate([t_at, s_at])
    t_amount = np.concatenate([t_amount, s_amount])
    ok = (frm != to) & (to >= 0) & (frm >= 0)
    ok[ok] &= _active_at(pop, frm[ok], t_at[ok]) & pop.member_active[frm[ok], month]
    # Money goes only to a wallet that exists: the recipient has joined by then.
    ok[ok] &= pop.member_join_day[to[ok]].astype(np.int64) * 1440 * _US_PER_MINUTE <= t_at[ok]
    ok &= t_at < hi_day * 1440 * _US_PER_MINUTE
    transfers = pl.DataFrame(
        {
            "transferred_at": pl.Series(t_at[ok]).cast(pl.Datetime("us")),
            "from_account_id": account_ids.gather(frm[ok]),
            "to_account_id": account_ids.gather(to[ok]),
            "amount": t_amount[ok],
        }
    )

    # --- bill payments: each bill the member holds, once in each month they are active ------
    m = block.members
    holds = pop.member_bills[m] & ((hi[m] > lo[m]) & pop.active_in(m, month))[:, None]
    b_local, b_type = np.nonzero(holds)
    b_member = m[b_local]
    b_at = draw_times(rng, draw_days(rng, lo[b_member], hi[b_member]), HOUR_PROFILES["bill"])
    b_amount = _amount(rng, np.array([m for _, _, m in p.bills])[b_type], 0.35)
    bills = pl.DataFrame(
        {
            "paid_at": pl.Series(b_at).cast(pl.Datetime("us")),
            "account_id": account_ids.gather(b_member),
            "biller_type": pl.Series([b for b, _, _ in p.bills]).gather(b_type),
            "amount": b_amount,
        }
    )
    return {
        "purchases": _in_time_order(purchases, at, lo_day),
        "bill_payments": _in_time_order(bills, b_at, lo_day),
        "transfers": _in_time_order(transfers, t_at[ok], lo_day),
    }


def _in_time_order(frame: pl.DataFrame, at_us: np.ndarray, lo_day: int) -> pl.DataFrame:
    """Rows by time; a stable NumPy sort on the integer times is far cheaper than sorting the frame."""
    return frame[time_order(at_us, lo_day * 86_400_000_000)]
