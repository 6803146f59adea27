"""Reproducible random draws keyed by an ID: the same seed and ID give the same draw anywhere.

A campaign's holdout is drawn from its seed and each member's ID, not from a random stream,
so that the generator, the audience command and anyone re-checking an assignment file get
the same arms without sharing state, and a member's arm does not depend on who else is in
the audience.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_MIX = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-mixed 64-bit hash of each unsigned integer."""
    x = x.astype(np.uint64) + _MIX
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_uniform(x: np.ndarray) -> np.ndarray:
    """Hashes to floats uniform in (0, 1), from their top 53 bits."""
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def id_uniform(ids: pl.Series, seed: int) -> np.ndarray:
    """A uniform (0, 1) draw per ID (IDs like M00001234: a letter, then digits)."""
    digits = ids.str.slice(1).cast(pl.UInt64, strict=True).to_numpy()
    return unit_uniform(splitmix64(splitmix64(np.full(len(digits), seed, dtype=np.uint64)) ^ digits))


def holdout(member_ids: pl.Series, seed: int, share: float) -> np.ndarray:
    """True for the members drawn into a campaign's holdout (each with chance `share`)."""
    if not 0 < share < 1:
        raise ValueError(f"the holdout share must lie strictly between 0 and 1, got {share}")
    return id_uniform(member_ids, seed) < share


def assignments(member_ids: pl.Series, campaign_id: str, seed: int, share: float) -> pl.DataFrame:
    """A campaign's audience drawn into arms, shaped as the campaign_assignments table (sent_at
    is left empty: the sending system fills it in for the treatment arm)."""
    held = holdout(member_ids, seed, share)
    return pl.DataFrame(
        {
            "campaign_id": pl.Series([campaign_id] * len(member_ids), dtype=pl.String),
            "member_id": member_ids.cast(pl.String),
            "arm": pl.Series(["treatment", "holdout"], dtype=pl.String).gather(held.astype("int64")),
            "sent_at": pl.Series([None] * len(member_ids), dtype=pl.Datetime("us")),
        }
    ).sort("member_id")
