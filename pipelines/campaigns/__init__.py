"""Campaign effects (closing the loop): offers and subsidies sent with a random holdout, what
they changed (treatment minus holdout, CUPED, sample-ratio checks, effect by segment,
incremental NT$ per NT$ of offer), for the operator and, through the disclosure rules, for the
merchant who paid for the offer.

    marts.py      the marts (campaign_members, campaign_arms, campaign_effects, campaign_results),
                  documented in marts.toml
    sql/          stg_campaign_purchases -> int_campaign_* -> mart_* -> rpt_*
    effects.py    the statistics (tea-tasting's, over arrays) on the arms' aggregates; settings.py, config/
    report.py     what a report shows of one campaign, and the merchant's view of it
Notebook: notebooks/campaign_effect.ipynb; tests: tests/campaigns/.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.campaigns import marts
from pipelines.campaigns.report import check_params
from pipelines.core.family import Family, query_list
from pipelines.core.schema import CAMPAIGN_KINDS

FAMILY = Family(
    name="campaigns",
    title="Campaign effects",
    package=Path(__file__).parent,
    build=marts.build,
    reads=("rfm",),
    lists={
        "@month_campaigns": query_list(marts.SQL, "rpt_list_month_campaigns", {"kinds": list(CAMPAIGN_KINDS)}),
        "@month_merchant_offers": query_list(marts.SQL, "rpt_list_month_campaigns", {"kinds": ["merchant_offer"]}),
    },
    scenes=("retail",),
    check=check_params,
    notebook="campaign_effect.ipynb",
)
