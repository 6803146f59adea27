"""A campaign's report as its readers read it: the operator's view (every figure) and the
merchant's (a few coarse figures, pipelines/campaigns/merchant_view.py), in words from the
translation tables, with value boxes, tables and a chart. Only how the figures are shown is
decided here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import polars as pl

from pipelines import privacy
from pipelines.campaigns.merchant_view import MerchantView, verdict
from pipelines.campaigns.report import CampaignReport
from pipelines.core import catalog
from pipelines.reporting import document
from pipelines.reporting.tables import Table, in_words
from pipelines.reporting.words import Words, load

WORDS = Path(__file__).with_name("words.toml")
METRICS = ("ntd", "buyers", "transactions")


def words(lang: str) -> Words:
    return load(lang, WORDS)


def _owner_name(con: duckdb.DuckDBPyConnection, owner_kind: str, owner_id: str | None) -> str | None:
    if owner_kind == "merchant":
        query = "SELECT any_value(merchant_name) AS n FROM merchants WHERE merchant_id = ?"
    elif owner_kind == "chain":
        query = "SELECT any_value(brand_name) AS n FROM merchants WHERE brand_id = ?"
    else:
        return None
    return catalog.frame(con, query, [owner_id])["n"][0]


class Page:
    """One campaign's report in one language: `report` for the operator's view, `view` for
    the merchant's."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        w: Words,
        report: CampaignReport | None = None,
        view: MerchantView | None = None,
    ) -> None:
        if (report is None) == (view is None):
            raise ValueError("a campaign page shows the operator's report or the merchant's view, one of the two")
        self.w, self.report, self.view = w, report, view
        self.c: dict[str, Any] = report.campaign if report is not None else view.figures  # type: ignore[union-attr]
        self.owner = _owner_name(con, self.c["owner_kind"], self.c["owner_id"])

    def header(self) -> document.Header:
        w, c = self.w, self.c
        who = w("campaigns.owner.operator") if self.owner is None else self.owner
        dates = w("campaigns.dates", first=w.day(c["start_date"]), last=w.day(c["end_date"]))
        title = w("campaigns.title", owner=who)
        subtitle = w(
            "campaigns.subtitle",
            value=w.money(c["offer_value"]),
            dates=dates,
            holdout=w.pct(100 * c["holdout_share"]),
        )
        view = w("campaigns.for_operator") if self.view is None else w("campaigns.for_merchant")
        return document.header(
            title, f"{subtitle} {view} {w('report.synthetic')}", w("report.back"), w.lang, who, dates
        )

    def headline(self) -> document.Boxes:
        """The effect per member first (the index shows it), then what backs it."""
        w, c = self.w, self.c
        if self.view is not None:
            if not c["shown"]:
                return document.boxes(
                    [document.Box("ntd_effect", w("campaigns.box.effect"), w("campaigns.box.not_shown"), None)]
                )
            boxes = [
                document.Box(
                    "ntd_effect",
                    w("campaigns.box.effect"),
                    w.money(c["ntd_effect"]),
                    c["ntd_effect"],
                    w("campaigns.box.interval", low=w.money(c["ntd_lower"]), high=w.money(c["ntd_upper"])),
                ),
                document.Box(
                    "bought_points", w("campaigns.box.bought"), w.signed(c["bought_points"]), c["bought_points"]
                ),
            ]
            if "per_cost" in c:
                boxes.append(
                    document.Box("per_cost", w("campaigns.box.per_cost"), w.number(c["per_cost"], 1), c["per_cost"])
                )
            return document.boxes(boxes)
        r = self.report
        assert r is not None
        e = r.ntd
        effect = (
            document.Box(
                "ntd_effect",
                w("campaigns.box.effect"),
                w.money(e["effect"]),
                round(e["effect"], 2),
                w("campaigns.box.interval", low=w.money(e["ci_lower"]), high=w.money(e["ci_upper"])),
            )
            if e["effect"] is not None
            else document.Box("ntd_effect", w("campaigns.box.effect"), w("campaigns.box.not_shown"), None)
        )
        boxes = [
            effect,
            document.Box(
                "treatment_members", w("campaigns.box.sent"), w.number(c["treatment_members"]), c["treatment_members"]
            ),
            document.Box(
                "holdout_members", w("campaigns.box.held"), w.number(c["holdout_members"]), c["holdout_members"]
            ),
        ]
        if c["ntd_per_cost"] is not None:
            boxes.append(
                document.Box(
                    "ntd_per_cost",
                    w("campaigns.box.per_cost"),
                    w.number(c["ntd_per_cost"], 2),
                    round(c["ntd_per_cost"], 2),
                    w("campaigns.box.cost", cost=w.money(c["cost_ntd"])),
                )
            )
        return document.boxes(boxes)

    # --- the answer ---------------------------------------------------------------------------

    def answer(self) -> document.Text:
        return self._merchant_answer() if self.view is not None else self._operator_answer()

    def _verdict(self, said: str, effect: float, low: float, high: float, detectable: float, where: str) -> str:
        w = self.w
        return w(
            f"campaigns.{said}",
            effect=w.money(abs(effect)),
            low=w.money(low),
            high=w.money(high),
            detectable=w.money(detectable),
            where=w(f"campaigns.where.{where}"),
        )

    def _operator_answer(self) -> document.Text:
        w, r = self.w, self.report
        assert r is not None
        c, e = r.campaign, r.ntd
        lines = []
        if not r.sample_ratio_ok:
            lines.append(
                w(
                    "campaigns.warn.sample_ratio",
                    held=w.number(c["holdout_members"]),
                    total=w.number(c["holdout_members"] + c["treatment_members"]),
                    declared=w.pct(100 * c["holdout_share"]),
                    p=f"{c['srm_pvalue']:.2g}",
                )
            )
        if not r.balanced:
            lines.append(w("campaigns.warn.balance", days=r.settings.pre_period_days, p=f"{c['balance_pvalue']:.2g}"))
        if e["effect"] is None:
            return document.text("\n\n".join([*lines, w("campaigns.not_estimable")]), effect=None)
        where = "offer" if c["kind"] == "merchant_offer" else "card"
        said = verdict(e["ci_lower"], e["ci_upper"])
        lines.append(self._verdict(said, e["effect"], e["ci_lower"], e["ci_upper"], e["mde"], where))
        if c["ntd_per_cost"] is not None:
            lines.append(
                w(
                    "campaigns.cost",
                    cost=w.money(c["cost_ntd"]),
                    redemptions=w.number(c["redemptions"]),
                    extra=w.money(c["incremental_ntd"]),
                    ratio=w.number(c["ntd_per_cost"], 2),
                    low=w.number(c["ntd_per_cost_lower"], 2),
                    high=w.number(c["ntd_per_cost_upper"], 2),
                )
            )
        narrowing = c["cuped_narrowing"]
        if narrowing is not None and round(narrowing, 2) == 0:
            lines.append(w("campaigns.cuped_same"))
        elif narrowing is not None:
            key = "campaigns.cuped_narrower" if narrowing > 0 else "campaigns.cuped_wider"
            lines.append(w(key, days=r.settings.pre_period_days, pct=w.pct(100 * abs(narrowing))))
        clear = r.segments.filter(pl.col("significant"))
        if clear.height:
            moved = "、" if w.lang == "zh-TW" else ", "
            named = moved.join(
                w("campaigns.segment_effect", segment=w.label("segment", s), effect=w.money(x))
                for s, x in clear.select("segment", "effect").iter_rows()
            )
            lines.append(w("campaigns.for_whom", segments=named))
        return document.text("\n\n".join(lines), effect=round(e["effect"], 2), low=round(e["ci_lower"], 2))

    def _merchant_answer(self) -> document.Text:
        w, f = self.w, self.c
        if not f["shown"]:
            return document.text(w(f"campaigns.hidden.{f['why']}", k=privacy.K_MIN), shown=False)
        lines = [
            self._verdict(f["verdict"], f["ntd_effect"], f["ntd_lower"], f["ntd_upper"], f["ntd_detectable"], "yours"),
            w(
                "campaigns.bought",
                points=w.signed(f["bought_points"]),
                low=w.signed(f["bought_lower"]),
                high=w.signed(f["bought_upper"]),
            ),
        ]
        if "per_cost" in f:
            lines.append(
                w(
                    "campaigns.per_cost",
                    ratio=w.number(f["per_cost"], 1),
                    low=w.number(f["per_cost_lower"], 1),
                    high=w.number(f["per_cost_upper"], 1),
                )
            )
        return document.text("\n\n".join(lines), shown=True, ntd_effect=f["ntd_effect"])

    def merchant_table(self) -> Table | None:
        """The merchant's figures: the effect per member, rounded outwards."""
        w, f = self.w, self.c
        if self.view is None or not f["shown"]:
            return None
        rows = [
            (w("campaigns.row.ntd"), f["ntd_effect"], f["ntd_lower"], f["ntd_upper"]),
            (w("campaigns.row.bought"), f["bought_points"], f["bought_lower"], f["bought_upper"]),
        ]
        if "per_cost" in f:
            rows.append((w("campaigns.row.per_cost"), f["per_cost"], f["per_cost_lower"], f["per_cost_upper"]))
        columns = [
            w("campaigns.column.what"),
            w("campaigns.column.about"),
            w("campaigns.column.from"),
            w("campaigns.column.to"),
        ]
        frame = pl.DataFrame(rows, schema=columns, orient="row")
        plain = frame.rename(dict(zip(columns, ("what", "about", "from", "to"), strict=True))).with_columns(
            pl.Series("what", ["ntd", "bought_points", "per_cost"][: frame.height])
        )
        return Table(frame, w("campaigns.caption.merchant"), plain=plain)

    # --- the operator's detail ---------------------------------------------------------------

    def arms(self) -> Table:
        w, r = self.w, self.report
        assert r is not None
        plain = r.arms_table()
        shown = plain.with_columns(in_words("arm", lambda a: w(f"campaigns.arm.{a}"))).rename(
            {c: w(f"campaigns.column.{c}") for c in plain.columns}
        )
        return Table(shown, w("campaigns.caption.arms"), plain=plain)

    def effects(self) -> Table:
        w, r = self.w, self.report
        assert r is not None
        plain = (
            r.effects.with_columns(pl.col("metric").cast(pl.Enum(METRICS)))
            .sort("metric")
            .select(
                pl.col("metric").cast(pl.String),
                *(
                    pl.col(c).round(2)
                    for c in (
                        "holdout_mean",
                        "treatment_mean",
                        "effect",
                        "ci_lower",
                        "ci_upper",
                        "plain_ci_lower",
                        "plain_ci_upper",
                        "mde",
                    )
                ),
            )
        )
        shown = plain.with_columns(in_words("metric", lambda m: w(f"campaigns.metric.{m}"))).rename(
            {c: w(f"campaigns.column.{c}") for c in plain.columns}
        )
        return Table(shown, w("campaigns.caption.effects"), plain=plain)

    def segments(self) -> tuple[Table, Any]:
        w, r = self.w, self.report
        assert r is not None
        plain = r.segments.select(
            "segment",
            "treatment_members",
            "holdout_members",
            pl.col("effect").round(0),
            pl.col("ci_lower").round(0),
            pl.col("ci_upper").round(0),
        )
        named = in_words("segment", lambda s: w.label("segment", s))
        shown = plain.with_columns(named).rename({c: w(f"campaigns.column.segment_{c}") for c in plain.columns})
        drawn = r.segments.drop_nulls("effect").with_columns(named)
        # One order for both layers: "-x" would sort the rules by their lower end and the dots
        # by the effect, and Vega-Lite then drops both.
        order = drawn.sort("effect", "segment", descending=[True, False])["segment"].to_list()
        base = alt.Chart(drawn).encode(y=alt.Y("segment:N", title=None, sort=order))
        bars = base.mark_rule(strokeWidth=2).encode(
            x=alt.X("ci_lower:Q", title=w("campaigns.chart.axis")), x2=alt.X2("ci_upper:Q")
        )
        dots = base.mark_point(filled=True, size=60).encode(x=alt.X("effect:Q"))
        zero = alt.Chart(pl.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 3], color="#888").encode(x=alt.X("x:Q"))
        title = w("report.chart_synthetic", title=w("campaigns.chart.title"))
        chart = (bars + dots + zero).properties(title=title)
        figure = document.chart(chart, w("campaigns.chart.alt"), drawn, w("campaigns.chart.empty"))
        return Table(shown, w("campaigns.caption.segments"), plain=plain), figure
