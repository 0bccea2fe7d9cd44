"""`portal harvest add | list | run | report`, and the harvest step of `portal tick`
(`harvest_due`): other catalogs harvested into the zone catalog from the command line.

The group is made by `harvest_group(gettext, context_settings, ...)`, which `portal.cli`
registers, handing in what the commands share with the other commands (the app and session of
one command, the clock, how invalid fields are shown): this module never imports `portal.cli`,
so `python -m portal.cli` (where that module is `__main__`) loads it once. The rules live in
`harvest.sources` and `harvest.base`; this module only reads options and writes lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from flask import Flask

    from harvest.base import Progress
    from portal.models import HarvestJob, HarvestSource

Gettext = Callable[[str], str]
Clock = Callable[[], datetime]
OpenSession = Callable[[], AbstractContextManager[tuple["Flask", Session]]]

HARVESTER = "命令行"  # started_by and the audit actor of jobs started here
SCHEDULED = "定时任务"
PLAIN_EVERY = 100  # without a terminal, one progress line every this many records


def _as_written(message: str) -> str:
    """The messages as the code writes them (Chinese): the CLI's gettext without a catalog."""
    return message


def counts_line(_: Gettext, counted: HarvestJob | Progress, seen: int | None = None, total: int | None = None) -> str:
    """"已处理 120 条：新增 3 更新 1 未变 116 归档 0 失败 0"."""
    counts = {k: getattr(counted, k) for k in ("added", "updated", "unchanged", "archived", "failed")}
    done = seen if seen is not None else sum(counts.values())
    head = (_("已处理 %(seen)d/%(total)d 条") % {"seen": done, "total": total}) if total else (_("已处理 %(seen)d 条") % {"seen": done})
    return head + _("：新增 %(added)d 更新 %(updated)d 未变 %(unchanged)d 归档 %(archived)d 失败 %(failed)d") % counts


def job_line(_: Gettext, job: HarvestJob) -> str:
    from harvest.job_history import JOB_STATES

    line = _("任务 #%(id)d %(state)s") % {"id": job.id, "state": _(JOB_STATES.get(job.state, job.state))}
    if job.dry_run:
        line += _("（预览，未改动目录）")
    return line + "，" + counts_line(_, job)


def china_time(moment: datetime | None) -> str:
    return moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M") if moment else ""


def source_lines(_: Gettext, source: HarvestSource, last: HarvestJob | None = None) -> list[str]:
    from harvest import KINDS, SCHEDULES
    from harvest.sources import redacted_url

    lines = [
        f"{source.name}  {source.title}" + ("" if source.active else _("（已停用）")),
        _("  类型：%(kind)s") % {"kind": _(KINDS.get(source.kind, source.kind))},
        _("  地址：%(url)s") % {"url": redacted_url(source.url)},
        _("  采集周期：%(schedule)s") % {"schedule": _(SCHEDULES.get(source.schedule, source.schedule))},
    ]
    if source.allow_private:
        lines.append(_("  允许访问内网地址"))
    department = (source.settings or {}).get("department")
    if department:
        lines.append(_("  默认部门：%(code)s") % {"code": department})
    if last is not None:
        lines.append(_("  最近一次：") + job_line(_, last) + "，" + _("开始于 %(at)s") % {"at": china_time(last.started_at)})
    return lines


class _ProgressDisplay:
    """`run_job`'s progress callback: on a terminal one line, rewritten after a carriage return;
    otherwise a plain line every `every` records."""

    def __init__(self, _: Gettext = _as_written, *, tty: bool, every: int | None = None) -> None:
        self._, self.tty, self.every, self.shown = _, tty, every or PLAIN_EVERY, False

    def __call__(self, progress: Progress) -> None:
        seen = progress.seen
        line = counts_line(self._, progress, seen, progress.total)
        if self.tty:
            click.echo("\r" + line, nl=False)  # the counts only grow: the line never gets shorter
            self.shown = True
        elif seen % self.every == 0:
            click.echo(line)

    def close(self) -> None:
        if self.shown:
            click.echo()


def harvest_job(app: Flask, session: Session, source: HarvestSource, *, clock: Clock, started_by: str, **options: Any) -> HarvestJob:
    """Run one job of `source` (`harvest.base.run_job`) and audit it (harvest:run); an unexpected
    error marks the job failed (`job_history.interrupt_jobs`) and is raised again."""
    from harvest import base, job_history
    from portal.errors import PortalError

    before = job_history.newest_job_id(session, source)
    full, limit = bool(options.get("full")), options.get("limit")
    try:
        job = base.run_job(session, source, store=app.extensions["portal.files"], clock=clock, started_by=started_by, **options)
    except PortalError:
        session.rollback()  # a refusal: another job of the source is running
        raise
    except Exception:
        session.rollback()
        for stopped in job_history.interrupt_jobs(session, source, after_id=before, now=clock()):
            job_history.record_run(session, stopped, actor=None, actor_name=started_by, now=clock(), full=full, limit=limit)
        session.commit()
        raise
    job_history.record_run(session, job, actor=None, actor_name=started_by, now=clock(), full=full, limit=limit)
    session.commit()
    return job


def harvest_due(_: Gettext, app: Flask, session: Session, moment: datetime, *, clock: Clock) -> None:
    """`portal tick`'s harvest: the scheduled sources due at `moment`, one job after the other;
    a failing source does not stop the others. One line per job."""
    import logging

    from harvest import schedules
    from portal.errors import PortalError
    from portal.models import HarvestSource

    due = [(source.id, source.name) for source in schedules.due_sources(session, moment)]
    for source_id, name in due:
        try:
            source = session.get(HarvestSource, source_id)
            assert source is not None
            job = harvest_job(app, session, source, clock=clock, started_by=SCHEDULED)
            click.echo(_("采集 %(name)s：") % {"name": name} + job_line(_, job) + (f"；{job.error}" if job.error else ""))
        except PortalError as error:
            click.echo(_("采集 %(name)s：未启动，%(error)s") % {"name": name, "error": error.message}, err=True)
        except Exception as error:  # noqa: BLE001 - the next source still runs
            logging.getLogger(__name__).exception("scheduled harvest of %s failed", name)
            session.rollback()
            click.echo(_("采集 %(name)s：任务意外中止（%(error)s）") % {"name": name, "error": type(error).__name__}, err=True)


def harvest_group(
    _: Gettext, context: dict[str, Any], *, open_session: OpenSession, clock: Clock, echo_errors: Callable[[dict[str, str]], None]
) -> click.Group:
    """The `harvest` command group, with the CLI's gettext and context settings; `open_session`
    gives the app and a session for one command, `echo_errors` shows the fields of an `Invalid`."""

    @click.group("harvest", context_settings=context, help=_("采集其他目录（CKAN 接口、DCAT 目录、Frictionless 数据包）到本平台的目录。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def harvest() -> None:
        pass

    @harvest.command("add", context_settings=context, help=_("添加一个采集源。NAME 由小写字母、数字和连字符组成，此后用它指称该采集源。"))
    @click.argument("name")
    @click.option("--kind", required=True, type=click.Choice(["ckan", "dcat", "datapackage"]), help=_("采集源的类型。"))
    @click.option("--url", required=True, help=_("采集源的地址：CKAN 站点的根地址、DCAT 目录或 datapackage.json 的地址。"))
    @click.option("--allow-private", is_flag=True, help=_("允许访问本机和内网地址（默认拒绝）；只用于政务内网中的采集源。"))
    @click.option("--schedule", default="manual", show_default=True, type=click.Choice(["manual", "daily", "weekly", "monthly"]),
                  help=_("采集周期：到期的由 portal tick 启动。"))
    @click.option("--title", default="", help=_("显示名称。"))
    @click.option("--department", "department_code", default="", help=_("默认部门的统一社会信用代码：来源机构对应不到部门的记录归入此部门。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def add(name: str, kind: str, url: str, allow_private: bool, schedule: str, title: str, department_code: str) -> None:
        from harvest.sources import add_source
        from portal.errors import Invalid

        with open_session() as (_app, session):
            try:
                source = add_source(
                    session, name=name, kind=kind, url=url, title=title, allow_private=allow_private, schedule=schedule,
                    settings={"department": department_code.strip().upper()} if department_code.strip() else None,
                    actor=None, actor_name=HARVESTER, now=clock(),
                )
            except Invalid as error:
                echo_errors(error.errors)
                raise click.ClickException(_("没有添加采集源。")) from None
            session.commit()
            click.echo(_("已添加采集源："))
            for line in source_lines(_, source):
                click.echo(line)

    @harvest.command("list", context_settings=context, help=_("列出所有采集源及其最近一次采集任务。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def list_() -> None:
        from harvest.job_history import last_jobs
        from harvest.sources import list_sources

        with open_session() as (_app, session):
            rows = list_sources(session)
            last = last_jobs(session)
            if not rows:
                click.echo(_("还没有采集源；用 portal harvest add 添加。"))
            for source in rows:
                for line in source_lines(_, source, last.get(source.id)):
                    click.echo(line)

    @harvest.command("run", context_settings=context, help=_("立即采集一个采集源，显示进度；任务失败或超时停止时以状态 1 退出。"))
    @click.argument("name")
    @click.option("--dry-run", is_flag=True, help=_("预览：只计算每条记录将被如何处理，不改动目录。"))
    @click.option("--full", is_flag=True, help=_("全量采集（默认在支持时增量采集）；只有全量采集能发现来源已删除的记录。"))
    @click.option("--limit", type=click.IntRange(min=1), default=None, help=_("只处理前 N 条记录（通常与 --dry-run 一起用）；不做归档。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def run(name: str, dry_run: bool, full: bool, limit: int | None) -> None:
        from harvest.sources import get_source
        from portal.errors import NotFound, PortalError

        with open_session() as (app, session):
            try:
                source = get_source(session, name)
            except NotFound as error:
                raise click.ClickException(f"{error.message}：{name}") from None
            display = _ProgressDisplay(_, tty=sys.stdout.isatty())
            try:
                job = harvest_job(app, session, source, clock=clock, started_by=HARVESTER,
                                  dry_run=dry_run, full=full, limit=limit, progress=display)
            except PortalError as error:
                display.close()
                raise click.ClickException(error.message) from None
            except Exception as error:
                display.close()
                raise click.ClickException(_("采集任务意外中止（%(error)s），已记为失败。") % {"error": type(error).__name__}) from None
            display.close()
            click.echo(job_line(_, job))
            if job.error:
                click.echo(job.error, err=job.state != "finished")
            click.echo(_("明细：portal harvest report %(id)d") % {"id": job.id})
            state = job.state
        sys.exit(0 if state == "finished" else 1)

    @harvest.command("report", context_settings=context, help=_("列出一个采集任务的每条记录：状态、来源标识、标题、环节、错误（以制表符分隔）。"))
    @click.argument("job_id", metavar="JOB", type=int)
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def report(job_id: int) -> None:
        from harvest import STATUSES
        from harvest.job_history import STAGES, get_job, job_items
        from portal.errors import NotFound

        with open_session() as (_app, session):
            try:
                job = get_job(session, job_id)
            except NotFound as error:
                raise click.ClickException(error.message) from None
            click.echo(_("采集源 %(name)s，") % {"name": job.source.name} + job_line(_, job))
            click.echo(_("开始 %(start)s，结束 %(end)s") % {"start": china_time(job.started_at), "end": china_time(job.finished_at) or "-"})
            if job.error:
                click.echo(job.error)
            page = 1
            while True:
                items = job_items(session, job, page=page, per_page=1000)
                for row in items.rows:
                    item = row.item
                    fields = [_(STATUSES.get(item.status, item.status)), item.guid, item.title,
                              _(STAGES.get(item.stage, item.stage)) if item.stage else "", item.error]
                    click.echo("\t".join(" ".join(f.split()) for f in fields))
                if page >= items.pages:
                    break
                page += 1

    return harvest
