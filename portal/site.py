"""The static site's export (`portal site build`): the published plans with their progress, the
public competitions with their results, and the approved showcases, written as Markdown into the
generated folders of the site's docs folder (`site/` beside `mkdocs.yml`), for mkdocs-material.

The export owns only the folders in `GENERATED`. Each holds a `.generated` marker; on every
export each is emptied and written again whole, and a folder of that name without the marker
(written by hand) is never touched: the export refuses. Every other page of `site/` (the home
page, 关于平台, 如何申请数据, the Measures) is written by hand and never written here.

Reproducible: the same database (and the same `today`, which decides which plan items are late
and which competitions still accept entries) gives byte-identical pages. Everything is sorted;
no page says when it was generated; `Export.source_date_epoch`, the latest change among the
catalog and the exported records, is what the build gives mkdocs as SOURCE_DATE_EPOCH (the
sitemap's dates, its gzip header).

User text cannot break the site or reach it as HTML: Markdown fields (goals, theme, rules,
prizes, descriptions) are rendered by `text.render_markdown` (raw HTML off, nh3 allow-list) and
then kept to absolute links, as a raw HTML block that Python-Markdown passes through untouched;
short fields (titles, names, notes) have every ASCII punctuation mark written as a numeric
character reference, so no Markdown, HTML, attribute list or template syntax survives in them.
A page titled by a user carries its title, HTML-escaped, in its front matter (`front_matter`).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import nh3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, competitions, judging, plans, showcases
from .authz import Action, can
from .data_requests import china_day
from .errors import Conflict, Invalid
from .models import Entry, Plan
from .plan_progress import PlanProgress, plan_progress
from .text import ATTRIBUTES, TAGS, URL_SCHEMES, render_markdown
from .vocab import N_, OpenType

GENERATED = ("plans", "competitions", "showcases", "portal")
MARKER = ".generated"
MARKER_TEXT = "此目录由 portal site build 生成：每次导出时清空并重写，请勿手工编辑。\n"
EMPTY_EPOCH = 1514764800  # 2018-01-01T00:00:00Z: the epoch of a build with nothing exported
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PUNCTUATION = {ord(c): f"&#{ord(c)};" for c in string.punctuation}
_CODE = re.compile(r"[0-9A-Z]{18}")
_NOT_YAML = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # PyYAML refuses the rest


# -- escaping --------------------------------------------------------------------------------


def inline(text: str | None) -> str:
    """`text` on one line with every ASCII punctuation mark as a character reference: safe in a
    heading, a table cell or a link text, inert to Markdown, HTML and template syntax."""
    return " ".join(_CONTROL.sub("", text or "").split()).translate(_PUNCTUATION)


def _absolute_only(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href" and not value.lower().startswith(("http://", "https://", "mailto:")):
        return None  # a relative link would point into the static site, where it leads nowhere
    return value


def user_block(text: str | None) -> str:
    """Markdown written by a user, as a sanitised raw HTML block ("" when empty)."""
    text = _CONTROL.sub("", text or "").strip()
    if not text:
        return ""
    rendered = nh3.clean(str(render_markdown(text)), tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                         link_rel="noopener nofollow ugc", attribute_filter=_absolute_only)
    for level in (5, 4, 3, 2):  # below the page's own section headings (h2)
        rendered = rendered.replace(f"<h{level}>", f"<h{level + 1}>").replace(f"</h{level}>", f"</h{level + 1}>")
    return f'<div class="user-text">\n{rendered.strip()}\n</div>'


def excerpt(text: str | None, limit: int = 90) -> str:
    """The first `limit` characters of a user's Markdown as plain text, escaped by `inline`."""
    plain = html.unescape(nh3.clean(str(render_markdown(_CONTROL.sub("", text or ""))), tags=set()))
    plain = " ".join(plain.split())
    return inline(plain if len(plain) <= limit else plain[:limit].rstrip() + "…")


def front_matter(title: str) -> str:
    """The page's YAML front matter naming its title, HTML-escaped: mkdocs-material writes a
    page's title into <title> and the header unescaped (and unescapes the first heading's
    character references for it), so a title taken from the heading could close <title>. Only
    characters YAML accepts are kept: front matter that failed to parse would be shown as text
    and leave the title to the heading."""
    plain = _NOT_YAML.sub("", " ".join(title.split()))
    return f"---\ntitle: {json.dumps(html.escape(plain, quote=True), ensure_ascii=False)}\n---\n"


def external_url(url: str | None) -> str | None:
    """An http(s) URL made safe inside a Markdown link's parentheses, or None."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _CONTROL.search(url):
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%~")


def portal_base(url: str) -> str:
    """The portal's base URL, checked (Invalid on `portal_url`), without a trailing slash."""
    safe = external_url(url)
    if safe is None or urlsplit(url).query or urlsplit(url).fragment:
        raise Invalid({"portal_url": N_("门户地址须是 http:// 或 https:// 开头的完整地址，如 https://data.example.gov.cn")})
    return safe.rstrip("/")


# -- the export ------------------------------------------------------------------------------


@dataclass
class Export:
    """What an export wrote: the pages by path relative to the docs folder, and the counts."""

    pages: dict[str, str] = field(default_factory=dict)
    plans: int = 0
    competitions: int = 0
    showcases: int = 0
    source_date_epoch: int = EMPTY_EPOCH


class _Site:
    """The pages of one export; `seen` collects the times of everything they show."""

    def __init__(self, session: Session, portal_url: str, today: date) -> None:
        self.session, self.portal, self.today = session, portal_base(portal_url), today
        self.seen: list[datetime] = []

    def mark(self, *moments: datetime | None) -> None:
        self.seen.extend(m for m in moments if m is not None)

    def entry_link(self, entry: Entry) -> str:
        self.mark(entry.updated_at)
        return f"[{inline(entry.title)}]({self.portal}/catalog/{quote(entry.slug, safe='')})"

    def portal_link(self, label: str, path: str) -> str:
        return f"[{label}]({self.portal}{path})"


def _figure(number: int | str, label: str) -> str:
    return f"<div><strong>{number}</strong>{label}</div>"


def _progress_bar(percent: int) -> str:
    complete = " plan-progress--complete" if percent >= 100 else ""
    return (f'<div class="plan-progress{complete}" role="progressbar" aria-label="计划完成进度" aria-valuemin="0" '
            f'aria-valuemax="100" aria-valuenow="{percent}"><div class="plan-progress__bar" style="width: {percent}%"></div></div>')


def _plan_path(plan: Plan) -> str:
    code = plan.department.code if _CODE.fullmatch(plan.department.code or "") else f"department-{plan.department_id}"
    return f"{plan.year}/{code.lower()}-{plan.kind if plan.kind in plans.KINDS else 'plan'}.md"


def _plan_page(site: _Site, progress: PlanProgress) -> str:
    plan = progress.plan
    site.mark(plan.updated_at, plan.published_at)
    figures = progress.figures
    lines = [
        front_matter(f"{plan.department.name}：{plan.title}"),
        f"# {inline(plan.department.name)}：{inline(plan.title)}", "",
        f"- **部门**：{inline(plan.department.name)}",
        f"- **年度**：{plan.year} 年",
        f"- **计划类型**：{plans.KINDS.get(plan.kind, plan.kind)}",
        f"- **发布日期**：{china_day(plan.published_at).isoformat() if plan.published_at else '—'}",
        f"- **在门户查看**：{site.portal_link('计划页面', f'/plans/{plan.id}')}", "",
        "## 完成进度", "", _progress_bar(progress.percent), "",
        f"计划开放 **{progress.planned}** 项，已完成 **{progress.delivered}** 项（{progress.percent}%），"
        f"推进中 {progress.pending} 项，逾期未完成 **{progress.overdue}** 项"
        + (f"，逾期完成 {progress.late - progress.overdue} 项" if progress.late > progress.overdue else "") + "。",
        "{: .plan-progress__caption }", "",
        f"完成情况按 {progress.today.isoformat()} 的数据目录计算：计划条目对应的数据资源以目标开放类型发布到开放目录，即为完成；"
        "超过完成时限仍未完成或晚于时限完成的，标为逾期。", "",
    ]
    goals = user_block(plan.goals)
    if goals:
        lines += ["## 工作目标", "", goals, ""]
    lines += ["## 计划条目", ""]
    if progress.items:
        lines += ["| 序号 | 数据资源 | 目标开放类型 | 完成时限 | 状态 | 完成日期 | 说明 |", "| ---: | --- | --- | --- | --- | --- | --- |"]
        for number, row in enumerate(progress.items, start=1):
            item, entry = row.item, row.item.entry
            if entry is not None and can(None, Action.VIEW_ENTRY, entry):
                name = site.entry_link(entry)
            else:  # not in the open catalog (yet): its catalog title is not public
                site.mark(entry.updated_at if entry is not None else None)
                name = (inline(item.planned_title) + '<span class="site-muted">（尚未开放）</span>' if item.planned_title
                        else '<span class="site-muted">尚未开放的数据资源</span>')
            status = f'<span class="plan-status plan-status--{row.status}">{plans.ITEM_STATUSES[row.status]}</span>'
            delivered = row.delivered_on.isoformat() if row.delivered_on else "—"
            lines.append(f"| {number} | {name} | {item.target_open_type.label} | {item.target_date.isoformat()} | {status} | {delivered} | {inline(item.note) or '—'} |")
    else:
        lines.append("本计划没有条目。")
    lines += [
        "", "## 部门数据开放情况", "", '<div class="site-figures">',
        _figure(figures.catalog, "已发布数据资源"), _figure(figures.open_catalog, "开放目录"),
        *(_figure(figures.by_open_type[t], t.label) for t in OpenType), "</div>", "",
    ]
    return "\n".join(lines)


def _plans_table(rows: list[tuple[str, PlanProgress]]) -> list[str]:
    lines = ["| 部门 | 计划 | 类型 | 计划条目 | 已完成 | 逾期未完成 | 完成率 |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for link, p in rows:
        lines.append(f"| {inline(p.plan.department.name)} | [{inline(p.plan.title)}]({link}) | {plans.KINDS.get(p.plan.kind, p.plan.kind)} "
                     f"| {p.planned} | {p.delivered} | {p.overdue} | {p.percent}% |")
    return lines


PLANS_INTRO = ("区属各部门依《暂行办法》[第十七条](../measures.md#art-17)制定政务数据开放行动计划和年度工作计划，"
               "经区数据资源局批准后发布。完成进度由平台根据数据目录自动计算，不由人工填报。")


def _export_plans(site: _Site, export: Export) -> None:
    progress = [plan_progress(site.session, p, today=site.today) for p in plans.published_plans(site.session)]
    years: dict[int, list[PlanProgress]] = {}
    for p in progress:
        years.setdefault(p.plan.year, []).append(p)
        export.pages[f"plans/{_plan_path(p.plan)}"] = _plan_page(site, p)
    lines = ["# 开放计划", "", PLANS_INTRO, ""]
    if not years:
        lines += ["目前还没有已发布的开放计划。", ""]
    for year in sorted(years, reverse=True):
        rows = [(_plan_path(p.plan), p) for p in years[year]]
        lines += [f"## {year} 年 {{#year-{year}}}", "", f"[{year} 年的全部计划]({year}/index.md)", "", *_plans_table(rows), ""]
        export.pages[f"plans/{year}/index.md"] = "\n".join(
            [f"# {year} 年开放计划", "", PLANS_INTRO.replace("](../", "](../../"), "",
             *_plans_table([(link.split("/", 1)[1], p) for link, p in rows]), "", "[全部年度的开放计划](../index.md)", ""]
        )
    export.pages["plans/index.md"] = "\n".join(lines)
    export.plans = len(progress)


def _competition_page(site: _Site, summary: competitions.CompetitionSummary) -> str:
    c = summary.competition
    site.mark(c.updated_at, c.results_published_at)
    lines = [
        front_matter(c.title),
        f"# {inline(c.title)}", "",
        f"- **状态**：{competitions.PHASES[competitions.phase(c, site.today)]}",
        f"- **作品征集期**：{c.opens_on.isoformat()} 至 {c.closes_on.isoformat()}（含首尾两日）",
        f"- **参赛作品**：{summary.entry_count} 件",
        f"- **报名与提交作品**：{site.portal_link('在门户的竞赛页面', '/competitions/' + quote(c.slug, safe=''))}（须注册并登录）", "",
    ]
    for title, text in (("竞赛主题", c.theme), ("竞赛规则", c.rules), ("奖项设置", c.prizes)):
        block = user_block(text)
        if block:
            lines += [f"## {title}", "", block, ""]
    lines += ["## 提供的数据资源", ""]
    if summary.datasets:
        lines += ["| 数据资源 | 提供部门 | 开放类型 |", "| --- | --- | --- |"]
        lines += [f"| {site.entry_link(e)} | {inline(e.department.name)} | {e.open_type.label} |" for e in summary.datasets]
    else:
        lines.append("本竞赛未指定数据资源，参赛者可使用开放目录中的任何数据。")
    results = judging.competition_results(site.session, c)
    if results:
        lines += ["", "## 竞赛结果", "", "| 名次 | 奖项 | 作品 | 参赛团队 | 平均分 |", "| ---: | --- | --- | --- | ---: |"]
        lines += [f"| {r.rank} | {inline(r.award) or '—'} | [{inline(r.title)}](#result-{r.rank}) | {inline(r.team_name) or '—'} | {r.mean_score:.2f} |"
                  for r in results]
        for r in results:
            lines += ["", f"### 第 {r.rank} 名：{inline(r.title)} {{#result-{r.rank}}}", ""]
            lines += [f"- **奖项**：{inline(r.award)}"] if r.award else []
            lines += [f"- **参赛团队**：{inline(r.team_name)}"] if r.team_name else []
            lines += [f"- **团队成员**：{inline(r.members)}"] if r.members.strip() else []
            url = external_url(r.url)
            lines += [f"- **作品地址**：[{inline(r.url)}]({url})"] if url else []
            lines += [f"- **评分**：{r.mean_score:.2f}（{r.score_count} 位评委）"]
            if r.datasets:
                lines.append("- **使用的数据资源**：" + "、".join(site.entry_link(e) for e in r.datasets))
            block = user_block(r.description)
            lines += ["", block] if block else []
    lines.append("")
    return "\n".join(lines)


def _export_competitions(site: _Site, export: Export) -> None:
    found = competitions.public_competitions(site.session)
    lines = ["# 数据应用竞赛", "",
             "区数据资源局依《暂行办法》[第十九条](../measures.md#art-19)举办数据应用竞赛，鼓励和支持公民、法人和其他组织"
             "利用开放的政务数据创新产品、技术和服务。每个竞赛提供一组开放数据资源，参赛作品经评委评审后公布结果。", ""]
    if found:
        lines += ["| 竞赛 | 作品征集期 | 状态 | 提供数据资源 | 参赛作品 |", "| --- | --- | --- | ---: | ---: |"]
    else:
        lines.append("目前还没有发布的数据应用竞赛。")
    for summary in found:
        c = summary.competition
        path = f"{c.slug}.md" if competitions.SLUG.fullmatch(c.slug) and c.slug != "index" else f"competition-{c.id}.md"
        export.pages[f"competitions/{path}"] = _competition_page(site, summary)
        lines.append(f"| [{inline(c.title)}]({path}) | {c.opens_on.isoformat()} 至 {c.closes_on.isoformat()} "
                     f"| {competitions.PHASES[competitions.phase(c, site.today)]} | {len(summary.datasets)} | {summary.entry_count} |")
    export.pages["competitions/index.md"] = "\n".join(lines + [""])
    export.competitions = len(found)


def _export_showcases(site: _Site, export: Export) -> None:
    found = showcases.approved_showcases(site.session)
    used = showcases.visible_entries_of(site.session, found, None)
    lines = ["# 成果展示", "",
             "利用经开区开放数据开发的应用、撰写的分析报告和制作的可视化作品，经区数据资源局审核后在此展示。"
             f"注册用户可以在{site.portal_link('门户的成果展示', '/showcases')}提交自己的成果。", ""]
    if not found:
        lines.append("目前还没有展示的成果。")
    else:
        lines += ['<div class="grid cards" markdown>', ""]
    for s in found:
        site.mark(s.updated_at, s.decided_at)
        path = f"{s.slug}.md" if re.fullmatch(r"[a-z0-9][a-z0-9-]*", s.slug) and s.slug != "index" else f"showcase-{s.id}.md"
        kind = showcases.KINDS.get(s.kind, s.kind)
        lines += [f"-   **[{inline(s.title)}]({path})**", "", "    ---", "",
                  f"    {kind} · 使用 {len(used[s.id])} 项开放数据资源", "", f"    {excerpt(s.description)}", ""]
        page = [front_matter(s.title), f"# {inline(s.title)}", "", f"- **类型**：{kind}"]
        url = external_url(s.url)
        page += [f"- **访问地址**：[{inline(s.url)}]({url})"] if url else []
        page += [f"- **展示日期**：{china_day(s.decided_at).isoformat()}"] if s.decided_at else []
        page += [f"- **在门户查看**：{site.portal_link('成果页面', '/showcases/' + quote(s.slug, safe=''))}", "", "## 简介", "",
                 user_block(s.description) or "—", "", "## 使用的数据资源", ""]
        page += [f"- {site.entry_link(e)}（{inline(e.department.name)}，{e.open_type.label}）" for e in used[s.id]] or ["—"]
        page += ["", "[返回成果展示](index.md)", ""]
        export.pages[f"showcases/{path}"] = "\n".join(page)
    if found:
        lines += ["</div>"]
    export.pages["showcases/index.md"] = "\n".join(lines + [""])
    export.showcases = len(found)


def _portal_page(site: _Site) -> str:
    links = [
        ("数据目录", "/catalog", "检索、预览和下载开放数据，提出开放申请，反馈数据疑义或错误"),
        ("提供部门", "/departments", "按部门浏览数据资源"),
        ("开放计划", "/plans", "各部门开放计划的实时进度"),
        ("成果展示", "/showcases", "提交利用开放数据做出的成果"),
        ("注册", "/register", "注册账户后可申请依申请开放的数据、参加竞赛、提交成果"),
        ("我的账户", "/account", "实名认证、API 密钥"),
        ("接口文档", "/docs", "REST 接口和 CKAN 兼容接口"),
    ]
    return "\n".join(["# 数据开放门户", "",
                      f"数据的检索、下载和申请都在门户办理：{site.portal_link(site.portal, '/')}。本站各页面中的数据资源链接，"
                      "均指向门户上该数据资源的页面。", "",
                      *(f"- {site.portal_link(label, path)}：{what}" for label, path, what in links), ""])


def render_site(session: Session, *, portal_url: str, today: date) -> Export:
    """Every generated page, by path relative to the docs folder; nothing is written."""
    site = _Site(session, portal_url, today)
    export = Export()
    _export_plans(site, export)
    _export_competitions(site, export)
    _export_showcases(site, export)
    export.pages["portal/index.md"] = _portal_page(site)
    site.mark(session.scalar(select(func.max(Entry.updated_at))))
    if site.seen:
        export.source_date_epoch = max(int(m.astimezone(timezone.utc).timestamp()) for m in site.seen)
    export.pages = {path: text.rstrip("\n") + "\n" for path, text in sorted(export.pages.items())}
    return export


def write_pages(docs_dir: Path, pages: dict[str, str]) -> None:
    """Empty each generated folder of `docs_dir` and write `pages` into them; Conflict when a
    folder of that name exists without the marker (pages written by hand), before any change."""
    for name in GENERATED:
        folder = docs_dir / name
        if folder.exists() and not (folder / MARKER).is_file():
            raise Conflict(N_("目录 %(folder)s 不是导出生成的（缺少 .generated 标记），为免覆盖手写页面，导出已停止") % {"folder": folder})
    for name in GENERATED:
        shutil.rmtree(docs_dir / name, ignore_errors=True)
        (docs_dir / name).mkdir(parents=True)
        (docs_dir / name / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    for path, text in pages.items():
        if path.split("/", 1)[0] not in GENERATED:
            raise ValueError(f"the export writes only into its own folders, not {path}")
        target = docs_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")


def export_site(session: Session, docs_dir: Path, *, portal_url: str, today: date) -> Export:
    """Render the generated pages and write them into `docs_dir`'s generated folders."""
    export = render_site(session, portal_url=portal_url, today=today)
    write_pages(docs_dir, export.pages)
    return export


def record_build(session: Session, export: Export, *, out: str, built: bool, ok: bool, now: datetime, actor_name: str = "命令行") -> None:
    """The audit row of a build (`site:build`), in the caller's transaction."""
    audit.record(session, action="site:build", actor=None, actor_name=actor_name, now=now, target=f"静态网站 {out}"[:300],
                 details={"plans": export.plans, "competitions": export.competitions, "showcases": export.showcases,
                          "pages": len(export.pages), "built": built, "ok": ok, "source_date_epoch": export.source_date_epoch})
