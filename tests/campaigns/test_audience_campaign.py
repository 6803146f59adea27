"""`audience --campaign` draws a campaign's arms reproducibly from a seed and writes them in
the shape of the campaign_assignments table, for the operator's own sending system."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from scipy import stats

from pipelines.core.draw import holdout
from pipelines.core.schema import table


def _audience(tmp_path, name: str, *extra: str) -> tuple[pl.DataFrame, str]:
    out = tmp_path / name
    args = [sys.executable, "-m", "pipelines", "audience", "--snapshot", "test", "--scene", "retail", "--out", str(out)]
    result = subprocess.run([*args, *extra], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return pl.read_csv(out, try_parse_dates=True), result.stdout + result.stderr


def test_arms_are_drawn_from_the_seed_and_the_member_alone(mart_con, tmp_path):
    plain, _ = _audience(tmp_path, "plain.csv")
    drawn, said = _audience(tmp_path, "a.csv", "--campaign", "C00099", "--holdout", "0.3", "--seed", "7")
    again, _ = _audience(tmp_path, "b.csv", "--campaign", "C00099", "--holdout", "0.3", "--seed", "7")
    other, _ = _audience(tmp_path, "c.csv", "--campaign", "C00099", "--holdout", "0.3", "--seed", "8")
    assert drawn.equals(again)
    assert not drawn["arm"].equals(other["arm"])
    assert sorted(drawn["member_id"]) == sorted(plain["member_id"])
    assert drawn.columns == table("campaign_assignments").column_names
    assert (drawn["campaign_id"] == "C00099").all() and drawn["sent_at"].is_null().all()
    held = drawn["arm"] == "holdout"
    assert held.to_list() == holdout(drawn["member_id"], 7, 0.3).tolist()
    # The holdout's size is binomial: far inside a 99.9 % range for this audience.
    lo, hi = stats.binom.ppf([0.0005, 0.9995], drawn.height, 0.3)
    assert lo <= held.sum() <= hi
    assert f"{int(held.sum()):,} held out" in said and "seed 7" in said


def test_a_draw_of_many_ids_holds_out_the_declared_share():
    ids = pl.Series([f"M{i:08d}" for i in range(1, 200_001)])
    for share in (0.1, 0.5):
        held = holdout(ids, 12345, share)
        assert held.mean() == pytest.approx(share, abs=0.005)
    # Two campaigns' draws are independent: a member's arm in one says nothing of the other.
    a, b = holdout(ids, 1, 0.5), holdout(ids, 2, 0.5)
    assert (a & b).mean() == pytest.approx(0.25, abs=0.005)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--campaign", "X1"], "must look like C00042"),
        (["--campaign", "C00001", "--holdout", "1.5"], "strictly between 0 and 1"),
    ],
)
def test_bad_campaign_options_are_refused(tmp_path, extra, message):
    args = [sys.executable, "-m", "pipelines", "audience", "--snapshot", "test", "--out", str(tmp_path / "x.csv")]
    result = subprocess.run([*args, *extra], capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "x.csv").exists()
