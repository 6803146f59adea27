"""The data dictionary, generated from the schema so that it cannot drift from it."""

from __future__ import annotations

from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import TABLES, TIMEZONE, Column

DICTIONARY_PATH = REPO_ROOT / "docs" / "data_dictionary.md"


def _rule(col: Column) -> str:
    parts = []
    if not col.nullable:
        parts.append("not null")
    if col.unique:
        parts.append("unique")
    if col.min is not None or col.max is not None:
        parts.append(f"{'' if col.min is None else col.min} .. {'' if col.max is None else col.max}")
    if col.allowed:
        parts.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
    if col.pattern:
        parts.append(f"matches `{col.pattern}`")
    if col.references:
        parts.append(f"-> `{col.references}`")
    return "; ".join(parts)


def render() -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from `pipelines/core/schema.py` by `python -m pipelines dictionary`; do not edit by hand.",
        "",
        f"- Times are local wall-clock time in {TIMEZONE} (UTC+8, no daylight saving), stored as",
        "  `TIMESTAMP` without a zone.",
        "- Money is integer NT$; an import refuses decimal amounts unless told to round them",
        "  (`--round-money`).",
        "- A scene the operator does not run may be declared absent at import (`--absent transit`);",
        "  its table is then empty, and the manifest lists the scenes present.",
        "- Unknown demographics (gender, birth year, home district) are empty; reports show them",
        "  as unknown.",
        "- IDs are pseudonymous. Snapshots made by `python -m pipelines generate` are **synthetic**.",
        "- Event tables are Parquet datasets in time order: generated snapshots have files of one",
        "  month each (`<table>/part-YYYY-MM-bNNN.parquet`, a file per month and block of members),",
        "  imported ones one file sorted by time (`<table>/part-0000.parquet`). The marts read one",
        "  month at a time and rely on this to skip the other months.",
        "",
    ]
    for t in TABLES:
        lines += [f"## `{t.name}` ({t.kind})", "", t.description, "", f"Primary key: `{t.primary_key}`."]
        if t.time_column:
            lines.append(f"Placed in the period by `{t.time_column}`.")
        lines += [*(f"Note: {n}" for n in t.notes), "", "| column | type | meaning | rules |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {c.duckdb_type} | {c.description} | {_rule(c)} |" for c in t.columns]
        lines.append("")
    return "\n".join(lines)
