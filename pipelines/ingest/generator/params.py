"""Documented parameters of the synthetic card-data generator.

Every figure here is an assumption chosen to make the data behave like a stored-value card
operator's, unless its comment cites a source; none is a measured fact about a real operator's
members. Change them here, not in code.

Sources cited below:
- [seeds] the figures about the operator that issue 17 gives as its seeds (public statements
  of the operator; the original wording was not checked here): about 5.3 million e-payment
  users, growing by tens of thousands a month; 410,000 acceptance points; over 3,000 bill
  types; social transfers above NT$7 billion a month; typical users pay "once every few days",
  and the operator wants them to pay daily.
- [icash] icash Pay's disclosed figures for May 2021 (Wikipedia, "Icash Pay", from the FSC's
  monthly e-payment disclosures): 607,000 users and NT$199.45 million of purchases, NT$329 per
  user in the month: most registered e-payment accounts are used little or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from pipelines.core.schema import SCENES

GENERATOR_VERSION = "2.4.0"

#: Commute patterns an employee can follow; "rail" is the system of the work station
#: (MRT or light rail), "bus+rail" is a bus feeder leg then a rail leg.
COMMUTE_PATTERNS = ("rail", "bus", "tra", "bike", "bus+rail")
#: Places a member's regular outlets are chosen around. "work" is the work place of a working
#: member and the school of a student; "path" is the midpoint of home and work, standing for
#: the commute between them. A member without work or school has only "home".
ANCHORS = ("home", "work", "path")


@dataclass(frozen=True)
class Profile:
    """Which scenes a member uses at all: every registered member has exactly one profile."""

    name: str
    scenes: tuple[str, ...]
    #: Share of registered members, before the tilt for concession-fare riders.
    share: float
    #: Retail paid from the wallet only, never by tapping the card.
    wallet_only: bool = False


@dataclass(frozen=True)
class Tier:
    """How often an active member uses the card."""

    name: str
    #: Share of the members who use any scene.
    share: float
    #: Chance of being active in a given month (some events possible); otherwise none at all.
    monthly_active: float
    #: Multiplier of the per-scene rates below in an active month.
    rate: float


@dataclass(frozen=True)
class Haunt:
    """A category's regular outlets: how many a member keeps, from how near, and how far they explore."""

    category: str
    #: Regular outlets of the category in a member's repertoire.
    slots: int
    #: They are chosen among this many outlets of the category nearest each anchor.
    nearby: int
    #: Exploring purchases go to one of this many outlets nearest an anchor. Both sizes are
    #: counts, not distances: the neighbourhood holds as many outlets whatever the scale, so
    #: repeat visits do not thin out as the city fills up.
    explore: int


@dataclass(frozen=True)
class GeneratorParams:
    start: dt.date = dt.date(2025, 1, 1)
    months: int = 6
    #: Months the population is drawn over (who joins, churns, moves or changes jobs when; the
    #: campaigns): None for `months`. A snapshot of fewer months than its horizon is the
    #: horizon's first months, as they stood at its end, so that `generate --extends` can add
    #: the next month to it and the result equals a snapshot generated whole.
    horizon: int | None = None
    #: The scenes the operator runs; the tables of the others are written empty.
    scenes: tuple[str, ...] = SCENES
    #: Row counts scale linearly with these per-unit-of-scale counts.
    members_per_scale: int = 10_000
    #: Members per unit of work. Fixed (not tied to the machine) because each unit has its
    #: own random stream: the same seed gives the same data on any number of cores.
    block_members: int = 25_000
    #: 16.7 registered members per outlet; [seeds] give 5.3 million e-payment users on 410,000
    #: acceptance points, 12.9 per point.
    merchants_per_scale: int = 600
    #: Chain brands per category: six, so that a chain can have the five rival chains its peer
    #: benchmark needs.
    brands_per_category: int = 6
    employers_per_scale: int = 12
    anonymous_cards_per_member: float = 0.15

    # --- who uses the card at all, and in which scenes ---------------------------------------
    #: Activity profiles. Registered members who never use the card are common (see [icash]);
    #: transit-only riders are mostly students and seniors on concession fares; wallet-only
    #: payers pay shops, bills and friends from the app; a minority uses every scene. Shares
    #: are assumptions.
    profiles: tuple[Profile, ...] = (
        Profile("dormant", (), 0.18),
        Profile("transit_only", ("transit",), 0.21),
        Profile("wallet_only", ("retail", "bills", "p2p"), 0.10, wallet_only=True),
        Profile("shopper", ("retail",), 0.08),
        Profile("rider_shopper", ("transit", "retail"), 0.21),
        Profile("rider_payer", ("transit", "retail", "bills"), 0.10),
        Profile("every_scene", SCENES, 0.12),
    )
    #: Profile weight multipliers for members on concession fares (aged 22 or under, or 65
    #: and over): more of them only ride (assumption).
    concession_tilt: tuple[tuple[str, float], ...] = (
        ("transit_only", 2.5),
        ("wallet_only", 0.4),
        ("every_scene", 0.5),
    )
    #: How often members who use the card use it. The regular tier pays "once every few
    #: days" [seeds] (about ten purchases in an active month); the daily tier is what the
    #: operator wants of everyone. Shares and chances are assumptions.
    tiers: tuple[Tier, ...] = (
        Tier("occasional", 0.40, 0.50, 0.30),
        Tier("regular", 0.45, 0.93, 1.0),
        Tier("daily", 0.15, 1.0, 2.6),
    )
    #: Within a tier, each member's intensity is lognormal(0, sigma).
    activity_sigma: float = 0.5
    #: Events per active month of a regular member at intensity 1, in the scenes they use.
    #: Transfers (median NT$800) come to about NT$1,300 a month per e-payment user (a member
    #: who paid or sent from the wallet), as NT$7 billion a month over 5.3 million users do
    #: [seeds]; the other rates are assumptions.
    member_trips: float = 14.0
    anonymous_trips: float = 6.0
    purchases: float = 10.0
    p2p_transfers: float = 4.0
    transfer_median_ntd: float = 800.0
    #: Share of active members (joined before the period) that fall dormant part-way through
    #: it (churn); they used the card every month until then.
    churn_share: float = 0.12
    #: Members joining each month, as a share of the members registered by the period's end:
    #: tens of thousands a month on 5.3 million [seeds] is 0.4-1 % (0.8 % assumed).
    joining_per_month: float = 0.008
    second_card_share: float = 0.2
    #: Share of retail paid from the wallet by members who also tap the card.
    wallet_payment_share: float = 0.3
    #: Share of working-age members who carry a staff card (they all ride to work).
    employee_share: float = 0.18
    #: Share of other members aged 22-64 who work somewhere, which anchors their regular
    #: places (assumption; Taiwan's labour-force participation is about 59 % of all over 15).
    work_share: float = 0.7
    leave_day_share: float = 0.08
    split_bill_share: float = 0.15
    #: Registered members whose gender, birth year or home district the operator does not
    #: know (assumptions). Minors always have a birth year: a guardian registers it.
    unknown_gender_share: float = 0.03
    unknown_birth_year_share: float = 0.04
    unknown_district_share: float = 0.05

    # --- regular places ------------------------------------------------------------------------
    #: Per category: the regular outlets a member keeps, and the neighbourhood sizes. A member
    #: keeps several convenience stores and eateries and one department store (assumptions).
    haunts: tuple[Haunt, ...] = (
        Haunt("convenience_store", 3, 10, 25),
        Haunt("food_and_drink", 4, 12, 30),
        Haunt("supermarket", 2, 5, 12),
        Haunt("pharmacy", 1, 5, 12),
        Haunt("department_store", 1, 3, 6),
        Haunt("fuel", 1, 4, 10),
        Haunt("parking", 2, 5, 12),
        Haunt("bookstore", 1, 3, 8),
        Haunt("entertainment", 2, 4, 10),
    )
    #: Share of purchases made at the member's regular outlets; the rest explore nearby.
    regular_share: float = 0.85
    #: Weight of the outlets of the member's favourite chain (one per category) when choosing
    #: regular places (assumption).
    favourite_chain_weight: float = 5.0
    #: Weight of an anchor's outlets when choosing regular places: home, work, path.
    anchor_weights: tuple[float, float, float] = (1.0, 0.8, 0.4)
    #: Repertoires change slowly: each month, a member replaces one regular outlet with this
    #: chance; moves home and changes of job (per member and month) renew the outlets around
    #: the old home or work place. Staff-card holders neither move nor change jobs inside
    #: the period, so that their planted commute stays one pattern (assumptions).
    outlet_change_per_month: float = 0.03
    move_per_month: float = 0.006
    job_change_per_month: float = 0.01
    age_bands: tuple[tuple[int, int, float], ...] = (
        (14, 20, 0.10),
        (21, 29, 0.17),
        (30, 44, 0.28),
        (45, 64, 0.30),
        (65, 85, 0.15),
    )
    female_share: float = 0.52
    leisure_modes: tuple[tuple[str, float], ...] = (
        ("mrt", 0.40),
        ("lrt", 0.10),
        ("bus", 0.35),
        ("bike", 0.10),
        ("tra", 0.05),
    )
    category_mix: tuple[tuple[str, float, float], ...] = field(
        # category, share of purchases, median ticket in NT$
        default=(
            ("convenience_store", 0.45, 85),
            ("food_and_drink", 0.20, 180),
            ("supermarket", 0.10, 450),
            ("pharmacy", 0.05, 300),
            ("department_store", 0.04, 1500),
            ("fuel", 0.05, 600),
            ("parking", 0.05, 60),
            ("bookstore", 0.03, 350),
            ("entertainment", 0.03, 400),
        )
    )
    #: Share of outlets per category, and the share of a category's outlets in chains.
    outlet_mix: tuple[tuple[str, float, float], ...] = (
        ("convenience_store", 0.30, 0.95),
        ("food_and_drink", 0.30, 0.30),
        ("supermarket", 0.07, 0.80),
        ("pharmacy", 0.08, 0.50),
        ("department_store", 0.02, 0.90),
        ("fuel", 0.05, 0.90),
        ("parking", 0.08, 0.70),
        ("bookstore", 0.05, 0.40),
        ("entertainment", 0.05, 0.30),
    )
    #: Bill types: share of bill-paying members holding the bill (each holds at least one),
    #: median amount in NT$. The operator accepts over 3,000 bill types [seeds]; the schema
    #: groups them into these six kinds.
    bills: tuple[tuple[str, float, float], ...] = (
        ("electricity", 0.60, 1200),
        ("water", 0.50, 350),
        ("gas", 0.20, 500),
        ("telecom", 0.70, 700),
        ("tax_and_fees", 0.10, 3000),
        ("insurance", 0.15, 2500),
    )

    # --- campaigns: offers and subsidies sent with a random holdout -----------------------------
    #: Merchant offers a month at scale 1, growing with the square root of the scale (the
    #: operator's campaign team does not grow with its members); one operator subsidy a month
    #: on top. Campaigns start in the second month, so that each has a month before it.
    offers_per_month: float = 2.0
    #: Audience of a campaign at scale 1, also growing with the square root of the scale.
    audience_members: int = 1500
    #: Days a campaign runs, inside one month, and the NT$ of an offer and of a subsidy.
    campaign_days: int = 14
    offer_values: tuple[int, ...] = (20, 30, 50, 100)
    subsidy_value: int = 30
    holdout_shares: tuple[float, ...] = (0.1, 0.2, 0.5)
    #: The planted effect: extra purchases an offer (at its owner) or a subsidy (anywhere)
    #: brings a treated member of each tier who is active in the campaign's month, over its
    #: days. Daily members buy anyway, so neither moves them: a segment of zero effect
    #: (assumptions, chosen to differ by segment, not measured).
    campaign_lift: tuple[tuple[str, float, float], ...] = (
        ("occasional", 0.8, 0.6),
        ("regular", 0.4, 0.3),
        ("daily", 0.0, 0.0),
    )

    def __post_init__(self) -> None:
        unknown = {s for p in self.profiles for s in p.scenes} - set(SCENES)
        if unknown:
            raise ValueError(f"profiles name unknown scenes {sorted(unknown)}; scenes are {', '.join(SCENES)}")
        # Categories are indexed by position in all three tables.
        names = [h.category for h in self.haunts]
        if [c for c, _, _ in self.category_mix] != names or [c for c, _, _ in self.outlet_mix] != names:
            raise ValueError("haunts, category_mix and outlet_mix must list the same categories in the same order")
        if self.horizon is not None and self.horizon < self.months:
            raise ValueError(f"the horizon ({self.horizon} months) cannot be shorter than the months ({self.months})")

    def drawn(self) -> GeneratorParams:
        """The parameters the population is drawn with: the whole horizon."""
        return replace(self, months=self.horizon or self.months, horizon=None)

    @property
    def end(self) -> dt.date:
        """Last day of the period."""
        y, m = divmod(self.start.month - 1 + self.months, 12)
        return dt.date(self.start.year + y, m + 1, 1) - dt.timedelta(days=1)

    def month_starts(self) -> list[dt.date]:
        out = []
        for i in range(self.months):
            y, m = divmod(self.start.month - 1 + i, 12)
            out.append(dt.date(self.start.year + y, m + 1, 1))
        return out


#: Named shapes of operator for `generate --shape`: the default card operator, and a sparse
#: retail-only log like a web shop's (a few orders a year per customer, most customers buying
#: once or twice), the kind of extract on which RFM scores used to collapse.
SHAPES: dict[str, GeneratorParams] = {
    "default": GeneratorParams(),
    "retail-sparse": replace(
        GeneratorParams(),
        scenes=("retail",),
        profiles=(Profile("dormant", (), 0.1), Profile("shopper", ("retail",), 0.9)),
        concession_tilt=(),
        # Most customers order once or twice in half a year; a few order every month or two.
        tiers=(Tier("occasional", 0.9, 0.8, 0.04), Tier("regular", 0.1, 0.9, 0.25)),
        activity_sigma=1.0,
        churn_share=0.4,
    ),
}
