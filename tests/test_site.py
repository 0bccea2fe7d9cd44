"""The static site (`portal.site`, `portal site build`): the export of published plans, public
competitions with results and approved showcases into the generated folders of a copy of the
repository's site/; hand pages untouched; a real `mkdocs build --strict` (three builds in this
file: two of the same database, compared byte for byte, and the repository's site as committed);
hostile user text kept inert."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal import competitions as comp
from portal import judging, plans, showcases, site
from portal.cli import main
from portal.cli_site import config_value, looks_like_a_site, mkdocs_problems
from portal.errors import Conflict, Invalid
from portal.models import AuditEvent, Entry
from portal.plans import ItemInput
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import ROOT, World, at

PORTAL = "https://data.example.gov.cn"
TODAY = date(2026, 12, 1)
ATTRIBUTE_ON = re.compile(r"<[^>]*\sonclick=")  # an element with the hostile attribute
HOSTILE = '<script>alert("x")</script> {{ config.site_name }} [[wiki]] {% raw %} *[HTML]: 注入 {: onclick="x" } | a |'
SHORT = '</title><script>alert(1)</script>{{ a }}[[b]]{% raw %}|'  # fits a team name (100 characters)
HOSTILE_MD = (
    "---\ntitle: 伪造的页首\n---\n\n" + HOSTILE + "\n\n[坏链接](missing.md) ![图](x.png) [本地](/etc/passwd)\n\n"
    "<img src=x onerror=alert(1)>\n\n```\n{{ code }}\n\n</div>\n```\n\n[好链接](https://example.org/ok)"
)


def _open(world: World, open_: OpenType = OpenType.OPEN) -> Entry:
    return world.entry(ShareType.UNCONDITIONAL, open_, EntryStatus.PUBLISHED)


def _outreach(session: Session, world: World, *, hostile: bool = False) -> dict[str, Any]:
    """A published plan, a competition with published results and an approved showcase, made
    through the domain functions; with `hostile`, their user text is hostile."""
    u = world.users
    text = (lambda plain: plain + " " + SHORT) if hostile else (lambda plain: plain)
    body = (lambda plain: plain + "\n\n" + HOSTILE_MD) if hostile else (lambda plain: plain)
    released, closed = _open(world), world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    plan = plans.create_plan(
        session, department=world.dept_a, year=2026, kind="annual", title=text("甲局2026年政务数据开放工作计划"),
        goals=body("## 目标\n\n全年开放**企业登记**和**空气质量**数据。"), actor=u["editor_a"], now=at("2026-01-10"),
        items=[
            ItemInput(entry=released.id, target_open_type="open", target_date="2026-12-31", note=text("按日更新")),
            ItemInput(planned_title=text("建设项目审批信息"), target_open_type="on-application", target_date="2026-03-31"),
            ItemInput(planned_title="公共停车场泊位", target_open_type="open", target_date="2027-06-30"),
        ],
    )
    plans.submit_plan(session, plan, actor=u["admin_a"], now=at("2026-01-12"))
    plans.approve_plan(session, plan, actor=u["bureau"], now=at("2026-01-13"))
    plans.publish_plan(session, plan, actor=u["bureau"], now=at("2026-01-14"))
    competition = comp.create_competition(
        session, slug="traffic-2026", title=text("2026年经开区交通数据应用大赛"), theme=body("用开放数据改善出行"),
        rules=body("## 规则\n\n作品须使用开放数据。"), prizes=body("- 一等奖 1 名"), opens_on=date(2026, 3, 1), closes_on=date(2026, 3, 31),
        dataset_ids=[released.id], judges=[u["reviewer"]], actor=u["bureau"], now=at("2026-02-20"),
    )
    comp.publish_competition(session, competition, actor=u["bureau"], now=at("2026-02-21"))
    entry = judging.submit_entry(
        session, competition, leader=u["citizen"], team_name=text("畅行队"), members="张三、李四", title=text("出行助手"),
        description=body("基于**开放数据**的出行应用"), url="https://example.org/app", entry_ids=[released.id], now=at("2026-03-10"),
    )
    comp.start_judging(session, competition, actor=u["bureau"], now=at("2026-04-01"))
    judging.score_entry(session, entry, judge=u["reviewer"], score=91, comment="", now=at("2026-04-02"))
    judging.publish_results(session, competition, {entry.id: "一等奖"}, actor=u["bureau"], now=at("2026-04-10"))
    showcase = showcases.submit_showcase(
        session, user=u["citizen"], title=text("空气质量地图"), kind="app", description=body("一张按站点显示空气质量的地图。"),
        url="https://aq.example.cn/", entry_ids=[released.id], now=at("2026-05-01"),
    )
    showcases.approve_showcase(session, showcase, actor=u["bureau"], now=at("2026-05-02"))
    session.commit()
    return {"plan": plan, "competition": competition, "showcase": showcase, "released": released, "closed": closed}


def _site_copy(tmp_path: Path) -> Path:
    """mkdocs.yml and the hand pages of site/ (not the generated folders) copied into a folder."""
    root = tmp_path / "repo"
    (root / "site").mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    for path in (ROOT / "site").iterdir():
        if path.name not in site.GENERATED:
            (shutil.copytree if path.is_dir() else shutil.copy)(path, root / "site" / path.name)
    return root


def _digests(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and p.relative_to(folder).parts[0] not in skip
    }


def test_the_export_writes_its_folders_and_nothing_else(session: Session, world: World, tmp_path: Path) -> None:
    made = _outreach(session, world)
    docs = _site_copy(tmp_path) / "site"
    (docs / "plans").mkdir()
    (docs / "plans" / site.MARKER).write_text("")
    (docs / "plans" / "stale.md").write_text("# 旧页面\n")  # from an earlier export: removed
    hand = _digests(docs, skip=site.GENERATED)
    assert {"index.md", "about.md", "apply.md", "measures.md"} <= set(hand)

    export = site.export_site(session, docs, portal_url=PORTAL + "/", today=TODAY)

    assert _digests(docs, skip=site.GENERATED) == hand  # hand pages untouched
    assert not (docs / "plans" / "stale.md").exists()
    for name in site.GENERATED:
        assert "portal site build" in (docs / name / site.MARKER).read_text(encoding="utf-8")
    assert (export.plans, export.competitions, export.showcases) == (1, 1, 1)
    plan_page = (docs / "plans" / "2026" / f"{world.dept_a.code.lower()}-annual.md").read_text(encoding="utf-8")
    released = made["released"]
    assert "# 甲局：甲局2026年政务数据开放工作计划" in plan_page and "年度工作计划" in plan_page
    assert f"({PORTAL}/catalog/{released.slug})" in plan_page  # the entry's page on the portal
    assert 'role="progressbar"' in plan_page and 'aria-valuenow="33"' in plan_page and "width: 33%" in plan_page
    assert "计划开放 **3** 项，已完成 **1** 项（33%），推进中 1 项，逾期未完成 **1** 项" in plan_page
    assert plan_page.count("plan-status--late") == 1 and "建设项目审批信息" in plan_page
    assert "<strong>企业登记</strong>" in plan_page  # the goals, rendered
    assert f"按 {TODAY.isoformat()} 的数据目录计算" in plan_page
    plans_index = (docs / "plans" / "index.md").read_text(encoding="utf-8")
    assert "## 2026 年" in plans_index and "(2026/index.md)" in plans_index and "| 3 | 1 | 1 | 33% |" in plans_index
    assert (docs / "plans" / "2026" / "index.md").is_file()

    page = (docs / "competitions" / "traffic-2026.md").read_text(encoding="utf-8")
    assert "# 2026年经开区交通数据应用大赛" in page and "2026-03-01 至 2026-03-31" in page and "已公布结果" in page
    assert "## 竞赛结果" in page and "| 1 | 一等奖 | [出行助手](#result-1) | 畅行队 | 91.00 |" in page
    assert f"({PORTAL}/catalog/{released.slug})" in page and f"({PORTAL}/competitions/traffic-2026)" in page
    assert "[2026年经开区交通数据应用大赛](traffic-2026.md)" in (docs / "competitions" / "index.md").read_text(encoding="utf-8")

    slug = made["showcase"].slug
    gallery = (docs / "showcases" / "index.md").read_text(encoding="utf-8")
    assert '<div class="grid cards" markdown>' in gallery and f"[空气质量地图]({slug}.md)" in gallery and "应用 · 使用 1 项" in gallery
    card = (docs / "showcases" / f"{slug}.md").read_text(encoding="utf-8")
    assert "(https://aq.example.cn/)" in card and f"({PORTAL}/catalog/{released.slug})" in card
    assert f"[数据目录]({PORTAL}/catalog)" in (docs / "portal" / "index.md").read_text(encoding="utf-8")

    # the same database and day give the same pages; the epoch is the latest change shown
    again = site.render_site(session, portal_url=PORTAL, today=TODAY)
    assert again.pages == export.pages and again.source_date_epoch == export.source_date_epoch
    latest = max(e.updated_at for e in session.scalars(select(Entry)))
    assert export.source_date_epoch >= int(latest.timestamp())


def test_the_export_refuses_hand_written_folders_and_bad_portal_urls(session: Session, tmp_path: Path) -> None:
    docs = tmp_path / "site"
    (docs / "showcases").mkdir(parents=True)
    (docs / "showcases" / "mine.md").write_text("# 手写\n")
    with pytest.raises(Conflict):
        site.export_site(session, docs, portal_url=PORTAL, today=TODAY)
    assert (docs / "showcases" / "mine.md").read_text() == "# 手写\n" and not (docs / "plans").exists()
    for bad in ("javascript:alert(1)", "data.example.gov.cn", "https://x.example/?a=1", ""):
        with pytest.raises(Invalid):
            site.render_site(session, portal_url=bad, today=TODAY)
    empty = site.render_site(session, portal_url=PORTAL, today=TODAY)
    assert empty.source_date_epoch == site.EMPTY_EPOCH and "目前还没有已发布的开放计划" in empty.pages["plans/index.md"]


@pytest.mark.parametrize("text, expected", [
    ("<b>x</b>", "&#60;b&#62;x&#60;&#47;b&#62;"),
    ("{{ a }} [[b]]\n---", "&#123;&#123; a &#125;&#125; &#91;&#91;b&#93;&#93; &#45;&#45;&#45;"),
    ("中文（标题）\n\t第二行　，", "中文（标题） 第二行 ，"),  # one line; full-width punctuation kept as it is
    ("a\x02b\x03c", "abc"),  # Python-Markdown's own placeholders cannot be forged
])
def test_inline_text_is_inert(text: str, expected: str) -> None:
    assert site.inline(text) == expected


def test_the_front_matter_title_always_parses_and_is_escaped() -> None:
    text = site.front_matter('a\x9fb\ufffe "c"\n---\n</title><script>x</script> 😀')
    assert text.startswith("---\n") and text.endswith("\n---\n")
    assert yaml.safe_load(text.strip("-\n")) == {"title": "ab &quot;c&quot; --- &lt;/title&gt;&lt;script&gt;x&lt;/script&gt; 😀"}


def test_user_markdown_keeps_only_safe_html_and_absolute_links() -> None:
    block = site.user_block(HOSTILE_MD)
    assert block.startswith('<div class="user-text">') and block.endswith("</div>")
    assert "<script" not in block and "<img" not in block and not ATTRIBUTE_ON.search(block)  # shown as text, escaped
    assert "&lt;script&gt;" in block and "&lt;img src=x onerror=alert(1)&gt;" in block
    assert 'href="https://example.org/ok"' in block and 'href="missing.md"' not in block and 'href="/etc/passwd"' not in block
    assert site.user_block("  \n") == "" and site.external_url("javascript:alert(1)") is None
    assert site.external_url("https://x.example/a b(c)") == "https://x.example/a%20b%28c%29"


def test_helpers_of_the_command(tmp_path: Path) -> None:
    assert config_value(ROOT / "mkdocs.yml", "docs_dir", "docs") == "site"
    assert config_value(ROOT / "mkdocs.yml", "site_dir", "site") == "build/site"
    assert looks_like_a_site(tmp_path / "none") and looks_like_a_site(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    assert not looks_like_a_site(tmp_path)
    assert mkdocs_problems("INFO    -  Building\nWARNING -  Doc file 'a.md' contains a link\nBuilding prefix dict") == [
        "WARNING -  Doc file 'a.md' contains a link"]


@pytest.fixture
def runner(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for key, value in {"PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
                       "PORTAL_FILES_PATH": str(tmp_path / "files"), "PORTAL_LANG": "zh"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PORTAL_SITE_URL", raising=False)
    return CliRunner()


def test_the_site_builds_strictly_and_reproducibly(runner: CliRunner, session: Session, world: World, tmp_path: Path) -> None:
    made = _outreach(session, world, hostile=True)
    root = _site_copy(tmp_path)
    hand = _digests(root / "site", skip=site.GENERATED)
    outputs = []
    for number in (1, 2):
        out = tmp_path / f"out{number}"
        result = runner.invoke(main, ["site", "build", "--config", str(root / "mkdocs.yml"), "--out", str(out),
                                      "--portal-url", PORTAL, "--today", TODAY.isoformat()], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert f"静态网站已生成：{out}" in result.output
        outputs.append(out)
    assert _digests(root / "site", skip=site.GENERATED) == hand

    first, second = (_digests(out) for out in outputs)
    assert first == second  # every file, byte for byte
    assert {"index.html", "apply/index.html", "measures/index.html", "plans/index.html", "competitions/traffic-2026/index.html",
            "showcases/index.html", f"showcases/{made['showcase'].slug}/index.html", "search/search_index.json", "sitemap.xml"} <= set(first)

    out = outputs[0]
    plan_html = (out / "plans" / "2026" / f"{world.dept_a.code.lower()}-annual" / "index.html").read_text(encoding="utf-8")
    assert "甲局2026年政务数据开放工作计划" in plan_html and 'class="plan-progress__bar" style="width: 33%"' in plan_html
    assert f'href="{PORTAL}/catalog/{made["released"].slug}"' in plan_html and "逾期" in plan_html
    results_html = (out / "competitions" / "traffic-2026" / "index.html").read_text(encoding="utf-8")
    assert "一等奖" in results_html and "畅行队" in results_html and 'id="result-1"' in results_html
    measures = (out / "measures" / "index.html").read_text(encoding="utf-8")
    assert "第二十七条" in measures and "本办法自发布之日起施行，有效期二年。" in measures and 'id="art-18"' in measures

    for path in out.rglob("*.html"):  # the hostile text is shown, never run
        page = path.read_text(encoding="utf-8")
        assert "<script>alert" not in page and "<img src=x" not in page and not ATTRIBUTE_ON.search(page), path
        assert "<title>伪造的页首" not in page
        assert 'href="missing.md"' not in page and 'src="x.png"' not in page
    assert "&#60;script&#62;alert" in plan_html or "&lt;script&gt;alert" in plan_html
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "2018-01-01" not in sitemap  # the data's date, not the empty site's

    index = json.loads((out / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["zh"]
    words = " ".join(d["title"] + " " + d["text"] for d in index["docs"])
    assert "\u200b开放\u200b计划\u200b" in words  # Chinese segmented into words (jieba) for the search
    builds = session.scalars(select(AuditEvent).where(AuditEvent.action == "site:build").order_by(AuditEvent.id)).all()
    assert len(builds) == 2 and builds[-1].details["ok"] is True and builds[-1].details["plans"] == 1


def test_the_repository_site_builds_as_it_is(tmp_path: Path) -> None:
    """What CI builds: the committed mkdocs.yml and site/, generated folders in their empty state."""
    for name in site.GENERATED:
        assert (ROOT / "site" / name / site.MARKER).is_file() and (ROOT / "site" / name / "index.md").is_file()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "0"},
    )
    assert result.returncode == 0 and not mkdocs_problems(result.stderr), result.stderr
    home = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "合肥经开区政务数据开放" in home and re.search(r'href="plans/"', home)
