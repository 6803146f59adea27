"""Bring your own data: the operator's Parquet or CSV extracts become a snapshot.

The contract: one file per table, named as in the data dictionary (`trips.parquet`,
`trips.csv`, or a folder `trips/` of Parquet files), with the dictionary's columns. Names,
columns and types are checked first, and every problem is reported at once; only then is the
snapshot written (atomically, with its manifest, event tables in time order) and validated by
the gate.
"""

from __future__ import annotations

import codecs
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core import catalog
from pipelines.core.schema import TABLES, Table
from pipelines.core.snapshot import Snapshot, list_snapshots, new_snapshot, sha256_file

#: Source types that convert to the schema's type without loss.
_WIDENS_TO = {
    "BIGINT": {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"},
    "INTEGER": {"TINYINT", "SMALLINT", "UTINYINT", "USMALLINT"},
    "DOUBLE": {"FLOAT", "TINYINT", "SMALLINT", "INTEGER", "BIGINT"},
    "TIMESTAMP": {"TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"},
}


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

    def relation_sql(self, all_varchar: bool = False) -> str:
        if self.kind == "csv":
            extra = ", all_varchar = true" if all_varchar else ""
            return f"read_csv({catalog.sql_literal(str(self.path))}, header = true{extra})"
        target = self.path / "*.parquet" if self.path.is_dir() else self.path
        return f"read_parquet({catalog.sql_literal(str(target))})"


def find_sources(folder: Path) -> tuple[dict[str, Source], list[str]]:
    problems: list[str] = []
    if not folder.is_dir():
        raise ContractError([f"{folder} is not a folder"])
    known = {t.name: t for t in TABLES}
    found: dict[str, Source] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        name, kind = (path.name, "parquet") if path.is_dir() else (path.stem, path.suffix.lower().lstrip("."))
        if kind not in ("parquet", "csv"):
            problems.append(f"{path.name}: not a .parquet or .csv file or a folder of Parquet files")
        elif name not in known:
            problems.append(f"{path.name}: no table {name!r} in the data dictionary (tables: {', '.join(known)})")
        elif name in found:
            problems.append(f"{name}: given twice ({found[name].path.name} and {path.name})")
        else:
            found[name] = Source(known[name], path, kind)
    problems += [f"{t}: table is missing (expected {t}.parquet, {t}.csv or {t}/)" for t in known if t not in found]
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


def check_columns(con: duckdb.DuckDBPyConnection, src: Source) -> list[str]:
    t = src.table
    if src.kind == "csv" and (problem := check_utf8(src.path)):
        return [problem]
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src.relation_sql(all_varchar=src.kind == 'csv')}").fetchall()
    except duckdb.Error as exc:
        return [f"{src.path.name}: cannot be read ({str(exc).splitlines()[0]})"]
    have = {r[0]: r[1] for r in described}
    problems = [f"{t.name}.{c}: column is missing" for c in t.column_names if c not in have]
    problems += [f"{t.name}.{c}: column is not in the data dictionary" for c in have if c not in t.column_names]
    for col in t.columns:
        if col.name not in have:
            continue
        if src.kind == "csv":
            bad = con.execute(
                f'SELECT count(*), any_value("{col.name}") FROM {src.relation_sql(all_varchar=True)} '
                f'WHERE "{col.name}" IS NOT NULL AND "{col.name}" <> \'\' '
                f'AND TRY_CAST("{col.name}" AS {col.duckdb_type}) IS NULL'
            ).fetchone()
            if bad[0]:
                problems.append(f"{t.name}.{col.name}: {bad[0]:,} values are not {col.duckdb_type} (e.g. {bad[1]!r})")
        elif have[col.name] != col.duckdb_type and have[col.name] not in _WIDENS_TO.get(col.duckdb_type, ()):
            problems.append(f"{t.name}.{col.name}: type {have[col.name]}, expected {col.duckdb_type}")
    return problems


def import_source(
    folder: Path, snapshot: str, start: dt.date, end: dt.date, previous: str | None = None
) -> dict[str, Any]:
    """Check `folder` against the contract and write it as snapshot `snapshot`; returns the manifest."""
    if end < start:
        raise ContractError([f"period end {end} is before its start {start}"])
    sources, problems = find_sources(folder)
    con = catalog.configure(duckdb.connect(":memory:"))
    for src in sources.values():
        problems += check_columns(con, src)
    if problems:
        raise ContractError(problems)
    made_by = {"synthetic": False, "tool": "import", "source": str(folder.resolve()), "previous": previous}
    with new_snapshot(snapshot, made_by, (start.isoformat(), end.isoformat())) as out:
        for name, src in sources.items():
            (out.tmp / name).mkdir()
            target = out.tmp / name / "part-0000.parquet"
            select = ", ".join(
                f'CAST(NULLIF(CAST("{c.name}" AS VARCHAR), \'\') AS {c.duckdb_type}) AS "{c.name}"'
                if src.kind == "csv"
                else f'CAST("{c.name}" AS {c.duckdb_type}) AS "{c.name}"'
                for c in src.table.columns
            )
            # Event tables are stored in time order, as generated snapshots are: row groups then
            # cover short spans of time, so queries over one month (member_month reads one month
            # at a time) skip the rest of the file by its statistics instead of reading it all.
            order = f' ORDER BY "{src.table.time_column}"' if src.table.time_column else ""
            rows = catalog.write_parquet(
                con, f"SELECT {select} FROM {src.relation_sql(all_varchar=src.kind == 'csv')}{order}", target
            )
            out.record(
                name,
                {
                    "path": f"{name}/{target.name}",
                    "rows": rows,
                    "bytes": target.stat().st_size,
                    "sha256": sha256_file(target),
                },
            )
        return out.manifest(made_by, (start.isoformat(), end.isoformat()))


def default_previous(snapshot: str) -> str | None:
    """The newest earlier imported snapshot: operators' extracts are compared with the last one."""
    earlier = [s for s in list_snapshots() if s != snapshot and not Snapshot.open(s).synthetic]
    return earlier[-1] if earlier else None
