"""The benchmark's pandas and Polars versions of the segment marts give the marts' own answers
(every member's segment at every month end, and the migration counts) on the test snapshot,
and the check that `make bench` runs before it records them catches a wrong answer."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.bench import segments as bench


@pytest.fixture(scope="module")
def answers(snapshot, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("bench")
    events = str(folder / "events.parquet")
    assert bench.prepare(snapshot, folder / "events.parquet") > 0
    out = {}
    for name, run in (("marts", bench.marts), ("polars", bench.polars_version), ("pandas", bench.pandas_version)):
        out[name] = str(folder / name)
        run(events, snapshot, out[name])
    return out


@pytest.mark.parametrize("version", ["polars", "pandas"])
def test_alternative_versions_give_the_marts_answers(answers, version):
    bench.check_answers(answers["marts"], answers[version])
    segments = pl.read_parquet(f"{answers[version]}-segments.parquet")
    assert segments["month_end"].n_unique() == 6 and segments.height > 1000


def test_a_wrong_answer_is_caught(answers, tmp_path):
    wrong = str(tmp_path / "wrong")
    segments = pl.read_parquet(f"{answers['polars']}-segments.parquet")
    flipped = segments.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("Champions")).otherwise("segment").alias("segment")
    )
    if flipped.equals(segments):  # the first member already was a Champion
        flipped = segments.with_columns(pl.lit("Hibernating").alias("segment"))
    flipped.write_parquet(f"{wrong}-segments.parquet")
    pl.read_parquet(f"{answers['polars']}-migration.parquet").write_parquet(f"{wrong}-migration.parquet")
    with pytest.raises(AssertionError, match="segments differs"):
        bench.check_answers(answers["marts"], wrong)
