"""Public pages over real HTTP: every page renders in Chinese, previews and downloads work,
and no hidden entry leaks through any page."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.authz import Action, can
from portal.models import Department, Entry
from portal.vocab import Role

from ..support import PASSWORD, World, login


@pytest.mark.parametrize(
    "url, words",
    [
        ("/", "最新发布"),
        ("/catalog", "数据目录"),
        ("/catalog?share=unconditional&open=open&page=1", "无条件开放"),
        ("/catalog?q=空气", "空气质量"),
        ("/catalog?q=%25%27%22<script>", "没有符合条件的数据资源"),
        ("/catalog?page=abc&department=zz", "数据目录"),
        ("/catalog/air-quality-hourly", "信息项（数据字典）"),
        ("/catalog/school-directory", "数据预览"),
        ("/departments", "数据提供部门"),
        ("/login", "用户名或邮箱"),
        ("/register", "注册公众账户"),
    ],
)
def test_public_pages(client: FlaskClient, sample_catalog: None, url: str, words: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert words in page
    assert "<script>" not in page.split("<main", 1)[1]  # the query is escaped


def test_entry_page_shows_the_whole_record(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "air-quality-hourly"))
    assert entry is not None
    page = client.get("/catalog/air-quality-hourly").get_data(as_text=True)
    for text in (entry.title, entry.resource_code, entry.department.name, entry.department.code, entry.classification_path,
                 "资源格式", "共享类型", "开放类型", "更新周期", "安全级别", "发布日期"):
        assert text in page
    for item in entry.items:
        assert item.title in page and item.name in page
    assert "下载" in page and "数据预览" in page


def test_gbk_file_previews_and_downloads_as_stored(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "school-directory"))
    assert entry is not None
    record = entry.files[0]
    page = client.get("/catalog/school-directory").get_data(as_text=True)
    first_row = next(csv.reader(io.StringIO(
        (client.application.extensions["portal.files"].path(record.sha256)).read_bytes().decode("gb18030")
    )))
    assert first_row[0] in page  # the header decoded from GBK
    with client.get(f"/catalog/school-directory/files/{record.id}/{record.name}") as response:
        assert response.status_code == 200 and len(response.data) == record.size
        assert "attachment" in response.headers["Content-Disposition"]


def test_item_level_closed_columns_are_removed_for_the_public(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "enterprise-registration"))
    assert entry is not None
    closed = [i.name for i in entry.items if i.open_type is not None and i.open_type.value == "closed"]
    assert closed
    page = client.get("/catalog/enterprise-registration").get_data(as_text=True)
    assert "部分信息项不向您开放" in page
    record = entry.files[0]
    body = client.get(f"/catalog/enterprise-registration/files/{record.id}/{record.name}").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(body)))
    assert header and not set(closed) & set(header)
    assert len(body.strip().splitlines()) > 10


def test_hidden_entries_answer_404(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "resident-registration"))
    assert entry is not None
    record = entry.files[0]
    for url in ("/catalog/resident-registration", "/catalog/resident-registration/history",
                f"/catalog/resident-registration/files/{record.id}/{record.name}"):
        response = client.get(url)
        assert response.status_code == 404
        assert "页面不存在" in response.get_data(as_text=True) or "没有找到" in response.get_data(as_text=True)


def test_on_application_data_is_described_but_not_downloadable(client: FlaskClient, sample_catalog: None, session: Session) -> None:
    entry = session.scalar(select(Entry).where(Entry.slug == "industrial-output-monthly"))
    assert entry is not None
    page = client.get("/catalog/industrial-output-monthly").get_data(as_text=True)
    assert "依申请开放" in page and "数据预览" not in page
    record = entry.files[0]
    assert client.get(f"/catalog/industrial-output-monthly/files/{record.id}/{record.name}").status_code == 302  # to login


def pages_of(client: FlaskClient, world: World) -> dict[str, str]:
    urls = ["/", "/catalog", "/departments", f"/departments/{world.dept_a.id}", "/catalog?q=甲局"]
    for key in ("department", "classification", "format", "share", "open", "cycle"):
        for value in ("open", "on-application", "closed", "unconditional", "conditional", "none", "daily", "theme", "spreadsheet", str(world.dept_a.id)):
            urls.append(f"/catalog?{key}={value}")
    urls += [f"/catalog?page={n}" for n in range(2, 4)]
    return {url: client.get(url).get_data(as_text=True) for url in urls}


@pytest.mark.parametrize("viewer", [None, "citizen", "auditor", "editor_b", "provider_b", "reviewer"])
def test_no_hidden_entry_leaks_through_any_page(client: FlaskClient, world: World, viewer: str | None) -> None:
    if viewer:
        login(client, viewer)
    user = world.users[viewer] if viewer else None
    hidden = [e for e in world.entries if not can(user, Action.VIEW_ENTRY, e)]
    visible = [e for e in world.entries if can(user, Action.VIEW_ENTRY, e)]
    assert hidden and visible
    pages = pages_of(client, world)
    everything = "\n".join(pages.values())
    for entry in hidden:
        assert entry.title not in everything, entry.title
        assert entry.resource_code not in everything
        assert client.get(f"/catalog/{entry.slug}").status_code == 404
    assert any(e.title in everything for e in visible)
    # counts on the home page are the visible ones only
    assert f"<strong>{len(visible)}</strong>" in pages["/"]


def test_error_pages_are_chinese_and_never_a_traceback(app: Flask, client: FlaskClient) -> None:
    def explode() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", view_func=explode)
    response = client.get("/explode")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "服务器内部错误" in page and "secret internals" not in page and "Traceback" not in page
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)
    assert client.post("/catalog").status_code == 405


def test_english_translation(client: FlaskClient, sample_catalog: None) -> None:
    client.get("/lang/en", headers={"Referer": "http://localhost/catalog"})
    page = client.get("/catalog").get_data(as_text=True)
    assert "Data catalog" in page and "Share type" in page and 'lang="en"' in page
    page = client.get("/catalog/air-quality-hourly").get_data(as_text=True)
    assert "Update cycle" in page and "Unconditional sharing" in page
    client.get("/lang/zh")
    assert "数据目录" in client.get("/catalog").get_data(as_text=True)


def test_browser_language_is_honoured(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in page
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in page


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_department_staff_see_their_drafts(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "editor_a")
    page = client.get(f"/departments/{world.dept_a.id}").get_data(as_text=True)
    assert all(e.title in page for e in world.entries)
    assert session.scalar(select(Department).where(Department.id == world.dept_a.id)) is not None
    assert world.users["editor_a"].role == Role.EDITOR and PASSWORD
