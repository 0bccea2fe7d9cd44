"""The statutory workflows walked through in Chromium as their users would: a department asks
for another's data, the provider accepts and grants it on the clock; a disclosure reviewer
approves an open type with the open-risk assessment and the entry appears in the open catalog.

Skipped only where Chromium is not installed and CI is not set (see test_browser.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import catalog
from portal.models import DataRequest, Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from ..support import NOW, PASSWORD, World, entry_fields
from .test_browser import CHROMEDRIVER, browser, live_url  # noqa: F401  (fixtures)

from selenium import webdriver  # noqa: E402  (after test_browser's skip)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

assert CHROMEDRIVER


def sign_in(browser: webdriver.Chrome, live_url: str, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_url}/login")
    browser.find_element(By.ID, "login").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".account"), username))


def main_text(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "main").text


def wait_for(browser: webdriver.Chrome, text: str) -> None:
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), text))


def submit_form(browser: webdriver.Chrome, action: str, **fields: str) -> None:
    """Fill and submit the form posting to a URL ending in `action`."""
    form = browser.find_element(By.CSS_SELECTOR, f"form[action$='{action}']")
    for name, value in fields.items():
        field = form.find_element(By.NAME, name)
        if field.get_attribute("type") == "date":  # a date field's segments depend on the locale: set it directly
            browser.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_a_share_request_from_asking_to_the_grant(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    sign_in(browser, live_url, "editor_b")
    browser.get(f"{live_url}/catalog/{entry.slug}")
    browser.find_element(By.LINK_TEXT, "提出共享申请").click()
    browser.find_element(By.NAME, "purpose").send_keys("核验辖区空气质量数据")
    browser.find_element(By.NAME, "duty").send_keys("《大气污染防治法》第五条规定的监督管理职责")
    browser.find_element(By.CSS_SELECTOR, ".request-form button[type=submit]").click()
    wait_for(browser, "待受理")
    assert "申请受理" in main_text(browser) and "第十四条" in main_text(browser)  # the acceptance clock is shown
    request_url = browser.current_url

    sign_in(browser, live_url, "provider_a")
    browser.get(f"{live_url}/work")
    browser.find_element(By.PARTIAL_LINK_TEXT, "共享申请 #").click()
    assert browser.current_url == request_url
    submit_form(browser, "/accept")
    wait_for(browser, "已受理")
    text = main_text(browser)
    assert "剩余" in text and "到期日" in text and "第十四条" in text
    submit_form(browser, "/approve", scope="仅限本局监督管理使用", expires_on="2027-12-31")
    wait_for(browser, "已同意")

    sign_in(browser, live_url, "editor_b")
    browser.get(request_url)
    text = main_text(browser)
    assert "已同意" in text and "GX2026" in text and "2027-12-31" in text  # the grant, its code and expiry
    session.expire_all()
    assert session.scalars(select(DataRequest.state)).one() == "approved"


def test_a_reviewer_opens_an_entry_with_the_risk_assessment(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    entry = catalog.create_entry(
        session, department=world.dept_a, fields=entry_fields(title="经开区公共自行车站点"), actor=world.users["editor_a"], now=NOW,
        status=EntryStatus.PUBLISHED,
    )
    session.commit()
    browser.get(f"{live_url}/catalog/{entry.slug}")
    assert "经开区公共自行车站点" not in browser.title  # not in the open catalog yet

    sign_in(browser, live_url, "reviewer")
    browser.find_element(By.LINK_TEXT, "开放属性审查").click()
    browser.find_element(By.PARTIAL_LINK_TEXT, "#").click()
    wait_for(browser, "开放风险评估")
    form = browser.find_element(By.CSS_SELECTOR, "form[action$='/approve']")
    for box in form.find_elements(By.CSS_SELECTOR, "input[type=checkbox]"):
        box.click()
    form.find_element(By.NAME, "conclusion").send_keys("经评估不涉及国家秘密、商业秘密和个人隐私，同意无条件开放")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "审查同意")

    browser.delete_all_cookies()
    browser.get(f"{live_url}/catalog/{entry.slug}")
    assert "经开区公共自行车站点" in browser.title and "无条件开放" in main_text(browser)
    session.expire_all()
    assert session.scalars(select(Entry.open_type).where(Entry.id == entry.id)).one() == OpenType.OPEN
