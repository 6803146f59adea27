"""`generate --extends`: a generated snapshot extended month by month equals the same months
generated whole, file for file; each snapshot of the chain holds the registers as they stood
at its end and passes the gate; the marts built month by month equal a build from scratch."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import polars as pl
import pytest

from pipelines import marts
from pipelines.core.snapshot import Snapshot, list_snapshots
from pipelines.ingest.generator import MONTHLY_TABLES, generate
from pipelines.ingest.generator.params import GeneratorParams
from pipelines.quality.gate import validate
from tests.ingest.test_extends import NOW

SCALE = 0.3
FEB = dt.date(2025, 2, 28)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pipelines", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """January and February drawn over a three-month horizon, extended by March through the
    command line, next to the three months generated whole; each validated, its marts built."""
    data = tmp_path_factory.mktemp("generated-chain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARD_INSIGHTS_DATA", str(data))
        generate("to-02", scale=SCALE, params=GeneratorParams(months=2, horizon=3))
        done = _cli("generate", "-s", "to-03", "--extends", "to-02")
        assert done.returncode == 0, done.stderr
        generate("whole", scale=SCALE, params=GeneratorParams(months=3))
        verdicts = {}
        for snapshot in ("to-02", "to-03", "whole"):
            verdicts[snapshot] = validate(snapshot, now=NOW)
            marts.build(snapshot)
        yield data, verdicts


def _files(snapshot: str) -> dict[str, list[str]]:
    tables = Snapshot.open(snapshot).manifest["tables"]
    return {name: sorted(f["sha256"] for f in t["files"]) for name, t in tables.items()}


def _table(snapshot: str, name: str) -> pl.DataFrame:
    return pl.read_parquet(Snapshot.open(snapshot).files(name))


def test_the_extension_equals_the_months_generated_whole_file_for_file(chain):
    assert _files("to-03") == _files("whole")
    extension = Snapshot.open("to-03")
    assert extension.extends == "to-02" and extension.new_start == dt.date(2025, 3, 1)
    assert (extension.start, extension.end) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert extension.synthetic and extension.manifest["made_by"]["params"]["months"] == 3


def test_the_parents_months_are_shared_not_copied(chain):
    extension, parent = Snapshot.open("to-03"), Snapshot.open("to-02")
    for name in MONTHLY_TABLES:
        shared = extension.shared_files(name)
        assert sorted(shared) == sorted(extension.folder / p.relative_to(parent.folder) for p in parent.files(name))
        for path in shared:
            assert path.samefile(parent.folder / path.relative_to(extension.folder)), path
        assert all(p.name.startswith("part-2025-03") for p in extension.own_files(name)), name


def test_the_parent_holds_the_registers_as_they_stood_at_its_end(chain):
    """Worked out from the whole period's tables: the members who joined by the end of
    February, their cards and the anonymous ones, the campaigns started by then."""
    members = _table("whole", "members")
    joined = members.filter(pl.col("join_date") <= FEB)
    assert 0 < joined.height < members.height  # members join in March
    assert sorted(_table("to-02", "members")["member_id"]) == sorted(joined["member_id"])
    cards = _table("whole", "cards").filter(
        pl.col("member_id").is_null() | pl.col("member_id").is_in(joined["member_id"].implode())
    )
    assert sorted(_table("to-02", "cards")["card_id"]) == sorted(cards["card_id"])
    assert _table("to-02", "cards")["issued_date"].max() <= FEB
    campaigns = _table("whole", "campaigns").filter(pl.col("start_date") <= FEB)
    assert 0 < campaigns.height < _table("whole", "campaigns").height
    assert sorted(_table("to-02", "campaigns")["campaign_id"]) == sorted(campaigns["campaign_id"])


def test_a_member_who_moves_in_march_lives_at_the_old_home_in_february(chain):
    truth = pl.read_parquet(chain[0] / "ground_truth" / "whole" / "members" / "*.parquet")
    moved = truth.filter(
        (pl.col("moved_from") == dt.date(2025, 3, 1))
        & (pl.col("home_district_id") != pl.col("previous_home_district_id"))
    )
    assert moved.height > 0
    february = _table("to-02", "members").join(moved, on="member_id").filter(pl.col("home_district_id").is_not_null())
    assert february.height > 0
    assert (february["home_district_id"] == february["previous_home_district_id"]).all()
    march = _table("to-03", "members").join(moved, on="member_id").filter(pl.col("home_district_id").is_not_null())
    assert (march["home_district_id"] == march["home_district_id_right"]).all()


def test_every_snapshot_of_the_chain_passes_the_gate_the_extension_as_one(chain):
    _, verdicts = chain
    assert all(v.success for v in verdicts.values()), {k: v.failures for k, v in verdicts.items()}
    assert verdicts["to-03"].document["previous_snapshot"] == "to-02"


#: The marts that keep each month's customers with their home district: members move house in
#: March, and earlier months keep the register as it was when they were built (docs/design.md).
AS_BUILT = ("merchant_customer_month", "merchant_cells")


def test_the_marts_built_month_by_month_equal_the_whole_periods(chain):
    """Every mart equals the whole period's built from scratch, except that the months before
    March keep February's homes: those months equal the parent's marts, March the whole's."""
    stamp = json.loads((marts.marts_dir("to-03") / marts.MARTS_FILE).read_text())
    assert stamp["extended"]["since"] == "2025-03-01"
    extended, whole = (marts.read_folder(marts.marts_dir(s)) for s in ("to-03", "whole"))
    parent = marts.read_folder(marts.marts_dir("to-02"))
    marts.check_same(
        {n: f for n, f in extended.items() if n not in AS_BUILT}, {n: f for n, f in whole.items() if n not in AS_BUILT}
    )
    march = pl.col("month") >= dt.date(2025, 3, 1)
    for name in AS_BUILT:
        marts.check_same({name: extended[name].filter(march)}, {name: whole[name].filter(march)})
        marts.check_same({name: extended[name].filter(~march)}, {name: parent[name]})
    moved = (
        extended["merchant_customer_month"]
        .filter(~march)
        .join(whole["merchant_customer_month"], on=["unit", "customer", "month"])
    )
    assert (moved["home_district"] != moved["home_district_right"]).sum() > 0, "nobody moved: the test shows nothing"


def test_what_cannot_be_extended_says_why(chain, tmp_path):
    generate("no-room", scale=SCALE, params=GeneratorParams(months=2))
    done = _cli("generate", "-s", "x", "--extends", "no-room")
    assert (
        done.returncode == 1
        and "Traceback" not in done.stderr
        and "starts with a snapshot generated with a horizon past its months" in done.stderr
    )
    done = _cli("generate", "-s", "x", "--extends", "")
    assert done.returncode == 1 and "snapshot ID" in done.stderr
    done = _cli("generate", "-s", "x", "--extends", "to-02", "--scale", "2")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "leave out --scale" in done.stderr
    done = _cli("generate", "-s", "x", "--months", "4", "--horizon", "3")
    assert (
        done.returncode == 1
        and "Traceback" not in done.stderr
        and "horizon (3 months) cannot be shorter" in done.stderr
    )
    done = _cli("generate", "-s", "x", "--extends", "to-03")
    assert (
        done.returncode == 1
        and "Traceback" not in done.stderr
        and "covers every month its members were drawn over (3)" in done.stderr
    )
    assert "x" not in os.listdir(chain[0] / "snapshots")


def test_a_single_month_is_generated_and_passes_the_gate(isolated_data):
    """One month, as the benchmark generates the new month alone: nobody can move house or
    change job inside it (no month before to change from), which used to crash the draw."""
    generate("one", scale=SCALE, params=GeneratorParams(start=dt.date(2025, 7, 1), months=1))
    snap = Snapshot.open("one")
    assert (snap.start, snap.end) == (dt.date(2025, 7, 1), dt.date(2025, 7, 31))
    assert validate("one", now=NOW).success


def test_a_chain_across_the_new_year_names_guardians_by_the_age_of_each_year(isolated_data):
    """December extended into January: everyone is a year older, so a member of 20 in 2025 had
    a guardian then and has none in 2026; both registers pass the gate, and the extension still
    equals the three months generated whole."""
    november = dt.date(2025, 11, 1)
    generate("to-12", scale=SCALE, params=GeneratorParams(start=november, months=2, horizon=3))
    generate("to-01", extends="to-12")
    generate("whole", scale=SCALE, params=GeneratorParams(start=november, months=3))
    assert _files("to-01") == _files("whole")
    for snapshot in ("to-12", "to-01"):
        assert validate(snapshot, now=NOW).success, snapshot
    december, january = _table("to-12", "members"), _table("to-01", "members")
    aged_out = december.join(january, on="member_id").filter(
        (pl.col("birth_year") == 2005) & pl.col("guardian_member_id").is_not_null()
    )
    assert aged_out.height > 0 and aged_out["guardian_member_id_right"].is_null().all()


def test_months_that_have_not_ended_are_refused_before_any_work(isolated_data):
    """The gate refuses events in the future, so generating a month before it is over would
    only fail later: `generate` says which months it may make instead (the last day of a
    month is not over either)."""
    with pytest.raises(ValueError, match=r"reaches 2025-06, which has not ended .* use --months 5 or fewer"):
        generate("late", scale=SCALE, params=GeneratorParams(months=6), today=dt.date(2025, 6, 30))
    june = GeneratorParams(start=dt.date(2025, 6, 1), months=1, horizon=2)
    generate("june", scale=0.02, params=june, today=dt.date(2025, 7, 1))
    with pytest.raises(ValueError, match=r"'june' would be extended by 2025-07, which has not ended"):
        generate("july", extends="june", today=dt.date(2025, 7, 31))
    assert list_snapshots() == ["june"]
