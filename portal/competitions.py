"""Data application competitions (数据应用竞赛, Art. 19): the competition itself — created, edited
and published by the Bureau with its theme, period, rules, prizes, the datasets it offers and its
judges — and what the public sees of it.

    draft --publish--> published --start_judging--> judging --publish_results--> results

A published competition accepts entries from `opens_on` to `closes_on` inclusive (China dates);
judging starts after `closes_on`, or earlier when the Bureau says so explicitly. Entries, scores,
the ranking and the results are `judging`'s.

The datasets offered, and those an entry uses, must be in the open catalog: what an anonymous
visitor may see (`browse.visible_clause(None)`, the rule of `authz.can`). Pages and exports show
only those still in it, so an entry withdrawn from the catalog later is never shown.

Transitions are a compare-and-set on state and version (`db.compare_and_set`): a double click or
two people acting at once give one transition and a `Conflict` for the other. Each change writes
an audit row in the same transaction. "Now" is passed in; nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .authz import Action, can
from .browse import visible_clause
from .data_requests import china_day
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Competition, CompetitionDataset, CompetitionEntry, CompetitionJudge, Entry, User
from .vocab import N_, Role

STATES = {"draft": N_("草稿"), "published": N_("已发布"), "judging": N_("评审中"), "results": N_("已公布结果")}
PHASES = {
    "draft": N_("草稿"),
    "upcoming": N_("即将开始"),
    "open": N_("征集中"),
    "closed": N_("征集已结束"),
    "judging": N_("评审中"),
    "results": N_("已公布结果"),
}
PUBLIC_STATES = ("published", "judging", "results")
EDITABLE_STATES = ("draft", "published")
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
RESERVED_SLUGS = frozenset({"new"})  # /competitions/new is the Bureau's form
TITLE_LENGTH = 200
TEXT_LENGTH = 20000


def china_today(now: datetime) -> date:
    return china_day(now)


# -- who may do what -----------------------------------------------------------------------


def may_manage(user: User | None) -> bool:
    """Only the Bureau creates, edits and runs competitions."""
    return user is not None and user.role == Role.BUREAU


def is_judge(competition: Competition, user: User | None) -> bool:
    return user is not None and any(j.user_id == user.id for j in competition.judges)


def _require_bureau(actor: User | None) -> User:
    if not may_manage(actor):
        raise Forbidden(N_("只有区数据资源局可以管理数据应用竞赛"))
    assert actor is not None
    return actor


# -- phases --------------------------------------------------------------------------------


def accepting_entries(competition: Competition, today: date) -> bool:
    """Entries are submitted, edited and withdrawn only now: published, within the period."""
    return competition.state == "published" and competition.opens_on <= today <= competition.closes_on


def phase(competition: Competition, today: date) -> str:
    """A key of `PHASES`: the state, with a published competition split by its period."""
    if competition.state != "published":
        return competition.state
    if today < competition.opens_on:
        return "upcoming"
    return "open" if today <= competition.closes_on else "closed"


# -- the open catalog ----------------------------------------------------------------------


def in_open_catalog(entry: Entry) -> bool:
    return can(None, Action.VIEW_ENTRY, entry)


def open_entries(session: Session, entry_ids: Sequence[int], *, field: str) -> list[Entry]:
    """The entries `entry_ids`, each of which must be in the open catalog (Invalid on `field`)."""
    ids = list(dict.fromkeys(entry_ids))
    found = session.scalars(select(Entry).where(Entry.id.in_(ids), visible_clause(None)).order_by(Entry.id)).all() if ids else []
    if len(found) != len(ids):
        raise Invalid({field: N_("所选数据资源须在开放目录中（已发布的无条件开放或依申请开放数据资源）")})
    return list(found)


def find_open_entries(session: Session, terms: Sequence[str], *, field: str = "more_datasets") -> list[Entry]:
    """Open-catalog entries named by resource code or title, one a term: the exact code, else the
    exact title, else the one title containing the term. Invalid naming the terms that match
    none, or more than one."""
    found: list[Entry] = []
    unknown: list[str] = []
    for term in (t.strip() for t in terms):
        if not term:
            continue
        match = session.scalars(
            select(Entry).where(visible_clause(None), or_(Entry.resource_code == term, Entry.title == term)).order_by(Entry.id).limit(1)
        ).first()
        if match is None:
            candidates = session.scalars(
                select(Entry).where(visible_clause(None), Entry.title.contains(term, autoescape=True)).limit(2)
            ).all()
            match = candidates[0] if len(candidates) == 1 else None
        if match is None:
            unknown.append(term)
        elif match not in found:
            found.append(match)
    if unknown:
        raise Invalid({field: N_("开放目录中没有找到唯一对应的数据资源：") + "、".join(unknown[:10])})
    return found


def find_judges(session: Session, usernames: Sequence[str], *, field: str = "judges") -> list[User]:
    """The active users `usernames` (Invalid naming those that are not)."""
    names = list(dict.fromkeys(n.strip() for n in usernames if n.strip()))
    users = session.scalars(select(User).where(User.username.in_(names), User.is_active.is_(True))).all() if names else []
    by_name = {u.username: u for u in users}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise Invalid({field: N_("没有找到以下用户：") + "、".join(unknown[:10])})
    return [by_name[n] for n in names]


# -- creating and editing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Fields:
    values: dict[str, object]
    datasets: list[Entry]
    judges: list[User]


def _check(
    session: Session, *, slug: str, title: str, theme: str, rules: str, prizes: str, opens_on: date | None, closes_on: date | None,
    dataset_ids: Sequence[int], judges: Sequence[User], competition: Competition | None = None,
) -> _Fields:
    errors: dict[str, str] = {}
    slug, title = (slug or "").strip(), (title or "").strip()
    if not SLUG.fullmatch(slug) or slug in RESERVED_SLUGS:
        errors["slug"] = N_("网址名称须为1至100个小写英文字母、数字或连字符，且不以连字符开头或结尾")
    elif session.scalar(select(Competition.id).where(Competition.slug == slug, Competition.id != (competition.id if competition else 0))):
        errors["slug"] = N_("该网址名称已被其他竞赛使用")
    elif competition is not None and competition.state != "draft" and slug != competition.slug:
        errors["slug"] = N_("竞赛发布后不能修改网址名称")
    if not title:
        errors["title"] = N_("请填写竞赛名称")
    elif len(title) > TITLE_LENGTH:
        errors["title"] = N_("竞赛名称不能超过200个字")
    if not (theme or "").strip():
        errors["theme"] = N_("请填写竞赛主题")
    for name, text in (("theme", theme), ("rules", rules), ("prizes", prizes)):
        if len(text or "") > TEXT_LENGTH:
            errors[name] = N_("内容不能超过20000个字")
    if opens_on is None:
        errors["opens_on"] = N_("请填写作品征集开始日期")
    if closes_on is None:
        errors["closes_on"] = N_("请填写作品征集截止日期")
    elif opens_on is not None and closes_on < opens_on:
        errors["closes_on"] = N_("截止日期不能早于开始日期")
    datasets: list[Entry] = []
    try:
        datasets = open_entries(session, dataset_ids, field="datasets")
    except Invalid as invalid:
        errors |= invalid.errors
    chosen = list({u.id: u for u in judges}.values())
    if competition is not None and chosen:
        entrants = set(session.scalars(select(CompetitionEntry.leader_id).where(
            CompetitionEntry.competition_id == competition.id, CompetitionEntry.state == "submitted"
        )))
        if any(u.id in entrants for u in chosen):
            errors["judges"] = N_("已提交参赛作品的用户不能担任本竞赛的评委")
    if errors:
        raise Invalid(errors)
    values = {
        "slug": slug, "title": title, "theme": theme.strip(), "rules": (rules or "").strip(), "prizes": (prizes or "").strip(),
        "opens_on": opens_on, "closes_on": closes_on,
    }
    return _Fields(values, datasets, chosen)


def target(competition: Competition) -> str:
    return f"竞赛 {competition.slug} {competition.title}"


def _set_links(competition: Competition, fields: _Fields) -> None:
    wanted = {e.id for e in fields.datasets}
    for link in [d for d in competition.datasets if d.entry_id not in wanted]:
        competition.datasets.remove(link)
    have = {d.entry_id for d in competition.datasets}
    competition.datasets.extend(CompetitionDataset(entry_id=e.id) for e in fields.datasets if e.id not in have)
    judges = {u.id for u in fields.judges}
    for link in [j for j in competition.judges if j.user_id not in judges]:
        competition.judges.remove(link)
    have = {j.user_id for j in competition.judges}
    competition.judges.extend(CompetitionJudge(user_id=u.id) for u in fields.judges if u.id not in have)


def create_competition(
    session: Session, *, slug: str, title: str, theme: str, rules: str, prizes: str, opens_on: date | None, closes_on: date | None,
    dataset_ids: Sequence[int], judges: Sequence[User], actor: User, now: datetime,
) -> Competition:
    """A draft competition (the Bureau only); Invalid with the fields in error."""
    _require_bureau(actor)
    fields = _check(
        session, slug=slug, title=title, theme=theme, rules=rules, prizes=prizes, opens_on=opens_on, closes_on=closes_on,
        dataset_ids=dataset_ids, judges=judges,
    )
    competition = Competition(**fields.values, state="draft", version=0, created_at=now, updated_at=now)
    _set_links(competition, fields)
    session.add(competition)
    session.flush()
    audit.record(
        session, action="competition:create", actor=actor, now=now, target=target(competition),
        details={"datasets": [e.id for e in fields.datasets], "judges": [u.username for u in fields.judges]},
    )
    return competition


def update_competition(
    session: Session, competition: Competition, *, slug: str, title: str, theme: str, rules: str, prizes: str,
    opens_on: date | None, closes_on: date | None, dataset_ids: Sequence[int], judges: Sequence[User], actor: User, now: datetime,
) -> None:
    """Edit a draft or published competition (the Bureau only; the slug only while a draft).
    Conflict once judging has started, or when someone else changed its state meanwhile."""
    _require_bureau(actor)
    state = competition.state
    if state not in EDITABLE_STATES:
        raise Conflict(N_("竞赛已进入评审或已公布结果，不能再修改；请刷新页面查看最新状态"))
    fields = _check(
        session, slug=slug, title=title, theme=theme, rules=rules, prizes=prizes, opens_on=opens_on, closes_on=closes_on,
        dataset_ids=dataset_ids, judges=judges, competition=competition,
    )
    changed = sorted(k for k, v in fields.values.items() if getattr(competition, k) != v)
    if not compare_and_set(session, competition, where={"state": state}, values={**fields.values, "updated_at": now}):
        raise Conflict(N_("竞赛刚刚已被他人修改，本次修改未生效；请刷新页面后重试"))
    before = ({d.entry_id for d in competition.datasets}, {j.user_id for j in competition.judges})
    _set_links(competition, fields)
    if before[0] != {e.id for e in fields.datasets}:
        changed.append("datasets")
    if before[1] != {u.id for u in fields.judges}:
        changed.append("judges")
    session.flush()
    audit.record(session, action="competition:update", actor=actor, now=now, target=target(competition), details={"changed": changed})


def publish_competition(session: Session, competition: Competition, *, actor: User, now: datetime) -> None:
    """draft → published: shown to the public; entries accepted within the period."""
    _require_bureau(actor)
    if competition.state != "draft":
        raise Conflict(N_("该竞赛已经发布，请刷新页面查看最新状态"))
    if competition.closes_on < china_today(now):
        raise Invalid({"closes_on": N_("作品征集截止日期已过，请先修改征集期再发布")})
    if any(not in_open_catalog(d.entry) for d in competition.datasets):
        raise Invalid({"datasets": N_("有提供的数据资源已不在开放目录中，请先修改竞赛提供的数据资源")})
    if not compare_and_set(session, competition, where={"state": "draft"}, values={"state": "published", "updated_at": now}):
        raise Conflict(N_("该竞赛刚刚已被他人发布，请刷新页面查看最新状态"))
    audit.record(session, action="competition:publish", actor=actor, now=now, target=target(competition))


def start_judging(session: Session, competition: Competition, *, actor: User, now: datetime, early: bool = False) -> None:
    """published → judging: after the closing date, or before it when the Bureau says so
    (`early`), which closes the entries at once. The competition needs at least one judge."""
    _require_bureau(actor)
    if competition.state != "published":
        raise Conflict(N_("该竞赛当前不是征集阶段，不能开始评审；请刷新页面查看最新状态"))
    if not competition.judges:
        raise Invalid({"judges": N_("请先为竞赛指定至少一位评委")})
    today = china_today(now)
    if today <= competition.closes_on and not early:
        raise Invalid({"": N_("作品征集期尚未结束；如需提前结束征集并开始评审，请确认提前开始评审")})
    if not compare_and_set(session, competition, where={"state": "published"}, values={"state": "judging", "updated_at": now}):
        raise Conflict(N_("该竞赛刚刚已开始评审，请刷新页面查看最新状态"))
    audit.record(
        session, action="competition:update", actor=actor, now=now, target=target(competition),
        details={"state": "judging", "early": today <= competition.closes_on},
    )


# -- reads ---------------------------------------------------------------------------------


def get_competition(session: Session, slug: str, viewer: User | None) -> Competition:
    """The competition `slug`; a draft only for the Bureau (NotFound for anyone else)."""
    competition = session.scalar(
        select(Competition).where(Competition.slug == slug).options(selectinload(Competition.datasets), selectinload(Competition.judges))
    )
    if competition is None or (competition.state not in PUBLIC_STATES and not may_manage(viewer)):
        raise NotFound(N_("没有找到该竞赛"))
    return competition


def offered_datasets(session: Session, competition: Competition) -> list[Entry]:
    """The datasets the competition offers that are in the open catalog now, by resource code."""
    return list(session.scalars(
        select(Entry).join(CompetitionDataset, CompetitionDataset.entry_id == Entry.id)
        .where(CompetitionDataset.competition_id == competition.id, visible_clause(None))
        .options(selectinload(Entry.department)).order_by(Entry.resource_code)
    ))


def entry_count(session: Session, competition: Competition) -> int:
    """The number of entries submitted and not withdrawn."""
    return session.scalar(select(func.count(CompetitionEntry.id)).where(
        CompetitionEntry.competition_id == competition.id, CompetitionEntry.state == "submitted"
    )) or 0


@dataclass(frozen=True)
class CompetitionSummary:
    """What the public sees of a competition, besides its results (`judging.competition_results`)."""

    competition: Competition
    datasets: list[Entry]  # offered and in the open catalog now, by resource code
    entry_count: int  # entries submitted and not withdrawn


def public_competitions(session: Session) -> list[CompetitionSummary]:
    """Every published competition (published, judging or with results; never a draft), the
    latest opening first (then the newest)."""
    found = session.scalars(
        select(Competition).where(Competition.state.in_(PUBLIC_STATES))
        .options(selectinload(Competition.datasets), selectinload(Competition.judges))
        .order_by(Competition.opens_on.desc(), Competition.id.desc())
    )
    return [CompetitionSummary(c, offered_datasets(session, c), entry_count(session, c)) for c in found]


def all_competitions(session: Session, viewer: User | None) -> list[Competition]:
    """The competitions `viewer` may see: drafts too for the Bureau."""
    query = select(Competition).order_by(Competition.opens_on.desc(), Competition.id.desc())
    if not may_manage(viewer):
        query = query.where(Competition.state.in_(PUBLIC_STATES))
    return list(session.scalars(query))


def judged_by(session: Session, user: User | None) -> list[Competition]:
    """The competitions `user` judges (published or later), for their scoring pages."""
    if user is None:
        return []
    return list(session.scalars(
        select(Competition).join(CompetitionJudge).where(CompetitionJudge.user_id == user.id, Competition.state.in_(PUBLIC_STATES))
        .order_by(Competition.opens_on.desc(), Competition.id.desc())
    ))
