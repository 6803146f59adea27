"""The segment analysis as the operator's marketing team reads it: the segmentation's figures
(pipelines/segments/analysis.py) in words from the translation tables, value boxes, tables
and charts. Only how the figures are shown is decided here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from pipelines import privacy
from pipelines.core import catalog
from pipelines.reporting import document
from pipelines.reporting.tables import Table, in_words
from pipelines.reporting.words import Words, load
from pipelines.segments.analysis import Segmentation
from pipelines.segments.audience import Audience

WORDS = Path(__file__).with_name("words.toml")


def words(lang: str) -> Words:
    return load(lang, WORDS)


class Page:
    """One segmentation in one language."""

    def __init__(self, seg: Segmentation, w: Words) -> None:
        self.seg, self.w = seg, w
        self.order = seg.config.segments["segment"].to_list()
        name = "name_zh" if w.lang == "zh-TW" else "name_en"
        districts = catalog.frame(seg.con, f"SELECT district_id, name_en, {name} AS name FROM districts ORDER BY 1")
        self.district_of_id = dict(zip(districts["district_id"], districts["name"], strict=True))
        self.district_of_name = dict(zip(districts["name_en"], districts["name"], strict=True))

    def segment(self, code: str) -> str:
        return self.w.label("segment", code)

    def segments(self, column: pl.Expr, name: str) -> pl.Expr:
        return column.map_elements(self.segment, return_dtype=pl.String).alias(name)

    def header(self) -> document.Header:
        w, seg = self.w, self.seg
        title = w("segments.title", date=w.month(seg.as_of))
        scenes = "、".join if w.lang == "zh-TW" else ", ".join
        subtitle = w(
            "segments.subtitle",
            date=str(seg.as_of),
            months=seg.config.window_months,
            scenes=scenes(w.label("scene", s) for s in seg.config.spend_scenes),
        )
        synthetic = f"{subtitle} {w('report.synthetic')}"
        subject = w("segments.subject")
        return document.header(title, synthetic, w("report.back"), w.lang, subject, w.month(seg.as_of))

    def headline(self) -> document.Boxes:
        w, table = self.w, self.seg.segment_table()
        members = int(table["members"].sum())
        by_side = table.group_by("side").agg(pl.col("members").sum(), pl.col("share_of_spend_pct").sum())
        side = {r["side"]: r for r in by_side.iter_rows(named=True)}
        flows = self.seg.flows_that_matter(top=None)
        lost = int(flows.filter(pl.col("direction") == "lost")["members"].sum())
        won = int(flows.filter(pl.col("direction") == "won")["members"].sum())

        def share(key: str) -> document.Box:
            n = side.get(key, {"members": 0})["members"]
            pct = 100 * n / members if members else 0.0
            spend = side.get(key, {"share_of_spend_pct": 0.0})["share_of_spend_pct"]
            note = w("segments.box.spend_share", share=w.pct(spend))
            return document.Box(f"{key}_members", w(f"segments.box.{key}"), w.pct(pct), n, note)

        return document.boxes(
            [
                document.Box("members", w("segments.box.members"), w.number(members), members),
                share("engaged"),
                share("at_risk"),
                document.Box("moved_towards_at_risk", w("segments.box.lost"), w.number(lost), lost),
                document.Box("won_back", w("segments.box.won"), w.number(won), won),
            ]
        )

    def segment_table(self) -> Table:
        w, table = self.w, self.seg.segment_table()
        shown = table.select(
            self.segments(pl.col("segment"), w("segments.column.segment")),
            pl.col("side")
            .map_elements(lambda s: w(f"segments.side.{s}"), return_dtype=pl.String)
            .alias(w("segments.column.side")),
            pl.col("members").alias(w("segments.column.members")),
            pl.col("share_of_members_pct").round(1).alias(w("segments.column.share_of_members")),
            pl.col("share_of_spend_pct").round(1).alias(w("segments.column.share_of_spend")),
            pl.col("mean_recency_days").round(1).alias(w("segments.column.recency")),
            pl.col("mean_frequency").round(1).alias(w("segments.column.frequency")),
            pl.col("mean_monetary_ntd").round(0).cast(pl.Int64).alias(w("segments.column.monetary")),
        )
        return Table(shown, w("segments.caption.table"), plain=table)

    def shares_chart(self) -> object:
        w, table = self.w, self.seg.segment_table()
        members, spend = w("segments.chart.members"), w("segments.chart.spend")
        data = table.select(
            self.segments(pl.col("segment"), "segment_name"),
            pl.col("share_of_members_pct").alias(members),
            pl.col("share_of_spend_pct").alias(spend),
        ).unpivot(index="segment_name", on=[members, spend])
        chart = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                y=alt.Y("segment_name:N", sort=[self.segment(s) for s in table["segment"]], title=None),
                x=alt.X("value:Q", title=w("segments.chart.pct_of_all")),
                yOffset=alt.YOffset("variable:N"),
                color=alt.Color("variable:N", title=None, legend=alt.Legend(orient="bottom")),
            )
            .properties(title=w("report.chart_synthetic", title=w("segments.chart.shares_title")), height=320)
        )
        return document.chart(chart, w("segments.chart.shares_alt"), data, w("segments.chart.no_members"))

    def scores(self) -> Table:
        w, scores = self.w, self.seg.score_distribution()
        shown = scores.select(
            pl.col("score").alias(w("segments.column.score")),
            pl.col("recency_pct").alias(w("segments.column.recency_pct")),
            pl.col("frequency_pct").alias(w("segments.column.frequency_pct")),
            pl.col("monetary_pct").alias(w("segments.column.monetary_pct")),
        )
        return Table(shown, w("segments.caption.scores"), plain=scores)

    def rf(self) -> tuple[Table, object]:
        w, heat = self.w, self.seg.rf_heatmap()
        grid = heat.pivot(on="f_score", index="r_score", values="members")
        shown = grid.rename(lambda c: w("segments.column.f", f=c) if c != "r_score" else w("segments.column.r_by_f"))
        table = Table(shown, w("segments.caption.rf"), plain=grid)
        data = heat.with_columns(self.segments(pl.col("segment"), "segment_name"))
        x = alt.X("f_score:O", title=w("segments.chart.f_score"))
        y = alt.Y("r_score:O", sort="descending", title=w("segments.chart.r_score"))
        cells = (
            alt.Chart(data)
            .mark_rect()
            .encode(
                x=x,
                y=y,
                color=alt.Color("members:Q", scale=alt.Scale(scheme="blues"), title=w("segments.chart.members_count")),
            )
        )
        labels = alt.Chart(data).mark_text(fontSize=11).encode(x=x, y=y, text=alt.Text("members:Q"))
        chart = (cells + labels).properties(
            title=w("report.chart_synthetic", title=w("segments.chart.rf_title")), width=320, height=260
        )
        return table, document.chart(chart, w("segments.chart.rf_alt"), data, w("segments.chart.no_members"))

    def migration(self) -> tuple[Table, object]:
        w, matrix = self.w, self.seg.migration_matrix()
        shown = matrix.with_columns(self.segments(pl.col("from_segment"), "from_segment")).rename(
            lambda c: w("segments.column.from_to") if c == "from_segment" else self.segment(c)
        )
        table = Table(shown, w("segments.caption.migration"), plain=matrix)
        flows = self.seg.migration().with_columns(
            self.segments(pl.col("from_segment"), "from_name"), self.segments(pl.col("to_segment"), "to_name")
        )
        names = [self.segment(s) for s in self.order]
        chart = (
            alt.Chart(flows)
            .mark_rect()
            .encode(
                x=alt.X("to_name:N", sort=names, title=w("segments.chart.this_month"), axis=alt.Axis(labelAngle=-40)),
                y=alt.Y("from_name:N", sort=names, title=w("segments.chart.last_month")),
                color=alt.Color(
                    "members:Q", scale=alt.Scale(type="log", scheme="oranges"), title=w("segments.chart.members_count")
                ),
            )
            .properties(
                title=w("report.chart_synthetic", title=w("segments.chart.migration_title")), width=380, height=380
            )
        )
        return table, document.chart(chart, w("segments.chart.migration_alt"), flows, w("segments.chart.no_moves"))

    def flows_text(self) -> document.Text:
        w, flows = self.w, self.seg.flows_that_matter()
        lines = [
            w(
                f"segments.flow.{r['direction']}",
                members=w.number(r["members"]),
                source=self.segment(r["from_segment"]),
                target=self.segment(r["to_segment"]),
            )
            for r in flows.iter_rows(named=True)
        ]
        figures = {
            f"{r['direction']}.{r['from_segment']}>{r['to_segment']}": r["members"] for r in flows.iter_rows(named=True)
        }
        return document.bullets(lines, **figures) if lines else document.text(w("segments.flow.none"))

    def scene_mix(self) -> tuple[Table, object]:
        w, mix = self.w, self.seg.scene_mix()
        wide = self.seg.by_segment(mix, "scene", "share_of_segment_spend_pct")
        shown = wide.with_columns(self.segments(pl.col("segment"), "segment")).rename(
            lambda c: w("segments.column.segment") if c == "segment" else w.label("scene", c)
        )
        table = Table(shown, w("segments.caption.scene_mix"), plain=wide)
        data = mix.with_columns(
            self.segments(pl.col("segment"), "segment_name"),
            pl.col("scene").map_elements(lambda s: w.label("scene", s), return_dtype=pl.String).alias("scene_name"),
        )
        share = w("segments.chart.share_of_spend")
        chart = self.stacked(data, "share_of_segment_spend_pct", "scene_name", "", share, "segments.chart.scene_title")
        return table, document.chart(chart, w("segments.chart.scene_alt"), data, w("segments.chart.no_members"))

    def stacked(
        self, data: pl.DataFrame, share: str, part: str, part_title: str, x_title: str, title: str
    ) -> alt.Chart:
        """One bar per segment, in the configured order, split into its parts by share."""
        return (
            alt.Chart(data)
            .mark_bar()
            .encode(
                y=alt.Y("segment_name:N", sort=[self.segment(s) for s in self.order], title=None),
                x=alt.X(f"{share}:Q", stack="normalize", title=x_title),
                color=alt.Color(f"{part}:N", title=part_title or None, sort="ascending"),
            )
            .properties(title=self.w("report.chart_synthetic", title=self.w(title)))
        )

    def demographics(self) -> tuple[list[Table], object]:
        w, demo = self.w, self.seg.demographics()
        tables = []
        for dimension, kind in (("age_band", "age_band"), ("gender", "gender")):
            wide = self.seg.by_segment(demo.filter(pl.col("dimension") == dimension), "value", "share_pct")
            shown = wide.with_columns(self.segments(pl.col("segment"), "segment")).rename(
                lambda c, kind=kind: w("segments.column.segment") if c == "segment" else w.label(kind, c)
            )
            tables.append(Table(shown, w(f"segments.caption.{dimension}"), plain=wide))
        counts = self.seg.by_segment(demo.filter(pl.col("dimension") == "district"), "value", "members")
        # One row per district: there are more districts than segments.
        by_district = counts.drop("segment").transpose(
            include_header=True, header_name="district", column_names=counts["segment"]
        )
        shown = by_district.with_columns(
            pl.col("district").map_elements(
                lambda d: self.district_of_name.get(d) or w.label("district", d), return_dtype=pl.String
            )
        ).rename(lambda c: w("segments.column.district") if c == "district" else self.segment(c))
        tables.append(Table(shown, w("segments.caption.district"), plain=by_district))
        data = demo.filter(pl.col("dimension") == "age_band").with_columns(
            self.segments(pl.col("segment"), "segment_name"),
            pl.col("value").map_elements(lambda v: w.label("age_band", v), return_dtype=pl.String).alias("band"),
        )
        share, age = w("segments.chart.share_of_segment"), w("segments.chart.age")
        chart = self.stacked(data, "share_pct", "band", age, share, "segments.chart.age_title")
        return tables, document.chart(chart, w("segments.chart.age_alt"), data, w("segments.chart.no_members"))

    def subsidy(self, budget_ntd: int) -> tuple[document.Boxes, Table, document.Text]:
        w = self.w
        plan, summary = self.seg.subsidy_plan(budget_ntd)
        boxes = document.boxes(
            [
                document.Box(
                    "budget_ntd", w("segments.box.budget"), w.money(summary["budget_ntd"]), summary["budget_ntd"]
                ),
                document.Box(
                    "policy_cost_ntd",
                    w("segments.box.policy_cost"),
                    w.money(summary["policy_cost_ntd"]),
                    summary["policy_cost_ntd"],
                    w("segments.box.scale", scale=w.number(summary["scale_factor"], 3)),
                ),
                document.Box(
                    "total_cost_ntd",
                    w("segments.box.planned"),
                    w.money(summary["total_cost_ntd"]),
                    summary["total_cost_ntd"],
                    w("segments.box.for_members", members=w.number(summary["members_subsidised"])),
                ),
                document.Box(
                    "unused_ntd", w("segments.box.unused"), w.money(summary["unused_ntd"]), summary["unused_ntd"]
                ),
            ]
        )
        plain = plan.drop("why")
        shown = plain.select(
            self.segments(pl.col("segment"), w("segments.column.segment")),
            in_words("subsidise", lambda s: w(f"segments.answer.{s}"), w("segments.column.subsidise")),
            pl.col("members").alias(w("segments.column.members")),
            pl.col("per_head_ntd").alias(w("segments.column.per_head")),
            pl.col("per_head_ntd_planned").alias(w("segments.column.per_head_planned")),
            pl.col("cost_ntd").alias(w("segments.column.cost")),
            pl.when(pl.col("return_per_ntd").is_null())
            .then(pl.lit(w("segments.basis.policy")))
            .otherwise(pl.lit(w("segments.basis.measured")))
            .alias(w("segments.column.basis")),
            pl.col("return_per_ntd").alias(w("segments.column.return")),
            pl.col("return_lower").alias(w("segments.column.return_lower")),
            pl.col("return_upper").alias(w("segments.column.return_upper")),
        )
        reasons = [
            f"**{self.segment(r['segment'])}**: {w('segments.per_head', amount=w.money(r['per_head_ntd_planned']))} "
            + self._why(r)
            for r in plan.iter_rows(named=True)
        ]
        return boxes, Table(shown, w("segments.caption.subsidy"), plain=plain), document.bullets(reasons)

    def _why(self, row: dict[str, Any]) -> str:
        """The reason for a segment's subsidy: what past subsidies returned, or the policy's."""
        w = self.w
        if row["return_per_ntd"] is None:
            return w(f"segments.why.{row['segment']}")
        key = "segments.why_measured.worked" if row["subsidise"] == "yes" else "segments.why_measured.not_worth"
        return w(
            key,
            ratio=w.number(row["return_per_ntd"], 2),
            low=w.number(row["return_lower"], 2),
            high=w.number(row["return_upper"], 2),
        )

    def criteria(self, criteria: Audience) -> str:
        """The audience's criteria in words."""
        w = self.w
        who = w(f"segments.audience.who.{criteria.gender or 'any'}")
        parts = [who]
        if (criteria.age_min, criteria.age_max) != (0, 120):
            parts.append(w("segments.audience.aged", low=criteria.age_min, high=criteria.age_max))
        if criteria.min_monthly_spend_ntd:
            parts.append(w("segments.audience.spend", amount=w.money(criteria.min_monthly_spend_ntd)))
        if criteria.districts:
            names = [self.district_of_id.get(d, d) for d in criteria.districts]
            parts.append(w("segments.audience.districts", districts=", ".join(names)))
        if criteria.segments:
            parts.append(w("segments.audience.segments", segments=", ".join(map(self.segment, criteria.segments))))
        if criteria.scene:
            parts.append(w("segments.audience.scene", scene=w.label("scene", criteria.scene)))
        return w("segments.audience.join").join(parts)

    def audience(self, total: int, by_segment: pl.DataFrame, margin: float, criteria: Audience) -> list[object]:
        w, described = self.w, self.criteria(criteria)
        if total < privacy.K_MIN:
            return [document.text(w("segments.audience.too_few", k=privacy.K_MIN, criteria=described), total=None)]
        text = w("segments.audience.about", total=w.number(total), margin=w.number(margin), criteria=described)
        # A segment's count carries the total's noise: a few members can read as dozens.
        counts = by_segment["members"].to_list()
        kept = [n if n is not None and privacy.readable(n, margin) else None for n in counts]
        plain = by_segment.with_columns(pl.Series("members", kept, dtype=pl.Int64))
        under, unsure = w("segments.audience.under", k=privacy.K_MIN), w("report.too_uncertain")
        pairs = zip(counts, kept, strict=True)
        words = [under if n is None else unsure if k is None else w.number(k) for n, k in pairs]
        shown = by_segment.select(self.segments(pl.col("segment"), w("segments.column.segment"))).with_columns(
            pl.Series(w("segments.column.members"), words, dtype=pl.String)
        )
        caption = w("segments.caption.audience", margin=w.number(margin), k=privacy.K_MIN)
        return [document.text(text, total=total), Table(shown, caption, plain=plain)]

    def glossary(self) -> document.Text:
        w = self.w
        lines = [f"**{self.segment(s)}**: {w.label('segment_meaning', s)}" for s in self.order]
        return document.bullets(lines)
