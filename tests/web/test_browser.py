"""In Debian's Chromium: the entry form's data-item rows, keyboard use, uploading a table through the
form, and the phone layout.

Runs against a live server on a free local port. Skipped only where Chromium is not installed
and CI is not set; `.ci/run` installs it, so in CI a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import PASSWORD, World

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not os.path.exists(CHROMEDRIVER) and not os.environ.get("CI"):
    pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def chrome(width: int = 1280, height: int = 1000, *, phone: bool = False) -> webdriver.Chrome:
    options = Options()
    if phone:  # a desktop window cannot be narrower than about 500 pixels; emulate the device
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3}})
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--lang=zh-CN", f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chrome()
    yield driver
    driver.quit()


def sign_in(browser: webdriver.Chrome, live_url: str, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_url}/login")
    browser.find_element(By.ID, "login").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".account"), username))


def test_editor_adds_data_item_rows_and_saves_with_the_keyboard(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:
    sign_in(browser, live_url, "editor_a")

    browser.get(f"{live_url}/manage/entries/new")
    fill = {"f-title": "经开区充电桩分布", "f-classification_path": "城乡建设/能源设施", "f-classification_code": "2070300"}
    for field_id, value in fill.items():
        browser.find_element(By.ID, field_id).send_keys(value)
    for field_id, value in {"f-classification_kind": "主题", "f-format_class": "电子表格", "f-update_cycle": "每月",
                            "f-share_type": "无条件共享", "f-open_type": "无条件开放"}.items():
        browser.find_element(By.ID, field_id).send_keys(value)  # typing into a select chooses the option

    rows = lambda: browser.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")  # noqa: E731
    assert len(rows()) == 3
    browser.find_element(By.NAME, "items-3-required").click()
    add = browser.find_element(By.ID, "add-item")
    add.send_keys(Keys.ENTER)  # a keyboard press, not a mouse click
    assert len(rows()) == 4
    focused = browser.switch_to.active_element
    assert focused.get_attribute("name") == "items-4-title"  # focus moved into the new row
    assert not browser.find_element(By.NAME, "items-4-required").is_selected()  # a copy, but blank
    names = ["pile_id", "address", "power_kw", "operator"]
    for number, name in enumerate(names, start=1):
        browser.find_element(By.NAME, f"items-{number}-title").send_keys(f"信息项{number}")
        browser.find_element(By.NAME, f"items-{number}-name").send_keys(name)
    browser.find_element(By.NAME, "items-3-data_type").send_keys("N")
    browser.find_element(By.CSS_SELECTOR, ".form-actions button[type=submit]").click()

    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "已创建草稿"))
    entry = session.scalar(select(Entry).where(Entry.title == "经开区充电桩分布"))
    assert entry is not None
    assert [item.name for item in entry.items] == names
    assert entry.items[2].data_type.value == "N"
    assert [item.constraints for item in entry.items] == [{}, {}, {"required": True}, {}]


def test_provider_uploads_a_gbk_table_through_the_form(browser: webdriver.Chrome, live_url: str, world: World, tmp_path: Path) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    upload = tmp_path / "空气质量（2月）.csv"
    upload.write_bytes("station,aqi\r\n明珠广场,64\r\n管委会,80\r\n".encode("gbk"))
    sign_in(browser, live_url, "provider_a")

    browser.get(f"{live_url}/catalog/{entry.slug}")
    browser.find_element(By.CSS_SELECTOR, "form.upload input[type=file]").send_keys(str(upload))
    browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "校验通过"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "空气质量（2月）.csv" in main and "GB18030" in main and "未发现个人信息" in main
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".downloads a")]
    assert any(link.endswith("/xlsx") for link in links) and any(link.endswith("/excel-csv") for link in links)


def test_phone_layout_shows_results_before_filters(live_url: str, world: World) -> None:
    driver = chrome(390, 844, phone=True)
    try:
        driver.get(f"{live_url}/catalog")
        results = driver.find_element(By.CSS_SELECTOR, ".results").location["y"]
        filters = driver.find_element(By.ID, "filters").location["y"]
        assert results < filters
        link = driver.find_element(By.CSS_SELECTOR, ".to-filters a")
        assert link.is_displayed()
        widths = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[1] == 390 and widths[0] <= 390  # nothing forces sideways scrolling of the page
    finally:
        driver.quit()
