"""The privacy benchmark compares a release with the exact marts; checked where the answer is known."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.bench import privacy
from pipelines.core import catalog
from pipelines.privacy.accounting import load_privacy


@pytest.fixture()
def exact_release(monkeypatch):
    """Releases without noise and with a bound nobody reaches: every published figure is exact."""
    config = dataclasses.replace(load_privacy(), sigma=1e-3, max_units=1_000)
    monkeypatch.setattr(privacy, "load_privacy", lambda: config)
    # Such a release has no finite epsilon; OpenDP refuses to work one out.
    monkeypatch.setattr(type(config), "epsilon", lambda self, rho: float("inf"))


def test_a_release_without_noise_or_bound_matches_the_marts(snapshot, mart_con, exact_release):
    result = privacy.accuracy(snapshot, "every unit")
    units = catalog.frame(mart_con, "SELECT count(*) AS n FROM merchant_units")["n"][0]
    assert result["units"] == units
    assert result["bands"], "the test city has units to band"
    for band in result["bands"].values():
        assert band["median_customer_error"] == pytest.approx(0, abs=0.05)
        assert band["customers_kept"] == pytest.approx(1.0)
        if band["shares_within_2pp"] is not None:
            assert band["shares_within_2pp"] == 1.0
            assert band["median_share_error_pp"] == pytest.approx(0, abs=0.05)


def test_the_outlets100_batch_is_the_published_list_and_its_peers(snapshot, mart_con):
    result = privacy.accuracy(snapshot, "outlets100 batch")
    outlets = privacy.FAMILY.lists["@outlet_sample"](mart_con)
    assert result["units"] >= len(outlets)
    assert "Goal" in privacy._note(result) or "over 1,000" not in result["bands"]
