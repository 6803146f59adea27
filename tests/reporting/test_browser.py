"""Reports in a real browser: headless Chromium (Debian's package) opens the index, the
data-quality page and every report of the default and the merchants batch, in Traditional
Chinese and in English, with no network. Each report must have a title and a link back to its
index, alt text on every chart and marks in every chart drawn, no console error, and no
"NaN", "None", "null" or raw code of the schema's lists in its visible text; a Chinese page
shows no English word that is not a name from the data, a citation or a command. Both
languages show the same figures."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil

import nbformat
import pytest

from pipelines.core import catalog
from pipelines.core.schema import MERCHANT_CATEGORIES, SECTORS
from pipelines.reporting import runner
from pipelines.reporting.words import LANGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium must not reach for Google's services on a closed network (refused connections).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BATCHES = ("monthly", "merchants")
BROKEN = re.compile(r"\b(NaN|None|null|undefined)\b")
# Codes a reader must never see: those with an underscore (categories, sectors, the at_risk
# side), and the lowercase mode and scene codes.
RAW_CODES = re.compile(
    r"\b("
    + "|".join(c for c in (*MERCHANT_CATEGORIES, *SECTORS, "at_risk") if "_" in c)
    + r"|mrt|lrt|tra|p2p|share_pct|pkm)\b"
)
# Latin words a Chinese page may show besides names from the data: the SYNTHETIC label, units
# and the privacy parameters' names.
LATIN_IN_CHINESE = {"SYNTHETIC", "NT", "CO", "rho", "epsilon", "delta"}

VISIBLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    // Citations and commands are quoted as published; they are not the report's words.
    body.querySelectorAll('cite, code, script, style').forEach(e => e.remove());
    document.body.appendChild(body); body.style.display = 'block';
    const text = body.innerText; body.remove(); return text;
}"""
CHARTS = """() => Array.from(document.images).filter(i => i.src.startsWith('data:image/svg')).map(i => {
    const svg = new DOMParser().parseFromString(atob(i.src.split(',')[1]), 'image/svg+xml');
    const marks = Array.from(svg.querySelectorAll('g.role-mark')).reduce((n, g) => n + g.childElementCount, 0);
    return {alt: i.alt, drawn: i.complete && i.naturalWidth > 0, marks: marks};
})"""


@pytest.fixture(scope="module")
def published(snapshot, tmp_path_factory):
    """Each batch, run in the reports' default language and in English: {(batch, lang): result}."""
    from pipelines.quality.gate import validate

    validate(snapshot, now=dt.datetime(2026, 11, 23))
    mp = pytest.MonkeyPatch()
    mp.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path_factory.mktemp("reports")))
    results = {(b, lang): runner.run(snapshot, batch=b, force=True, lang=lang) for lang in LANGS for b in BATCHES}
    yield results
    mp.undo()


@pytest.fixture(scope="module")
def names(snapshot) -> list[str]:
    """Names from the data (merchants, brands, employers), longest first."""
    with catalog.connect(snapshot) as con:
        found = catalog.frame(
            con,
            "SELECT merchant_name AS name FROM merchants UNION SELECT brand_name FROM merchants "
            "UNION SELECT employer_name FROM employers ORDER BY 1",
        )["name"]
    return sorted((n for n in found.to_list() if n), key=len, reverse=True)


def _figures(ipynb) -> list[str]:
    """Every output's plain text: the figures, the same in every language."""
    nb = nbformat.read(ipynb, as_version=4)
    return [o.get("data", {}).get("text/plain", "") for c in nb.cells for o in c.get("outputs", [])]


def test_every_report_reads_well_in_a_browser(published, names):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
    assert all(r.ok for r in published.values())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for (batch, lang), result in sorted(published.items()):
            reports = [f"{o.report.name}.html" for o in result.outcomes]
            shots = result.folder / "screenshots"
            shots.mkdir(exist_ok=True)
            for name in ["index.html", "data_quality.html", *reports]:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems: list[str] = []
                page.on("console", lambda m, problems=problems: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
                page.on("requestfailed", lambda r, problems=problems: problems.append(f"request failed: {r.url}"))
                # Anything but a local file is a request the offline report must not make.
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
                    ),
                )
                page.goto((result.folder / name).as_uri(), wait_until="load")
                where = (batch, lang, name)
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                assert problems == [], (where, problems)
                assert page.title().strip() and page.title() != "Notebook", where
                text = page.evaluate(VISIBLE_TEXT)
                assert not BROKEN.findall(text), (where, BROKEN.findall(text))
                assert "SYNTHETIC" in text, where  # the test snapshot is generated
                if name not in reports:
                    # The run's copy of the data-quality page leads back to the run.
                    assert page.locator('a[href="index.html"]').count() == (name == "data_quality.html"), where
                    page.close()
                    continue
                assert not RAW_CODES.findall(text), (where, sorted(set(RAW_CODES.findall(text))))
                assert page.locator('a[href="index.html"]').count() == 1, where
                charts = page.evaluate(CHARTS)
                for chart in charts:
                    assert chart["drawn"] and chart["alt"].strip() and chart["marks"] > 0, (where, chart)
                if lang == "zh-TW":
                    for data_name in names:
                        text = text.replace(data_name, "")
                    latin = set(re.findall(r"[A-Za-z]{2,}", text)) - LATIN_IN_CHINESE
                    assert not latin, (where, sorted(latin))
                page.close()
        browser.close()


#: Boxes a row in each group of headline boxes on a page, top to bottom: "4+3" is a row of four
#: above a row of three.
BOX_ROWS = """() => [...document.querySelectorAll('.value-boxes')].map(group => {
    const rows = new Map();
    for (const box of group.children) {
        const top = Math.round(box.getBoundingClientRect().top);
        rows.set(top, (rows.get(top) || 0) + 1);
    }
    return [...rows.keys()].sort((a, b) => a - b).map(top => rows.get(top)).join('+');
})"""


def test_headline_boxes_share_rows_evenly_on_a_page_800_px_wide(published):
    """The merchant profile's four headline boxes stay on one row (the fourth used to wrap
    under the others), and the carbon report's seven go four and three."""
    from playwright.sync_api import sync_playwright

    result = published[("monthly", "zh-TW")]
    pages = {o.report.name.split("-")[0]: result.folder / f"{o.report.name}.html" for o in result.outcomes}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 800, "height": 900})
        rows = {}
        for family in ("merchant_profile", "commute_carbon"):
            page.goto(pages[family].as_uri(), wait_until="load")
            rows[family] = page.evaluate(BOX_ROWS)[0]
        browser.close()
    assert rows == {"merchant_profile": "4", "commute_carbon": "4+3"}


def test_no_chart_drew_with_a_vega_lite_warning(published):
    from pipelines.reporting.document import CHART_WARNINGS

    for (batch, lang), result in sorted(published.items()):
        for o in result.outcomes:
            nb = nbformat.read(result.folder / f"{o.report.name}.ipynb", as_version=4)
            said = [
                m
                for c in nb.cells
                for out in c.get("outputs", [])
                for m in out.get("metadata", {}).get(CHART_WARNINGS, [])
            ]
            assert said == [], (batch, lang, o.report.name, said)


def test_both_languages_show_the_same_figures(published):
    for batch in BATCHES:
        chinese, english = published[(batch, "zh-TW")], published[(batch, "en")]
        assert [o.report.name for o in chinese.outcomes] == [o.report.name for o in english.outcomes]
        for o in chinese.outcomes:
            name = f"{o.report.name}.ipynb"
            assert _figures(chinese.folder / name) == _figures(english.folder / name), (batch, name)


@pytest.mark.parametrize("lang", ["zh-TW", "en"])
def test_a_report_tells_the_browser_its_language(published, lang):
    result = published[("monthly", lang)]
    for o in result.outcomes:
        assert f'<html lang="{lang}">' in (result.folder / f"{o.report.name}.html").read_text(), o.report.name


def test_a_run_index_shows_each_report_with_its_subject_period_and_headline(published, snapshot):
    result = published[("monthly", "zh-TW")]
    manifest = json.loads((result.folder / "manifest.json").read_text())
    index = (result.folder / "index.html").read_text()
    with catalog.connect(snapshot) as con:
        employers = dict(con.execute("SELECT employer_id, employer_name FROM employers").fetchall())
    for report in manifest["reports"]:
        page = report["page"]
        assert page["title"] and page["period"] and page["headline"], report["name"]
        assert f"<a href='{report['name']}.html'>" in index
        for fact in ("subject", "period", "headline"):
            assert html.escape(page[fact]) in index, (report["name"], fact)
        if report["family"] == "commute_carbon":
            assert page["subject"] == employers[report["parameters"]["employer"]]


def test_the_landing_page_ties_every_batch_and_run_together(published):
    folders = {r.folder for r in published.values()}
    root = next(iter(folders)).parent
    landing = (root / "index.html").read_text()
    assert "(SYNTHETIC data)" in landing
    for link in ("latest", "latest-merchants", "latest-en", "latest-merchants-en"):
        assert f"href='{link}/index.html'" in landing
        assert (root / link / "index.html").exists()
        assert f"<code>{link}</code>" not in landing  # a link is not listed as a run of its own
    for (batch, lang), result in published.items():
        rows = re.findall(rf"<tr>(?:(?!</tr>).)*href='{result.folder.name}/index.html'.*?</tr>", landing)
        assert len(rows) == 1 and f"<td>{batch}</td><td>{lang}</td>" in rows[0]
        assert f"Batch <b>{batch}</b> ({lang}), run" in (result.folder / "index.html").read_text()


def test_a_run_index_links_the_runs_before_it(published):
    runs = sorted(published.values(), key=lambda r: json.loads((r.folder / "manifest.json").read_text())["finished_at"])
    last = (runs[-1].folder / "index.html").read_text()
    for earlier in runs[:-1]:
        assert f"href='../{earlier.folder.name}/index.html'" in last
