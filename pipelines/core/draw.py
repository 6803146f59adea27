"""Reproducible random draws keyed by an ID: the same key, seed and ID give the same draw.

A campaign's holdout is drawn from a secret key, the campaign's ID and seed, and each member's
ID, not from a random stream, so that anyone holding the key (the operator re-checking an assignment file,
the measurement) gets the same arms without sharing state, and a member's arm does not depend
on who else is in the audience. The key is what keeps the draw unpredictable: a merchant
knows, from the redemptions at its till, some customers who were treated; were the draw a
function of a seed and the ID alone, trying every seed against them would single it out (an
audit did so for a 31-bit seed in minutes) and give every customer's arm. The operator's draws
use its secret key (pipelines/privacy/noise.py); the SYNTHETIC generator a public one. The
campaign's ID is in the draw too: two campaigns drawn with the same seed (a second audit asked
for one with a holdout of 0.0001, whose redemptions then showed who the first had held out)
draw independently.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

_MIX = np.uint64(0x9E3779B97F4A7C15)
#: The key of the SYNTHETIC generator's draws: public, for synthetic data only.
SYNTHETIC_KEY = b"card-insights SYNTHETIC campaigns: a public key, never for real data"
#: The largest share of the members who match an audience's rule that a campaign reaches. Were
#: it all of them, a merchant would know that every matching customer who paid without
#: redeeming was held out; a random fifth left out makes any one of them unsure.
MAX_REACH = 0.8


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-mixed 64-bit hash of each unsigned integer."""
    x = x.astype(np.uint64) + _MIX
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_uniform(x: np.ndarray) -> np.ndarray:
    """Hashes to floats uniform in (0, 1), from their top 53 bits."""
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def id_uniform(ids: pl.Series, scope: str, seed: int, key: bytes, purpose: str = "holdout") -> np.ndarray:
    """A uniform (0, 1) draw per ID: BLAKE2b keyed with `key` over the scope (a campaign ID)
    and the ID, salted with the seed (0 to 2^63 - 1); `purpose` (up to 16 bytes) keeps draws
    for different ends independent."""
    if not 0 <= seed < 2**63:
        raise ValueError(f"a seed is a whole number from 0 to 2^63 - 1, got {seed}")
    salt = seed.to_bytes(16, "big")
    person = purpose.encode()
    digests = b"".join(
        hashlib.blake2b(f"{scope}|{i}".encode(), digest_size=8, key=key[:64], salt=salt, person=person).digest()
        for i in ids
    )
    return unit_uniform(np.frombuffer(digests, dtype=">u8").astype(np.uint64))


def holdout(member_ids: pl.Series, campaign_id: str, seed: int, share: float, key: bytes) -> np.ndarray:
    """True for the members drawn into a campaign's holdout (each with chance `share`)."""
    if not 0 < share < 1:
        raise ValueError(f"the holdout share must lie strictly between 0 and 1, got {share}")
    return id_uniform(member_ids, campaign_id, seed, key) < share


def reached(member_ids: pl.Series, campaign_id: str, seed: int, reach: float, key: bytes) -> np.ndarray:
    """True for the matching members a campaign reaches (each with chance `reach`)."""
    if not 0 < reach <= MAX_REACH:
        raise ValueError(
            f"the reach must lie above 0 and at most {MAX_REACH}, got {reach}: were every member who matches the "
            "rule in the audience, a merchant would know that each who paid without redeeming was held out"
        )
    return id_uniform(member_ids, campaign_id, seed, key, purpose="reach") < reach


def assignments(member_ids: pl.Series, campaign_id: str, seed: int, share: float, key: bytes) -> pl.DataFrame:
    """A campaign's audience drawn into arms, shaped as the campaign_assignments table (sent_at
    is left empty: the sending system fills it in for the treatment arm)."""
    held = holdout(member_ids, campaign_id, seed, share, key)
    return pl.DataFrame(
        {
            "campaign_id": pl.Series([campaign_id] * len(member_ids), dtype=pl.String),
            "member_id": member_ids.cast(pl.String),
            "arm": pl.Series(["treatment", "holdout"], dtype=pl.String).gather(held.astype("int64")),
            "sent_at": pl.Series([None] * len(member_ids), dtype=pl.Datetime("us")),
        }
    ).sort("member_id")
