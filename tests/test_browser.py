"""The report renders in a real headless browser (Debian's chromium, driven by Playwright): every
figure loads, nothing from a config runs as script, and a screenshot is kept as a test artifact
(results/test-artifacts/report.png). `make test` installs the browser (`make browser`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sim.experiments.run import run_package
from sim.report.viewer import report
from tests.conftest import DATA, ROOT

ARTIFACTS = ROOT / "results" / "test-artifacts"


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
    hostile = tmp_path / "hostile.toml"  # a title that would run if it were not escaped
    hostile.write_text(f'[package]\nname = "hostile"\ntitle = "<script>window.pwned = 1</script>"\n'
                       f'extends = "{DATA / "base_policy.toml"}"\nsource = "t"\n')
    for name, policy in (("base", DATA / "base_policy.toml"), ("hostile", hostile)):
        run_package(policy, DATA / "small_region.toml", out=tmp_path / "runs" / name, end=2018,
                    replications=2)
    page_path = report(tmp_path / "runs", tmp_path / "report")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_path.resolve().as_uri())
            assert page.title().startswith("Settlement report")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
            assert len(images) >= 5 and all(done and width > 300 for done, width in images), images
            assert page.evaluate("() => window.pwned === undefined")
            assert page.locator("h2#targets").count() == 1
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 50_000
