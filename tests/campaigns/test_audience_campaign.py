"""`audience --campaign` draws a campaign's audience and arms reproducibly from the operator's
secret key and a seed, and writes them in the shape of the campaign_assignments table, for the
operator's own sending system."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from scipy import stats

from pipelines.core.draw import MAX_REACH, SYNTHETIC_KEY, holdout, reached
from pipelines.core.schema import table
from pipelines.privacy.noise import noise_key
from pipelines.privacy.published import published_path


@pytest.fixture(autouse=True)
def no_campaign_drawn():
    """Each test starts with no campaign drawn in the shared test data."""
    folder = published_path("campaign-draws", "x").parent
    for kept in folder.glob("*.json"):
        kept.unlink()


def _audience(tmp_path, name: str, *extra: str) -> tuple[pl.DataFrame, str]:
    out = tmp_path / name
    args = [sys.executable, "-m", "pipelines", "audience", "--snapshot", "test", "--scene", "retail", "--out", str(out)]
    result = subprocess.run([*args, *extra], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return pl.read_csv(out, try_parse_dates=True), result.stdout + result.stderr


def test_audience_and_arms_are_drawn_from_the_key_the_seed_and_the_member_alone(mart_con, tmp_path):
    plain, _ = _audience(tmp_path, "plain.csv")
    drawn, said = _audience(
        tmp_path, "a.csv", "--campaign", "C00099", "--owner", "operator", "--holdout", "0.3", "--seed", "7"
    )
    again, _ = _audience(
        tmp_path, "b.csv", "--campaign", "C00099", "--owner", "operator", "--holdout", "0.3", "--seed", "7"
    )
    # Another campaign with the same seed draws on its own.
    other, _ = _audience(
        tmp_path, "c.csv", "--campaign", "C00098", "--owner", "operator", "--holdout", "0.3", "--seed", "7"
    )
    assert drawn.equals(again)
    assert not drawn["member_id"].equals(other["member_id"])
    assert drawn.columns == table("campaign_assignments").column_names
    assert (drawn["campaign_id"] == "C00099").all() and drawn["sent_at"].is_null().all()
    # The audience: the matching members that the keyed draw reaches, 80 % of them by default
    # (never all: a merchant would know that each who paid without redeeming was held out).
    key = noise_key()
    matching = plain["member_id"].sort()
    picked = pl.Series(reached(matching, "C00099", 7, MAX_REACH, key))
    assert drawn["member_id"].to_list() == matching.filter(picked).to_list()
    lo, hi = stats.binom.ppf([0.0005, 0.9995], matching.len(), MAX_REACH)
    assert lo <= drawn.height <= hi < matching.len()
    held = drawn["arm"] == "holdout"
    assert held.to_list() == holdout(drawn["member_id"], "C00099", 7, 0.3, key).tolist()
    # The holdout's size is binomial: far inside a 99.9 % range for this audience.
    lo, hi = stats.binom.ppf([0.0005, 0.9995], drawn.height, 0.3)
    assert lo <= held.sum() <= hi
    assert f"{int(held.sum()):,} held out" in said and "seed 7" in said
    assert f"{drawn.height:,} of the {matching.len():,} matching members reached" in said


def test_a_draw_of_many_ids_holds_out_the_declared_share():
    ids = pl.Series([f"M{i:08d}" for i in range(1, 200_001)])
    for share in (0.1, 0.5):
        held = holdout(ids, "C00001", 12345, share, SYNTHETIC_KEY)
        assert held.mean() == pytest.approx(share, abs=0.005)
    # Two campaigns' draws are independent: a member's arm in one says nothing of the other;
    # so are the draws of the same seed under two keys, and the reach and the holdout.
    a, b = holdout(ids, "C00001", 1, 0.5, SYNTHETIC_KEY), holdout(ids, "C00001", 2, 0.5, SYNTHETIC_KEY)
    assert (a & b).mean() == pytest.approx(0.25, abs=0.005)
    c = holdout(ids, "C00001", 1, 0.5, b"the operator's secret key")
    assert (a & c).mean() == pytest.approx(0.25, abs=0.005)
    d = reached(ids, "C00001", 1, 0.5, SYNTHETIC_KEY)
    assert (a & d).mean() == pytest.approx(0.25, abs=0.005)
    e = holdout(ids, "C00002", 1, 0.5, SYNTHETIC_KEY)
    assert (a & e).mean() == pytest.approx(0.25, abs=0.005)


def test_knowing_some_treated_members_does_not_give_away_the_seed_without_the_key():
    """The attack an audit made on the first draw: a merchant knows from its redemptions some
    customers who were treated, tries every seed, and keeps those that treat them all. Under a
    secret key, the seeds consistent with 40 treated customers are as many as chance allows
    (0.7^40 of them), and the true seed, tried without the key, is not among them."""
    ids = pl.Series([f"M{i:08d}" for i in range(1, 201)])
    secret = b"the operator's secret key"
    treated = ids.filter(pl.Series(~holdout(ids, "C00101", 424242, 0.3, secret))).head(40)
    consistent = [s for s in range(424_000, 425_000) if not holdout(treated, "C00101", s, 0.3, SYNTHETIC_KEY).any()]
    assert 424242 not in consistent
    assert len(consistent) <= 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--campaign", "X1"], "must look like C00042"),
        (["--campaign", "C00099", "--holdout", "1.5"], "from 0.05 to 0.5"),
        (["--campaign", "C00099", "--holdout", "0.0001"], "from 0.05 to 0.5"),
        (["--campaign", "C00099", "--reach", "1"], "at most 0.8"),
        (["--campaign", "C00099", "--seed", "-1"], "from 0 to 2^63 - 1"),
        (["--campaign", "C00099", "--seed", str(2**70)], "from 0 to 2^63 - 1"),
        (["--campaign", "C00001", "--owner", "operator"], "already in the snapshot"),
        (["--campaign", "C00099"], "needs --owner"),
        (["--campaign", "C00099", "--owner", "S99999"], "neither 'operator' nor an outlet"),
    ],
)
def test_bad_campaign_options_are_refused(tmp_path, extra, message):
    args = [sys.executable, "-m", "pipelines", "audience", "--snapshot", "test", "--out", str(tmp_path / "x.csv")]
    result = subprocess.run([*args, *extra], capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_campaign_is_drawn_once(mart_con, tmp_path):
    """The second audit's probe: the same campaign drawn again with a tiny holdout would treat
    all it reaches, and its redemptions would show who the first draw held out. A redraw with
    the same settings gives the same file; any other is refused."""
    first, said = _audience(tmp_path, "a.csv", "--campaign", "C00097", "--owner", "operator", "--holdout", "0.2")
    seed = int(said.split("seed ")[1].split()[0])
    same, _ = _audience(tmp_path, "b.csv", "--campaign", "C00097", "--owner", "operator", "--holdout", "0.2")
    assert same.equals(first)
    args = [sys.executable, "-m", "pipelines", "audience", "--snapshot", "test", "--scene", "retail"]
    for extra in (["--holdout", "0.05"], ["--holdout", "0.2", "--reach", "0.5"], ["--holdout", "0.2", "--seed", "1"]):
        out = tmp_path / "probe.csv"
        result = subprocess.run(
            [*args, "--out", str(out), "--campaign", "C00097", "--owner", "operator", *extra],
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0 and "was drawn before" in result.stderr, extra
        assert not out.exists()
    rule = subprocess.run(
        [
            *args[:-2],
            "--scene",
            "transit",
            "--out",
            str(tmp_path / "r.csv"),
            "--campaign",
            "C00097",
            "--owner",
            "operator",
        ],
        capture_output=True,
        text=True,
    )
    assert rule.returncode != 0 and "was drawn before" in rule.stderr
    assert f"seed {seed}" in rule.stderr


def test_a_merchant_gets_a_dozen_campaigns_a_year(mart_con):
    """The fifth audit ran 76 offers for one chain and read its customers' spending elsewhere
    and home districts from who redeemed which: a merchant or chain gets at most a dozen
    campaigns drawn a calendar year; a redraw of one of them, and the operator's own, still go."""
    import datetime as dt

    from pipelines.campaigns.audience import MERCHANT_CAMPAIGNS_PER_YEAR, draw

    chain = mart_con.execute("SELECT min(brand_id) FROM merchants").fetchall()[0][0]
    members = pl.Series([f"M{i:08d}" for i in range(1, 501)])
    today = dt.date(2026, 11, 27)
    for i in range(MERCHANT_CAMPAIGNS_PER_YEAR):
        draw(mart_con, members, f"C9{i:04d}", chain, 0.2, 0.8, None, "rule", today)
    with pytest.raises(ValueError, match=f"{chain} has had 12 campaigns drawn in 2026"):
        draw(mart_con, members, "C99999", chain, 0.2, 0.8, None, "rule", today)
    again, _ = draw(mart_con, members, "C90000", chain, 0.2, 0.8, None, "rule", today)
    assert again.height > 0
    draw(mart_con, members, "C99998", chain, 0.2, 0.8, None, "rule", dt.date(2027, 1, 1))
    for i in range(MERCHANT_CAMPAIGNS_PER_YEAR + 1):
        draw(mart_con, members, f"C8{i:04d}", "operator", 0.2, 0.8, None, "rule", today)
