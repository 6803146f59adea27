"""The population benchmark reports member_behaviour's figures and says when two scales disagree."""

from __future__ import annotations

from pipelines.bench import population
from pipelines.ingest.behaviour import INVARIANT, member_behaviour


def test_behaviour_step_returns_the_snapshots_figures(snapshot):
    result = population.behaviour(snapshot)
    assert result["figures"] == member_behaviour(snapshot)
    assert result["seconds"] >= 0


def test_the_note_names_the_largest_difference_against_the_goal():
    base = dict.fromkeys(INVARIANT, 1.0)
    close = base | {"top3_outlet_share": 1.04}
    far = base | {"returning_share": 0.9}
    assert "largest difference 4.0% (top3_outlet_share), within 5%" in population.compare(base, close, 100)
    assert "largest difference 10.0% (returning_share), NOT within 5%" in population.compare(base, far, 100)
    assert "scale 1 / 100" in population.compare(base, close, 100)
