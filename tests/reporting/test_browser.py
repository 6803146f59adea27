"""Reports in a real browser: headless Chromium (Debian's package) opens the index and one
report of each family, with no network, and every chart must draw without errors."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from pipelines.reporting import runner

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


@pytest.fixture(scope="module")
def published(snapshot, tmp_path_factory):
    from pipelines.quality.gate import validate

    validate(snapshot, now=dt.datetime(2026, 11, 23))
    mp = pytest.MonkeyPatch()
    mp.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path_factory.mktemp("reports")))
    result = runner.run(snapshot, force=True)
    yield result
    mp.undo()


def test_index_and_reports_render_offline_with_every_chart(published):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
    assert published.ok
    pages = ["index.html", "data_quality.html"]
    families = {}
    for o in published.outcomes:
        families.setdefault(o.report.family, f"{o.report.name}.html")
    pages += sorted(families.values())
    shots = published.folder / "screenshots"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name in pages:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m, problems=problems: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
            page.on("requestfailed", lambda r, problems=problems: problems.append(f"request failed: {r.url}"))
            # Anything but a local file is a request the offline report must not make.
            page.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort(),
            )
            page.goto((published.folder / name).as_uri(), wait_until="load")
            charts = page.evaluate(
                """Array.from(document.images).filter(i => i.src.startsWith('data:image/svg'))
                     .map(i => i.complete && i.naturalWidth > 0)"""
            )
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            assert problems == [], (name, problems)
            if name not in ("index.html", "data_quality.html"):
                assert charts and all(charts), (name, charts)
            page.close()
        browser.close()
    assert len(list(shots.glob("*.png"))) == len(pages)
