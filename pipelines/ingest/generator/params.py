"""Documented parameters of the synthetic card-data generator.

Every figure here is an assumption chosen to make the data behave like a stored-value card
operator's; none is a measured fact about a real operator. Change them here, not in code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from pipelines.core.schema import SCENES

GENERATOR_VERSION = "1.1.0"

#: Commute patterns an employee can follow; "rail" is the system of the work station
#: (MRT or light rail), "bus+rail" is a bus feeder leg then a rail leg.
COMMUTE_PATTERNS = ("rail", "bus", "tra", "bike", "bus+rail")


@dataclass(frozen=True)
class GeneratorParams:
    start: dt.date = dt.date(2025, 1, 1)
    months: int = 6
    #: The scenes the operator runs; the tables of the others are written empty.
    scenes: tuple[str, ...] = SCENES
    #: Row counts scale linearly with these per-unit-of-scale counts.
    members_per_scale: int = 10_000
    #: Members per unit of work. Fixed (not tied to the machine) because each unit has its
    #: own random stream: the same seed gives the same data on any number of cores.
    block_members: int = 25_000
    merchants_per_scale: int = 600
    #: Chain brands per category: six, so that a chain can have the five rival chains its peer
    #: benchmark needs.
    brands_per_category: int = 6
    employers_per_scale: int = 12
    anonymous_cards_per_member: float = 0.15
    #: Activity: each member's intensity is lognormal(0, sigma); the means below are per
    #: active member-month at intensity 1.
    activity_sigma: float = 0.7
    leisure_trips: float = 8.0
    anonymous_trips: float = 6.0
    purchases: float = 12.0
    p2p_transfers: float = 1.5
    #: Share of members that fall dormant part-way through the period (churn).
    dormant_share: float = 0.12
    #: Share of members who join during the period (the rest joined from 2016 on).
    joining_share: float = 0.15
    second_card_share: float = 0.2
    wallet_payment_share: float = 0.3
    #: Share of working-age members who carry a staff card.
    employee_share: float = 0.18
    leave_day_share: float = 0.08
    split_bill_share: float = 0.15
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
    #: Bill types: share of adult members holding the bill, median amount in NT$.
    bills: tuple[tuple[str, float, float], ...] = (
        ("electricity", 0.60, 1200),
        ("water", 0.50, 350),
        ("gas", 0.20, 500),
        ("telecom", 0.70, 700),
        ("tax_and_fees", 0.10, 3000),
        ("insurance", 0.15, 2500),
    )

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
        GeneratorParams(), scenes=("retail",), purchases=0.4, activity_sigma=1.2, dormant_share=0.4
    ),
}
