"""One freshness hash: whatever can change an output is hashed, so that a stale output is
never reused. Callers name the files and folders that can change theirs (the marts: core,
their orchestration, every family package, the reference data and the lock; a report run:
the whole package, the notebooks and the lock)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from pipelines.core.paths import REPO_ROOT

_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def files(inputs: Iterable[Path]) -> list[Path]:
    """Every file under the given files and folders, sorted, without caches."""
    found: set[Path] = set()
    for path in inputs:
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix not in _SKIP_SUFFIXES and not _SKIP_DIRS & set(p.parts)
            )
        elif path.exists():
            found.add(path)
    return sorted(found)


def inputs_hash(inputs: Iterable[Path]) -> str:
    """sha256 over each file's path (relative to the repository) and bytes."""
    h = hashlib.sha256()
    for path in files(inputs):
        real = path.resolve()
        name = real.relative_to(REPO_ROOT) if real.is_relative_to(REPO_ROOT) else path
        h.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
