"""SQL files: one query per file, in a package's `sql/` folder, named by layer.

Layers, read in this order (as dbt's jaffle-shop reads its models):
    stg_  staging: raw tables renamed, cast or unioned, nothing aggregated
    int_  intermediate steps of a mart, never published
    mart_ a published mart (Parquet in data/marts/<snapshot>/, documented in the marts dictionary)
    rpt_  a query a report runs on the marts
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

LAYERS = ("stg_", "int_", "mart_", "rpt_")


@dataclass(frozen=True)
class SqlFolder:
    folder: Path

    @classmethod
    def beside(cls, module_file: str) -> SqlFolder:
        """The `sql/` folder next to a module: `SQL = SqlFolder.beside(__file__)`."""
        return cls(Path(module_file).resolve().parent / "sql")

    def load(self, name: str) -> str:
        return _read(self.folder / f"{name}.sql")

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.sql"))


class SqlText(str):
    """A query's text that remembers the file it came from, so an error can name it."""

    path: Path

    def __new__(cls, text: str, path: Path) -> SqlText:
        self = super().__new__(cls, text)
        self.path = path
        return self


@cache
def _read(path: Path) -> SqlText:
    if not path.exists():
        raise FileNotFoundError(f"no SQL file {path.name} in {path.parent}")
    return SqlText(path.read_text(), path)


def inline(query: str, values: dict[str, Any]) -> str:
    """The query with its `$name` parameters replaced by literal values, for the few places
    that union one query over several values of its parameters (values we make, never a
    user's)."""
    tree = exp.replace_placeholders(sqlglot.parse_one(query, read="duckdb"), **values)
    return tree.sql(dialect="duckdb")
