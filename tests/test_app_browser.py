"""The planner's app end to end in a real browser (Debian's chromium driven by Playwright, as
tests/test_browser.py does): start `sim app` on a free port, pick Dehong and dehong_2011, change
one lever, run, wait for the results, check that the headline numbers appear and the map is
drawn, and keep a screenshot (results/test-artifacts/app.png)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_browser import ARTIFACTS, chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, log: Path) -> tuple[subprocess.Popen, str]:
    """`sim app --port PORT` in a child process (its output to ``log``, so a full pipe never
    blocks it); returns it and the address it printed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    match = None
    for _ in range(100):
        match = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())
        if match or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert match, f"sim app printed no address: {log.read_text()[-2000:]!r}"
    url = match.group(0)
    for _ in range(120):  # the server is up when it answers
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise AssertionError("sim app did not answer within 30 s")


def pick(page, select_class: str, option: str) -> None:
    """Choose ``option`` in the Vuetify select with CSS class ``select_class``."""
    page.locator(f".{select_class}").first.click()
    page.locator(".v-menu__content .v-list-item", has_text=re.compile(f"^{re.escape(option)}$")) \
        .first.click()


@pytest.mark.slow
def test_planner_app_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    exe = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_app(free_port(), ARTIFACTS / "app-server.log")
    shot = ARTIFACTS / "app.png"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                page.goto(url)
                page.wait_for_selector("text=A planner's app", timeout=30_000)
                pick(page, "choose-region", "Dehong")
                pick(page, "choose-package", "dehong_2011")
                page.get_by_text(re.compile(r"^housing \(")).click()
                field = page.locator(".lever-housing-purchase_subsidy_yuan input")
                field.fill("30000")
                field.press("Enter")
                page.wait_for_selector("text=1 lever(s) changed", timeout=10_000)
                page.locator(".run-coarse").click()
                page.wait_for_selector(".headline table", timeout=45_000)
                headline = page.locator(".headline").inner_text()
                assert "resident urbanization" in headline and "hukou urbanization" in headline
                assert "resident_urbanization" not in headline  # metrics in words for a planner
                assert re.search(r"[+-]\d+\.\d pp", headline), headline  # a paired difference
                assert "dehong_pre_reform" in headline  # the default baseline
                page.wait_for_selector(".region-map img", timeout=20_000)
                width = page.eval_on_selector(".region-map img", "e => e.naturalWidth")
                assert width > 300
                assert "per additional settler" in page.locator(".cost").inner_text()
            finally:
                page.screenshot(path=str(shot), full_page=False)  # also of a failure, to see it
                browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert shot.stat().st_size > 30_000
