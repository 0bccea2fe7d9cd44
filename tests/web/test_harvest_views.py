"""The Bureau's harvest pages: only the Bureau opens them (every URL, GET and POST), every form
needs its CSRF token, the Bureau adds a source, edits its settings and mapping, checks,
previews and starts it (once, however often it clicks), and reads every job's items."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import harvest.base
import harvest.ckan
from harvest import job_history, sources
from harvest.fetch import FetchError
from harvest.org_mapping import org_mapping
from portal.models import AuditEvent, HarvestItem, HarvestJob, HarvestOrgMapping, HarvestSource

from ..support import NOW, World, csrf_token, login


@pytest.fixture
def source(session: Session, world: World) -> HarvestSource:
    row = sources.add_source(session, name="city", kind="ckan", url="https://data.city.example/", title="市级平台", actor=None,
                             actor_name="测试", now=NOW)
    session.commit()
    return row


def job_with_items(session: Session, source: HarvestSource, world: World, *, state: str = "finished") -> HarvestJob:
    job = HarvestJob(source_id=source.id, state=state, started_at=datetime.now(timezone.utc) - timedelta(minutes=1),
                     finished_at=None if state == "running" else datetime.now(timezone.utc), started_by="bureau", added=1, unchanged=1, failed=1,
                     error="" if state != "failed" else "来源 data.city.example 的应答不是 CKAN 接口的格式")
    session.add(job)
    session.flush()
    entry = world.entries[0]
    session.add_all([
        HarvestItem(job_id=job.id, guid="guid-added", title="新增的记录", status="added", entry_id=entry.id),
        HarvestItem(job_id=job.id, guid="guid-same", title="未变的记录", status="unchanged"),
        HarvestItem(job_id=job.id, guid="guid-bad", title="失败的记录", status="failed", stage="map",
                    error="无法确定提供方部门：来源组织“市生态环境局”没有对应的部门，且该来源未设置默认部门 100%"),
    ])
    session.commit()
    return job


def urls(source: HarvestSource, job: HarvestJob) -> tuple[list[str], list[str]]:
    base = f"/bureau/harvest/sources/{source.name}"
    return ["/bureau/harvest", base, f"/bureau/harvest/jobs/{job.id}"], [
        "/bureau/harvest", base, f"{base}/mapping", f"{base}/check", f"{base}/preview", f"{base}/run",
    ]


def test_the_anonymous_are_sent_to_log_in(client: FlaskClient, source: HarvestSource) -> None:
    for url in ("/bureau/harvest", "/bureau/harvest/sources/city"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("user", ["admin_a", "editor_b", "reviewer", "auditor", "citizen"])
def test_only_the_bureau_opens_every_harvest_url(client: FlaskClient, world: World, session: Session, source: HarvestSource,
                                                 user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a refused request must not reach the job")

    monkeypatch.setattr(harvest.base, "run_job", never)
    monkeypatch.setattr(harvest.ckan, "check", never)
    job = job_with_items(session, source, world)
    login(client, user)
    token = csrf_token(client, "/notifications")
    gets, posts = urls(source, job)
    for url in gets:
        assert client.get(url).status_code == 403, url
    form = {"csrf_token": token, "name": "evil", "kind": "ckan", "url": "https://evil.example/", "title": "改", "schedule": "daily",
            "org": "x", "department": world.dept_a.code}
    for url in posts:
        assert client.post(url, data=form).status_code == 403, url
    session.expire_all()
    assert [s.name for s in sources.list_sources(session)] == ["city"] and source.title == "市级平台"
    assert session.scalar(select(func.count(HarvestOrgMapping.id))) == 0 and session.scalar(select(func.count(HarvestJob.id))) == 1
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "authz:denied")).all()
    assert len(denied) == len(gets) + len(posts) and all(e.actor == user for e in denied)


def test_every_form_needs_its_csrf_token(client: FlaskClient, world: World, session: Session, source: HarvestSource) -> None:
    job = job_with_items(session, source, world)
    login(client, "bureau")
    for url in urls(source, job)[1]:
        response = client.post(url, data={"name": "new", "kind": "ckan", "url": "https://x.example/", "schedule": "manual"})
        assert response.status_code == 400, url
        assert "表单已过期" in response.get_data(as_text=True)
    assert len(sources.list_sources(session)) == 1


def test_the_bureau_index_links_to_the_harvest_page(client: FlaskClient, world: World) -> None:
    login(client, "bureau")
    assert 'href="/bureau/harvest"' in client.get("/bureau").get_data(as_text=True)


def test_the_bureau_adds_a_source(client: FlaskClient, world: World, session: Session) -> None:
    login(client, "bureau")
    page = client.get("/bureau/harvest")
    assert page.status_code == 200 and "还没有采集源" in page.get_data(as_text=True)
    token = csrf_token(client, "/bureau/harvest")

    bad = client.post("/bureau/harvest", data={"csrf_token": token, "name": "City Data", "kind": "ckan", "url": "ftp://x", "schedule": "daily"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "小写字母" in text and "http://" in text and 'value="City Data"' in text
    assert sources.list_sources(session) == []

    response = client.post("/bureau/harvest", data={
        "csrf_token": token, "name": "city", "kind": "dcat", "url": "https://data.city.example/catalog.ttl", "title": "市级平台",
        "schedule": "weekly", "department": world.dept_a.code, "allow_private": "on",
    })
    assert response.status_code == 302 and response.headers["Location"].endswith("/bureau/harvest/sources/city")
    source = sources.get_source(session, "city")
    assert source.kind == "dcat" and source.schedule == "weekly" and source.allow_private and source.settings["department"] == world.dept_a.code
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:source-add"))
    assert event is not None and event.actor == "bureau"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已添加采集源 city" in page and "市级平台" in page and "尚未采集" in page
    listing = client.get("/bureau/harvest").get_data(as_text=True)
    assert "/bureau/harvest/sources/city" in listing and "每周" in listing


def test_the_bureau_edits_the_settings(client: FlaskClient, world: World, session: Session, source: HarvestSource) -> None:
    login(client, "bureau")
    url = "/bureau/harvest/sources/city"
    page = client.get(url).get_data(as_text=True)
    assert 'name="grace_days"' in page and 'name="trust_open_type"' in page and "允许访问内网地址" in page
    token = csrf_token(client, url)
    form = {
        "csrf_token": token, "title": "市级开放平台", "url": "https://data.city.example/v2/", "schedule": "daily", "active": "on",
        "department": world.dept_b.code, "share_type": "unconditional", "share_condition": "", "legal_basis": "", "open_type": "open",
        "open_condition": "", "update_cycle": "monthly", "security_level": "general", "trust_open_type": "on", "publish": "on",
        "max_resource_mb": "50", "grace_days": "14", "time_limit_minutes": "30",
    }
    response = client.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    assert (source.title, source.url, source.schedule, source.active, source.allow_private) == (
        "市级开放平台", "https://data.city.example/v2/", "daily", True, False)
    settings = source.settings
    assert settings["department"] == world.dept_b.code and settings["share_type"] == "unconditional" and settings["open_type"] == "open"
    assert settings["trust_open_type"] is True and settings["download_resources"] is False and settings["publish"] is True
    assert (settings["grace_days"], settings["time_limit_minutes"], settings["max_resource_mb"]) == (14, 30, 50)
    assert settings["page_size"] == 100  # not on the form: kept
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:source-change"))
    assert event is not None and event.details["after"]["schedule"] == "daily"
    assert "已保存采集源 city 的设置" in client.get(url).get_data(as_text=True)

    assert client.post(url, data=form).status_code == 302
    assert "设置未改变" in client.get(url).get_data(as_text=True)

    bad = client.post(url, data={**form, "grace_days": "两周", "share_type": "conditional", "share_condition": "", "url": "file:///etc/passwd"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请填写 0 至 3650 之间的整数" in text and "http://" in text
    bad = client.post(url, data={**form, "share_type": "conditional", "share_condition": "", "department": "91%d"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "须填写默认共享条件" in text and "91%D" in text  # what the user typed, shown (not %-formatted)
    session.expire_all()
    assert source.settings["grace_days"] == 14 and source.url == "https://data.city.example/v2/"


def test_the_bureau_maps_organizations_to_departments(client: FlaskClient, world: World, session: Session, source: HarvestSource) -> None:
    job_with_items(session, source, world)
    login(client, "bureau")
    url = "/bureau/harvest/sources/city"
    page = client.get(url).get_data(as_text=True)
    assert 'type="hidden" name="org" value="市生态环境局"' in page  # an organization the last job could not place
    token = csrf_token(client, url)
    response = client.post(f"{url}/mapping", data={
        "csrf_token": token, "org": ["市生态环境局", "city-market", ""], "department": [world.dept_a.code, world.dept_b.code, ""],
    })
    assert response.status_code == 302 and response.headers["Location"].endswith("#mapping")
    assert {k: d.name for k, d in org_mapping(session, source).items()} == {"市生态环境局": "甲局", "city-market": "乙局"}
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:mapping")) is not None
    page = client.get(url).get_data(as_text=True)
    assert "已保存机构与部门的对应" in page and 'value="city-market"' in page

    bad = client.post(f"{url}/mapping", data={"csrf_token": token, "org": ["city-x"], "department": ["911111111111111111"]})
    assert bad.status_code == 400 and "没有该统一社会信用代码的部门" in bad.get_data(as_text=True)
    response = client.post(f"{url}/mapping", data={"csrf_token": token, "org": ["市生态环境局"], "department": [world.dept_b.code]})
    assert response.status_code == 302
    session.expire_all()
    assert {k: d.name for k, d in org_mapping(session, source).items()} == {"市生态环境局": "乙局"}


def test_check_shows_the_problems_or_ok(client: FlaskClient, world: World, source: HarvestSource, monkeypatch: pytest.MonkeyPatch) -> None:
    login(client, "bureau")
    token = csrf_token(client, "/bureau/harvest/sources/city")

    def unreachable(source: HarvestSource, fetcher: Any) -> list[str]:
        raise FetchError("network", "无法连接 data.city.example")

    monkeypatch.setattr(harvest.ckan, "check", unreachable)
    page = client.post("/bureau/harvest/sources/city/check", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "校验发现 1 个问题" in page and "无法连接 data.city.example" in page

    monkeypatch.setattr(harvest.ckan, "check", lambda source, fetcher: [])
    page = client.post("/bureau/harvest/sources/city/check", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "校验通过" in page

    def bug(source: HarvestSource, fetcher: Any) -> list[str]:
        raise KeyError("results")

    monkeypatch.setattr(harvest.ckan, "check", bug)
    response = client.post("/bureau/harvest/sources/city/check", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "意外错误" in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)


class FakeJobs:
    """`run_job` stand-in: writes a job row like the real one; `hold` keeps it running."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.fail_with: Exception | None = None

    def __call__(self, session: Session, source: HarvestSource, **options: Any) -> HarvestJob:
        self.calls.append(options)
        job = HarvestJob(source_id=source.id, state="running", dry_run=options.get("dry_run", False), started_at=options["clock"](),
                         started_by=options.get("started_by", ""))
        session.add(job)
        session.commit()
        if self.fail_with is not None:
            raise self.fail_with
        session.add(HarvestItem(job_id=job.id, guid="g1", title="记录一", status="added"))
        job.added = 1
        session.commit()
        assert self.hold.wait(10)
        job.state, job.finished_at = "finished", options["clock"]()
        session.commit()
        return job


@pytest.fixture
def fake_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJobs]:
    fake = FakeJobs()
    monkeypatch.setattr(harvest.base, "run_job", fake)
    yield fake
    fake.hold.set()


def test_preview_runs_a_limited_dry_run_and_shows_its_job(client: FlaskClient, world: World, session: Session, source: HarvestSource,
                                                          fake_jobs: FakeJobs) -> None:
    login(client, "bureau")
    token = csrf_token(client, "/bureau/harvest/sources/city")
    response = client.post("/bureau/harvest/sources/city/preview", data={"csrf_token": token})
    assert response.status_code == 302
    [call] = fake_jobs.calls
    assert call["dry_run"] is True and call["limit"] == 20 and call["started_by"] == "bureau"
    job = session.scalar(select(HarvestJob))
    assert job is not None and job.dry_run and response.headers["Location"].endswith(f"/bureau/harvest/jobs/{job.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "预览完成" in page and "记录一" in page and 'http-equiv="refresh"' not in page
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:run"))
    assert event is not None and event.actor == "bureau" and event.target == f"city #{job.id}"
    assert event.details["dry_run"] is True and event.details["limit"] == 20 and event.details["added"] == 1


def wait_until(predicate: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_run_now_starts_one_background_job_however_often_it_is_clicked(client: FlaskClient, world: World, session: Session,
                                                                       source: HarvestSource, fake_jobs: FakeJobs) -> None:
    from portal.web import harvest_views

    fake_jobs.hold.clear()  # the job runs until the test lets it finish
    login(client, "bureau")
    token = csrf_token(client, "/bureau/harvest/sources/city")
    first = client.post("/bureau/harvest/sources/city/run", data={"csrf_token": token})
    assert first.status_code == 302
    job = session.scalar(select(HarvestJob))
    assert job is not None and not job.dry_run and job.started_by == "bureau"
    assert first.headers["Location"].endswith(f"/bureau/harvest/jobs/{job.id}")
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in page and "已开始采集" in page and "进行中" in page

    second = client.post("/bureau/harvest/sources/city/run", data={"csrf_token": token})  # a double click
    assert second.status_code == 302 and second.headers["Location"].endswith(f"/bureau/harvest/jobs/{job.id}")
    assert "正在采集" in client.get(second.headers["Location"]).get_data(as_text=True)
    preview = client.post("/bureau/harvest/sources/city/preview", data={"csrf_token": token})
    assert preview.status_code == 302
    assert len(fake_jobs.calls) == 1 and session.scalar(select(func.count(HarvestJob.id))) == 1
    assert 'disabled' in client.get("/bureau/harvest/sources/city").get_data(as_text=True)

    fake_jobs.hold.set()
    wait_until(lambda: source.id not in harvest_views._starting)
    session.expire_all()
    assert session.get(HarvestJob, job.id).state == "finished"  # type: ignore[union-attr]
    page = client.get(f"/bureau/harvest/jobs/{job.id}").get_data(as_text=True)
    assert "http-equiv" not in page and "已完成" in page
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "harvest:run")).all()
    assert event.actor == "bureau" and event.details["state"] == "finished" and event.ip == "127.0.0.1"


def test_a_job_that_crashes_is_marked_failed_without_a_trace(client: FlaskClient, world: World, session: Session,
                                                             source: HarvestSource, fake_jobs: FakeJobs) -> None:
    from portal.web import harvest_views

    fake_jobs.fail_with = RuntimeError("database went away")
    login(client, "bureau")
    token = csrf_token(client, "/bureau/harvest/sources/city")
    response = client.post("/bureau/harvest/sources/city/run", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "Traceback" not in response.get_data(as_text=True)
    wait_until(lambda: source.id not in harvest_views._starting)
    session.expire_all()
    job = session.scalar(select(HarvestJob))
    assert job is not None and job.state == "failed" and job.error == job_history.INTERRUPTED
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:run"))
    assert event is not None and event.details["state"] == "failed"

    response = client.post("/bureau/harvest/sources/city/preview", data={"csrf_token": token}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "采集任务意外中止" in text and "database went away" not in text
    session.expire_all()
    assert [j.state for j in session.scalars(select(HarvestJob))] == ["failed", "failed"]


def test_an_inactive_source_is_not_started(client: FlaskClient, world: World, session: Session, source: HarvestSource, fake_jobs: FakeJobs) -> None:
    source.active = False
    session.commit()
    login(client, "bureau")
    token = csrf_token(client, "/bureau/harvest/sources/city")
    page = client.post("/bureau/harvest/sources/city/run", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "已停用" in page and fake_jobs.calls == []


def test_the_job_page_lists_every_item_and_filters_by_status(client: FlaskClient, world: World, session: Session, source: HarvestSource) -> None:
    job = job_with_items(session, source, world, state="failed")
    login(client, "bureau")
    page = client.get(f"/bureau/harvest/jobs/{job.id}").get_data(as_text=True)
    for text in ("新增的记录", "未变的记录", "失败的记录", "guid-bad", "字段对应", "市生态环境局", "100%", "不是 CKAN 接口的格式", "全部（3）"):
        assert text in page, text
    assert f'href="/catalog/{world.entries[0].slug}"' in page and "http-equiv" not in page
    failed = client.get(f"/bureau/harvest/jobs/{job.id}?status=failed").get_data(as_text=True)
    assert "失败的记录" in failed and "新增的记录" not in failed
    assert "新增的记录" in client.get(f"/bureau/harvest/jobs/{job.id}?status=nonsense&page=x").get_data(as_text=True)
    assert client.get("/bureau/harvest/jobs/999999").status_code == 404
    assert client.get("/bureau/harvest/sources/nothing").status_code == 404
    listing = client.get("/bureau/harvest").get_data(as_text=True)
    assert f'href="/bureau/harvest/jobs/{job.id}"' in listing and "失败" in listing


def test_a_running_job_page_refreshes_itself(client: FlaskClient, world: World, session: Session, source: HarvestSource) -> None:
    job = job_with_items(session, source, world, state="running")
    login(client, "bureau")
    page = client.get(f"/bureau/harvest/jobs/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in page and "任务进行中" in page


def test_check_and_preview_a_real_ckan_catalog(client: FlaskClient, world: World, session: Session) -> None:
    from ..harvest.server import PayloadServer, json_body
    from ..harvest.test_cli import search_reply

    with PayloadServer() as server:
        server.route("/api/3/action/package_search", search_reply)
        server.route("/api/3/action/status_show", json_body({"success": True, "result": {"ckan_version": "2.10.4"}}))
        sources.add_source(session, name="city", kind="ckan", url=server.url("/"), allow_private=True, settings={"department": world.dept_a.code},
                           actor=None, now=NOW)
        session.commit()
        login(client, "bureau")
        token = csrf_token(client, "/bureau/harvest/sources/city")
        page = client.post("/bureau/harvest/sources/city/check", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
        assert "校验通过" in page
        response = client.post("/bureau/harvest/sources/city/preview", data={"csrf_token": token})
        assert response.status_code == 302 and "/bureau/harvest/jobs/" in response.headers["Location"]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "公共停车场泊位信息" in page and "出租车运价" in page and "随便共享" in page and "全部（3）" in page
    job = session.scalar(select(HarvestJob))
    assert job is not None and job.dry_run and (job.added, job.failed) == (2, 1)
    assert session.scalar(select(func.count()).select_from(HarvestItem)) == 3
