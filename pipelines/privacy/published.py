"""Figures published once: what an outside reader was shown, kept, and shown again unchanged.

Figures without noise (a campaign's effect in the merchant's view) must not be recomputed
after the data change: a report run again after a refund or a correction would show the
difference of two figures, which is what the changed members did. So the first publication is
kept (data/privacy/published/<kind>/<key>.json) and every later run shows it, whatever the
snapshot. Deleting the file is the operator's deliberate act, never a run's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.core.paths import check_name, data_dir


def published_path(kind: str, key: str) -> Path:
    return data_dir() / "privacy" / "published" / check_name(kind, "kind") / f"{check_name(key, 'key')}.json"


def once(kind: str, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The figures of `kind` for `key` as first published, computing and keeping them the
    first time. Two processes publishing at once keep one of the two, the same for both."""
    path = published_path(kind, key)
    if path.exists():
        return json.loads(path.read_text())
    figures = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
    try:
        os.link(tmp, path)  # fails if another process published first: theirs stands
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return json.loads(path.read_text())
