"""Workflow benchmark: what the statutory clocks cost when a zone has many open items.

    python bench/workflows.py [--requests 1000] [--reports 500] [--repeat 5] [--json] [--workdir DIR]

It builds a real SQLite database (migrated) with two departments, staff, a citizen and one
有条件共享 entry per 20 requests, then files `--requests` share requests through
`data_requests.submit` (a third accepted, a sixth of those paused for clarification) and
`--reports` error reports through `error_reports.submit`, on working days spread over
September–October 2026 (National Day inside). Then, each `--repeat` times, best time kept:

- baseline: loading the same open requests and reports with their entries from the database
  (`SELECT ... JOIN entry`), which any list of them must do at the least;
- `work.all_tasks`: every open task of the zone with its clock (due dates counted over the
  working-day calendar, pauses included) — what "my work", the Bureau's overdue view and
  `portal tick` start from;
- `work.work_for`: a provider's list and the Bureau's, on top of all_tasks;
- `notifications.tick`: the first run (writes the notices) and a second run (writes none).

Each figure is printed with its ratio to the baseline measured in the same run. Nothing here
asserts a time; absolute figures depend on the machine, the ratios much less so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHINA = timezone(timedelta(hours=8))
START = date(2026, 9, 1)


def _best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    return best, result


def build(workdir: Path, requests: int, reports: int) -> str:
    """The database with the open items; returns its URL."""
    from portal import data_requests as dr
    from portal import error_reports, open_review
    from portal.accounts import create_department, create_user
    from portal.catalog import EntryFields, ItemFields, create_entry
    from portal.db import make_engine, make_sessionmaker, upgrade
    from portal.vocab import ClassificationKind, DataType, EntryStatus, FormatClass, OpenType, Role, SecurityLevel, ShareType, UpdateCycle

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support import make_uscc  # a valid unified social credit code per department

    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    moment = datetime(2026, 8, 31, 9, tzinfo=CHINA)
    with make_sessionmaker(engine)() as session:
        provider_dept = create_department(session, name="市场监管局", code=make_uscc(1), parent=None, now=moment)
        asking_dept = create_department(session, name="税务局", code=make_uscc(2), parent=None, now=moment)
        made = {}
        for name, role, dept in (("provider", Role.PROVIDER, provider_dept), ("admin", Role.DEPT_ADMIN, provider_dept),
                                 ("asker", Role.EDITOR, asking_dept), ("bureau", Role.BUREAU, None), ("citizen", Role.PUBLIC, None)):
            made[name], _ = create_user(session, username=name, role=role, department=dept, password="Bench-Pass-2026!x", display_name=name, now=moment)
        entries = []
        for n in range(max(1, requests // 20)):
            fields = EntryFields(
                title=f"企业登记信息{n:03d}", classification_kind=ClassificationKind.THEME, classification_path="市场监管/登记",
                classification_code="2110100", format_class=FormatClass.SPREADSHEET, format_type="CSV",
                share_type=ShareType.CONDITIONAL, share_condition="仅限履职使用", open_type=OpenType.OPEN,
                update_cycle=UpdateCycle.DAILY, security_level=SecurityLevel.GENERAL, abstract="基准测试数据",
                items=[ItemFields("企业名称", "name", DataType.C, 100), ItemFields("登记日期", "registered", DataType.D)],
            )
            entry = create_entry(session, department=provider_dept, fields=fields, actor=None, actor_name="基准测试", now=moment, status=EntryStatus.PUBLISHED)
            open_review.record_imported(session, entry, conclusion="基准测试数据", actor_name="基准测试", now=moment)
            entries.append(entry)
        workdays = [START + timedelta(days=d) for d in range(61) if (START + timedelta(days=d)).weekday() < 5]
        for n in range(requests):
            day = workdays[n % len(workdays)]
            at = datetime(day.year, day.month, day.day, 10, tzinfo=CHINA)
            request = dr.submit(session, entries[n % len(entries)], kind="share", requester=made["asker"], purpose="核验企业登记信息",
                                duty="税收征管职责", now=at)
            if n % 3 == 0:
                dr.accept(session, request, actor=made["provider"], now=at)
                if n % 18 == 0:
                    dr.ask_clarification(session, request, actor=made["provider"], now=at + timedelta(days=1), question="请说明所需的字段范围")
        for n in range(reports):
            day = workdays[n % len(workdays)]
            error_reports.submit(session, entries[n % len(entries)], reporter=made["citizen"], subject="data",
                                 description="登记日期与营业执照不一致", now=datetime(day.year, day.month, day.day, 11, tzinfo=CHINA))
        session.commit()
    engine.dispose()
    return url


def measure(url: str, repeat: int) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from portal import notifications, work
    from portal.calendars import current_calendar
    from portal.db import make_engine, make_sessionmaker
    from portal.models import DataRequest, ErrorReport, Notification, User

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    today = date(2026, 10, 20)
    now = datetime(2026, 10, 20, 9, tzinfo=CHINA)
    figures: dict[str, Any] = {}
    with sessions() as session:
        calendar = current_calendar(session)

        def baseline() -> int:
            session.expire_all()
            rows = session.scalars(select(DataRequest).options(joinedload(DataRequest.entry))
                                   .where(DataRequest.state.in_(("submitted", "accepted", "clarifying")))).all()
            reports = session.scalars(select(ErrorReport).options(joinedload(ErrorReport.entry)).where(ErrorReport.state == "received")).all()
            return len(rows) + len(reports)

        def tasks() -> list[Any]:
            session.expire_all()
            return work.all_tasks(session, calendar, today)

        figures["baseline_s"], figures["open_items"] = _best(repeat, baseline)
        figures["all_tasks_s"], found = _best(repeat, tasks)
        figures["tasks"] = len(found)
        figures["overdue"] = sum(t.overdue for t in found)
        provider = session.scalars(select(User).where(User.username == "provider")).one()
        bureau = session.scalars(select(User).where(User.username == "bureau")).one()
        figures["work_for_provider_s"], mine = _best(repeat, lambda: work.work_for(provider, tasks()))
        figures["work_for_bureau_s"], theirs = _best(repeat, lambda: work.work_for(bureau, tasks()))
        figures["provider_items"], figures["bureau_items"] = len(mine), len(theirs)
        began = time.perf_counter()
        first = notifications.tick(session, calendar, today, now)
        session.commit()
        figures["tick_first_s"] = time.perf_counter() - began
        figures["notices"] = first.written
        figures["tick_again_s"], again = _best(repeat, lambda: notifications.tick(session, calendar, today, now))
        session.commit()
        figures["notices_again"] = again.written
        figures["notices_in_db"] = len(session.scalars(select(Notification.id)).all())
    engine.dispose()
    base = figures["baseline_s"]
    for key in ("all_tasks_s", "work_for_provider_s", "work_for_bureau_s", "tick_first_s", "tick_again_s"):
        figures[key.replace("_s", "_ratio")] = round(figures[key] / base, 2) if base else None
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workdir", type=Path, help="keep the database here (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-workflows-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        began = time.perf_counter()
        url = build(workdir, args.requests, args.reports)
        built = time.perf_counter() - began
        figures = measure(url, args.repeat) | {"requests": args.requests, "reports": args.reports, "build_s": round(built, 2)}
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0
    print(f"{figures['requests']} share requests and {figures['reports']} error reports filed in {figures['build_s']} s "
          f"({figures['open_items']} open items, {figures['tasks']} tasks, {figures['overdue']} overdue on 2026-10-20)")
    print(f"{'measure':<34}{'best s':>10}{'÷ baseline':>12}")
    rows = [("baseline: load the open items", "baseline_s", None), ("work.all_tasks (every clock)", "all_tasks_s", "all_tasks_ratio"),
            ("my work of a provider", "work_for_provider_s", "work_for_provider_ratio"),
            ("my work of the Bureau", "work_for_bureau_s", "work_for_bureau_ratio"),
            (f"portal tick, first ({figures['notices']} notices)", "tick_first_s", "tick_first_ratio"),
            (f"portal tick, again ({figures['notices_again']} notices)", "tick_again_s", "tick_again_ratio")]
    for label, key, ratio in rows:
        print(f"{label:<34}{figures[key]:>10.3f}{(figures[ratio] if ratio else 1.0):>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
