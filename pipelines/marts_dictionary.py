"""The marts dictionary (docs/marts_dictionary.md), generated from each registered family's
marts.toml so that it cannot drift from the definitions; a test checks that every built mart
has exactly the documented columns and types."""

from __future__ import annotations

from pipelines.core.paths import REPO_ROOT
from pipelines.families import FAMILIES

MARTS_DICTIONARY_PATH = REPO_ROOT / "docs" / "marts_dictionary.md"


def render() -> str:
    lines = [
        "# Marts dictionary",
        "",
        "Generated from each family's `marts.toml` by `python -m pipelines dictionary`; do not edit by hand.",
        "",
        "Marts are built once per validated snapshot by `python -m pipelines marts` into",
        "`data/marts/<snapshot>/<mart>.parquet`. In a notebook, `marts.connect(snapshot)` gives a",
        "DuckDB connection with one view per mart beside the snapshot's tables. Marts hold",
        "aggregates and pseudonymous IDs; no reader outside the operator sees them. Employer- and",
        "merchant-facing figures pass `pipelines/privacy/` (merchant figures only through a",
        "differentially private release: docs/privacy.md). Money is integer NT$; months are the",
        "first day of the month.",
        "",
    ]
    for family in FAMILIES:
        folder = family.package.relative_to(REPO_ROOT)
        lines += [f"## {family.title} (`{folder}/`)", ""]
        if family.reads:
            lines += [f"Reads {', '.join(f'`{m}`' for m in family.reads)} from other families.", ""]
        for mart in family.marts:
            lines += [
                f"### `{mart.name}`",
                "",
                mart.description,
                "",
                f"One row per {mart.grain}.",
                "",
                "| column | type | meaning |",
                "|---|---|---|",
            ]
            lines += [f"| `{c.name}` | {c.type} | {c.description} |" for c in mart.columns]
            lines.append("")
    return "\n".join(lines)
