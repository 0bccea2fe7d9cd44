"""The portal's calendar: years loaded by the Bureau override the package, each load is audited,
and `portal calendar due` / `portal calendar load` work from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.calendars import current_calendar, load_year
from portal.cli import main
from portal.models import AuditEvent
from portal.workdays import add_workdays, parse_year_file

from .support import NOW

YEAR_2027 = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试用）",
    "days_off": ["2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
    "workdays": ["2027-02-13", "2027-02-20"],
}


def test_a_loaded_year_overrides_the_package_and_is_audited(session: Session) -> None:
    before = current_calendar(session)
    assert before.is_provisional(2027) and before.is_workday(date(2027, 2, 11))
    assert load_year(session, parse_year_file(json.dumps(YEAR_2027)), actor=None, actor_name="测试", now=NOW)
    assert not load_year(session, parse_year_file(json.dumps(YEAR_2027)), actor=None, actor_name="测试", now=NOW)  # the same again
    session.commit()
    after = current_calendar(session)
    assert not after.is_provisional(2027)
    assert not after.is_workday(date(2027, 2, 11)) and after.is_workday(date(2027, 2, 13))  # a Saturday made a working day
    assert add_workdays(after, date(2027, 2, 4), 1) == date(2027, 2, 13)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar:load")).all()
    assert len(events) == 1 and events[0].target == "2027" and audit.verify(session).ok


@pytest.fixture
def runner(database_url: str, engine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PORTAL_LANG", "zh")
    return CliRunner()


@pytest.mark.parametrize("args, printed", [
    (["2026-09-28", "10"], "2026-10-16"),  # National Day week; Saturday 10-10 is a working day
    (["2026-02-13", "1"], "2026-02-14"),  # Saturday 2-14 is a make-up working day
    (["2026-09-25", "10", "--calendar-days"], "2026-10-08"),  # 10-05 is a day off: moved on
    (["2026-12-24", "10"], "2027-01-08（暂定：该年度的节假日安排尚未公布）"),
])
def test_calendar_due(runner: CliRunner, args: list[str], printed: str) -> None:
    result = runner.invoke(main, ["calendar", "due", *args])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == printed


def test_calendar_load_from_a_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(main, ["calendar", "load", str(path)])
    assert result.exit_code == 0 and "已载入 2027 年" in result.output
    assert runner.invoke(main, ["calendar", "due", "2026-12-24", "10"]).output.strip() == "2027-01-08"
    path.write_text(json.dumps({**YEAR_2027, "workdays": ["2027-02-08"]}), encoding="utf-8")
    result = runner.invoke(main, ["calendar", "load", str(path)])
    assert result.exit_code == 1 and "应为周六或周日" in result.output
