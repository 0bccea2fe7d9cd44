"""`portal site build`: export the published plans, competitions and showcases into the site's
generated folders (`portal.site`), then build the static site with `mkdocs build --strict`.

The group is made by `site_group(gettext, context_settings)`, which `portal.cli` registers: this
module never imports `portal.cli`, so `python -m portal.cli` (where that module is `__main__`)
loads it once.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

DEFAULT_PORTAL_URL = "http://127.0.0.1:5000"
CONFIG_NAME = "mkdocs.yml"


def find_config(start: Path) -> Path | None:
    """The nearest mkdocs.yml in `start` or one of its parents."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def config_value(config: Path, key: str, default: str) -> str:
    """A plain top-level value of mkdocs.yml (docs_dir, site_dir). Read as text: the file has
    mkdocs' own YAML tags (!ENV, !!python/...), which a plain YAML loader refuses."""
    match = re.search(rf"^{key}:\s*([^\s#]+)", config.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1).strip("'\"") if match else default


def looks_like_a_site(folder: Path) -> bool:
    """Whether `folder` may be emptied by mkdocs: missing, empty, or a site built before."""
    return not folder.exists() or not any(folder.iterdir()) or (folder / "sitemap.xml").is_file() or (folder / "404.html").is_file()


def run_mkdocs(config: Path, out: Path, *, source_date_epoch: int) -> tuple[bool, str]:
    """`python -m mkdocs build --strict` in the folder of `config`, with SOURCE_DATE_EPOCH, into
    a folder beside `out` that replaces `out` only when the build succeeds without a warning (a
    failed strict build leaves the site being served as it was). Whether it did, and mkdocs'
    output."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch), "NO_MKDOCS_2_WARNING": "1"}  # no end-of-life banner
    fresh, old = out.with_name(f".{out.name}.building"), out.with_name(f".{out.name}.old")
    for folder in (fresh, old):
        shutil.rmtree(folder, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(fresh)],
        cwd=config.parent, env=env, capture_output=True, text=True, timeout=1800,
    )
    output = result.stderr + result.stdout
    if result.returncode != 0 or mkdocs_problems(output):
        shutil.rmtree(fresh, ignore_errors=True)
        return False, output
    if out.exists():
        out.rename(old)
    fresh.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return True, output


def mkdocs_problems(output: str) -> list[str]:
    """mkdocs' warnings and errors in its output (jieba's and others' chatter left out)."""
    return [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR", "Aborted", "Error:"))]


@contextmanager
def _session() -> Iterator[Session]:
    from . import create_app

    app = create_app()
    try:
        with app.extensions["portal.sessions"]() as session:
            yield session
    finally:
        app.extensions["portal.engine"].dispose()


def site_group(_: Callable[[str], str], context: dict[str, Any]) -> click.Group:
    """The `site` command group, with the CLI's gettext and context settings."""

    @click.group("site", context_settings=context, help=_("静态网站：开放计划、数据应用竞赛、成果展示，用 mkdocs 生成。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def site() -> None:
        pass

    @site.command("build", context_settings=context, help=_(
        "把已发布的开放计划、公开的竞赛及其结果和已展示的成果从数据库导出为 Markdown，写入 site/ 中的生成目录"
        "（plans、competitions、showcases、portal；手写页面不动），再运行 mkdocs build --strict 生成静态网站。"
        "同一数据库、同一天生成的网站逐字节相同。mkdocs 报告警告时以状态 1 退出。"
    ))
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help=_("网站的输出目录，默认取 mkdocs.yml 中的 site_dir（build/site）。"))
    @click.option("--portal-url", default=DEFAULT_PORTAL_URL, show_default=True, help=_("门户的地址：网站中的数据资源链接指向它。"))
    @click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help=_("mkdocs.yml 的位置，默认在当前目录及其上级目录中查找。"))
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help=_("计算计划逾期和竞赛阶段的日期（YYYY-MM-DD），默认为今天（北京时间）。"))
    @click.option("--no-build", is_flag=True, help=_("只导出 Markdown，不运行 mkdocs。"))
    @click.help_option("-h", "--help", help=_("显示帮助并退出。"))
    def build(out: Path | None, portal_url: str, config_file: Path | None, today: datetime | None, no_build: bool) -> None:
        from .competitions import china_today
        from .errors import PortalError
        from .site import export_site, record_build

        config = (config_file or find_config(Path.cwd()) or Path()).resolve()
        if not config.is_file():
            raise click.ClickException(_("没有找到 mkdocs.yml：请在项目目录中运行，或用 --config 指定其位置。"))
        docs_dir = config.parent / config_value(config, "docs_dir", "docs")
        target = (out or config.parent / config_value(config, "site_dir", "site")).resolve()
        if not no_build:
            if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
                raise click.ClickException(_("没有安装 mkdocs-material：请先运行 pip install -e '.[site]'。"))
            if not looks_like_a_site(target):
                raise click.ClickException(_("输出目录 %(out)s 不是空目录，也不是此前生成的网站；为免误删，请换一个目录。") % {"out": target})
        now = datetime.now(timezone.utc)
        day: date = today.date() if today else china_today(now)
        with _session() as session:
            try:
                export = export_site(session, docs_dir, portal_url=portal_url, today=day)
            except PortalError as error:
                raise click.ClickException(error.message) from None
            session.rollback()  # end the read before the build: no database lock held meanwhile
            click.echo(_("已导出 %(plans)d 个开放计划、%(competitions)d 个竞赛、%(showcases)d 项成果，共 %(pages)d 个页面，写入 %(docs)s。")
                       % {"plans": export.plans, "competitions": export.competitions, "showcases": export.showcases,
                          "pages": len(export.pages), "docs": docs_dir})
            ok, output = (True, "") if no_build else run_mkdocs(config, target, source_date_epoch=export.source_date_epoch)
            record_build(session, export, out=str(docs_dir if no_build else target), built=not no_build, ok=ok, now=now)
            session.commit()
        if no_build:
            return
        if not ok:
            for line in mkdocs_problems(output) or output.splitlines()[-20:]:
                click.echo(line, err=True)
            click.echo(_("mkdocs 严格模式生成失败，网站未更新。"), err=True)
            sys.exit(1)
        click.echo(_("静态网站已生成：%(out)s") % {"out": target})

    return site
