"""What the carbon page makes of a report's figures: a line for a negative avoided estimate, and
a spread chart with every band on its axis, hidden ones too, marked as hidden."""

from __future__ import annotations

import altair as alt
import polars as pl
import pytest

from pipelines.commute_carbon import page
from pipelines.commute_carbon.emissions import LEVELS
from pipelines.commute_carbon.report import AVOIDED_BANDS_KG


class _Report:
    """The two figures the tested parts read, as an EmployerReport gives them."""

    def __init__(self, avoided: dict[str, float], bands: list[int | None]) -> None:
        self.avoided, self.bands = avoided, bands

    def headline(self) -> dict:
        return {f"avoided_kg_{lvl}": self.avoided[lvl] for lvl in LEVELS}

    def employee_distribution(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"kg_per_month": [str(i) for i in range(len(self.bands))], "employees": self.bands},
            schema={"kg_per_month": pl.String, "employees": pl.Int64},
        ).with_columns(pl.col("employees").is_null().alias("suppressed"))


@pytest.fixture(scope="module")
def stations(mart_con):
    return mart_con


def _page(con, report: _Report, lang: str = "en") -> page.Page:
    return page.Page(con, report, page.words(lang))


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_a_negative_avoided_estimate_is_explained(stations, lang):
    bands = [0] * (len(AVOIDED_BANDS_KG) + 1)
    below = _page(stations, _Report({"low": -340.7, "central": 120.0, "high": 500.0}, bands), lang).surprises()
    assert below.markdown.count("\n- ") == 0 and below.markdown.startswith("- ")
    assert page.words(lang).number(-340.7).lstrip("-") in below.markdown
    above = _page(stations, _Report({"low": 10.0, "central": 120.0, "high": 500.0}, bands), lang).surprises()
    assert above.markdown == ""


def test_the_spread_chart_keeps_hidden_bands_on_its_axis(stations):
    n = len(AVOIDED_BANDS_KG) + 1
    bands = [None, 12, 30, None, 11, 0][:n]
    p = _page(stations, _Report({"low": 1.0, "central": 2.0, "high": 3.0}, bands))
    with alt.renderers.enable("default"):  # the chart itself, not its SVG image
        table, chart = p.spread()
    spec = chart.to_dict()
    bars, marks = spec["layer"]
    assert bars["encoding"]["x"]["scale"]["domain"] == marks["encoding"]["x"]["scale"]["domain"] == p.bands()
    assert len(p.bands()) == n
    assert table.frame.height == n
    # Each hidden band is marked as hidden where its bar would be, not left to read as zero.
    rows = spec["datasets"]
    hidden = [b for b, e in zip(p.bands(), bands, strict=True) if e is None]
    assert [r["band"] for r in rows[marks["data"]["name"]]] == hidden
    assert {r["mark"] for r in rows[marks["data"]["name"]]} == {"hidden"}
    assert [r["band"] for r in rows[bars["data"]["name"]]] == [b for b in p.bands() if b not in hidden]
