"""The built static site read in Debian's Chromium: a plan page with its progress bar and late
item, links back to the portal, and the Chinese search finding a competition by a word of its
title. One `mkdocs build`, served as static files on a free local port.

Skipped only where Chromium is not installed and CI is not set (as `test_browser.py`)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from portal import site
from portal.cli_site import run_mkdocs

from ..live import serving
from ..support import World
from ..test_site import PORTAL, TODAY, _outreach, _site_copy

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not os.path.exists(CHROMEDRIVER) and not os.environ.get("CI"):
    pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from .test_browser import chrome  # noqa: E402


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def built(session: Session, world: World, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    made = _outreach(session, world)
    root = _site_copy(tmp_path)
    export = site.export_site(session, root / "site", portal_url=PORTAL, today=TODAY)
    ok, output = run_mkdocs(root / "mkdocs.yml", tmp_path / "out", source_date_epoch=export.source_date_epoch)
    assert ok, output
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path / "out")))
    with serving(server) as url:
        yield url, made


def test_the_site_reads_and_searches_in_chinese(built: tuple[str, dict[str, Any]], world: World) -> None:
    url, made = built
    browser = chrome()
    try:
        browser.get(f"{url}/plans/")
        browser.find_element(By.LINK_TEXT, "甲局2026年政务数据开放工作计划").click()
        WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "甲局：甲局2026年政务数据开放工作计划"))
        assert browser.title == "甲局：甲局2026年政务数据开放工作计划 - 合肥经开区政务数据开放"
        bar = browser.find_element(By.CSS_SELECTOR, ".plan-progress__bar")
        track = browser.find_element(By.CSS_SELECTOR, ".plan-progress")
        assert abs(bar.size["width"] / track.size["width"] - 1 / 3) < 0.02  # 1 of 3 items delivered
        late = browser.find_elements(By.CSS_SELECTOR, ".plan-status--late")
        assert [e.text for e in late] == ["逾期"] and late[0].value_of_css_property("color") == "rgba(198, 40, 40, 1)"
        link = browser.find_element(By.LINK_TEXT, made["released"].title)
        assert link.get_attribute("href") == f"{PORTAL}/catalog/{made['released'].slug}"

        browser.get(f"{url}/")
        browser.find_element(By.CSS_SELECTOR, "input.md-search__input").click()
        browser.find_element(By.CSS_SELECTOR, "input.md-search__input").send_keys("交通")
        results = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".md-search-result__item"))
        assert any("交通数据应用大赛" in r.text for r in results)
        hrefs = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".md-search-result__link")]
        assert any(h.startswith(f"{url}/competitions/traffic-2026/") for h in hrefs)
    finally:
        browser.quit()
