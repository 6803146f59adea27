"""DuckDB SQL, one query per file; `load("name")` reads `name.sql`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent


@cache
def load(name: str) -> str:
    return (_DIR / f"{name}.sql").read_text()
