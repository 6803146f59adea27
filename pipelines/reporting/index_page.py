"""The report site of a snapshot: each run's index.html (every report with its subject,
period, headline figure and status, and the snapshot's other runs) and the snapshot's landing
page, reports/<snapshot>/index.html (the latest run of each batch, and every run).

Self-contained (inline styles, no scripts), so it opens offline from a file system.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK TC",sans-serif;margin:2rem;color:#222;
max-width:1100px}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#1a7f37;font-weight:600}.failed{color:#c62828;font-weight:600}
code{font-size:.8rem}small{color:#666}.banner{padding:.6rem 1rem;border-radius:6px;margin:1rem 0}
.good{background:#e6f4ea}.bad{background:#fdecea}
"""
e = html.escape


def _page(title: str, body: list[str]) -> str:
    head = f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
    return "\n".join([f"{head}<style>{_STYLE}</style></head><body>", *body, "</body></html>"]) + "\n"


def runs_of(root: Path) -> list[dict[str, Any]]:
    """Every published run of a snapshot (complete or failed), newest first, with the links
    (latest, latest-<batch>, latest-en ...) that point at it."""
    links: dict[str, list[str]] = {}
    for link in sorted(root.glob("latest*")):
        if link.is_symlink():
            links.setdefault(link.readlink().name, []).append(link.name)
    runs = []
    for manifest in root.glob("*/manifest.json"):
        if manifest.parent.name.startswith(".") or manifest.parent.is_symlink():  # in progress, or a link
            continue
        m = json.loads(manifest.read_text())
        ok = sum(1 for r in m["reports"] if r["status"] == "ok")
        runs.append(
            {
                "folder": manifest.parent.name,
                "batch": m["batch"],
                "lang": _languages(m),
                "status": m["status"],
                "finished_at": m["finished_at"],
                "reports": f"{ok} of {len(m['reports'])}",
                "links": links.get(manifest.parent.name, []),
            }
        )
    return sorted(runs, key=lambda r: (r["finished_at"], r["folder"]), reverse=True)


def _languages(manifest: dict[str, Any]) -> str:
    """The languages a run's reports are written in, as their pages declare them (or their
    parameters, for a report that failed before its page said)."""
    said = {r.get("page", {}).get("lang") or (r.get("parameters") or {}).get("lang") for r in manifest["reports"]}
    return ", ".join(sorted(said - {None, ""}))


def _in(languages: str) -> str:
    return f" ({e(languages)})" if languages else ""


def _runs_table(runs: list[dict[str, Any]], prefix: str) -> list[str]:
    out = [
        "<table><tr><th>finished (UTC)</th><th>batch</th><th>language</th><th>reports ok</th><th>status</th>"
        "<th>run</th></tr>"
    ]
    for r in runs:
        linked = "".join(f" <small>&larr; {e(name)}</small>" for name in r["links"])
        out.append(
            f"<tr><td>{e(r['finished_at'])}</td><td>{e(r['batch'])}</td><td>{e(r['lang'])}</td>"
            f"<td>{e(r['reports'])}</td>"
            f"<td><span class='{e(r['status'])}'>{e(r['status'])}</span></td>"
            f"<td><a href='{e(prefix + r['folder'])}/index.html'><code>{e(r['folder'])}</code></a>{linked}</td></tr>"
        )
    return [*out, "</table>"]


def render(manifest: dict[str, Any], runs: list[dict[str, Any]] | None = None) -> str:
    """A run's index: its reports as their readers see them, then the snapshot's runs before it."""
    dq = manifest["validation"]
    label = "SYNTHETIC data" if manifest["snapshot_synthetic"] else "imported data"
    rows = []
    for r in manifest["reports"]:
        page = r.get("page", {})
        name = e(r["name"])
        title = e(page.get("title") or r["name"])
        status = f"<span class='{e(r['status'])}'>{e(r['status'])}</span>"
        if r["error"]:
            status += f"<br><small>{e(r['error'])}</small>"
        files = f"<a href='{name}.ipynb'>notebook</a> &middot; <a href='{name}.log'>log</a>"
        rows.append(
            f"<tr><td><a href='{name}.html'>{title}</a><br><small>{e(r['family'])} &middot; {files}</small></td>"
            f"<td>{e(page.get('subject', ''))}</td><td>{e(page.get('period', ''))}</td>"
            f"<td>{e(page.get('headline', ''))}</td><td>{status}</td></tr>"
        )
    ok = manifest["status"] == "ok"
    done = sum(1 for r in manifest["reports"] if r["status"] == "ok")
    stats = dq["statistics"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(manifest["versions"].items()))
    body = [
        f"<p><a href='../index.html'>&larr; every run for snapshot {e(manifest['snapshot'])}</a></p>",
        f"<h1>Reports for snapshot <code>{e(manifest['snapshot'])}</code> ({e(label)})</h1>",
        f"<div class='banner {'good' if ok else 'bad'}'>Batch <b>{e(manifest['batch'])}</b>"
        f"{_in(_languages(manifest))}, run "
        f"<code>{e(manifest['run_id'])}</code>: {done} of {len(manifest['reports'])} reports ok."
        f" Data quality: {'passed' if dq['success'] else 'FAILED'} "
        f"({stats['successful_expectations']} of {stats['evaluated_expectations']} expectations)"
        f" &middot; <a href='{e(dq['page'])}'>data-quality page</a>"
        " &middot; <a href='manifest.json'>manifest</a></div>",
        "<table><tr><th>report</th><th>merchant or employer</th><th>period</th><th>headline</th><th>status</th></tr>",
        *rows,
        "</table>",
    ]
    # A run made again (--force) replaces its own folder: it is not an earlier run.
    runs = [r for r in runs or [] if r["folder"].removesuffix(".failed") != manifest["run_id"]]
    if runs:
        body += ["<h2>Earlier runs for this snapshot</h2>", *_runs_table(runs, "../")]
    body.append(
        f"<p><small>Code {e(str(manifest['git']['commit']))[:12]}"
        f"{' (uncommitted changes)' if manifest['git']['dirty'] else ''}; validated {e(dq['validated_at'])}; "
        f"finished {e(manifest['finished_at'])}; {e(versions)}.</small></p>"
    )
    return _page(f"Reports for {manifest['snapshot']}: {manifest['batch']}", body)


def landing(snapshot: str, label: str, runs: list[dict[str, Any]]) -> str:
    """reports/<snapshot>/index.html: the newest complete run of each batch, then every run;
    `label` says whether the snapshot's data are synthetic or imported."""
    latest = [(name, r) for r in runs for name in r["links"]]
    body = [
        f"<h1>Reports for snapshot <code>{e(snapshot)}</code> ({e(label)})</h1>",
        "<h2>Latest complete run of each batch</h2>",
    ]
    if latest:
        body.append("<ul>")
        body += [
            f"<li><a href='{e(name)}/index.html'>{e(name)}</a>: batch {e(r['batch'])}{_in(r['lang'])}, "
            f"{e(r['reports'])} reports, finished {e(r['finished_at'])}</li>"
            for name, r in sorted(latest)
        ]
        body.append("</ul>")
    else:
        body.append("<p>No batch has completed yet.</p>")
    body += ["<h2>Every run</h2>", *_runs_table(runs, "")]
    return _page(f"Reports for {snapshot}", body)
