"""A campaign's audience and arms, drawn for the operator's own sending system (`audience
--campaign`), with what keeps a merchant from picking the holdout apart:

- the audience is a random share of the members who match the rule (`reach`, at most
  MAX_REACH), so a matching customer who paid without redeeming was held out or never reached;
- both draws are keyed by the operator's secret key, the campaign's ID and its seed
  (pipelines/core/draw.py), so redemptions seen at a till do not give the seed away;
- a holdout share from 5 % to 50 %: a second campaign of the same audience with a near-zero
  holdout would treat everyone it reaches, and its redemptions would show who the first held
  out (a second audit did so, 127 of 127 right, when campaigns could share a draw);
- each campaign is drawn once: its settings are kept (data/privacy/published/campaign-draws/),
  a redraw with the same settings gives the same file and one with others is refused, as is a
  campaign the snapshot already carries;
- a merchant or chain gets at most MERCHANT_CAMPAIGNS_PER_YEAR campaigns a calendar year. A
  redemption proves that the customer matches the offer's rule, and a member's card and wallet
  are always in the same arm: a fifth audit ran 76 offers for one chain, a ladder of spend
  thresholds and district codes, and read its customers' spending elsewhere (96 % within the
  band) and home districts (94 %), and linked 201 cards to their owners' wallets, all right.
  A dozen rules a year still tell a dozen such facts about the customers who redeem: keep the
  rules a merchant may ask for coarse (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

import duckdb
import polars as pl

from pipelines.core import catalog
from pipelines.core.draw import MAX_REACH, assignments, reached
from pipelines.privacy.noise import noise_key
from pipelines.privacy.published import once, published_path

#: The holdout shares a campaign may declare.
HOLDOUT_RANGE = (0.05, 0.5)
#: Campaigns a merchant or chain may have drawn in a calendar year (the operator's own: any).
MERCHANT_CAMPAIGNS_PER_YEAR = 12
KEPT = "campaign-draws"


def check_settings(holdout: float, reach: float, seed: int | None) -> None:
    lo, hi = HOLDOUT_RANGE
    if not lo <= holdout <= hi:
        raise ValueError(
            f"--holdout must lie from {lo} to {hi}, got {holdout}: a smaller holdout measures little and, beside "
            "another campaign for the same members, would show which of them this one held out"
        )
    if not 0 < reach <= MAX_REACH:
        raise ValueError(
            f"--reach must lie above 0 and at most {MAX_REACH}, got {reach}: with every matching member in the "
            "audience, a merchant would know that each who paid without redeeming was held out"
        )
    if seed is not None and not 0 <= seed < 2**63:
        raise ValueError(f"--seed must be a whole number from 0 to 2^63 - 1, got {seed}")


def _check_owner(con: duckdb.DuckDBPyConnection, owner: str, campaign: str, today: dt.date) -> None:
    """The owner exists, and a merchant or chain has campaigns left this year."""
    if owner == "operator":
        return
    known = catalog.frame(
        con,
        "SELECT count(*) AS n FROM merchants WHERE merchant_id = $o OR brand_id = $o",
        {"o": owner},
    )
    if not known["n"][0]:
        raise ValueError(
            f"--owner {owner!r} is neither 'operator' nor an outlet (S...) or chain (B...) of the snapshot"
        )
    drawn = {p.stem: json.loads(p.read_text()) for p in published_path(KEPT, campaign).parent.glob("*.json")}
    this_year = [d for d in drawn.values() if d.get("owner") == owner and d.get("drawn_on", "")[:4] == str(today.year)]
    if campaign not in drawn and len(this_year) >= MERCHANT_CAMPAIGNS_PER_YEAR:
        raise ValueError(
            f"{owner} has had {len(this_year)} campaigns drawn in {today.year}, the most a merchant may: each "
            "offer's redemptions tell it which customers match the offer's rule"
        )


def draw(
    con: duckdb.DuckDBPyConnection,
    members: pl.Series,
    campaign: str,
    owner: str,
    holdout: float,
    reach: float,
    seed: int | None,
    rule: str,
    today: dt.date | None = None,
) -> tuple[pl.DataFrame, int]:
    """The campaign's assignments (its reached members, each in an arm) and the seed used."""
    check_settings(holdout, reach, seed)
    today = today or dt.date.today()
    known = catalog.frame(con, "SELECT count(*) AS n FROM campaigns WHERE campaign_id = $c", {"c": campaign})
    if known["n"][0]:
        raise ValueError(f"campaign {campaign} is already in the snapshot: it was sent; choose a new campaign ID")
    _check_owner(con, owner, campaign, today)
    wanted = {"owner": owner, "holdout": holdout, "reach": reach, "rule": rule}
    fresh = secrets.randbelow(2**63) if seed is None else seed
    kept = once(KEPT, campaign, lambda: wanted | {"seed": fresh, "drawn_on": today.isoformat()})
    if {k: kept.get(k) for k in wanted} != wanted or (seed is not None and kept["seed"] != seed):
        raise ValueError(
            f"campaign {campaign} was drawn before for {kept.get('owner')} with holdout {kept['holdout']}, reach "
            f"{kept['reach']}, seed {kept['seed']} and the rule '{kept['rule']}' ({published_path(KEPT, campaign)}): "
            "a second draw with other settings could show a merchant who was held out; choose a new campaign ID"
        )
    key = noise_key()
    audience = members.filter(pl.Series(reached(members, campaign, kept["seed"], reach, key)))
    return assignments(audience, campaign, kept["seed"], holdout, key), kept["seed"]
