"""Configuration files read strictly: a key the reader does not know is refused, naming the
key and the file, so that a typo never silently runs the defaults."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used as it is."""


def read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def check_keys(table: dict[str, Any], known: Iterable[str], where: str, required: Iterable[str] = ()) -> dict[str, Any]:
    """`table` unchanged if it holds only `known` keys and every `required` one; else ConfigError."""
    known = list(known)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    missing = [k for k in required if k not in table]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    return table
