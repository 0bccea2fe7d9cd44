"""The Bureau's harvest sources: validation, audit rows without secrets, the organization →
department mapping, schedules across China-day boundaries, checks, jobs and their items."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harvest import job_history, schedules, sources
from harvest.fetch import FetchError
from harvest.org_mapping import org_mapping, remote_orgs_seen, set_org_mapping
from harvest.settings import DEFAULT_SETTINGS
from portal.accounts import create_department, create_user
from portal.catalog import create_entry
from portal.errors import Invalid, NotFound
from portal.models import AuditEvent, Department, HarvestItem, HarvestJob, HarvestOrgMapping, HarvestSource, User
from portal.vocab import Role

from ..support import NOW, entry_fields, make_uscc

CHINA = timezone(timedelta(hours=8))


@pytest.fixture
def bureau(session: Session) -> User:
    user, _password = create_user(session, username="bureau", role=Role.BUREAU, display_name="区数据资源局", now=NOW)
    return user


@pytest.fixture
def departments(session: Session) -> tuple[Department, Department]:
    a = create_department(session, name="甲局", code=make_uscc(1), parent=None, now=NOW)
    b = create_department(session, name="乙局", code=make_uscc(2), parent=None, now=NOW)
    session.flush()
    return a, b


def add(session: Session, actor: User | None = None, **overrides: object) -> HarvestSource:
    values: dict[str, object] = {"name": "city", "kind": "ckan", "url": "https://data.city.example/"}
    values.update(overrides)
    return sources.add_source(session, actor=actor, now=NOW, actor_name="测试", **values)  # type: ignore[arg-type]


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def china(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA).astimezone(timezone.utc)  # type: ignore[misc]


def job(session: Session, source: HarvestSource, started_at: datetime, *, state: str = "finished", dry_run: bool = False) -> HarvestJob:
    row = HarvestJob(source_id=source.id, state=state, dry_run=dry_run, started_at=started_at,
                     finished_at=None if state == "running" else started_at + timedelta(minutes=5))
    session.add(row)
    session.flush()
    return row


# -- adding and changing -------------------------------------------------------------------


def test_add_source_merges_the_default_settings_and_is_audited(session: Session, bureau: User, departments: tuple[Department, Department]) -> None:
    source = add(session, bureau, title="  市级 平台 ", schedule="daily", settings={"department": departments[0].code, "grace_days": 3},
                 url="https://harvester:s3cret@data.city.example/api?token=abc&q=1")
    assert source.title == "市级 平台" and source.schedule == "daily" and source.active and not source.allow_private
    assert source.settings == {**DEFAULT_SETTINGS, "department": departments[0].code, "grace_days": 3}
    [event] = events(session, "harvest:source-add")
    assert event.actor == "bureau" and event.target == "city"
    assert event.details["kind"] == "ckan" and event.details["settings"]["grace_days"] == 3
    assert "s3cret" not in str(event.details) and "abc" not in str(event.details)
    assert event.details["url"] == "https://harvester:***@data.city.example/api?token=***&q=1"
    assert add(session, name="no-title").title == "no-title"  # the name when no title is given
    assert add(session, name="lower", settings={"department": departments[1].code.lower()}).settings["department"] == departments[1].code
    assert events(session, "harvest:source-add")[-1].actor == "测试"  # no user: the actor's name


def test_add_source_reports_every_problem_at_once(session: Session, departments: tuple[Department, Department]) -> None:
    add(session)
    cases: list[tuple[dict[str, object], set[str]]] = [
        ({"name": "City"}, {"name"}),
        ({"name": "-city"}, {"name"}),
        ({"name": "a" * 61}, {"name"}),
        ({"name": "city"}, {"name"}),  # taken
        ({"name": "x", "kind": "oai-pmh"}, {"kind"}),
        ({"name": "x", "url": "ftp://data.city.example/"}, {"url"}),
        ({"name": "x", "url": "https:///path-only"}, {"url"}),
        ({"name": "x", "url": "data.city.example"}, {"url"}),
        ({"name": "x", "url": ""}, {"url"}),
        ({"name": "x", "url": "https://data.city.example:99999/"}, {"url"}),
        ({"name": "x", "schedule": "hourly"}, {"schedule"}),
        ({"name": "x", "settings": {"department": make_uscc(99)}}, {"department"}),
        ({"name": "x", "settings": {"grace_days": -1}}, {"grace_days"}),
        ({"name": "x", "settings": {"colour": "blue"}}, {"colour"}),
        ({"name": "Bad", "kind": "?", "url": "nope", "schedule": "?", "settings": {"publish": "yes"}}, {"name", "kind", "url", "schedule", "publish"}),
    ]
    for overrides, fields in cases:
        with pytest.raises(Invalid) as raised:
            add(session, **overrides)
        assert set(raised.value.errors) == fields, (overrides, raised.value.errors)
        assert all(raised.value.errors.values())
    assert len(sources.list_sources(session)) == 1 and len(events(session, "harvest:source-add")) == 1


def test_update_source_audits_before_and_after_without_secrets(session: Session, bureau: User, departments: tuple[Department, Department]) -> None:
    source = add(session, bureau, url="https://u:old-secret@data.city.example/")
    changed = sources.update_source(
        session, source, title="市级平台", schedule="weekly", url="https://u:new-secret@data.city.example/v2",
        settings={"department": departments[1].code, "publish": False}, actor=bureau, now=NOW + timedelta(hours=1),
    )
    assert changed and source.schedule == "weekly" and source.settings["publish"] is False
    assert source.settings["department"] == departments[1].code and source.settings["grace_days"] == DEFAULT_SETTINGS["grace_days"]
    assert source.updated_at == NOW + timedelta(hours=1) and source.name == "city" and source.kind == "ckan"
    [event] = events(session, "harvest:source-change")
    assert set(event.details["before"]) == {"title", "url", "schedule", "settings"}
    assert event.details["before"]["schedule"] == "manual" and event.details["after"]["schedule"] == "weekly"
    assert event.details["after"]["settings"]["publish"] is False
    assert "secret" not in str(event.details)

    # the same values again: nothing changes, nothing is audited
    assert not sources.update_source(session, source, title="市级平台", schedule="weekly", settings={"publish": False}, actor=bureau, now=NOW)
    assert len(events(session, "harvest:source-change")) == 1

    with pytest.raises(Invalid) as raised:
        sources.update_source(session, source, url="gopher://x", schedule="yearly", settings={"time_limit_minutes": 0}, actor=bureau, now=NOW)
    assert set(raised.value.errors) == {"url", "schedule", "time_limit_minutes"}
    assert source.schedule == "weekly"

    assert sources.update_source(session, source, active=False, allow_private=True, actor=bureau, now=NOW)
    assert not source.active and source.allow_private
    assert events(session, "harvest:source-change")[-1].details == {
        "before": {"allow_private": False, "active": True}, "after": {"allow_private": True, "active": False},
    }


def test_secret_settings_are_redacted() -> None:
    assert sources.redacted_settings({"api_key": "abc", "Authorization": "Bearer x", "grace_days": 7, "token": ""}) == {
        "api_key": "***", "Authorization": "***", "grace_days": 7, "token": "",
    }
    assert sources.redacted_url("https://data.example/a?x=1&apikey=2") == "https://data.example/a?x=1&apikey=***"
    assert sources.redacted_url("https://user@data.example/") == "https://user@data.example/"


def test_get_and_list_sources(session: Session) -> None:
    add(session, name="b-source")
    add(session, name="a-source")
    assert [s.name for s in sources.list_sources(session)] == ["a-source", "b-source"]
    assert sources.get_source(session, "a-source").name == "a-source"
    with pytest.raises(NotFound):
        sources.get_source(session, "nothing")
    with pytest.raises(NotFound):
        job_history.get_job(session, 12345)


# -- the organization → department mapping ---------------------------------------------------


def test_org_mapping_replaces_the_whole_table_and_is_audited(session: Session, bureau: User, departments: tuple[Department, Department]) -> None:
    a, b = departments
    source = add(session, bureau)
    assert set_org_mapping(session, source, {"city-env": a.code, " city-market ": b.code, "blank": ""}, actor=bureau, now=NOW)
    assert {k: d.name for k, d in org_mapping(session, source).items()} == {"city-env": "甲局", "city-market": "乙局"}
    [event] = events(session, "harvest:mapping")
    assert event.target == "city" and event.details == {"before": {}, "after": {"city-env": a.code, "city-market": b.code}}

    assert not set_org_mapping(session, source, {"city-env": a.code, "city-market": b.code}, actor=bureau, now=NOW)
    assert len(events(session, "harvest:mapping")) == 1

    assert set_org_mapping(session, source, {"city-env": b.code, "city-tax": a.code}, actor=bureau, now=NOW)
    assert {k: d.name for k, d in org_mapping(session, source).items()} == {"city-env": "乙局", "city-tax": "甲局"}
    assert events(session, "harvest:mapping")[-1].details["before"] == {"city-env": a.code, "city-market": b.code}

    with pytest.raises(Invalid) as raised:
        set_org_mapping(session, source, {"city-env": a.code, "city-x": make_uscc(77)}, actor=bureau, now=NOW)
    assert set(raised.value.errors) == {"city-x"}
    assert len(session.scalars(select(HarvestOrgMapping)).all()) == 2  # unchanged

    other = add(session, name="other")
    set_org_mapping(session, other, {"city-env": a.code}, actor=bureau, now=NOW)  # per source
    assert set_org_mapping(session, source, {}, actor=bureau, now=NOW)
    assert org_mapping(session, source) == {} and list(org_mapping(session, other)) == ["city-env"]


def test_remote_orgs_seen_come_from_the_items(session: Session) -> None:
    source = add(session)
    first = job(session, source, NOW)
    session.add_all([
        HarvestItem(job_id=first.id, guid="1", status="failed", stage="map",
                    error="无法确定提供方部门：来源组织“市生态环境局”没有对应的部门，且该来源未设置默认部门"),
        HarvestItem(job_id=first.id, guid="2", status="added", details={"organization": "city-market"}),
        HarvestItem(job_id=first.id, guid="3", status="failed", stage="parse", error="不是 JSON"),
    ])
    session.flush()
    assert remote_orgs_seen(session, source) == ["city-market", "市生态环境局"]
    assert remote_orgs_seen(session, add(session, name="other")) == []


# -- schedules -----------------------------------------------------------------------------


def test_manual_inactive_and_never_run_sources(session: Session) -> None:
    add(session, name="manual")
    add(session, name="daily", schedule="daily")
    inactive = add(session, name="off", schedule="daily")
    inactive.active = False
    session.flush()
    assert [s.name for s in schedules.due_sources(session, NOW)] == ["daily"]


@pytest.mark.parametrize(
    "schedule, last_started, now, due",
    [
        # daily: before today's China date
        ("daily", china(2026, 11, 24, 23, 59), china(2026, 11, 25, 0, 1), True),
        ("daily", china(2026, 11, 25, 0, 0, 30), china(2026, 11, 25, 23, 59), False),
        ("daily", datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc), datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc), False),  # the same China day
        ("daily", datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc), datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc), True),  # 23:00 and 00:30 China time
        # weekly: before this week's Monday (China time); 2026-11-23 is a Monday
        ("weekly", china(2026, 11, 22, 23, 0), china(2026, 11, 23, 0, 30), True),
        ("weekly", china(2026, 11, 23, 0, 10), china(2026, 11, 29, 23, 50), False),
        ("weekly", china(2026, 11, 16, 12, 0), china(2026, 11, 25, 9, 0), True),
        # monthly: before the 1st of this month (China time)
        ("monthly", china(2026, 10, 31, 23, 30), china(2026, 11, 1, 0, 10), True),
        ("monthly", china(2026, 11, 1, 0, 10), china(2026, 11, 30, 23, 50), False),
        ("monthly", china(2026, 12, 31, 23, 0), china(2027, 1, 1, 0, 5), True),
    ],
)
def test_due_across_china_day_boundaries(session: Session, schedule: str, last_started: datetime, now: datetime, due: bool) -> None:
    source = add(session, schedule=schedule)
    job(session, source, last_started)
    assert [s.name for s in schedules.due_sources(session, now)] == (["city"] if due else [])


def test_previews_do_not_count_and_running_jobs_block(session: Session) -> None:
    source = add(session, schedule="daily")
    now = china(2026, 11, 25, 10, 0)
    job(session, source, china(2026, 11, 24, 10, 0))
    job(session, source, china(2026, 11, 25, 9, 0), dry_run=True)  # a preview today: still due
    assert schedules.due_sources(session, now) == [source]
    running = job(session, source, china(2026, 11, 25, 9, 30), state="running")
    assert schedules.due_sources(session, now) == []  # never while a job runs
    assert job_history.running_job(session, source, now) is running
    # a job "running" past its time limit was cut off: it blocks nothing
    assert schedules.due_sources(session, now + timedelta(minutes=DEFAULT_SETTINGS["time_limit_minutes"] + 1)) == []  # started today
    running.started_at = china(2026, 11, 24, 20, 0)
    session.flush()
    assert job_history.running_job(session, source, now) is None and schedules.due_sources(session, now) == [source]


def test_failed_jobs_count_for_their_period(session: Session) -> None:
    source = add(session, schedule="daily")
    job(session, source, china(2026, 11, 25, 1, 0), state="failed")
    assert schedules.due_sources(session, china(2026, 11, 25, 20, 0)) == []  # retried tomorrow, not every tick
    assert schedules.due_sources(session, china(2026, 11, 26, 0, 0)) == [source]


# -- checks --------------------------------------------------------------------------------


def test_check_source_turns_fetch_errors_into_problems(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import harvest.ckan

    source = add(session)
    seen: list[object] = []

    def fine(source: HarvestSource, fetcher: object) -> list[str]:
        seen.append(fetcher)
        return []

    monkeypatch.setattr(harvest.ckan, "check", fine)
    assert sources.check_source(source) == []
    assert getattr(seen[0], "allow_private") is False

    def unreachable(source: HarvestSource, fetcher: object) -> list[str]:
        raise FetchError("network", "无法连接 data.city.example")

    monkeypatch.setattr(harvest.ckan, "check", unreachable)
    assert sources.check_source(source) == ["无法连接 data.city.example"]
    monkeypatch.setattr(harvest.ckan, "check", lambda source, fetcher: ["不是 CKAN 接口"])
    assert sources.check_source(source) == ["不是 CKAN 接口"]


# -- jobs and items ------------------------------------------------------------------------


def test_jobs_and_their_items(session: Session, departments: tuple[Department, Department]) -> None:
    source, other = add(session), add(session, name="other")
    entry = create_entry(session, department=departments[0], fields=entry_fields(), actor=None, now=NOW)
    first, second = job(session, source, NOW - timedelta(days=1)), job(session, source, NOW, state="running")
    job(session, other, NOW)
    statuses = ["added"] * 3 + ["unchanged"] * 150 + ["failed"] * 2
    session.add_all([
        HarvestItem(job_id=second.id, guid=f"g{n}", title=f"记录{n}", status=status, entry_id=entry.id if n == 0 else None,
                    stage="map" if status == "failed" else "", error="无法确定提供方部门" if status == "failed" else "")
        for n, status in enumerate(statuses)
    ])
    session.flush()
    assert job_history.jobs_of(session, source) == [second, first]
    assert job_history.jobs_of(session, source, limit=1) == [second]
    assert job_history.last_jobs(session) == {source.id: second, other.id: job_history.jobs_of(session, other)[0]}
    assert job_history.newest_job_id(session, source) == second.id and job_history.newest_job_id(session, add(session, name="new")) == 0

    page = job_history.job_items(session, second)
    assert page.total == 155 and page.pages == 2 and len(page.rows) == 100 and page.counts == {"added": 3, "unchanged": 150, "failed": 2}
    assert page.rows[0].item.guid == "g0" and page.rows[0].entry_slug == entry.slug and page.rows[1].entry_slug is None
    assert [r.item.guid for r in job_history.job_items(session, second, page=2).rows][:2] == ["g100", "g101"]
    assert job_history.job_items(session, second, page=99).page == 2
    failed = job_history.job_items(session, second, status="failed")
    assert failed.total == 2 and [r.item.guid for r in failed.rows] == ["g153", "g154"]
    with pytest.raises(Invalid):
        job_history.job_items(session, second, status="exploded")


def test_interrupted_jobs_are_marked_failed(session: Session) -> None:
    source = add(session)
    old = job(session, source, NOW - timedelta(minutes=5), state="running")
    before = job_history.newest_job_id(session, source)
    new = job(session, source, NOW, state="running")
    assert job_history.interrupt_jobs(session, source, after_id=before, now=NOW) == [new]
    assert new.state == "failed" and new.error == job_history.INTERRUPTED and new.finished_at == NOW
    assert old.state == "running"  # not this caller's job


def test_a_source_added_without_a_department_defaults_to_the_single_top_level_one(session: Session) -> None:
    committee = create_department(session, name="管委会", code=make_uscc(7), parent=None, now=NOW)
    create_department(session, name="某局", code=make_uscc(8), parent=committee, now=NOW)
    session.flush()
    assert add(session).settings["department"] == committee.code
    assert add(session, name="other", settings={"department": make_uscc(8)}).settings["department"] == make_uscc(8)
    create_department(session, name="另一个顶级单位", code=make_uscc(9), parent=None, now=NOW)
    session.flush()
    assert add(session, name="third").settings["department"] == ""  # two top-level departments: no guess
