"""Merchant customer profiles (merchant services): for one outlet or chain and month, who its
customers are in aggregate, next to a peer benchmark, with differential privacy.

    marts.py      the marts (exact aggregates; customer-level rows for releases), marts.toml
    sql/          int_merchant_* -> mart_merchant_* -> rpt_* (one query a file)
    config/       subscribers.csv: the merchants whose profile the monthly batch publishes
    release.py    a release: its units, contribution bounds, noise, kept noisy figures
    profile.py    one merchant's profile from its release; peers.py: its peer group
Reads the segment family's `rfm` mart. Notebook: notebooks/merchant_profile.ipynb; tests:
tests/merchant_profile/.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.core.family import Family, query_list
from pipelines.merchant_profile import marts
from pipelines.merchant_profile.profile import check_params
from pipelines.merchant_profile.release import batch_release
from pipelines.merchant_profile.subscribers import subscribers

FAMILY = Family(
    name="merchant_profile",
    title="Merchant customer profile",
    package=Path(__file__).parent,
    build=marts.build,
    reads=("rfm",),
    check=check_params,
    release=batch_release,
    scenes=("retail",),
    lists={
        "@subscribers": subscribers,
        "@merchant_sample": query_list(marts.SQL, "rpt_list_merchant_sample"),
        "@outlet_sample": query_list(marts.SQL, "rpt_list_outlet_sample"),
    },
)
