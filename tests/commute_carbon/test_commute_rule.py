"""The commute rule is configuration: read from commute.toml, refused when wrong."""

from __future__ import annotations

import pytest

from pipelines.commute_carbon.detect import CommuteRule, load_rule
from pipelines.core.config import ConfigError

GOOD = {
    "max_gap_minutes": "30",
    "morning": '["06:00", "10:00"]',
    "evening": '["16:00", "21:00"]',
    "min_morning_journeys": "5",
}


def test_the_committed_rule():
    assert load_rule() == CommuteRule(
        max_gap_minutes=30, am_from=360, am_to=600, pm_from=960, pm_to=1260, min_morning_journeys=5
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_morning_journeys": None}, "missing key.*min_morning_journeys"),
        ({"max_gap": "30"}, "unknown key.*max_gap"),
        ({"morning": '["10:00", "06:00"]'}, "ends before it starts"),
        ({"morning": '["6am", "10:00"]'}, "times look like"),
        ({"morning": '["06:00", "25:00"]'}, "not a time of day"),
        ({"morning": '"06:00"'}, "must be a window"),
        ({"max_gap_minutes": "0"}, "at least 1"),
        ({"max_gap_minutes": "["}, "not valid TOML"),
    ],
)
def test_bad_rules_are_refused_naming_the_file(tmp_path, change, message):
    path = tmp_path / "commute.toml"
    values = {key: value for key, value in (GOOD | change).items() if value is not None}
    path.write_text("".join(f"{key} = {value}\n" for key, value in values.items()))
    with pytest.raises(ConfigError, match=message) as error:
        load_rule(path)
    assert str(path) in str(error.value)
