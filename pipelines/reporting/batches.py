"""Batch files (pipelines/reporting/batches/*.toml): which reports a run publishes, with their
parameters, checked against each notebook and the snapshot before anything runs.

A batch file has a `description` and `[[reports]]` entries, each with `family`, `notebook`,
optional `params` (fixed values) and optional `grid` (each key a list of values, or the name of
a list a family resolves from the snapshot, such as "@carbon_programme"). Unknown keys are
refused, so that a typo never silently runs the defaults.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core import catalog
from pipelines.core.config import ConfigError, check_keys, read_toml
from pipelines.core.paths import NOTEBOOK_DIR, check_name
from pipelines.core.snapshot import Snapshot
from pipelines.families import FAMILIES, named_lists
from pipelines.reporting.words import LANGS, check_lang

BATCH_DIR = Path(__file__).parent / "batches"
_BATCH_KEYS = ("description", "reports")
_ENTRY_KEYS = ("family", "notebook", "params", "grid")


class RunError(ValueError):
    """A run that cannot start: bad batch, parameters, snapshot, or another run holding the lock."""


@dataclass(frozen=True)
class Report:
    family: str
    name: str
    notebook: Path
    params: dict[str, Any]


def batches() -> list[str]:
    return sorted(p.stem for p in BATCH_DIR.glob("*.toml"))


@cache
def _notebook_parameters(path: Path) -> dict[str, Any]:
    import papermill

    return {name: p["default"] for name, p in papermill.inspect_notebook(str(path)).items()}


def _check_value(report: str, name: str, value: Any, default: str) -> None:
    """The value must have the type of the notebook's default (papermill passes it as is)."""
    literal = _literal_type(default)
    if literal is None:
        return
    ok = isinstance(value, literal) and not (literal is int and isinstance(value, bool))
    if literal is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise RunError(f"{report}: parameter {name}={value!r} should be {literal.__name__} like its default {default}")


def _literal_type(default: str) -> type | None:
    text = default.strip().replace("_", "")
    if text in ("True", "False"):
        return bool
    if re.fullmatch(r"-?\d+", text):
        return int
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", text):
        return float
    if text[:1] in "\"'":
        return str
    return None


def _check_family(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    report: str,
    notebook: str,
    declared: dict[str, str],
    params: dict[str, Any],
) -> None:
    """The own check of every parameter of the family whose notebook this is (the notebook's
    defaults with the batch's values), so that a bad value stops the batch before any report
    runs, not in the middle. Found by notebook: `run --notebook campaign_effect` names no family."""
    check = next((f.check for f in FAMILIES if f.notebook_name == notebook), None)
    if check is None:
        return
    try:
        check(con, snap, {name: ast.literal_eval(default) for name, default in declared.items()} | params)
    except ValueError as exc:
        raise RunError(f"{report}: {exc}") from None


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        spec = check_keys(read_toml(path), _BATCH_KEYS, str(path), required=("reports",))
        for i, entry in enumerate(spec["reports"], start=1):
            check_keys(entry, _ENTRY_KEYS, f"{path}: report {i}", required=("family", "notebook"))
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    return spec["reports"]


def load_batch(name: str, snap: Snapshot, only: list[str] | None = None, lang: str = "") -> list[Report]:
    """The batch file's reports, every parameter checked against its notebook, before anything
    runs; `lang`: every report in that language instead of the batch's."""
    path = BATCH_DIR / f"{check_name(name, 'batch name')}.toml"
    if not path.exists():
        raise RunError(f"unknown batch {name!r}; batches: {', '.join(batches())}")
    # A run in another language is linked as latest-BATCH-LANG: a batch named so would share it.
    if any(name == code or name.endswith(f"-{code}") for code in LANGS):
        raise RunError(f"batch {name!r}: a batch name may not be or end in a language ({', '.join(LANGS)}); rename it")
    return _reports(name, _read(path), snap, only, _checked_lang(lang))


def _checked_lang(lang: str) -> str:
    if lang:
        try:
            check_lang(lang)
        except ValueError as exc:
            raise RunError(f"--lang: {exc}") from None
    return lang


def _reports(
    name: str, entries: list[dict[str, Any]], snap: Snapshot, only: list[str] | None, lang: str = ""
) -> list[Report]:
    """A batch's entries as reports, every parameter checked against its notebook."""
    families = {r["family"] for r in entries}
    unknown = set(only or []) - families
    if unknown:
        raise RunError(
            f"--only {', '.join(sorted(unknown))}: not in batch {name!r} (families: {', '.join(sorted(families))})"
        )
    reports: list[Report] = []
    needs = {f.name: f.scenes for f in FAMILIES}
    with catalog.connect(snap) as con:
        for entry in entries:
            if only and entry["family"] not in only:
                continue
            if needs.get(entry["family"]) and not set(needs[entry["family"]]) & set(snap.scenes):
                continue  # the operator does not run the scene these reports stand on
            notebook = NOTEBOOK_DIR / entry["notebook"]
            if not notebook.exists():
                raise RunError(f"batch {name!r}: notebook {entry['notebook']} does not exist")
            declared = _notebook_parameters(notebook)
            for grid_params in _expand(entry, con):
                params = {**entry.get("params", {}), **grid_params, "snapshot": snap.id}
                if lang and "lang" in declared:
                    params.pop("lang", None)
                    # The notebook's own language is left unsaid, so such a run is the batch's
                    # usual run (the same run ID), not a copy of it.
                    if ast.literal_eval(declared["lang"]) != lang:
                        params["lang"] = lang
                label = "-".join(str(grid_params[k]) for k in sorted(grid_params)) if grid_params else ""
                report_name = check_name(f"{entry['family']}-{label}" if label else entry["family"], "report name")
                for key, value in params.items():
                    if key not in declared:
                        raise RunError(f"{report_name}: {entry['notebook']} has no parameter {key!r}")
                    _check_value(report_name, key, value, declared[key])
                if "lang" in params:
                    try:
                        check_lang(params["lang"])
                    except ValueError as exc:
                        raise RunError(f"{report_name}: {exc}") from None
                _check_family(con, snap, report_name, notebook.name, declared, params)
                reports.append(Report(entry["family"], report_name, notebook, params))
        names = [r.name for r in reports]
        if len(set(names)) != len(names):
            raise RunError(f"batch {name!r} names two reports the same")
        _check_entities(name, snap, reports, con)
    return reports


def one_report(notebook: str, params: list[tuple[str, str]], snap: Snapshot, lang: str = "") -> list[Report]:
    """One report of a notebook (its name without .ipynb) with papermill-style parameters
    (`-p NAME VALUE`): each value is read as the type of its default in the notebook's
    parameters cell, then checked as a batch's would be; `lang` as for a batch."""
    path = NOTEBOOK_DIR / f"{check_name(notebook, 'notebook name')}.ipynb"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")))
        raise RunError(f"unknown notebook {notebook!r}; notebooks: {known}")
    declared = _notebook_parameters(path)
    values: dict[str, Any] = {}
    for name, text in params:
        if name not in declared:
            raise RunError(f"{path.name} has no parameter {name!r}; its parameters: {', '.join(declared)}")
        values[name] = _parse_value(name, text, declared[name])
    entry = {"family": notebook, "notebook": path.name, "params": values}
    return _reports(f"{notebook} with -p", [entry], snap, None, _checked_lang(lang))


def _parse_value(name: str, text: str, default: str) -> Any:
    """A command-line value as the type of the parameter's default, as papermill reads `-p`."""
    literal = _literal_type(default)
    try:
        if literal is bool:
            if text not in ("True", "False", "true", "false"):
                raise ValueError(text)
            return text in ("True", "true")
        return literal(text) if literal in (int, float) else text
    except ValueError:
        kind = literal.__name__ if literal else "str"
        raise RunError(f"parameter {name}={text!r} should be {kind} like its default {default}") from None


def open_releases(
    con: duckdb.DuckDBPyConnection, snap: Snapshot, batch: str, reports: list[Report], new: bool = False
) -> None:
    """The privacy releases of each family that publishes noisy figures, charged before any
    report runs (a release that would exceed the yearly budget stops the batch here); each
    report gets its family's release ID as the parameter `release`. `con` reads the snapshot's
    marts; `new`: new revisions with fresh figures (after a correction)."""
    for family in FAMILIES:
        mine = [r for r in reports if r.family == family.name]
        if family.release is None or not mine:
            continue
        try:
            rid = family.release(con, snap, batch, [{**_defaults(r), **r.params} for r in mine], new)
        except ValueError as exc:
            raise RunError(f"batch {batch!r}: {exc}") from None
        if rid is not None:
            for r in mine:
                r.params["release"] = rid


def _defaults(report: Report) -> dict[str, Any]:
    return {name: ast.literal_eval(default) for name, default in _notebook_parameters(report.notebook).items()}


# Parameters that name something in the snapshot, and where to find it.
_ENTITIES = {
    "merchant": "SELECT merchant_id FROM merchants UNION SELECT brand_id FROM merchants WHERE brand_id IS NOT NULL",
    "employer": "SELECT employer_id FROM employers",
}


def _check_entities(batch: str, snap: Snapshot, reports: list[Report], con: duckdb.DuckDBPyConnection) -> None:
    """Every merchant and employer a report names exists in the snapshot (compared in Python,
    never spliced into SQL)."""
    wanted = {key: {r.params[key] for r in reports if r.params.get(key)} for key in _ENTITIES}
    for key, values in wanted.items():
        missing = sorted(values - {row[0] for row in con.execute(_ENTITIES[key]).fetchall()}) if values else []
        if missing:
            names = ", ".join(map(str, missing))
            raise RunError(f"batch {batch!r}: unknown {key} {names} in snapshot {snap.id!r}")


def _expand(entry: dict[str, Any], con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The parameter grid: each key a list of values (or a named list resolved from the data)."""
    combos: list[dict[str, Any]] = [{}]
    for key, values in entry.get("grid", {}).items():
        values = resolve_list(values, con) if isinstance(values, str) else values
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def resolve_list(token: str, con: duckdb.DuckDBPyConnection) -> list[str]:
    """A named list in a batch file, resolved by the family that declares it."""
    lists = named_lists()
    if token not in lists:
        raise RunError(f"unknown list {token!r} in batch file; known: {', '.join(sorted(lists))}")
    return lists[token](con)
