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


@cache
def _read(path: Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"no SQL file {path.name} in {path.parent}")
    return path.read_text()
