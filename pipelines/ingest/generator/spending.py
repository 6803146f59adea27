"""Retail, bill and peer-to-peer scenes: one month of purchases, bill payments and transfers."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.ingest.generator.population import Block, Population, rng_for
from pipelines.ingest.generator.timing import HOUR_PROFILES, active_window, draw_days, draw_times

_US_PER_MINUTE = 60_000_000


def _pick_in_groups(
    rng: np.random.Generator, item_group: np.ndarray, n_groups: int, row_group: np.ndarray, skew: float = 1.0
) -> np.ndarray:
    """For each row, an item of its group (index into items), or -1 where the group is empty.

    `skew` > 1 favours the group's first items, so a few outlets are busier than the rest.
    """
    order = np.argsort(item_group, kind="stable")
    counts = np.bincount(item_group, minlength=n_groups)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    c = counts[row_group]
    pos = np.floor(rng.random(len(row_group)) ** skew * c).astype(np.int64)
    picked = order[np.minimum(offsets[row_group] + pos, len(order) - 1)]
    return np.where(c > 0, picked, -1)


def _member_counts(
    pop: Population, members: np.ndarray, rng: np.random.Generator, mean: float, lo_day: int, hi_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members of `members` repeated once per event, and everyone's active window."""
    lo, hi = active_window(pop.member_join_day, pop.member_stop_day, lo_day, hi_day)
    frac = np.clip(hi[members] - lo[members], 0, None) / (hi_day - lo_day)
    count = rng.poisson(mean * pop.member_intensity[members] * frac)
    return np.repeat(members, count), lo, hi


def _amount(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.maximum(1, np.round(rng.lognormal(np.log(median), sigma))).astype(np.int32)


def _active_at(pop: Population, member: np.ndarray, us: np.ndarray) -> np.ndarray:
    day = us // (1440 * _US_PER_MINUTE)
    return (pop.member_join_day[member] <= day) & (day < pop.member_stop_day[member])


def month_spending(pop: Population, block: Block, seed: int, lo_day: int, hi_day: int) -> dict[str, pl.DataFrame]:
    """The block's purchases, bill payments and sent transfers in [lo_day, hi_day), sorted by time."""
    rng = rng_for(seed, "spending", lo_day, block.index)
    p = pop.params
    members = pop.members
    account_ids = members["account_id"]
    n_dist = pop.districts.height

    # --- purchases -----------------------------------------------------------------------
    who, lo, hi = _member_counts(pop, block.members, rng, p.purchases, lo_day, hi_day)
    cats = [c for c, _, _ in p.category_mix]
    share = np.array([s for _, s, _ in p.category_mix])
    cat = rng.choice(len(cats), len(who), p=share / share.sum())
    district = np.where(rng.random(len(who)) < 0.6, pop.member_home[who], rng.integers(0, n_dist, len(who)))
    m_cat = pop.merchants["category"].replace_strict({c: i for i, c in enumerate(cats)}).to_numpy()
    m_dist = (
        pop.merchants["district_id"]
        .replace_strict(dict(zip(pop.districts["district_id"], range(n_dist), strict=True)))
        .to_numpy()
    )
    merchant = _pick_in_groups(rng, m_cat * n_dist + m_dist, len(cats) * n_dist, cat * n_dist + district, skew=1.6)
    fallback = _pick_in_groups(rng, m_cat, len(cats), cat, skew=1.6)
    merchant = np.where(merchant >= 0, merchant, fallback)
    keep = merchant >= 0
    who, cat, merchant = who[keep], cat[keep], merchant[keep]
    day = draw_days(rng, lo[who], hi[who])
    at = np.empty(len(who), dtype=np.int64)
    for i, c in enumerate(cats):
        sel = cat == i
        at[sel] = draw_times(rng, day[sel], HOUR_PROFILES[c])
    amount = _amount(rng, np.array([m for _, _, m in p.category_mix])[cat], 0.55)
    wallet = rng.random(len(who)) < p.wallet_payment_share
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
        }
    )

    # --- transfers: everyday sends within friend and family clusters, and split bills ---------
    n_members = members.height
    sender, _, _ = _member_counts(pop, block.members, rng, p.p2p_transfers, lo_day, hi_day)
    s_lo, s_hi = active_window(pop.member_join_day[sender], pop.member_stop_day[sender], lo_day, hi_day)
    t_at = draw_times(rng, draw_days(rng, s_lo, s_hi), HOUR_PROFILES["transfer"])
    recipient = _pick_in_groups(rng, pop.member_cluster, n_members, pop.member_cluster[sender])
    t_amount = (np.maximum(1, np.round(rng.lognormal(np.log(500), 0.8, len(sender)) / 10)) * 10).astype(np.int32)
    # Split the bill: after a larger food-and-drink purchase, one to three friends pay back a share.
    food = np.flatnonzero((np.array(cats)[cat] == "food_and_drink") & (amount >= 300))
    split = food[rng.random(len(food)) < p.split_bill_share]
    k = rng.integers(1, 4, len(split))
    payer = np.repeat(who[split], k)
    friend = _pick_in_groups(rng, pop.member_cluster, n_members, pop.member_cluster[payer])
    s_at = np.repeat(at[split], k) + np.round(rng.uniform(5, 180, len(payer)) * _US_PER_MINUTE).astype(np.int64)
    s_amount = np.maximum(1, np.round(np.repeat(amount[split], k) / (np.repeat(k, k) + 1))).astype(np.int32)
    frm = np.concatenate([sender, friend])
    to = np.concatenate([recipient, payer])
    t_at = np.concatenate([t_at, s_at])
    t_amount = np.concatenate([t_amount, s_amount])
    ok = (frm != to) & (to >= 0) & _active_at(pop, frm, t_at) & (t_at < hi_day * 1440 * _US_PER_MINUTE)
    transfers = pl.DataFrame(
        {
            "transferred_at": pl.Series(t_at[ok]).cast(pl.Datetime("us")),
            "from_account_id": account_ids.gather(frm[ok]),
            "to_account_id": account_ids.gather(to[ok]),
            "amount": t_amount[ok],
        }
    )

    # --- bill payments: each bill the member holds, once a month while active --------------
    m = block.members
    holds = pop.member_bills[m] & (hi[m] > lo[m])[:, None]
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
        "purchases": _in_time_order(purchases, at),
        "bill_payments": _in_time_order(bills, b_at),
        "transfers": _in_time_order(transfers, t_at[ok]),
    }


def _in_time_order(frame: pl.DataFrame, at_us: np.ndarray) -> pl.DataFrame:
    """Rows by time; a stable NumPy sort on the integer times is far cheaper than sorting the frame."""
    return frame[np.argsort(at_us, kind="stable")]
