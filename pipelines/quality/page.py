"""The data-quality page: one self-contained HTML file (no scripts, styles or fonts fetched)."""

from __future__ import annotations

import html
from typing import Any

from pipelines.quality.describe import not_applicable, observed, samples, volume_rows
from pipelines.quality.engine import Outcome

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK TC",sans-serif;margin:2rem;color:#222;
max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
.na{color:#888}summary{font-size:1.05rem;margin:1rem 0 .5rem;cursor:pointer}
.banner{padding:.8rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.ok{background:#e6f4ea}.bad{background:#fdecea}code{font-size:.8rem}small{color:#666}
"""


def _outcome_from_json(item: dict[str, Any]) -> Outcome:
    return Outcome(
        item["suite"],
        item["expectation_config"],
        item["success"],
        item["result"],
        item["exception_info"]["exception_message"],
    )


def render(document: dict[str, Any], label: str, back: str = "") -> str:
    """The page of a verdict; `label` says whether the data are synthetic or imported, and
    `back`, when given, is the index the page links back to (a report run's copy)."""
    e = html.escape
    ok = document["success"]
    stats = document["statistics"]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Data quality: {e(document['snapshot'])}</title><style>{_STYLE}</style></head><body>",
        *([f"<p><a href='{e(back)}'>&larr; the reports of this run</a></p>"] if back else []),
        f"<h1>Data quality of snapshot <code>{e(document['snapshot'])}</code> ({e(label)})</h1>",
        f"<div class='banner {'ok' if ok else 'bad'}'>"
        f"{'PASSED: reports may run' if ok else 'FAILED: no report runs on this snapshot'}"
        f" &mdash; {stats['successful_expectations']} of {stats['evaluated_expectations']} expectations met,"
        f" {len(document['integrity'])} file problems, {stats['not_applicable']} not applicable</div>",
        f"<p><small>Validated {e(document['validated_at'])} by {e(document['engine'])}; suites hash "
        f"<code>{e(document['suites_hash'][:16])}</code>; "
        f"previous snapshot: {e(document['previous_snapshot'] or 'none')}.</small></p>",
    ]
    if document["integrity"]:
        out.append("<h2>File problems</h2><table><tr><th>table</th><th>file</th><th>problem</th></tr>")
        out += [
            f"<tr><td>{e(p['table'])}</td><td>{e(p['file'])}</td><td class='fail'>{e(p['problem'])}</td></tr>"
            for p in document["integrity"]
        ]
        out.append("</table>")
    outcomes = [_outcome_from_json(r) for r in document["results"]]
    failures = [o for o in outcomes if o.success is False]
    if failures:
        # On a page of hundreds of rules the few that failed come first, so nobody has to search.
        out.append(f"<h2>What failed ({len(failures)})</h2>")
        out += _table(failures, with_suite=True)
    volume = volume_rows(document)
    if volume:
        out.append(
            "<h2>Volume observed</h2><p><small>Bands in pipelines/quality/config/bands.toml.</small></p><table><tr>"
        )
        out += [f"<th>{e(k)}</th>" for k in volume[0]]
        out.append("</tr>")
        out += ["<tr>" + "".join(f"<td>{e(v)}</td>" for v in row.values()) + "</tr>" for row in volume]
        out.append("</table>")
    if document.get("profile"):
        out += _profile(document["profile"])
    out.append("<h2>Every rule, suite by suite</h2>")
    for suite in document["suites"]:
        rows = [o for o in outcomes if o.suite == suite]
        failed = sum(1 for o in rows if o.success is False)
        # Rules that were met are folded away: the failures are listed above.
        out.append(f"<details{' open' if failed else ''}><summary>Suite <code>{e(suite)}</code>: ")
        out.append(f"{len(rows) - failed} of {len(rows)} met</summary>")
        out += _table(rows)
        out.append("</details>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _profile(tables: list[dict[str, Any]]) -> list[str]:
    """Per table: rows, then each profiled column's empty share and range."""
    e = html.escape
    out = [
        "<h2>What each table holds</h2><table><tr><th>table</th><th>rows</th><th>column</th>"
        "<th>empty</th><th>lowest</th><th>highest</th></tr>"
    ]
    for t in tables:
        first = f"<td><code>{e(t['table'])}</code></td><td>{t['rows']:,}</td>"
        if not t["columns"]:
            out.append(f"<tr>{first}<td colspan='4'></td></tr>")
        for i, c in enumerate(t["columns"]):
            lead = first if i == 0 else "<td></td><td></td>"
            empty = "" if c["empty_pct"] is None else f"{c['empty_pct']:.2f} %"
            out.append(
                f"<tr>{lead}<td><code>{e(c['column'])}</code></td><td>{empty}</td>"
                f"<td>{e(c['min'] or '')}</td><td>{e(c['max'] or '')}</td></tr>"
            )
    out.append("</table>")
    return out


def _table(rows: list[Outcome], with_suite: bool = False) -> list[str]:
    e = html.escape
    suite_head = "<th>suite</th>" if with_suite else ""
    out = [
        f"<table><tr><th>outcome</th>{suite_head}<th>table.column</th><th>rule</th><th>observed</th>"
        "<th>sample keys</th></tr>"
    ]
    for o in rows:
        cls, word = {True: ("pass", "met"), False: ("fail", "FAILED"), None: ("na", "n/a")}[o.success]
        where = o.table + (f".{o.column}" if o.column else "")
        shown = not_applicable(o) if o.success is None else observed(o)
        keys = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in samples(o))
        suite = f"<td><code>{e(o.suite)}</code></td>" if with_suite else ""
        out.append(
            f"<tr><td class='{cls}'>{word}</td>{suite}<td><code>{e(where)}</code></td>"
            f"<td>{e(o.expectation.get('description') or o.expectation['type'])}</td>"
            f"<td>{e(shown)}</td><td><code>{e(keys)}</code></td></tr>"
        )
    out.append("</table>")
    return out
