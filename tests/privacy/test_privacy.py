"""The disclosure rules of pipelines/privacy.py on small hand-made tables."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
        privacy.no_identifiers(pl.DataFrame({"member_id": ["M1"], "customers": [1]}))


counts = st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=12)


@given(counts)
def test_property_no_shown_cell_is_small_and_no_lone_blank(n):
    """Any table of additive cells: a shown cell is 0 or at least K_MIN; blanks come two or
    more at a time, together holding at least K_MIN, unless every non-zero cell is blank."""
    out = privacy.suppress(_cells(*n))
    hidden = [c for c, h in zip(n, out["suppressed"], strict=True) if h]
    shown = [c for c, h in zip(n, out["suppressed"], strict=True) if not h]
    assert all(c == 0 or c >= privacy.K_MIN for c in shown)
    if hidden and any(c > 0 for c in shown):
        assert len(hidden) >= 2 and sum(hidden) >= privacy.K_MIN
    assert out.filter("suppressed")["customers"].null_count() == len(hidden)


@given(counts)
def test_property_noisy_counts_show_nothing_under_k(n):
    out = privacy.suppress(_cells(*n), noisy=True)
    assert all(c is None or c >= privacy.K_MIN for c in out["customers"])
    assert out["suppressed"].to_list() == [c < privacy.K_MIN for c in n]
