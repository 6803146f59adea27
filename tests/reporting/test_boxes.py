"""Headline boxes: how many share a row (the browser draws the rest; seen in Chromium at 400,
800 and 1100 px)."""

from __future__ import annotations

import re

import pytest

from pipelines.reporting.document import Box, Boxes


@pytest.mark.parametrize(
    ("boxes", "per_row"),
    [(1, 1), (3, 3), (4, 4), (5, 3), (6, 3), (7, 4), (8, 4), (9, 3)],
)
def test_rows_hold_at_most_four_boxes_and_are_balanced(boxes: int, per_row: int):
    """Five boxes go three and two, not four and one alone; seven go four and three."""
    html = Boxes([Box("k", "label", "1", 1)] * boxes)._html()
    bases = re.findall(r"flex:1 1 calc\(\(100% - (\d+) \* \.75rem\) / (\d+) - 1rem\)", html)
    assert bases == [(str(per_row - 1), str(per_row))] * boxes


def test_a_figure_breaks_only_at_its_spaces():
    html = Boxes([Box("k", "通勤距離", "262,886 公里", 262886)])._html()
    assert '<div style="font-size:1.5rem;font-weight:600;word-break:keep-all">262,886 公里</div>' in html
