"""The report renders in a real headless browser (Debian's chromium, driven by Playwright): every
figure loads, nothing from a config runs as script, the page fits a laptop screen (1366 px
wide), and its first screen (1366 x 768) answers what the package does, whether it meets its
targets and at what cost. Screenshots are kept as test artifacts
(results/test-artifacts/report.png, the whole page, and report-first-screen.png). `make test`
installs the browser (`make browser`)."""

from __future__ import annotations

import os
import shutil

import pytest

from sim.experiments.sweep import run_sweep
from sim.report.viewer import report
from tests.conftest import ROOT
from tests.test_decision_report import HOSTILE, _experiment

ARTIFACTS = ROOT / "results" / "test-artifacts"
LAPTOP = {"width": 1366, "height": 768}


def chromium() -> str:
    path = os.environ.get("SIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed; `make browser` installs it (CI runs it)")
        pytest.skip("Debian's chromium is not installed (`make browser`)")
    return path


def test_report_renders_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    exe = chromium()
    # an open package with targets and a title that would run if it were not escaped, against
    # its closed counterfactual (tests/test_decision_report.py)
    exp = _experiment(tmp_path, "browser_test")
    run_sweep(exp, tmp_path / "sweep", workers=1, progress=False)
    page_path = report(tmp_path / "sweep", tmp_path / "report")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot, first = ARTIFACTS / "report.png", ARTIFACTS / "report-first-screen.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport=LAPTOP)
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            page.evaluate("document.fonts.ready.then(() => 1)")
            assert page.title().startswith("Settlement report")
            assert not [u for u in requests if not u.startswith(("file:", "data:"))]  # nothing fetched
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
            assert len(images) >= 5 and all(done and width > 300 for done, width in images), images
            assert page.evaluate("() => window.pwned === undefined")
            assert HOSTILE in page.inner_text("h2#summary-1")  # shown as text
            # fits the laptop's width: nothing cut off, no sideways scrolling
            assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
            for table in page.query_selector_all("table"):
                box = table.bounding_box()
                assert box is None or box["x"] + box["width"] <= LAPTOP["width"], table.inner_text()[:80]
            # the first screen holds the effect, the target verdicts and the cost
            for sel, words in (("#effect", "more than under the baseline"),
                               ("#targets-verdict", "about 400 ± 150"), ("#cost", "per additional settler")):
                box = page.locator(sel).bounding_box()
                assert box is not None and box["y"] + box["height"] <= LAPTOP["height"], (sel, box)
                assert words in page.inner_text(sel)
            assert "of 3 (" in page.inner_text("#targets-verdict")
            page.screenshot(path=str(first))
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 50_000 and first.stat().st_size > 20_000
