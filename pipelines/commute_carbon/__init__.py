"""Commute carbon (enterprise sustainability): for an employer whose staff use the card as a
staff card, the commutes detected from their taps, passenger-km by mode, the emissions they
caused (GHG Protocol Scope 3 category 7, distance-based) and, separately, the emissions
avoided against a private-vehicle counterfactual, each as a low / central / high range.

    detect.py     commute detection (pure), its rule in config/commute.toml
    marts.py      the marts (commute_days, commute_pkm), documented in marts.toml
    sql/          stg_staff_cards -> int_staff_trips -> rpt_* (one query a file)
    emissions.py  factors, counterfactual and kg CO2e (pure; factors in data/reference/)
    report.py     one employer's figures, suppressed
Notebook: notebooks/commute_carbon.ipynb; tests: tests/commute_carbon/.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.commute_carbon import marts
from pipelines.commute_carbon.report import check_params
from pipelines.core.family import Family, query_list

FAMILY = Family(
    name="commute_carbon",
    title="Commute carbon",
    package=Path(__file__).parent,
    build=marts.build,
    lists={"@carbon_programme": query_list(marts.SQL, "rpt_list_carbon_programme")},
    check=check_params,
    scenes=("transit",),
)
