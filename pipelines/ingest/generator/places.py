"""Regular places: each member's repertoire of outlets near home, work and the commute.

A member keeps a few outlets of each category (Haunt.slots), chosen among the outlets of that
category nearest their home, their work place or school, and the midpoint between the two,
favouring the nearest and their favourite chain's. Most purchases go there; the rest explore
a wider neighbourhood around the same places. Both neighbourhoods hold a fixed number of
outlets, not a fixed area: as the city fills up with outlets at a larger scale, a member's
neighbourhood shrinks in area and keeps its size, so repeat visits do not depend on the scale.

"Nearest" is found on a Z-order curve: outlets of a category sorted by curve code, a binary
search for the member's place and a window around it, then ranked by true distance. The
window is a cheap stand-in for the exact nearest outlets, and it holds the same number of
outlets whatever the density.

A repertoire changes slowly: a member who moves home or changes job gets the outlets around
the new place from that month; otherwise a member may swap one regular outlet for the next
best during the period. How much a member likes each outlet is a fixed random affinity per
(member, outlet), so the outlets a member keeps through a move are the same ones as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.core.draw import splitmix64, unit_uniform
from pipelines.ingest.generator.params import ANCHORS
from pipelines.ingest.generator.population import NEVER, Population, first_month, morton, rng_for

#: Scale of a member's own taste for an outlet (a Gumbel draw) against closeness (distance over
#: the neighbourhood's mean) and the favourite chain (log of its weight): taste breaks ties
#: and varies members' choices without drowning distance and chain.
_TASTE = 0.5


def _affinity(salt: np.uint64, member: np.ndarray, outlet: np.ndarray) -> np.ndarray:
    """A Gumbel draw fixed per (member, outlet): the member's taste for that outlet."""
    u = unit_uniform(splitmix64((member.astype(np.uint64) << np.uint64(32)) ^ outlet.astype(np.uint64) ^ salt))
    return -np.log(-np.log(u))


@dataclass
class Repertoire:
    """A block's regular outlets (one column per slot) and where its members explore."""

    members: np.ndarray  # global member indices (sorted), row order of every array below
    columns: list[tuple[int, int]]  # per category: its slot columns [start, stop)
    slot_weight: np.ndarray  # per column: share of the category's regular purchases
    outlets: np.ndarray  # rows x columns: regular outlet (index into merchants), -1 for none
    anchor: np.ndarray  # rows x columns: index into ANCHORS the outlet was chosen around
    later: np.ndarray  # rows x columns: the outlet from month `change` on
    later_anchor: np.ndarray
    change: np.ndarray  # rows x columns: month index from which `later` applies, NEVER if none
    anchor_valid: np.ndarray  # rows x anchors: the member has this place
    anchor_change: np.ndarray  # rows x anchors: month index from which the new place applies
    position: list[tuple[np.ndarray, np.ndarray]]  # per category: rows x anchors, before / after

    def rows(self, members: np.ndarray) -> np.ndarray:
        """Rows of these members (who must be in the repertoire)."""
        return np.searchsorted(self.members, members)

    def regular(self, rng: np.random.Generator, rows: np.ndarray, category: int, month: int) -> np.ndarray:
        """One regular outlet per purchase (rows of this repertoire), or -1 where none."""
        start, stop = self.columns[category]
        if stop == start:
            return np.full(len(rows), -1)
        w = self.slot_weight[start:stop]
        col = start + rng.choice(stop - start, len(rows), p=w / w.sum())
        later = month >= self.change[rows, col]
        return np.where(later, self.later[rows, col], self.outlets[rows, col])

    def explore(
        self, pop: Population, rng: np.random.Generator, rows: np.ndarray, category: int, month: int
    ) -> np.ndarray:
        """One outlet per purchase from the wider neighbourhood of one of the member's places,
        other than the member's regular outlets of the category (drawn again, up to a few
        times): whether an explored outlet is a regular one would otherwise depend on how
        much the places' neighbourhoods overlap, which they do more in a sparse city."""
        order = pop.category_order[category]
        if len(order) == 0:
            return np.full(len(rows), -1)
        w = np.array(pop.params.anchor_weights) * self.anchor_valid[rows]
        cum = np.cumsum(w, axis=1)
        a = np.minimum((cum < (rng.random(len(rows)) * cum[:, -1])[:, None]).sum(axis=1), len(ANCHORS) - 1)
        before, after = self.position[category]
        moved = month >= self.anchor_change[rows, a]
        pos = np.where(moved, after[rows, a], before[rows, a])
        size = min(pop.params.haunts[category].explore, len(order))
        lo = np.clip(pos - size // 2, 0, len(order) - size)
        start, stop = self.columns[category]
        regular = np.where(
            month >= self.change[rows, start:stop], self.later[rows, start:stop], self.outlets[rows, start:stop]
        )
        picked = order[lo + rng.integers(0, size, len(rows))]
        for _ in range(4):
            again = np.flatnonzero((picked[:, None] == regular).any(axis=1))
            if len(again) == 0:
                break
            picked[again] = order[lo[again] + rng.integers(0, size, len(again))]
        return picked


def _anchors(pop: Population, members: np.ndarray, after: bool) -> np.ndarray:
    home = (pop.home_xy if after else pop.prev_home_xy)[members]
    work = (pop.work_xy if after else pop.prev_work_xy)[members]
    path = (home + work) / 2.0
    return np.stack([home, np.nan_to_num(work), np.nan_to_num(path)], axis=1)


def _choose(
    pop: Population,
    salt: np.uint64,
    members: np.ndarray,
    xy: np.ndarray,
    slot_anchor: np.ndarray,
    category: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For each member and slot, an outlet of the category among the outlets nearest the slot's
    anchor (-1 when the category has none), and the anchors' curve positions.

    Each outlet of an anchor's window is scored by closeness (distance over the window's mean
    distance, so the score does not depend on the density), the member's favourite chain and
    the member's fixed affinity; a slot takes the best outlet of its anchor's window that no
    earlier slot has taken. Without that, an outlet near two of the member's places would
    fill two slots, and more often in a sparse city than in a dense one, where the places'
    neighbourhoods overlap less: repeat visits would again depend on the scale."""
    p = pop.params
    n, slots = slot_anchor.shape
    order, codes = pop.category_order[category], pop.category_codes[category]
    pos = np.searchsorted(codes, morton(xy)).astype(np.int32)
    out = np.full((n, slots), -1, dtype=np.int32)
    if len(order) == 0 or n == 0 or slots == 0:
        return out, pos
    k = min(p.haunts[category].nearby, len(order))
    lo = np.clip(pos - k // 2, 0, len(order) - k)
    window = order[lo[..., None] + np.arange(k)]  # rows x anchors x k
    delta = pop.merchant_xy[window] - xy[:, :, None, :]
    d = np.hypot(delta[..., 0], delta[..., 1])
    key = -d / np.maximum(d.mean(axis=2, keepdims=True), 1e-6)
    favourite = pop.merchant_brand[window] == pop.member_favourite[members, category][:, None, None]
    key += np.where(favourite, np.log(p.favourite_chain_weight), 0.0)
    key += _TASTE * _affinity(salt, members[:, None, None], window)
    rows = np.arange(n)
    for s in range(slots):
        a = slot_anchor[:, s]
        best = np.argmax(key[rows, a], axis=1)
        ok = key[rows, a, best] > -np.inf
        out[ok, s] = window[rows, a, best][ok]
        # Taken: out of every window of the member, so no two slots hold the same outlet.
        key[window == out[:, s, None, None]] = -np.inf
    return out, pos


def repertoire(pop: Population, members: np.ndarray, seed: int, key: int) -> Repertoire:
    """The regular outlets of `members` (sorted; a block's shoppers), the same in every month's
    unit of the block; `key` (the block) seeds the random stream."""
    p = pop.params
    salt = np.random.SeedSequence([seed, 0x5EED]).generate_state(1, np.uint64)[0]
    rng = rng_for(seed, "repertoire", key)
    n = len(members)
    has_work = ~np.isnan(pop.work_xy[members, 0])
    valid = np.stack([np.ones(n, bool), has_work, has_work], axis=1)
    move = pop.member_move_month[members].astype(np.int16)
    job = pop.member_job_month[members].astype(np.int16)
    path = np.where((move > 0) & (job > 0), np.minimum(move, job), np.maximum(move, job))
    anchor_change = np.stack([move, job, path], axis=1)
    before_xy, after_xy = _anchors(pop, members, after=False), _anchors(pop, members, after=True)
    moving = np.flatnonzero(path > 0)
    total = sum(h.slots for h in p.haunts)
    # Each slot belongs to one of the member's places, by the anchor weights; one more column
    # per category is the next best outlet, which a slot may swap to.
    w = np.array(p.anchor_weights) * valid
    cum = np.cumsum(w, axis=1)
    draws = rng.random((n, total + len(p.haunts))) * cum[:, -1:]
    slot_anchor = np.minimum((cum[:, None, :] < draws[:, :, None]).sum(axis=2), len(ANCHORS) - 1)
    columns, weights, parts, positions = [], [], [], []
    start = 0
    for c, haunt in enumerate(p.haunts):
        s = haunt.slots
        columns.append((start, start + s))
        anchors = np.concatenate([slot_anchor[:, start : start + s], slot_anchor[:, total + c : total + c + 1]], axis=1)
        start += s
        weights.append(1.0 / np.arange(1, s + 1))
        picks, pos_before = _choose(pop, salt, members, before_xy, anchors, c)
        out, spare = picks[:, :s], np.repeat(picks[:, s:], s, axis=1)
        later = out.copy()
        change = np.full((n, s), NEVER, dtype=np.int16)
        pos_after = pos_before.copy()
        if len(moving):
            new, pos_new = _choose(pop, salt, members[moving], after_xy[moving], anchors[moving, :s], c)
            later[moving] = new
            change[moving] = np.where(new != out[moving], path[moving][:, None], NEVER)
            pos_after[moving] = pos_new
        parts.append((out, anchors[:, :s], later, change, spare, np.repeat(anchors[:, s:], s, axis=1)))
        positions.append((pos_before, pos_after))
    outlets, anchor, later, change, spare, spare_anchor = (np.concatenate(x, axis=1) for x in zip(*parts, strict=True))
    later_anchor = anchor.copy()
    # Members who neither move nor change job may swap one regular outlet for their next best
    # outlet of the same category during the period.
    swap_month = np.where(path > 0, NEVER, first_month(rng, n, p.months, p.outlet_change_per_month))
    swap_col = rng.integers(0, max(outlets.shape[1], 1), n)
    r = np.arange(n)
    rows = np.flatnonzero((swap_month < NEVER) & (spare[r, swap_col] >= 0) & (outlets[r, swap_col] >= 0))
    later[rows, swap_col[rows]] = spare[rows, swap_col[rows]]
    later_anchor[rows, swap_col[rows]] = spare_anchor[rows, swap_col[rows]]
    change[rows, swap_col[rows]] = swap_month[rows]
    return Repertoire(
        members=members,
        columns=columns,
        slot_weight=np.concatenate(weights),
        outlets=outlets,
        anchor=anchor.astype(np.int8),
        later=later,
        later_anchor=later_anchor.astype(np.int8),
        change=change,
        anchor_valid=valid,
        anchor_change=anchor_change,
        position=positions,
    )


def truth(pop: Population, rep: Repertoire) -> pl.DataFrame:
    """The planted repertoires: one row per member, regular outlet and version (a swapped or
    renewed outlet has a row until the change and one from it)."""
    months = np.array(pop.params.month_starts(), dtype="datetime64[D]")
    cats = np.array([h.category for h in pop.params.haunts])
    col_cat = np.concatenate([np.full(b - a, c) for c, (a, b) in enumerate(rep.columns)]).astype(int)
    col_slot = np.concatenate([np.arange(1, b - a + 1) for a, b in rep.columns]).astype(int)
    share = np.concatenate([w / w.sum() for w in np.split(rep.slot_weight, [b for _, b in rep.columns[:-1]])])
    out_rows, out_cols = np.nonzero(rep.outlets >= 0)
    changed = rep.change[out_rows, out_cols] < NEVER
    ch_rows, ch_cols = out_rows[changed], out_cols[changed]
    change_at = rep.change[ch_rows, ch_cols]
    row = np.concatenate([out_rows, ch_rows])
    col = np.concatenate([out_cols, ch_cols])
    outlet = np.concatenate([rep.outlets[out_rows, out_cols], rep.later[ch_rows, ch_cols]])
    anchor = np.concatenate([rep.anchor[out_rows, out_cols], rep.later_anchor[ch_rows, ch_cols]])
    until = np.full(len(out_rows), -1)
    until[changed] = rep.change[out_rows[changed], out_cols[changed]]
    since = np.concatenate([np.full(len(out_rows), -1), change_at])
    until = np.concatenate([until, np.full(len(ch_rows), -1)])
    # By member, then category and slot as the parameters list them, the earlier version first.
    o = np.lexsort((since, col, row))
    row, col, outlet, anchor, since, until = (x[o] for x in (row, col, outlet, anchor, since, until))
    return pl.DataFrame(
        {
            "member_id": pop.members["member_id"].gather(rep.members[row]),
            "category": pl.Series(cats).gather(col_cat[col]),
            "slot": col_slot[col].astype(np.int8),
            "merchant_id": pop.merchants["merchant_id"].gather(outlet),
            "anchor": pl.Series(ANCHORS).gather(anchor),
            "share_of_category": share[col],
        }
    ).with_columns(
        pl.when(pl.Series(since >= 0)).then(pl.Series(months[np.maximum(since, 0)])).alias("valid_from"),
        pl.when(pl.Series(until >= 0)).then(pl.Series(months[np.maximum(until, 0)])).alias("valid_until"),
    )
