"""`portal backup create | verify | restore`: the command line of `portal.backups`.

The group is made by `backup_group(gettext, context_settings)`, which `portal.cli` registers;
this module never imports `portal.cli`. The commands read the settings (`PORTAL_*`) without
building the app, so that `restore` finds a new instance's database as empty as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine


def backup_group(_: Callable[[str], str], context: dict[str, Any]) -> click.Group:
    """The `backup` command group, with the CLI's gettext and context settings."""
    from . import backups
    from .config import load_settings
    from .db import make_engine

    @contextmanager
    def instance() -> Iterator[tuple[dict[str, Any], Engine]]:
        """The settings and an engine of the database they name (disposed at the end); a
        `BackupError` becomes the command's error message and exit status 1."""
        settings = load_settings()
        engine = make_engine(settings["DATABASE_URL"])
        try:
            yield settings, engine
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from error
        finally:
            engine.dispose()

    def report(summary: backups.Summary) -> None:
        click.echo(_("数据库：%(kind)s（迁移版本 %(revision)s）；文件：%(files)s 个，%(bytes)s 字节。") % {
            "kind": summary.database, "revision": summary.revision or "-", "files": summary.files, "bytes": summary.bytes,
        })

    @click.group("backup", context_settings=context, help=_("备份：数据库和资源文件（不含个人信息加密密钥和检索索引）。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def backup() -> None:
        pass

    @backup.command("create", context_settings=context, help=_("把数据库和资源文件备份到 DIR 下新建的 portal-<时间> 目录，并写入校验清单。"))
    @click.argument("destination", metavar="DIR", type=click.Path(file_okay=False, path_type=Path), required=False)
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def create(destination: Path | None) -> None:
        with instance() as (settings, engine):
            summary = backups.create(engine, Path(settings["FILES_PATH"]), destination or Path(settings["INSTANCE_PATH"]) / "backups",
                                     now=datetime.now(timezone.utc))
        click.echo(_("已备份到 %(folder)s") % {"folder": summary.folder})
        report(summary)
        click.echo(_("个人信息加密密钥不在备份中，请另行保管。"))

    @backup.command("verify", context_settings=context, help=_("重新计算备份中每个文件的校验值；有问题时列出并以状态 1 退出。"))
    @click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def verify(folder: Path) -> None:
        try:
            problems = backups.verify(folder)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from error
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            raise SystemExit(1)
        click.echo(_("备份完整。"))

    @backup.command("restore", context_settings=context, help=_(
        "把备份恢复到新的空实例（在 portal init 之前）：数据库和资源文件目录都必须是空的。之后运行 portal reindex 重建检索索引。"
    ))
    @click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def restore(folder: Path) -> None:
        with instance() as (settings, engine):
            summary = backups.restore(folder, engine, Path(settings["FILES_PATH"]))
        click.echo(_("已恢复 %(folder)s") % {"folder": summary.folder})
        report(summary)
        click.echo(_("请运行 portal init 升级数据库结构（如有新版本），再运行 portal reindex 重建检索索引。"))

    return backup
