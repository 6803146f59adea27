"""index.html of a report run: every report with status, parameters, data quality and links.

Self-contained (inline styles, no scripts), so it opens offline from a file system.
"""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#1a7f37;font-weight:600}.failed{color:#c62828;font-weight:600}
code{font-size:.8rem}small{color:#666}.banner{padding:.6rem 1rem;border-radius:6px;margin:1rem 0}
.good{background:#e6f4ea}.bad{background:#fdecea}
"""


def render(manifest: dict[str, Any]) -> str:
    e = html.escape
    dq = manifest["validation"]
    label = "SYNTHETIC data" if manifest["snapshot_synthetic"] else "imported data"
    rows = []
    for r in manifest["reports"]:
        params = ", ".join(f"{k}={v}" for k, v in sorted(r["parameters"].items()) if k != "snapshot")
        links = f"<a href='{e(r['name'])}.html'>report</a> &middot; <a href='{e(r['name'])}.ipynb'>notebook</a>"
        links += f" &middot; <a href='{e(r['name'])}.log'>log</a>"
        status = f"<span class='{e(r['status'])}'>{e(r['status'])}</span>"
        if r["error"]:
            status += f"<br><small>{e(r['error'])}</small>"
        rows.append(
            f"<tr><td>{e(r['family'])}</td><td><code>{e(r['name'])}</code></td><td>{status}</td>"
            f"<td><code>{e(params) or '(defaults)'}</code></td><td>{r['seconds']:.1f} s</td><td>{links}</td></tr>"
        )
    ok = manifest["status"] == "ok"
    done = sum(1 for r in manifest["reports"] if r["status"] == "ok")
    stats = dq["statistics"]
    header = "<tr><th>family</th><th>report</th><th>status</th><th>parameters</th><th>time</th><th>files</th></tr>"
    return (
        "\n".join(
            [
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
                f"<title>Reports for {e(manifest['snapshot'])}</title><style>{_STYLE}</style></head><body>",
                f"<h1>Reports for snapshot <code>{e(manifest['snapshot'])}</code> ({e(label)})</h1>",
                f"<div class='banner {'good' if ok else 'bad'}'>Run <code>{e(manifest['run_id'])}</code>: "
                f"{done} of {len(manifest['reports'])} reports ok."
                f" Data quality: {'passed' if dq['success'] else 'FAILED'} "
                f"({stats['successful_expectations']} of {stats['evaluated_expectations']} expectations)"
                f" &middot; <a href='{e(dq['page'])}'>data-quality page</a>"
                " &middot; <a href='manifest.json'>manifest</a></div>",
                f"<table>{header}",
                *rows,
                "</table>",
                f"<p><small>Batch {e(manifest['batch'])}; code {e(str(manifest['git']['commit']))[:12]}"
                f"{' (uncommitted changes)' if manifest['git']['dirty'] else ''}; validated {e(dq['validated_at'])}; "
                f"versions {e(json.dumps(manifest['versions']))}.</small></p>",
                "</body></html>",
            ]
        )
        + "\n"
    )
