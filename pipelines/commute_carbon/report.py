"""One employer's commute-carbon report: its rows of the commute marts over a period, the
headline, monthly and per-mode figures, and the spread across employees (suppressed)."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines import privacy
from pipelines.commute_carbon.emissions import (
    LEVELS,
    Factors,
    emissions,
    load_factors,
    monthly_figures,
    parse_mix,
    pkm_by_mode,
)
from pipelines.core import catalog
from pipelines.core.snapshot import Snapshot
from pipelines.core.sql import SqlFolder

SQL = SqlFolder.beside(__file__)


OTHER_MODES = "other modes"


#: Edges of the bands of avoided kg CO2e per employee and month: fixed, so that they say
#: nothing about any employee (the synthetic employers' median is about 20-27 kg).
AVOIDED_BANDS_KG = (0.0, 10.0, 20.0, 30.0, 50.0)


def _month_count(months: tuple[str, str]) -> int:
    (y0, m0), (y1, m1) = (map(int, m.split("-")) for m in months)
    return (y1 - y0) * 12 + m1 - m0 + 1


@dataclass
class EmployerReport:
    """One employer's commute emissions over a period, aggregated for reporting, every table
    through the disclosure rules of pipelines/privacy: no figure describes fewer than K_MIN
    employees, and none can be worked out from the headline and the others."""

    employer: dict
    months: tuple[str, str]  # first and last, YYYY-MM
    days: pl.DataFrame  # commute_days rows of the employer and period
    pkm: pl.DataFrame  # commute_pkm rows of the employer and period
    factors: Factors
    mix: dict[str, float]

    @property
    def empty(self) -> bool:
        return self.days.height == 0

    @property
    def enough_employees(self) -> bool:
        """At least K_MIN employees' commutes: otherwise the report shows no figures at all."""
        return self.days["card_id"].n_unique() >= privacy.K_MIN

    def headline(self) -> dict:
        kg = emissions(pkm_by_mode(self.pkm, ["employer_id"]), self.factors, self.mix, ["employer_id"])
        return {
            "employees_covered": self.days["card_id"].n_unique(),
            "commuting_days": int(self.days["commuting_days"].sum()),
            "commute_trips": int(self.days["commute_trips"].sum()),
            **kg.drop("employer_id").row(0, named=True),
        }

    def monthly(self) -> pl.DataFrame:
        """Per month; a month of fewer than K_MIN employees is left empty, with another beside it
        (the months add up to the headline)."""
        table = monthly_figures(self.days, self.pkm, self.factors, self.mix).drop("employer_id")
        figures = [c for c in table.columns if c not in ("month", "employees")] + ["employees"]
        return privacy.suppress(table, count="employees", figures=figures)

    def by_mode(self) -> pl.DataFrame:
        """Legs, passenger-km and caused emissions per mode. Modes used by fewer than K_MIN
        employees are pooled as "other modes", with the least used of the rest until the pool
        holds K_MIN employees: a mode one person rides never shows that person's commute."""
        users = self.pkm.group_by("mode").agg(pl.col("card_id").n_unique().alias("employees"))
        order = users.sort("employees", "mode")
        pooled: set[str] = set()
        cards: set[str] = set()
        small = set(order.filter(pl.col("employees") < privacy.K_MIN)["mode"])
        for mode in order["mode"].to_list():
            if mode not in small and (not pooled or len(cards) >= privacy.K_MIN):
                break
            pooled.add(mode)
            cards |= set(self.pkm.filter(pl.col("mode") == mode)["card_id"])
        shown_mode = pl.when(pl.col("mode").is_in(sorted(pooled))).then(pl.lit(OTHER_MODES)).otherwise("mode")
        rate = pl.DataFrame(
            [{"mode": m, **{f"kg_per_pkm_{lvl}": v[lvl] for lvl in LEVELS}} for m, v in self.factors.transit.items()]
        )
        caused = [(pl.col("pkm") * pl.col(f"kg_per_pkm_{lvl}")).alias(f"caused_kg_{lvl}") for lvl in LEVELS]
        return (
            pkm_by_mode(self.pkm, [])
            .join(rate, on="mode")
            .with_columns(*caused, shown_mode.alias("mode"))
            .group_by("mode")
            .agg(pl.col("pkm", "legs", *[f"caused_kg_{lvl}" for lvl in LEVELS]).sum())
            .with_columns((100 * pl.col("pkm") / pl.col("pkm").sum()).alias("share_of_pkm_pct"))
            .select("mode", "legs", "pkm", "share_of_pkm_pct", *[f"caused_kg_{lvl}" for lvl in LEVELS])
            .sort(pl.col("mode") == OTHER_MODES, "pkm", "mode", descending=[False, True, False])
        )

    def employee_distribution(self) -> pl.DataFrame:
        """Employees by avoided kg CO2e (central) per month of the period, in fixed bands
        (AVOIDED_BANDS_KG, every band listed, empty or not: bands drawn from the data would
        tell the top employee's figure), through the disclosure rules: the bands add up to the
        employees covered, so a small band takes another with it (employees null, `suppressed`
        true)."""
        per = emissions(pkm_by_mode(self.pkm, ["card_id"]), self.factors, self.mix, ["card_id"])["avoided_kg_central"]
        per_month = (per / _month_count(self.months)).to_list()
        edges = AVOIDED_BANDS_KG
        labels = [f"below {edges[0]:g}"]
        labels += [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
        labels += [f"{edges[-1]:g} or more"]
        counts = [0] * len(labels)
        for kg in per_month:
            counts[bisect.bisect_right(edges, kg)] += 1
        bands = pl.DataFrame({"kg_per_month": labels, "employees": counts})
        return privacy.suppress(bands, count="employees", figures=["employees"])


def check_params(con: duckdb.DuckDBPyConnection, snap: Snapshot, params: dict) -> None:
    """The carbon report's parameters, before it runs (the employer's existence is checked
    with every other report's names by the batch)."""
    if params["period"]:
        _period(params["period"])
    parse_mix(params["counterfactual_mix"], load_factors(params["factor_set"]))


def default_employer(con: duckdb.DuckDBPyConnection) -> str:
    """The first employer in the carbon programme: the report's default."""
    return catalog.frame(con, SQL.load("rpt_default_employer"))["employer_id"][0]


def employer_report(
    con: duckdb.DuckDBPyConnection,
    employer_id: str,
    period: str = "",
    factor_set: str = "",
    mix: str = "",
    whole_months: Sequence[str] = (),
) -> EmployerReport:
    """Check the parameters and gather one employer's rows of the commute marts. The default
    period is `whole_months` (the snapshot's months covered in full)."""
    employers = catalog.frame(con, SQL.load("rpt_employer"), {"employer_id": employer_id})
    if employers.height == 0:
        raise ValueError(f"unknown employer {employer_id!r}")
    if not period and not whole_months:
        raise ValueError("give a period (2025-01:2025-06) or the snapshot's whole months")
    lo, hi = (whole_months[0], whole_months[-1]) if not period else _period(period)
    factors = load_factors(factor_set)
    args = {"employer_id": employer_id, "first": lo, "last": hi}
    days = catalog.frame(con, SQL.load("rpt_employer_commute_days"), args)
    pkm = catalog.frame(con, SQL.load("rpt_employer_commute_pkm"), args)
    return EmployerReport(employers.row(0, named=True), (lo, hi), days, pkm, factors, parse_mix(mix, factors))


def _period(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(len(p) == 7 and p[4] == "-" and p.replace("-", "").isdigit() for p in parts):
        raise ValueError(f"period must look like 2025-01:2025-06, got {text!r}")
    if parts[0] > parts[1]:
        raise ValueError(f"period {text!r} ends before it starts")
    return parts[0], parts[1]
