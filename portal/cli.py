"""The `portal` command: init, serve, load, reindex, tick, and the groups users, calendar,
audit and keys. The groups `harvest` (portal/cli_harvest.py) and `site` (portal/cli_site.py) live
in modules of their own, registered at the end of this one.

Help texts are Chinese; with PORTAL_LANG=en (or LANG=en_*) they are English, from the same
message catalogs as the web UI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click
from babel.support import NullTranslations, Translations
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

TRANSLATIONS = Path(__file__).parent / "translations"


def cli_locale() -> str:
    for name in ("PORTAL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


_translations: NullTranslations = (
    Translations.load(str(TRANSLATIONS), [cli_locale()]) if cli_locale() == "en" else NullTranslations()
)
_ = _translations.gettext

HEADINGS = {"Usage": _("用法"), "Options": _("选项"), "Commands": _("命令")}


class Formatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix=f"{HEADINGS['Usage']}: ")

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))


click.Context.formatter_class = Formatter
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _now() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def _portal() -> Iterator[Flask]:
    """The app for one command; its database connections are closed when the command ends."""
    from . import create_app

    app = create_app()
    try:
        yield app
    finally:
        app.extensions["portal.engine"].dispose()


@contextmanager
def _session() -> Iterator[tuple[Flask, Session]]:
    with _portal() as app, app.extensions["portal.sessions"]() as session:
        yield app, session


def _echo_errors(errors: dict[str, str]) -> None:
    for field, message in errors.items():
        click.echo(f"  {field}: {message}", err=True)


@click.group(context_settings=CONTEXT, help=_("合肥经开区政务数据共享开放平台的管理命令。设置见 README 中的 PORTAL_* 环境变量。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def main() -> None:
    pass


@main.command(context_settings=CONTEXT, help=_("创建或升级数据库，载入样例数据包，并在没有管理员时创建第一个区数据资源局管理员。可重复运行。"))
@click.option("--no-datasets", is_flag=True, help=_("不载入样例数据包。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def init(no_datasets: bool) -> None:
    from .accounts import create_user
    from .datapackages import load_datasets
    from .db import upgrade
    from .models import User
    from .vocab import Role

    with _session() as (app, session):
        upgrade(app.extensions["portal.engine"])
        click.echo(_("数据库已是最新结构。"))
        if not no_datasets:
            root = Path(app.config["DATASETS_PATH"])
            results = load_datasets(session, root, store=app.extensions["portal.files"], now=_now())
            counts: dict[str, int] = {}
            for result in results:
                counts[result.action] = counts.get(result.action, 0) + 1
                if result.action == "failed":
                    click.echo(_("数据包 %(name)s 载入失败：%(error)s") % {"name": result.name, "error": result.error}, err=True)
                for warning in result.warnings:
                    click.echo(_("数据包 %(name)s 暂不能对外提供：%(warning)s") % {"name": result.name, "warning": warning}, err=True)
            click.echo(
                _("样例数据包：新建 %(created)d，更新 %(updated)d，未变 %(unchanged)d，失败 %(failed)d。")
                % {k: counts.get(k, 0) for k in ("created", "updated", "unchanged", "failed")}
            )
        admin = session.scalar(select(User).where(User.role == Role.BUREAU).order_by(User.id))
        password = None
        if admin is None:
            admin, password = create_user(session, username="admin", role=Role.BUREAU, display_name="区数据资源局管理员", now=_now())
        session.commit()
    if password:
        click.echo(_("已创建区数据资源局管理员。用户名：%(user)s  密码：%(password)s") % {"user": admin.username, "password": password})
        click.echo(_("密码只显示这一次，请妥善保存；忘记时可运行 portal users reset-password %(user)s。") % {"user": admin.username})
    else:
        click.echo(_("管理员账户 %(user)s 已存在；忘记密码时可运行 portal users reset-password %(user)s。") % {"user": admin.username})


@main.command(context_settings=CONTEXT, help=_("启动门户网站（waitress WSGI 服务器）。"))
@click.option("--host", default=None, help=_("监听地址，默认取 PORTAL_HOST。"))
@click.option("--port", type=int, default=None, help=_("监听端口，默认取 PORTAL_PORT。"))
@click.option("--threads", type=int, default=8, show_default=True, help=_("工作线程数。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def serve(host: str | None, port: int | None, threads: int) -> None:
    from waitress import serve as waitress_serve

    from .wsgi import serving_app

    app = serving_app()
    try:
        host = host or app.config["HOST"]
        port = port or app.config["PORT"]
        click.echo(_("门户已启动：http://%(host)s:%(port)s/  （Ctrl+C 停止）") % {"host": host, "port": port})
        waitress_serve(app, host=host, port=port, threads=threads, ident="portal")
    finally:
        app.extensions["portal.engine"].dispose()


@main.command(context_settings=CONTEXT, help=_("把一个目录中的 Frictionless 数据包载入目录（已有的按名称更新）。"))
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def load(path: Path) -> None:
    from .datapackages import load_datasets, load_package

    with _session() as (app, session):
        store = app.extensions["portal.files"]
        if (path / "datapackage.json").exists():
            results = [load_package(session, path, store=store, now=_now())]
        else:
            results = load_datasets(session, path, store=store, now=_now())
        session.commit()
    failed = 0
    for result in results:
        click.echo(f"{result.name}: {result.action}{'  ' + result.error if result.error else ''}")
        for warning in result.warnings:
            click.echo(f"  {warning}")
        failed += result.action == "failed"
    sys.exit(1 if failed else 0)


@main.command(context_settings=CONTEXT, help=_("从数据库重建全文检索索引（检索结果与目录不一致，或更换检索后端后使用）。"))
@click.option("--check", is_flag=True, help=_("只检查并修复：写入排队的变更，索引缺失条目时才重建。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def reindex(check: bool) -> None:
    with _portal() as app:
        search = app.extensions["portal.search"]
        if check:
            click.echo(_("检索索引检查结果：%(outcome)s") % {"outcome": search.indexer.repair()})
        else:
            count = search.indexer.rebuild()
            click.echo(_("已重建检索索引（%(backend)s）：%(count)d 个数据资源。") % {"backend": search.backend.name, "count": count})


@main.group(context_settings=CONTEXT, help=_("管理用户账户。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def users() -> None:
    pass


ROLE_NAMES = ["editor", "provider", "dept-admin", "reviewer", "bureau", "auditor"]


@users.command("create", context_settings=CONTEXT, help=_("创建工作人员账户并显示一次生成的密码。部门角色（editor、provider、dept-admin）须用 --department 指定部门的统一社会信用代码。"))
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES), help=_("角色。"))
@click.option("--department", "department_code", default=None, help=_("所属部门的统一社会信用代码。"))
@click.option("--name", "display_name", default="", help=_("显示名称。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def users_create(username: str, role: str, department_code: str | None, display_name: str) -> None:
    from .accounts import create_user, department_by_code
    from .errors import Invalid, NotFound
    from .vocab import Role

    with _session() as (_app, session):
        try:
            department = department_by_code(session, department_code) if department_code else None
            user, password = create_user(
                session, username=username, role=Role(role), department=department, display_name=display_name, now=_now()
            )
        except NotFound as error:
            raise click.ClickException(error.message) from None
        except Invalid as error:
            _echo_errors(error.errors)
            raise click.ClickException(_("没有创建账户。")) from None
        session.commit()
    click.echo(_("已创建账户 %(user)s（%(role)s）。密码：%(password)s") % {"user": user.username, "role": role, "password": password})
    click.echo(_("密码只显示这一次。"))


@users.command("reset-password", context_settings=CONTEXT, help=_("为账户生成新密码并解除锁定，新密码只显示一次。"))
@click.argument("username")
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def users_reset_password(username: str) -> None:
    from .accounts import set_password, user_by_username
    from .errors import NotFound

    with _session() as (_app, session):
        try:
            user = user_by_username(session, username)
        except NotFound as error:
            raise click.ClickException(error.message) from None
        password = set_password(user)
        session.commit()
    click.echo(_("账户 %(user)s 的新密码：%(password)s") % {"user": username, "password": password})
    click.echo(_("密码只显示这一次。"))


@main.group(context_settings=CONTEXT, help=_("工作日日历：计算期限，载入国务院办公厅公布的年度节假日安排。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def calendar() -> None:
    pass


@calendar.command("due", context_settings=CONTEXT, help=_("N 日期限的到期日：起算日当天不计；默认按工作日计算，--calendar-days 按自然日计算，末日为节假日的顺延至下一个工作日。"))
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("days", type=click.IntRange(min=0))
@click.option("--calendar-days", is_flag=True, help=_("按自然日计算。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def calendar_due(start: datetime, days: int, calendar_days: bool) -> None:
    from .calendars import current_calendar
    from .workdays import due_date

    with _session() as (_app, session):
        result = due_date(current_calendar(session), start.date(), days, "calendar_days" if calendar_days else "workdays")
    assert result.date is not None
    click.echo(result.date.isoformat() + (_("（暂定：该年度的节假日安排尚未公布）") if result.provisional else ""))


@calendar.command("load", context_settings=CONTEXT, help=_("载入一个年度的法定节假日和调休上班日（JSON 文件），替代该年度的内置数据。"))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def calendar_load(path: Path) -> None:
    from .calendars import load_year
    from .workdays import CalendarFileError, parse_year_file

    try:
        official = parse_year_file(path.read_text(encoding="utf-8"))
    except (CalendarFileError, UnicodeDecodeError) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from None
    with _session() as (_app, session):
        changed = load_year(session, official, actor=None, actor_name="命令行", now=_now())
        session.commit()
    if changed:
        click.echo(_("已载入 %(year)d 年的节假日安排（%(source)s）。") % {"year": official.year, "source": official.source})
    else:
        click.echo(_("%(year)d 年的节假日安排已是该内容，未作改动。") % {"year": official.year})


@main.group(context_settings=CONTEXT, help=_("审计日志。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def audit() -> None:
    pass


@audit.command("verify", context_settings=CONTEXT, help=_("逐条核对审计日志的哈希链：发现被改动或删除的记录时列出并以状态 1 退出。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def audit_verify() -> None:
    from .audit import verify

    with _session() as (_app, session):
        result = verify(session)
    for problem in result.problems:
        click.echo(problem, err=True)
    if not result.ok:
        click.echo(_("审计日志共 %(rows)d 条，发现 %(count)d 处问题。") % {"rows": result.rows, "count": len(result.problems)}, err=True)
        sys.exit(1)
    click.echo(_("审计日志共 %(rows)d 条，哈希链完整。") % {"rows": result.rows})


@main.group(context_settings=CONTEXT, help=_("API密钥：为账户创建密钥，生成加密个人信息用的密钥。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def keys() -> None:
    pass


@keys.command("create", context_settings=CONTEXT, help=_("为账户创建一个API密钥并只显示这一次；写入权限（--scope write）只授予部门工作人员和区数据资源局。"))
@click.argument("username")
@click.option("--name", default="命令行创建", show_default=True, help=_("密钥名称（用途）。"))
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write"]), help=_("权限，可重复；默认 read。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def keys_create(username: str, name: str, scopes: tuple[str, ...]) -> None:
    from .accounts import user_by_username
    from .api_keys import create_key
    from .errors import Invalid, NotFound

    with _session() as (_app, session):
        try:
            user = user_by_username(session, username)
            row, key = create_key(session, user, name=name, scopes=list(scopes) or ["read"], now=_now())
        except NotFound as error:
            raise click.ClickException(error.message) from None
        except Invalid as error:
            _echo_errors(error.errors)
            raise click.ClickException(_("没有创建密钥。")) from None
        session.commit()
    click.echo(_("已为 %(user)s 创建密钥 %(prefix)s…（%(scopes)s）：") % {"user": username, "prefix": row.prefix, "scopes": ", ".join(row.scopes)})
    click.echo(key)
    click.echo(_("密钥只显示这一次，请立即保存；在请求头 Authorization 或 X-API-Key 中携带。"), err=True)


@keys.command("new-secret", context_settings=CONTEXT, help=_("生成一个新的 Fernet 密钥，用作 PORTAL_PERSONAL_DATA_KEY（加密身份证号等个人信息）。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def keys_new_secret() -> None:
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode("ascii"))
    click.echo(_("请通过环境变量 PORTAL_PERSONAL_DATA_KEY 提供并另行备份；更换密钥后，用旧密钥加密的号码无法解密。"), err=True)


@main.command(context_settings=CONTEXT, help=_("定时任务（由 cron 每半小时运行）：到期前2个工作日和超期当日写入站内提醒，配置了 PORTAL_SMTP_HOST 时同时发送邮件；然后依次启动到期的定时采集任务。可重复运行。"))
@click.help_option("-h", "--help", help=_("显示帮助并退出。"))
def tick() -> None:
    from .calendars import current_calendar
    from .cli_harvest import harvest_due
    from .data_requests import china_day
    from .notifications import SmtpSettings, send_pending
    from .notifications import tick as write_notices
    from .quotas import open_store

    moment = _now()
    with _session() as (app, session):
        report = write_notices(session, current_calendar(session), china_day(moment), moment)
        session.commit()  # the notices stand even when the mail server is down
        open_store(app.config, app.extensions["portal.engine"]).sync(moment, force=True)  # Redis usage into the database
        mail = send_pending(session, SmtpSettings.from_config(app.config), now=moment)
        session.commit()
        click.echo(
            _("提醒：新写入 %(written)d 条（%(users)d 人），发送邮件 %(sent)d 封，失败 %(failed)d 封。")
            % {"written": report.written, "users": report.users, "sent": mail.sent, "failed": mail.failed}
        )
        harvest_due(_, app, session, moment, clock=_now)


from .cli_backup import backup_group  # noqa: E402  (the `backup` commands: portal/cli_backup.py)
from .cli_harvest import harvest_group  # noqa: E402  (the `harvest` commands: portal/cli_harvest.py)
from .cli_site import site_group  # noqa: E402  (the `site` commands: portal/cli_site.py)
main.add_command(harvest_group(_, CONTEXT, open_session=_session, clock=_now, echo_errors=_echo_errors))
main.add_command(site_group(_, CONTEXT))
main.add_command(backup_group(_, CONTEXT))

if __name__ == "__main__":
    main()
