"""`portal harvest add | list | run | report` and the harvest of `portal tick`, against a tiny
CKAN catalog served by the local payload server (`server.py`), through the real job."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from harvest import sources
from portal import cli, cli_harvest
from portal.accounts import create_department
from portal.cli import main
from portal.models import AuditEvent, Department, Entry, HarvestItem, HarvestJob, HarvestSource

from ..support import NOW, make_uscc
from .server import PayloadServer, Reply, json_body

SEARCH = "/api/3/action/package_search"


def package(n: int, title: str, **extras: str) -> dict[str, Any]:
    """A CKAN package as package_search returns it, small but complete enough to be mapped."""
    return {
        "id": f"00000000-0000-4000-8000-00000000000{n}", "name": f"dataset-{n}", "title": title,
        "notes": f"{title}，用于测试采集。", "metadata_modified": "2026-06-01T08:00:00.000000", "state": "active", "private": False,
        "organization": {"name": "city-traffic", "title": "市交通运输局"},
        "tags": [{"name": "交通"}], "groups": [], "resources": [],
        "extras": [{"key": key, "value": value} for key, value in {"共享类型": "无条件共享", "开放类型": "无条件开放", "更新周期": "每月", **extras}.items()],
    }


PACKAGES = [
    package(1, "公共停车场泊位信息"),
    package(2, "公交站点"),
    package(3, "出租车运价", 共享类型="随便共享"),  # not a share type: this record fails
]


def search_reply(path: str) -> Reply:
    query = parse_qs(urlsplit(path).query)
    start, rows = int(query.get("start", ["0"])[0]), int(query.get("rows", ["100"])[0])
    return json_body({"success": True, "result": {"count": len(PACKAGES), "results": PACKAGES[start:start + rows]}})


@pytest.fixture
def server() -> Iterator[PayloadServer]:
    with PayloadServer() as server:
        server.route(SEARCH, search_reply)
        server.route("/api/3/action/status_show", json_body({"success": True, "result": {"ckan_version": "2.10.4"}}))
        server.route("/broken" + SEARCH, Reply(200, b"<html>not json</html>", {"Content-Type": "text/html"}))
        yield server


@pytest.fixture
def department(session: Session) -> Department:
    row = create_department(session, name="经开区交通运输局", code=make_uscc(7), parent=None, now=NOW)
    session.commit()
    return row


@pytest.fixture
def runner(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key, value in {"PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
                       "PORTAL_FILES_PATH": str(tmp_path / "files"), "PORTAL_LANG": "zh"}.items():
        monkeypatch.setenv(key, value)
    return CliRunner()


def portal(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_add_and_list(runner: CliRunner, server: PayloadServer, department: Department, session: Session) -> None:
    result = portal(runner, "harvest", "add", "city", "--kind", "ckan", "--url", server.url("/"), "--allow-private",
                    "--schedule", "daily", "--title", "市级平台", "--department", department.code.lower())
    assert result.exit_code == 0, result.output
    assert "已添加采集源" in result.output and "city  市级平台" in result.output and "每天" in result.output
    assert f"默认部门：{department.code}" in result.output and "允许访问内网地址" in result.output
    source = session.scalar(select(HarvestSource).where(HarvestSource.name == "city"))
    assert source is not None and source.allow_private and source.settings["department"] == department.code
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "harvest:source-add"))
    assert event is not None and event.actor == "命令行"

    result = runner.invoke(main, ["harvest", "add", "City!", "--kind", "ckan", "--url", "ftp://x", "--department", make_uscc(99)])
    assert result.exit_code == 1
    assert "没有添加采集源" in result.output and "name:" in result.output and "url:" in result.output and "department:" in result.output
    result = runner.invoke(main, ["harvest", "add", "x", "--kind", "oai", "--url", "https://x.example/"])
    assert result.exit_code == 2  # click refuses the kind

    result = portal(runner, "harvest", "list")
    assert result.exit_code == 0 and "city  市级平台" in result.output and "最近一次" not in result.output


def test_list_without_sources(runner: CliRunner, engine: Engine) -> None:
    result = portal(runner, "harvest", "list")
    assert result.exit_code == 0 and "还没有采集源" in result.output


def test_run_preview_report_and_run_again(runner: CliRunner, server: PayloadServer, department: Department, session: Session,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert portal(runner, "harvest", "add", "city", "--kind", "ckan", "--url", server.url("/"), "--allow-private",
                  "--department", department.code).exit_code == 0

    preview = portal(runner, "harvest", "run", "city", "--dry-run", "--limit", "2")
    assert preview.exit_code == 0, preview.output
    assert "预览" in preview.output and "新增 2" in preview.output
    assert session.scalar(select(func.count(Entry.id))) == 0  # a preview writes nothing but the job

    monkeypatch.setattr(cli_harvest, "PLAIN_EVERY", 1)  # not a terminal: a plain line every record
    result = portal(runner, "harvest", "run", "city")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "已处理 1/3 条：新增 1 更新 0 未变 0 归档 0 失败 0",
        "已处理 2/3 条：新增 2 更新 0 未变 0 归档 0 失败 0",
        "已处理 3/3 条：新增 2 更新 0 未变 0 归档 0 失败 1",
    ], result.output
    assert "\r" not in result.output
    job_id = int(re.search(r"portal harvest report (\d+)", result.output).group(1))  # type: ignore[union-attr]
    assert re.search(rf"任务 #{job_id} 已完成，已处理 3 条：新增 2 更新 0 未变 0 归档 0 失败 1", result.output)
    entries = session.scalars(select(Entry).order_by(Entry.title)).all()
    assert [e.title for e in entries] == ["公交站点", "公共停车场泊位信息"] and all(e.department_id == department.id for e in entries)

    report = portal(runner, "harvest", "report", str(job_id))
    assert report.exit_code == 0, report.output
    rows = [line.split("\t") for line in report.output.splitlines() if "\t" in line]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("新增", PACKAGES[0]["id"], "公共停车场泊位信息"), ("新增", PACKAGES[1]["id"], "公交站点"), ("失败", PACKAGES[2]["id"], "出租车运价"),
    ]
    assert rows[2][3] and "随便共享" in rows[2][4]  # the stage and the reason

    runs = session.scalars(select(AuditEvent).where(AuditEvent.action == "harvest:run").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.details["dry_run"], e.details["limit"], e.details["added"]) for e in runs] == [("命令行", True, 2, 2), ("命令行", False, None, 2)]

    again = portal(runner, "harvest", "run", "city", "--full")
    assert again.exit_code == 0 and "新增 0 更新 0 未变 2" in again.output, again.output
    assert session.scalar(select(func.count(Entry.id))) == 2
    listed = portal(runner, "harvest", "list")
    assert "最近一次：任务" in listed.output and "未变 2" in listed.output

    assert runner.invoke(main, ["harvest", "report", "99999"]).exit_code == 1
    assert runner.invoke(main, ["harvest", "run", "nothing"]).exit_code == 1


def test_a_failed_job_exits_1(runner: CliRunner, server: PayloadServer, department: Department, session: Session) -> None:
    assert portal(runner, "harvest", "add", "broken", "--kind", "ckan", "--url", server.url("/broken/"), "--allow-private").exit_code == 0
    result = runner.invoke(main, ["harvest", "run", "broken"])
    assert result.exit_code == 1, result.output
    assert "失败" in result.output and "Traceback" not in result.output
    job = session.scalar(select(HarvestJob))
    assert job is not None and job.state == "failed" and job.error

    # a private address without the Bureau's permission: refused, the job fails
    assert portal(runner, "harvest", "add", "private", "--kind", "ckan", "--url", server.url("/")).exit_code == 0
    result = runner.invoke(main, ["harvest", "run", "private"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_a_running_job_is_not_started_twice(runner: CliRunner, server: PayloadServer, session: Session) -> None:
    assert portal(runner, "harvest", "add", "city", "--kind", "ckan", "--url", server.url("/"), "--allow-private").exit_code == 0
    source = sources.get_source(session, "city")
    session.add(HarvestJob(source_id=source.id, state="running", started_at=cli._now() - timedelta(minutes=1)))
    session.commit()
    result = runner.invoke(main, ["harvest", "run", "city"])
    assert result.exit_code == 1 and "正在运行" in result.output
    assert session.scalar(select(func.count(HarvestJob.id))) == 1


def test_tick_starts_the_due_jobs_one_after_the_other(runner: CliRunner, server: PayloadServer, department: Department, session: Session) -> None:
    for name, path in (("a-broken", "/broken/"), ("b-city", "/")):
        assert portal(runner, "harvest", "add", name, "--kind", "ckan", "--url", server.url(path), "--allow-private",
                      "--schedule", "daily", "--department", department.code).exit_code == 0
    assert portal(runner, "harvest", "add", "c-manual", "--kind", "ckan", "--url", server.url("/"), "--allow-private").exit_code == 0

    result = runner.invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("提醒：")
    assert lines[1].startswith("采集 a-broken：任务 #") and "失败" in lines[1]  # a failing source does not stop the others
    assert lines[2].startswith("采集 b-city：任务 #") and "已完成" in lines[2] and "新增 2" in lines[2]
    assert len(lines) == 3
    jobs = session.scalars(select(HarvestJob).order_by(HarvestJob.id)).all()
    assert [(j.source.name, j.started_by) for j in jobs] == [("a-broken", "定时任务"), ("b-city", "定时任务")]
    runs = session.scalars(select(AuditEvent).where(AuditEvent.action == "harvest:run").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.target, e.details["state"]) for e in runs] == [
        ("定时任务", f"a-broken #{jobs[0].id}", "failed"), ("定时任务", f"b-city #{jobs[1].id}", "finished"),
    ]

    again = runner.invoke(main, ["tick"])  # done for today
    assert again.exit_code == 0 and len(again.output.strip().splitlines()) == 1
    assert session.scalar(select(func.count(HarvestItem.id))) == 3


def test_progress_on_a_terminal_rewrites_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from harvest.base import Progress

    display = cli_harvest._ProgressDisplay(tty=True)
    display(Progress(seen=1, total=2, added=1))
    display(Progress(seen=2, total=2, added=1, failed=1))
    display.close()
    assert capsys.readouterr().out == (
        "\r已处理 1/2 条：新增 1 更新 0 未变 0 归档 0 失败 0"
        "\r已处理 2/2 条：新增 1 更新 0 未变 0 归档 0 失败 1\n"
    )
