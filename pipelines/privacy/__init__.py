"""Disclosure control: the one module through which every family suppresses what it shows
outside the operator (merchant profiles, employers' carbon reports, audience counts).

Rules (see the merchant profile's methods note):
- Small cells: a displayed cell counting fewer than K_MIN distinct people (but more than none)
  is suppressed. K_MIN is set here and nowhere else; no report parameter changes it.
- Complementary suppression: a table whose cells add up to a published total (customers by
  age band add up to the customers in the headline) must not let a suppressed cell be worked
  out by subtraction. So while a table has exactly one suppressed cell, or its suppressed
  cells together count fewer than k customers, the smallest remaining non-zero cell is
  suppressed too. What a reader can then learn is only the sum of two or more suppressed
  cells, which is itself at least k.
- Peer benchmarks are shown only for a group of at least PEER_MIN_MERCHANTS merchants none of
  which has more than PEER_MAX_SHARE of the group's business (merchant profiles measure it by
  the peers' noisy transactions).
- Identifiers: only aggregate columns may leave; frames carrying an identifier column are
  refused.
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.core.schema import BRAND_ID, MERCHANT_ID

#: The smallest group of people any released figure may describe.
K_MIN = 10
PEER_MIN_MERCHANTS = 5
PEER_MAX_SHARE = 0.5
#: Columns that identify a person, a card, an account or a single transaction.
IDENTIFIERS = frozenset({"member_id", "card_id", "account_id", "customer_id", "purchase_id", "guardian_member_id"})


class PrivacyError(ValueError):
    """A parameter or an output that would break the disclosure rules."""


def readable(value: float, margin: float) -> bool:
    """Whether a noisy figure says something: its 95 % margin is at most half of it (the noise
    of a sum, scaled to what one member can add, drowns a small merchant's NT$; the noise of a
    count, a segment of a few members)."""
    return value > 0 and margin <= value / 2


def check_unit(unit: str) -> str:
    """A merchant outlet ID or chain brand ID as the schema defines them (safe in file names)."""
    if not (re.fullmatch(MERCHANT_ID, unit) or re.fullmatch(BRAND_ID, unit)):
        raise PrivacyError(f"merchant must be an outlet ID like S0000001 or a brand ID like B0001, got {unit!r}")
    return unit


def suppress(
    cells: pl.DataFrame,
    additive: bool = True,
    count: str = "customers",
    figures: list[str] | None = None,
    noisy: bool = False,
) -> pl.DataFrame:
    """Suppress small cells of one displayed table (null its figures, `suppressed` true).

    `cells` has a `count` column (distinct people in the cell) and other figures; `figures`
    are the columns nulled in a suppressed cell (default: every numeric column).
    `additive`: the cells partition a published total, so complementary suppression applies.
    `noisy`: the counts carry differential-privacy noise, so a zero is as small as any count
    under K_MIN, and no complement is needed (no cell can be worked out from the others).
    """
    k = K_MIN
    n = cells[count].to_list()
    hidden = [c < k if noisy else 0 < c < k for c in n]
    additive = additive and not noisy
    if additive and any(hidden):
        order = sorted((c, i) for i, c in enumerate(n) if c > 0)
        while sum(hidden) == 1 or sum(c for c, h in zip(n, hidden, strict=True) if h) < k:
            nxt = next(((c, i) for c, i in order if not hidden[i]), None)
            if nxt is None:
                break
            hidden[nxt[1]] = True
    flags = pl.Series("suppressed", hidden, dtype=pl.Boolean)
    figures = figures if figures is not None else [c for c in cells.columns if cells[c].dtype.is_numeric()]
    return cells.with_columns(flags).with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in figures]
    )


def peer_status(sizes: list[int], measure: str = "revenue") -> tuple[bool, str]:
    """Whether a peer group may be shown, and why not when it may not."""
    if len(sizes) < PEER_MIN_MERCHANTS:
        merchants = f"{len(sizes)} merchant{'' if len(sizes) == 1 else 's'}"
        return False, f"the peer group has {merchants}; at least {PEER_MIN_MERCHANTS} are needed"
    total = sum(sizes)
    if total <= 0 or max(sizes) > PEER_MAX_SHARE * total:
        return False, f"one merchant takes more than half of the peer group's {measure}"
    return True, ""


def shown_counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """For printing: suppressed counts as '<K_MIN', others with thousands separators."""
    return frame.with_columns(
        pl.col(column).map_elements(lambda n: f"{n:,}", return_dtype=pl.String).fill_null(f"<{K_MIN}").alias(column)
    )


def no_identifiers(frame: pl.DataFrame) -> pl.DataFrame:
    """The last check before a frame is shown: no identifier column may be in it."""
    found = IDENTIFIERS & set(frame.columns)
    if found:
        raise PrivacyError(f"refusing to release identifier columns {sorted(found)}")
    return frame
