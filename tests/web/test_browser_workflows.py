"""The statutory workflows walked through in Chromium as their users would: a department asks
for another's data, the provider accepts and grants it on the clock; a disclosure reviewer
approves an open type with the open-risk assessment and the entry appears in the open catalog;
a citizen's open request is paused for clarification and refused with reason and basis; an
anonymous visitor's error report is answered in public; a catalog adjustment completes when its
entry is edited; the Bureau sets a clock's counting rule and loads a year's calendar.

Skipped only where Chromium is not installed and CI is not set (see test_browser.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import adjustments, calendars, catalog
from portal.data_requests import china_day
from portal.models import Adjustment, CalendarYear, DataRequest, Entry, ErrorReport
from portal.vocab import EntryStatus, OpenType, ShareType
from portal.workdays import CLOCK_KINDS, due_date

from ..support import NOW, World, entry_fields
from .test_browser import CHROMEDRIVER, browser, sign_in  # noqa: F401  (browser: a fixture)

from selenium import webdriver  # noqa: E402  (after test_browser's skip)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

assert CHROMEDRIVER


def open_from_work(browser: webdriver.Chrome, live_url: str, username: str, link: str, url: str) -> None:
    """Signed in as `username`, follow the work list's link that reads `link`: it leads to `url`."""
    sign_in(browser, live_url, username)
    browser.get(f"{live_url}/work")
    browser.find_element(By.PARTIAL_LINK_TEXT, link).click()
    assert browser.current_url == url


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

    open_from_work(browser, live_url, "provider_a", "共享申请 #", request_url)
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


def test_an_open_request_paused_for_clarification_then_refused(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    entry = world.entry(ShareType.CONDITIONAL, OpenType.ON_APPLICATION, EntryStatus.PUBLISHED)
    sign_in(browser, live_url, "citizen")
    browser.get(f"{live_url}/catalog/{entry.slug}")
    browser.find_element(By.LINK_TEXT, "提出开放申请").click()
    assert "开放申请" in main_text(browser) and not browser.find_elements(By.NAME, "duty")  # no duty for a citizen
    browser.find_element(By.NAME, "purpose").send_keys("研究经开区空气质量变化趋势")
    browser.find_element(By.CSS_SELECTOR, ".request-form button[type=submit]").click()
    wait_for(browser, "待受理")
    request_url = browser.current_url

    open_from_work(browser, live_url, "provider_a", "开放申请 #", request_url)
    submit_form(browser, "/accept")
    wait_for(browser, "已受理")
    assert "第十八条" in main_text(browser)
    submit_form(browser, "/clarify", note="请说明研究成果是否公开发表")
    wait_for(browser, "已要求补正说明")
    text = main_text(browser)
    assert "待申请人补正" in text and "暂停中" in text  # the clock stands still while the citizen answers

    sign_in(browser, live_url, "citizen")
    browser.get(request_url)
    submit_form(browser, "/reply", note="研究成果将以论文形式公开发表")
    wait_for(browser, "已提交补正说明")
    assert "已受理，办理中" in main_text(browser)

    sign_in(browser, live_url, "provider_a")
    browser.get(request_url)
    submit_form(browser, "/refuse", reason="   ", basis="《合肥经济技术开发区政务数据资源共享开放管理暂行办法》第十八条")  # blanks pass the browser's check only
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main .flash-error"), "请说明不同意的理由"))
    assert browser.find_element(By.CSS_SELECTOR, ".badge.status").text == "已受理，办理中"
    submit_form(browser, "/refuse", reason="申请的数据含有尚未核实的监测记录", basis="《合肥经济技术开发区政务数据资源共享开放管理暂行办法》第十八条")
    wait_for(browser, "已不同意")
    text = main_text(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".badge.status").text == "不同意"
    assert "尚未核实的监测记录" in text and "第十八条" in text

    session.expire_all()
    request = session.scalars(select(DataRequest)).one()
    assert (request.kind, request.state) == ("open", "refused")
    assert request.reason == "申请的数据含有尚未核实的监测记录" and "第十八条" in request.basis
    assert len(request.pauses) == 1 and all(request.pauses[0])  # one pause, closed by the reply
    assert [e.action for e in request.events][-4:] == ["accept", "clarify", "reply", "refuse"]


def test_an_anonymous_error_report_answered_in_public(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    contact = "13955100001"
    browser.get(f"{live_url}/catalog/{entry.slug}")
    browser.find_element(By.LINK_TEXT, "反馈疑义或错误").click()
    form = browser.find_element(By.CSS_SELECTOR, "form.report-form")
    form.find_element(By.CSS_SELECTOR, "input[name=subject][value=metadata]").click()
    form.find_element(By.ID, "f-location").send_keys("资源摘要")
    form.find_element(By.ID, "f-description").send_keys("资源摘要写的是测试数据，与实际监测内容不符")
    form.find_element(By.ID, "f-reporter_name").send_keys("王先生")
    form.find_element(By.ID, "f-contact").send_keys(contact)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "已收到您的校核信息")
    report_url = browser.current_url
    session.expire_all()
    report = session.scalars(select(ErrorReport)).one()
    due = due_date(calendars.current_calendar(session), report.received_on, CLOCK_KINDS["error_report"].limit_days, report.clock_rule)  # type: ignore[arg-type]
    text = main_text(browser)
    assert "第十条" in text and f"到期日 {due.date.isoformat()}" in text and "待答复" in text
    assert contact not in text  # not even to the reporter's own page, which is public

    open_from_work(browser, live_url, "provider_a", "数据校核 #", report_url)
    assert contact in main_text(browser)  # the provider sees how to reach the reporter
    form = browser.find_element(By.CSS_SELECTOR, "form.report-answer-form")
    form.find_element(By.CSS_SELECTOR, "input[name=outcome][value=explained]").click()
    form.find_element(By.ID, "f-answer").send_keys("摘要所述为该资源的试运行数据，正式数据发布后将一并更新")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "已答复该校核")
    assert browser.find_element(By.CSS_SELECTOR, ".badge.status").text == "已说明"

    browser.delete_all_cookies()
    browser.get(f"{live_url}/catalog/{entry.slug}")
    reports = browser.find_element(By.ID, "reports").text
    assert f"数据校核 #{report.id}" in reports and "已说明" in reports and "王先生" in reports
    assert "与实际监测内容不符" in reports and "正式数据发布后将一并更新" in reports
    assert contact not in browser.page_source
    session.expire_all()
    report = session.scalars(select(ErrorReport)).one()
    assert (report.state, report.contact) == ("explained", contact) and report.answered_by_id == world.users["provider_a"].id


def test_a_catalog_adjustment_completes_when_its_entry_is_edited(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    event_on = china_day(datetime.now(timezone.utc))
    sign_in(browser, live_url, "admin_a")
    browser.get(f"{live_url}/adjustments/new")
    form = browser.find_element(By.CSS_SELECTOR, "main form[method=post]")
    assert "甲局" in form.text
    form.find_element(By.CSS_SELECTOR, "input[name=cause][value=law]").click()
    form.find_element(By.NAME, "event").send_keys("《安徽省大气污染防治条例》修订，第二十条调整了监测信息公开事项")
    browser.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "event_on"), event_on.isoformat())
    form.find_element(By.CSS_SELECTOR, f"input[name=entries][value='{entry.id}']").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "已发起目录调整")
    adjustment_url = browser.current_url
    session.expire_all()
    adjustment = session.scalars(select(Adjustment)).one()
    due = adjustments.due(calendars.current_calendar(session), adjustment)
    text = main_text(browser)
    assert "第十条" in text and f"到期日 {due.date.isoformat()}" in text and "待更新目录" in text and "未更新" in text
    assert [t.entry_id for t in adjustment.targets] == [entry.id]

    sign_in(browser, live_url, "editor_a")
    browser.get(f"{live_url}/catalog/{entry.slug}/edit")
    abstract = browser.find_element(By.ID, "f-abstract")
    abstract.clear()
    abstract.send_keys("按修订后的条例公开的空气质量监测数据。")
    browser.find_element(By.CSS_SELECTOR, "form.entry-form button[type=submit]").click()
    wait_for(browser, "已保存修改")

    browser.get(adjustment_url)
    assert browser.find_element(By.CSS_SELECTOR, ".badge.status").text == "已完成"
    assert "已更新（第" in main_text(browser)
    session.expire_all()
    assert session.scalars(select(Adjustment.state)).one() == "done"
    assert session.scalars(select(Entry.abstract).where(Entry.id == entry.id)).one() == "按修订后的条例公开的空气质量监测数据。"


def test_the_bureau_sets_a_clock_rule_and_loads_a_year(browser: webdriver.Chrome, live_url: str, world: World, session: Session) -> None:  # noqa: F811
    sign_in(browser, live_url, "bureau")
    browser.get(f"{live_url}/bureau/clocks")
    section = browser.find_element(By.ID, "clock-share_request")
    section.find_element(By.CSS_SELECTOR, "input[name=rule][value=calendar_days]").click()
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "共享申请答复今后按自然日")
    section = browser.find_element(By.ID, "clock-share_request")
    assert section.find_element(By.CSS_SELECTOR, "input[name=rule][value=calendar_days]").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, "#clock-open_request input[name=rule][value=workdays]").is_selected()  # the other clock unchanged

    browser.get(f"{live_url}/bureau/calendar")
    source = "国办发明电〔2026〕X号"
    browser.find_element(By.ID, "f-text").send_keys(f'{{"year": 2027, "source": "{source}", "days_off": ["2027-01-01"], "workdays": []}}')
    browser.find_element(By.CSS_SELECTOR, "form[action$='/bureau/calendar'] button[type=submit]").click()
    wait_for(browser, "已载入 2027 年")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")]
    assert any(row.startswith("2027") and source in row and "bureau" in row for row in rows), rows
    years = browser.find_element(By.CSS_SELECTOR, "ul.years").text
    assert "2027" in years and source in years  # next year no longer provisional

    session.expire_all()
    assert calendars.clock_kind(session, "share_request").rule == "calendar_days"
    assert calendars.clock_kind(session, "open_request").rule == "workdays"
    year = session.get(CalendarYear, 2027)
    assert year is not None and year.source == source and year.days_off == ["2027-01-01"]
