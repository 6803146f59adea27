"""The data-quality page as a reader uses it: what each table holds (rows, empty values, ranges,
worked out here again from the rows), the rules that were met folded away with what they saw,
and the previous snapshot `make run` compares with."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from pipelines.core import catalog
from pipelines.quality import gate
from pipelines.quality.gate import validate, validation_dir

NOW = dt.datetime(2026, 11, 23)


def test_the_profile_holds_rows_empty_shares_and_ranges(snapshot):
    profile = {t["table"]: t for t in validate(snapshot, now=NOW).document["profile"]}
    with catalog.connect(snapshot) as con:
        members = catalog.frame(con, "SELECT * FROM members")
        trips = catalog.frame(con, "SELECT fare, distance_km FROM trips")
    assert profile["members"]["rows"] == members.height
    columns = {c["column"]: c for c in profile["members"]["columns"]}
    assert columns["gender"]["empty_pct"] == round(100 * members["gender"].null_count() / members.height, 2)
    assert columns["birth_year"]["min"] == str(members["birth_year"].min())
    fare = {c["column"]: c for c in profile["trips"]["columns"]}["fare"]
    assert (fare["min"], fare["max"], fare["empty_pct"]) == (str(trips["fare"].min()), str(trips["fare"].max()), None)


def test_met_rules_are_folded_away_with_what_they_saw(snapshot):
    validate(snapshot, now=NOW)
    page = (validation_dir(snapshot) / "data_quality.html").read_text()
    every = page.split("Every rule, suite by suite")[1]
    assert every.count("<details>") == every.count("</details>") > 5  # none open: nothing failed
    assert "What each table holds" in page.split("Every rule, suite by suite")[0]
    assert "0 of " in every and "observed None" not in page


def test_the_previous_snapshot_is_the_one_that_ends_last_before(monkeypatch):
    ends = {"jan": dt.date(2025, 1, 31), "feb": dt.date(2025, 2, 28), "feb-big": dt.date(2025, 2, 28)}
    monkeypatch.setattr(gate, "list_snapshots", lambda: sorted(ends))
    parents = {"mar-ext": "jan"}
    monkeypatch.setattr(
        gate.Snapshot, "open", staticmethod(lambda s: SimpleNamespace(id=s, end=ends[s], extends=parents.get(s)))
    )
    assert gate.previous_of("feb") == "jan"
    assert gate.previous_of("jan") is None
    ends["mar"] = dt.date(2025, 3, 31)
    assert gate.previous_of("mar") == "feb-big"
    # A monthly extension is compared with its parent, whichever snapshot ends later.
    ends["mar-ext"] = dt.date(2025, 3, 31)
    assert gate.previous_of("mar-ext") == "jan"
    # Its parent removed, it is compared with nothing: another line's snapshot says nothing of
    # its months.
    parents["mar-ext"] = "removed since"
    assert gate.previous_of("mar-ext") is None
