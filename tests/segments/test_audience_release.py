"""Audience counts as published: noisy, charged once per audience, and no tracker can
subtract audiences down to one member (which exact counts with small cells hidden allowed)."""

from __future__ import annotations

import statistics

import polars as pl
import pytest

from pipelines import privacy
from pipelines.core import catalog
from pipelines.privacy.accounting import load_privacy
from pipelines.privacy.ledger import entries
from pipelines.segments.analysis import open_segmentation
from pipelines.segments.audience import Audience
from pipelines.segments.audience_release import published_audience

SIGMA = load_privacy().audience_sigma


@pytest.fixture()
def segmentation(mart_con, snap):
    return open_segmentation(mart_con, snap)


def test_an_audience_is_published_noisy_once_and_again_the_same(segmentation, snap):
    criteria = Audience.from_text(gender="F", ages="30-45")
    exact = segmentation.audience_by_segment(criteria)
    total, by_segment, release = published_audience(segmentation, snap, criteria)
    assert abs(total - exact["members"].sum()) <= 5 * SIGMA
    shown = by_segment["members"].drop_nulls()
    assert shown.min() >= privacy.K_MIN and by_segment.height == exact.height
    again = published_audience(segmentation, snap, criteria)
    assert (again[0], again[2].id) == (total, release.id) and again[1].equals(by_segment)
    assert [rid for rid, e in entries().items() if e["kind"] == "audience"] == [release.id]  # charged once


def _lone_member(segmentation) -> tuple[str, str, int]:
    """A woman whose district and age no other scored woman shares: the tracker's target."""
    found = catalog.frame(
        segmentation.con,
        "SELECT m.home_district_id AS district, year(CAST(? AS DATE)) - m.birth_year AS age, count(*) AS n "
        "FROM rfm r JOIN members m USING (member_id) WHERE r.month_end = ? AND m.gender = 'F' "
        "AND m.birth_year IS NOT NULL AND m.home_district_id IS NOT NULL GROUP BY ALL HAVING n = 1 "
        "AND age BETWEEN 20 AND 100 ORDER BY district, age LIMIT 1",
        [segmentation.as_of, segmentation.as_of],
    )
    row = found.row(0, named=True)
    return row["district"], row["age"], row["n"]


def test_a_tracker_cannot_subtract_audiences_down_to_one_member(segmentation, snap):
    """Women of a district aged 0-119, minus those aged 0 to a-1, minus a+1 to 119: exactly the
    one woman aged a. On exact counts the tracker finds her; on published ones (30 fresh
    revisions, each charged) it is rarely right and typically far off."""
    district, age, truth = _lone_member(segmentation)
    queries = [("0-119"), (f"0-{age - 1}"), (f"{age + 1}-119")]
    audiences = [Audience.from_text(gender="F", ages=a, districts=district) for a in queries]

    exact = [segmentation.audience_by_segment(a)["members"].sum() for a in audiences]
    assert exact[0] - exact[1] - exact[2] == truth == 1
    answers = []
    for revision in range(30):
        counts = [published_audience(segmentation, snap, a, new=revision > 0)[0] for a in audiences]
        answers.append(counts[0] - counts[1] - counts[2])
    assert sum(a == truth for a in answers) / len(answers) <= 0.1
    assert statistics.median(abs(a - truth) for a in answers) >= 10
    assert pl.Series(answers).n_unique() > 10  # fresh noise for each revision


def test_a_segments_count_within_twice_its_margin_is_not_shown(segmentation):
    """Each segment's count carries the noise of ± margin: 19 shown for a segment of 2 misled a
    reader. Counts hidden as small stay "fewer than 10"; readable ones are shown as they are."""
    from pipelines.segments import page as segments_page

    order = segmentation.config.segments["segment"].to_list()[:4]
    members = pl.Series("members", [None, 19, 60, 250], dtype=pl.Int64)
    by_segment = pl.DataFrame({"segment": order}).with_columns(members)
    p = segments_page.Page(segmentation, segments_page.words("en"))
    _, table = p.audience(329, by_segment, 29.4, Audience.from_text(gender="F"))
    assert table.frame.to_series(1).to_list() == ["fewer than 10", "too uncertain to show", "60", "250"]
    assert table.plain["members"].to_list() == [None, None, 60, 250]
    assert "± 29" in table.caption
