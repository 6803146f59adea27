"""The disclosure rules of pipelines/privacy.py on small hand-made tables."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines import privacy


def _cells(*counts: int) -> pl.DataFrame:
    return pl.DataFrame({"value": [f"v{i}" for i in range(len(counts))], "customers": list(counts)})


def _hidden(frame: pl.DataFrame) -> list[str]:
    return frame.filter("suppressed")["value"].to_list()


def test_no_small_cells_nothing_suppressed():
    assert _hidden(privacy.suppress(_cells(12, 30, 10))) == []


def test_one_small_cell_takes_the_smallest_other_with_it():
    out = privacy.suppress(_cells(40, 3, 25, 12))
    assert _hidden(out) == ["v1", "v3"]
    assert out.filter("suppressed")["customers"].null_count() == 2


def test_suppressed_cells_must_together_reach_k():
    # 2 + 3 = 5 < 10, so the next smallest (6) goes too: 11 >= 10.
    assert _hidden(privacy.suppress(_cells(2, 3, 6, 50))) == ["v0", "v1", "v2"]


def test_zero_cells_are_neither_small_nor_complements():
    assert _hidden(privacy.suppress(_cells(0, 4, 20, 30))) == ["v1", "v2"]


def test_non_additive_tables_get_primary_suppression_only():
    assert _hidden(privacy.suppress(_cells(4, 20, 30), additive=False)) == ["v0"]


@pytest.mark.parametrize(
    ("revenues", "shown"),
    [
        ([10, 10, 10, 10], False),
        ([10, 10, 10, 10, 10], True),
        ([40, 10, 10, 10, 10], True),
        ([41, 10, 10, 10, 10], False),
    ],
)
def test_peer_rules(revenues, shown):
    assert privacy.peer_status(revenues)[0] is shown


@pytest.mark.parametrize("bad", ["../S0000001", "S0000001' OR 1=1", "S1", "", "B0001/x"])
def test_merchant_parameter_is_checked(bad):
    with pytest.raises(privacy.PrivacyError):
        privacy.check_unit(bad)


def test_identifier_columns_are_refused():
    with pytest.raises(privacy.PrivacyError, match="member_id"):
        privacy.release(pl.DataFrame({"member_id": ["M1"], "customers": [1]}))
