"""Bring your own data: the operator's Parquet or CSV extracts become a snapshot.

The contract: one file per table, named as in the data dictionary (`trips.parquet`,
`trips.csv`, or a folder `trips/` of Parquet files), with the dictionary's columns.
- The reference tables (districts, stations) may be left out: Kaohsiung's from
  data/reference/ are used.
- A scene the operator does not run is declared absent (`absent_scenes`); its table may then
  be left out (it is stored empty) and the gate expects it empty.
- Times are local Asia/Taipei wall-clock time. A CSV time with a UTC offset (`...Z`,
  `...+08:00`) or a Parquet timestamp with a time zone is converted to Asia/Taipei.
- Money is integer NT$: a decimal amount is refused, unless `round_money` rounds it to whole
  NT$ (half away from zero). Other whole-number columns never take decimals.
- Unknown demographics (gender, birth year, home district) may be empty.
- Files must be real files inside the extract: a symbolic link is refused.
- A monthly extract may extend the last snapshot (`extends`): its event tables hold the new
  days only, which follow the parent's period; the parent's events are shared, not copied.
  Members, cards, merchants, employers and the campaign tables are the operator's current
  ones; any of them left out are the parent's.
Names, columns, types and values are checked first, and every problem is reported at once;
only then is the snapshot written (atomically, with its manifest, event tables in time
order), to be validated by the gate.
"""

from __future__ import annotations

import codecs
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core import catalog
from pipelines.core.reference import REFERENCE_TABLES, reference_tables
from pipelines.core.schema import SCENE_TABLES, SCENES, TABLES, TIMEZONE, Column, Table
from pipelines.core.snapshot import Snapshot, list_snapshots, new_snapshot, sha256_file

#: Source types that convert to the schema's type without loss.
_WIDENS_TO = {
    "BIGINT": {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"},
    "INTEGER": {"TINYINT", "SMALLINT", "UTINYINT", "USMALLINT"},
    "DOUBLE": {"FLOAT", "TINYINT", "SMALLINT", "INTEGER", "BIGINT"},
    "TIMESTAMP": {"TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"},
}
#: A UTC offset at the end of a time written as text.
_OFFSET = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_WHOLE = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_ROUND_HINT = "money is integer NT$: fix the extract, or import with --round-money to round to whole NT$"


class ContractError(ValueError):
    """The source does not meet the contract; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the source does not meet the data contract:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Source:
    table: Table
    path: Path
    kind: str  # "parquet" or "csv"

    def relation_sql(self) -> str:
        if self.kind == "csv":
            return f"read_csv({catalog.sql_literal(str(self.path))}, header = true, all_varchar = true)"
        target = self.path / "*.parquet" if self.path.is_dir() else self.path
        return f"read_parquet({catalog.sql_literal(str(target))})"


def _links(path: Path) -> list[Path]:
    """The symbolic links among a source (a file, or a folder and everything in it)."""
    inside = path.rglob("*") if path.is_dir() and not path.is_symlink() else []
    return [p for p in (path, *inside) if p.is_symlink()]


def find_sources(
    folder: Path, absent_scenes: tuple[str, ...] = (), extending: bool = False
) -> tuple[dict[str, Source], list[str]]:
    problems: list[str] = []
    if not folder.is_dir():
        raise ContractError([f"{folder} is not a folder"])
    known = {t.name: t for t in TABLES}
    found: dict[str, Source] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        name, kind = (path.name, "parquet") if path.is_dir() else (path.stem, path.suffix.lower().lstrip("."))
        if links := _links(path):
            problems += [
                f"{link.relative_to(folder)}: is a symbolic link; copy the file itself into the extract"
                for link in links
            ]
        elif kind not in ("parquet", "csv"):
            problems.append(f"{path.name}: not a .parquet or .csv file or a folder of Parquet files")
        elif name not in known:
            problems.append(f"{path.name}: no table {name!r} in the data dictionary (tables: {', '.join(known)})")
        elif name in found:
            problems.append(f"{name}: given twice ({found[name].path.name} and {path.name})")
        else:
            found[name] = Source(known[name], path, kind)
    optional = set(REFERENCE_TABLES) | {SCENE_TABLES[s] for s in absent_scenes} | {t.name for t in TABLES if t.optional}
    if extending:
        optional |= {t.name for t in TABLES if t.kind != "event"}
    problems += [
        f"{t}: table is missing (expected {t}.parquet, {t}.csv or {t}/)"
        for t in known
        if t not in set(found) | optional
    ]
    return found, problems


def check_utf8(path: Path) -> str | None:
    """None if the file is valid UTF-8, else where it is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                line += block[: exc.start].count(b"\n")
                return (
                    f"{path.name} is not UTF-8: byte 0x{block[exc.start]:02x} at offset {bad:,} (line {line}); "
                    "save it as UTF-8"
                )
            offset += len(block)
            line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{path.name} is not UTF-8: it ends inside a multi-byte character"
    return None


def _csv_text(column: str) -> str:
    return f"NULLIF(trim(\"{column}\"), '')"


def _csv_value(c: Column, round_money: bool, attempt: bool = False) -> str:
    """The SQL that turns one CSV text column into the schema's type (TRY_ casts when
    `attempt`, for counting the values that do not convert)."""
    cast = "TRY_CAST" if attempt else "CAST"
    v = _csv_text(c.name) if c.dtype != "str" else f"NULLIF(\"{c.name}\", '')"
    if c.dtype == "timestamp":
        return (
            f"CASE WHEN regexp_matches({v}, '{_OFFSET}') "
            f"THEN CAST({cast}({v} AS TIMESTAMPTZ) AT TIME ZONE '{TIMEZONE}' AS TIMESTAMP) "
            f"ELSE {cast}({v} AS TIMESTAMP) END"
        )
    if c.dtype in ("int32", "int64") and c.money and round_money:
        return f"{cast}(round({cast}({v} AS DECIMAL(38, 6))) AS {c.duckdb_type})"
    return f"{cast}({v} AS {c.duckdb_type})"


def _parquet_value(c: Column, source_type: str, round_money: bool) -> str:
    col = f'"{c.name}"'
    if source_type == "TIMESTAMP WITH TIME ZONE":
        col = f"{col} AT TIME ZONE '{TIMEZONE}'"
    elif c.money and round_money and source_type != c.duckdb_type:
        col = f"round({col})"
    return f'CAST({col} AS {c.duckdb_type}) AS "{c.name}"'


def _csv_problems(con: duckdb.DuckDBPyConnection, src: Source, round_money: bool) -> list[str]:
    """Every column whose values do not convert to its type, with an example."""
    t, problems = src.table, []
    for col in t.columns:
        v = _csv_text(col.name)
        unconverted = f"{_csv_value(col, round_money, attempt=True)} IS NULL"
        if col.dtype in ("int32", "int64"):
            # DuckDB would round '127.5' into a whole number; a value must be one already.
            pattern = _DECIMAL if col.money and round_money else _WHOLE
            unconverted = f"(NOT regexp_matches({v}, '{pattern}') OR {unconverted})"
        decimal = f"regexp_matches({v}, '{_DECIMAL}') AND NOT regexp_matches({v}, '{_WHOLE}')"
        count, decimals, example = con.execute(
            f'SELECT count(*), count(*) FILTER (WHERE {decimal}), any_value("{col.name}") '
            f"FROM {src.relation_sql()} WHERE {v} IS NOT NULL AND {unconverted}"
        ).fetchone()
        if not count:
            continue
        if col.money and decimals:
            problems.append(
                f"{t.name}.{col.name}: {count:,} values are not whole NT$ (e.g. {example!r}); {_ROUND_HINT}"
            )
        else:
            problems.append(f"{t.name}.{col.name}: {count:,} values are not {col.duckdb_type} (e.g. {example!r})")
    return problems


def check_columns(con: duckdb.DuckDBPyConnection, src: Source, round_money: bool = False) -> list[str]:
    t = src.table
    if src.kind == "csv" and (problem := check_utf8(src.path)):
        return [problem]
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src.relation_sql()}").fetchall()
    except duckdb.Error as exc:
        return [f"{src.path.name}: cannot be read ({str(exc).splitlines()[0]})"]
    have = {r[0]: r[1] for r in described}
    problems = [f"{t.name}.{c}: column is missing" for c in t.column_names if c not in have]
    problems += [f"{t.name}.{c}: column is not in the data dictionary" for c in have if c not in t.column_names]
    if problems:
        return problems
    if src.kind == "csv":
        return _csv_problems(con, src, round_money)
    for col in t.columns:
        source_type = have[col.name]
        if source_type == col.duckdb_type or source_type in _WIDENS_TO.get(col.duckdb_type, ()):
            continue
        if col.money and (source_type in ("DOUBLE", "FLOAT") or source_type.startswith("DECIMAL")):
            if not round_money:
                problems.append(f"{t.name}.{col.name}: type {source_type} holds decimal amounts; {_ROUND_HINT}")
            continue
        problems.append(f"{t.name}.{col.name}: type {source_type}, expected {col.duckdb_type}")
    return problems


def import_source(
    folder: Path,
    snapshot: str,
    start: dt.date,
    end: dt.date,
    previous: str | None = None,
    absent_scenes: tuple[str, ...] = (),
    round_money: bool = False,
    extends: str | None = None,
) -> dict[str, Any]:
    """Check `folder` against the contract and write it as snapshot `snapshot`; returns the
    manifest. With `extends`, the extract's events are the days from `start` to `end`, which
    follow the parent snapshot's period; the new snapshot covers the parent's period and them."""
    parent = Snapshot.open(extends) if extends else None
    if parent is not None:
        absent_scenes = _extension(parent, start, absent_scenes)
    if end < start:
        raise ContractError([f"period end {end} is before its start {start}"])
    unknown = sorted(set(absent_scenes) - set(SCENES))
    if unknown:
        raise ContractError([f"unknown scene(s) {', '.join(unknown)}; scenes are {', '.join(SCENES)}"])
    if set(absent_scenes) == set(SCENES):
        raise ContractError(["every scene is declared absent: an extract needs at least one scene"])
    sources, problems = find_sources(folder, absent_scenes, extending=parent is not None)
    con = catalog.configure(duckdb.connect(":memory:"))
    types: dict[str, dict[str, str]] = {}
    for name, src in sources.items():
        problems += check_columns(con, src, round_money)
        if src.kind == "parquet" and not problems:
            types[name] = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src.relation_sql()}").fetchall()}
    if problems:
        raise ContractError(problems)
    defaults = [t for t in REFERENCE_TABLES if t not in sources]
    made_by = {
        "synthetic": False,
        "tool": "import",
        "source": str(folder.resolve()),
        "previous": previous,
        "extends": extends,
        "reference_tables_from": {t: f"snapshot {extends}" if extends else "data/reference/" for t in defaults},
        "money_rounded": round_money,
    }
    scenes = [s for s in SCENES if s not in absent_scenes]
    period = ((parent.start if parent else start).isoformat(), end.isoformat())
    with new_snapshot(snapshot, made_by, period, scenes, parent) as out:
        reference = reference_tables()
        for spec in TABLES:
            src = sources.get(spec.name)
            if parent is not None and (src is None or spec.kind == "event"):
                out.share(spec.name, parent)
                if src is None:
                    continue
            if src is None:
                out.write(spec.name, reference[spec.name] if spec.name in reference else spec.polars_schema.to_frame())
                continue
            (out.tmp / spec.name).mkdir(exist_ok=True)
            # An extension's new events sit beside the parent's files, named by their first day.
            part = f"{start:%Y%m%d}" if parent is not None and spec.kind == "event" else "0000"
            target = out.tmp / spec.name / f"part-{part}.parquet"
            if src.kind == "csv":
                select = ", ".join(f'{_csv_value(c, round_money)} AS "{c.name}"' for c in spec.columns)
            else:
                select = ", ".join(_parquet_value(c, types[spec.name][c.name], round_money) for c in spec.columns)
            # Event tables are stored in time order, as generated snapshots are: row groups then
            # cover short spans of time, so queries over one month (member_month reads one month
            # at a time) skip the rest of the file by its statistics instead of reading it all.
            order = f' ORDER BY "{spec.time_column}"' if spec.time_column else ""
            rows = catalog.write_parquet(con, f"SELECT {select} FROM {src.relation_sql()}{order}", target)
            out.record(
                spec.name,
                {
                    "path": f"{spec.name}/{target.name}",
                    "rows": rows,
                    "bytes": target.stat().st_size,
                    "sha256": sha256_file(target),
                },
            )
        return out.manifest(made_by, period, scenes, parent)


def _extension(parent: Snapshot, start: dt.date, absent_scenes: tuple[str, ...]) -> tuple[str, ...]:
    """The scenes an extension of `parent` declares absent (the parent's); ContractError if
    the new days do not follow the parent's period or the scenes differ."""
    problems = []
    if start != parent.end + dt.timedelta(days=1):
        problems.append(
            f"an extension of {parent.id!r} starts the day after its period ends ({parent.end}): "
            f"--start {parent.end + dt.timedelta(days=1)}, not {start}"
        )
    inherited = tuple(s for s in SCENES if s not in parent.scenes)
    if absent_scenes and set(absent_scenes) != set(inherited):
        problems.append(
            f"{parent.id!r} runs the scenes {', '.join(parent.scenes)}: an extension keeps them "
            "(import a whole new snapshot to change them)"
        )
    if problems:
        raise ContractError(problems)
    return inherited


def default_previous(snapshot: str) -> str | None:
    """The newest earlier imported snapshot: operators' extracts are compared with the last one."""
    earlier = [s for s in list_snapshots() if s != snapshot and not Snapshot.open(s).synthetic]
    return earlier[-1] if earlier else None
