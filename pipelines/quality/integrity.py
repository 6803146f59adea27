"""File integrity: a snapshot is exactly the files its manifest lists, unchanged.

The gate checks every file in full (sha256, readable as Parquet) and remembers, per file, the
identity it hashed (size, modification time in ns, inode) in a cache beside the verdict.
Every later use (`require_passing`, which marts, run and the notebooks go through) checks the
sizes always and re-hashes only a file whose identity changed; a file the manifest does not
list is refused, as is one that is missing or changed.
"""

from __future__ import annotations

import json
import os
import stat as stat_module
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.schema import TABLES
from pipelines.core.snapshot import MANIFEST, Snapshot, sha256_file

Problem = dict[str, str]


def _identity(path: str) -> list[int] | None:
    """Size, modification time and inode of a regular file; None if it is missing or a link.
    One lstat, and strings rather than Paths: a report checks thousands of files."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # as Path.exists() answers False for both
        return None
    return None if stat_module.S_ISLNK(st.st_mode) else [st.st_size, st.st_mtime_ns, st.st_ino]


def _stray(folder: Path, known: set[str]) -> list[str]:
    """Files under `folder` (relative paths) that are not in `known`."""
    found = []
    for root, folders, names in os.walk(folder):
        prefix = os.path.relpath(root, folder)
        links = [d for d in folders if os.path.islink(os.path.join(root, d))]  # os.walk does not enter them
        found += [name if prefix == "." else f"{prefix}/{name}" for name in names + links]
    return sorted(set(found) - known)


def _problem(table: str, file: str, problem: str) -> Problem:
    return {"table": table, "file": file, "problem": problem}


def check_files(snap: Snapshot, cache: Path, full: bool = False, shared: Path | None = None) -> list[Problem]:
    """Every problem with the snapshot's files; `full` hashes every file and reads its Parquet
    footer (the gate), otherwise a file whose identity is cached as checked is trusted.
    `shared`: the cache of the snapshot this one extends; a file shared with it by a hard link
    (the same inode, size and time) that its gate hashed is trusted even when `full`."""
    listed = [(name, f) for name, t in snap.manifest["tables"].items() for f in t["files"]]
    problems = [
        _problem(spec.name, "", "table is missing from the snapshot")
        for spec in TABLES
        if spec.name not in snap.manifest["tables"]
    ]
    known = {f["path"] for _, f in listed} | {MANIFEST}
    folder = snap.folder
    for relative in _stray(folder, known):
        problems.append(_problem(relative.split("/")[0], relative, "file is not in the manifest: remove it"))
    checked: dict[str, Any] = {} if full or not cache.exists() else json.loads(cache.read_text())
    if shared is not None and shared.exists():
        own = {f["path"] for _, f in listed if "from" not in f}
        checked |= {path: seen for path, seen in json.loads(shared.read_text()).items() if path not in own}

    def stat(item: tuple[str, dict[str, Any]]) -> tuple[str, list[int] | None, Problem | None]:
        """The file's identity, or its problem; (path, identity, None) with the identity not
        yet known to match the manifest's hash."""
        name, f = item
        identity = _identity(f"{folder}/{f['path']}")
        if identity is None:
            return f["path"], None, _problem(name, f["path"], "file is missing")
        if identity[0] != f["bytes"]:
            return (
                f["path"],
                None,
                _problem(name, f["path"], f"file is {identity[0]:,} bytes, the manifest says {f['bytes']:,}"),
            )
        return f["path"], identity, None

    def hashed(item: tuple[str, dict[str, Any]], identity: list[int]) -> tuple[str, list[int] | None, Problem | None]:
        name, f = item
        if sha256_file(folder / f["path"]) == f["sha256"]:
            return f["path"], identity, None
        problem = (
            "file changed since the snapshot was written (sha256 differs from the manifest): "
            "truncated, corrupt or edited"
        )
        return f["path"], None, _problem(name, f["path"], problem)

    # A report checks every file of the snapshot again (thousands at the operator's size): the
    # files whose identity is cached as hashed need a stat only, the rest are hashed in threads
    # (hashlib releases the GIL, so two threads hash two files at once).
    results = [stat(item) for item in listed]
    unhashed = [
        i
        for i, ((_, f), (_, identity, _)) in enumerate(zip(listed, results, strict=True))
        if identity is not None and checked.get(f["path"]) != [*identity, f["sha256"]]
    ]
    if unhashed:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            done = pool.map(lambda i: hashed(listed[i], results[i][1]), unhashed)
            for i, result in zip(unhashed, done, strict=True):
                results[i] = result
    problems += [p for _, _, p in results if p]
    if full:
        con = duckdb.connect()
        bad = {p["file"] for p in problems}
        for name, f in listed:
            if f["path"] in bad:
                continue
            try:
                con.execute("SELECT count(*) FROM parquet_metadata(?)", [str(folder / f["path"])]).fetchall()
            except duckdb.Error as exc:
                problems.append(_problem(name, f["path"], f"not readable as Parquet: {exc}"))
    good = {
        path: [*identity, f["sha256"]]
        for (path, identity, p), (_, f) in zip(results, listed, strict=True)
        if identity and not p
    }
    if not problems and good != checked:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(good, sort_keys=True))
        tmp.replace(cache)
    return problems
