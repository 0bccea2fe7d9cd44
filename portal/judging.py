"""A competition's entries (参赛作品) and their judging: entering, editing and withdrawing an entry
while the competition accepts entries, judges' scores, the ranking, and the published results.

- Any signed-in user enters (any role), except the Bureau and the competition's judges; one entry
  (not withdrawn) per leader per competition. The leader edits or withdraws it until the closing
  date; after that nothing changes.
- Judges score each entry 0–100 while the competition is judging and may change their score
  until the results are published. Before the results a judge sees only their own scores; the
  Bureau sees all.
- The ranking is by the mean of the judges' scores (exact, as a fraction), ties broken by the
  number of scores (more first) and then by the earliest submission. `publish_results` stores
  each entry's rank and the award the Bureau gives it; every entry needs at least one score.
- What the public sees of an entry: team name, members as given, title, description, URL and
  the datasets used (those still in the open catalog) — never the leader's account or contacts.

Each change writes an audit row in the same transaction; "now" is passed in; nothing commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from . import audit
from .competitions import accepting_entries, china_today, in_open_catalog, is_judge, may_manage, open_entries, target
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid
from .models import Competition, CompetitionEntry, CompetitionEntryDataset, CompetitionScore, Entry, User
from .vocab import N_, Role

ENTRY_STATES = {"submitted": N_("已提交"), "withdrawn": N_("已撤回")}
TEAM_LENGTH = 100
TITLE_LENGTH = 200
MEMBERS_LENGTH = 2000
TEXT_LENGTH = 20000
URL_LENGTH = 2000
AWARD_LENGTH = 100
MAX_DATASETS = 50


# -- entering ------------------------------------------------------------------------------


def may_enter(competition: Competition, user: User | None) -> bool:
    """Anyone signed in, except the Bureau (which runs it) and the competition's judges."""
    return user is not None and user.role != Role.BUREAU and not is_judge(competition, user)


def _require_entrant(competition: Competition, user: User | None) -> User:
    if user is None:
        raise Forbidden(N_("请先登录后再提交参赛作品"))
    if user.role == Role.BUREAU:
        raise Forbidden(N_("区数据资源局组织竞赛，不能参赛"))
    if is_judge(competition, user):
        raise Forbidden(N_("本竞赛的评委不能参赛"))
    return user


def _period_error(competition: Competition) -> Invalid:
    return Invalid({"": N_("本竞赛当前不在作品征集期内，不能提交、修改或撤回作品（征集期：")
                    + f"{competition.opens_on.isoformat()} — {competition.closes_on.isoformat()}）"})


def _check_entry(
    session: Session, *, team_name: str, members: str, title: str, description: str, url: str, entry_ids: Sequence[int],
) -> tuple[dict[str, str], list[Entry]]:
    errors: dict[str, str] = {}
    team_name, title, url = (team_name or "").strip(), (title or "").strip(), (url or "").strip()
    if not team_name:
        errors["team_name"] = N_("请填写团队或参赛者名称")
    elif len(team_name) > TEAM_LENGTH:
        errors["team_name"] = N_("团队名称不能超过100个字")
    if len(members or "") > MEMBERS_LENGTH:
        errors["members"] = N_("团队成员不能超过2000个字")
    if not title:
        errors["title"] = N_("请填写作品名称")
    elif len(title) > TITLE_LENGTH:
        errors["title"] = N_("作品名称不能超过200个字")
    if len(description or "") > TEXT_LENGTH:
        errors["description"] = N_("作品介绍不能超过20000个字")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > URL_LENGTH or any(c.isspace() for c in url):
            errors["url"] = N_("作品链接须为以 http:// 或 https:// 开头的网址")
    datasets: list[Entry] = []
    if not entry_ids:
        errors["datasets"] = N_("请至少选择一个作品使用的开放数据资源")
    elif len(set(entry_ids)) > MAX_DATASETS:
        errors["datasets"] = N_("作品使用的数据资源不能超过50个")
    else:
        try:
            datasets = open_entries(session, entry_ids, field="datasets")
        except Invalid as invalid:
            errors |= invalid.errors
    if errors:
        raise Invalid(errors)
    values = {"team_name": team_name, "members": (members or "").strip(), "title": title,
              "description": (description or "").strip(), "url": url}
    return values, datasets


def _link_datasets(session: Session, entry: CompetitionEntry, datasets: list[Entry]) -> None:
    wanted = {e.id for e in datasets}
    links = session.scalars(select(CompetitionEntryDataset).where(CompetitionEntryDataset.competition_entry_id == entry.id)).all()
    for link in links:
        if link.entry_id not in wanted:
            session.delete(link)
    have = {link.entry_id for link in links}
    session.add_all(CompetitionEntryDataset(competition_entry_id=entry.id, entry_id=e.id) for e in datasets if e.id not in have)
    session.flush()
    session.expire(entry, ["entries"])


def my_entry(session: Session, competition: Competition, user: User | None) -> CompetitionEntry | None:
    """The viewer's entry to `competition` that is not withdrawn, if any."""
    if user is None:
        return None
    return session.scalar(select(CompetitionEntry).where(
        CompetitionEntry.competition_id == competition.id, CompetitionEntry.leader_id == user.id, CompetitionEntry.state == "submitted",
    ).order_by(CompetitionEntry.id.desc()).limit(1))


def submit_entry(
    session: Session, competition: Competition, *, leader: User, team_name: str, members: str, title: str, description: str,
    url: str, entry_ids: Sequence[int], now: datetime,
) -> CompetitionEntry:
    """Enter `competition` while it accepts entries; one entry (not withdrawn) per leader."""
    _require_entrant(competition, leader)
    if not accepting_entries(competition, china_today(now)):
        raise _period_error(competition)
    if my_entry(session, competition, leader) is not None:
        raise Invalid({"": N_("您已提交过本竞赛的参赛作品，每人只能提交一件；请修改已提交的作品")})
    values, datasets = _check_entry(
        session, team_name=team_name, members=members, title=title, description=description, url=url, entry_ids=entry_ids,
    )
    # Serialises entries to the competition: a double click, or an entry racing the start of
    # judging, gives one result and a Conflict for the other.
    if not compare_and_set(session, competition, where={"state": "published"}, values={}):
        raise Conflict(N_("竞赛信息刚刚有变动，作品未提交；请刷新页面后重新提交"))
    entry = CompetitionEntry(competition_id=competition.id, leader_id=leader.id, state="submitted", submitted_at=now, updated_at=now, **values)
    session.add(entry)
    session.flush()
    _link_datasets(session, entry, datasets)
    audit.record(session, action="competition:enter", actor=leader, now=now, target=target(competition),
                 details={"entry": entry.id, "change": "submit", "datasets": [e.id for e in datasets]})
    return entry


def _require_leader_in_period(session: Session, entry: CompetitionEntry, leader: User | None, now: datetime) -> Competition:
    competition = session.get_one(Competition, entry.competition_id)
    if leader is None or entry.leader_id != leader.id:
        raise Forbidden(N_("只有作品的提交人可以修改或撤回作品"))
    if entry.state != "submitted":
        raise Conflict(N_("该作品已撤回；请刷新页面查看最新状态"))
    if not accepting_entries(competition, china_today(now)):
        raise _period_error(competition)
    return competition


def update_entry(
    session: Session, entry: CompetitionEntry, *, leader: User, team_name: str, members: str, title: str, description: str,
    url: str, entry_ids: Sequence[int], now: datetime,
) -> None:
    """The leader edits their entry until the closing date."""
    competition = _require_leader_in_period(session, entry, leader, now)
    values, datasets = _check_entry(
        session, team_name=team_name, members=members, title=title, description=description, url=url, entry_ids=entry_ids,
    )
    for key, value in values.items():
        setattr(entry, key, value)
    entry.updated_at = now
    _link_datasets(session, entry, datasets)
    audit.record(session, action="competition:enter", actor=leader, now=now, target=target(competition),
                 details={"entry": entry.id, "change": "update", "datasets": [e.id for e in datasets]})


def withdraw_entry(session: Session, entry: CompetitionEntry, *, leader: User, now: datetime) -> None:
    """The leader withdraws their entry until the closing date (and may then enter anew)."""
    competition = _require_leader_in_period(session, entry, leader, now)
    entry.state, entry.updated_at = "withdrawn", now
    session.flush()
    audit.record(session, action="competition:enter", actor=leader, now=now, target=target(competition),
                 details={"entry": entry.id, "change": "withdraw"})


def get_entry(session: Session, competition: Competition, entry_id: int) -> CompetitionEntry | None:
    entry = session.get(CompetitionEntry, entry_id)
    return entry if entry is not None and entry.competition_id == competition.id else None


def entries_of(session: Session, competition: Competition, viewer: User | None) -> list[CompetitionEntry]:
    """The entries `viewer` may see: every one (withdrawn too) for the Bureau; those submitted
    for the judges once judging starts and for everyone once the results are out (by rank);
    otherwise only the viewer's own."""
    query = select(CompetitionEntry).where(CompetitionEntry.competition_id == competition.id).options(
        selectinload(CompetitionEntry.entries)
    )
    if may_manage(viewer):
        pass
    elif competition.state == "results" or (competition.state == "judging" and is_judge(competition, viewer)):
        query = query.where(CompetitionEntry.state == "submitted")
    elif viewer is not None:
        query = query.where(CompetitionEntry.leader_id == viewer.id)
    else:
        return []
    order = [CompetitionEntry.submitted_at, CompetitionEntry.id]
    if competition.state == "results":
        order.insert(0, CompetitionEntry.rank.is_(None))
        order.insert(1, CompetitionEntry.rank)
    return list(session.scalars(query.order_by(*order)))


def datasets_of(entry: CompetitionEntry) -> list[Entry]:
    """The datasets an entry uses that are in the open catalog now."""
    return [e for e in entry.entries if in_open_catalog(e)]


# -- scoring -------------------------------------------------------------------------------


def score_entry(
    session: Session, entry: CompetitionEntry, *, judge: User, score: int | None, comment: str, now: datetime,
) -> CompetitionScore:
    """A judge of the entry's competition scores it (0–100) while judging, or changes their score."""
    competition = session.get_one(Competition, entry.competition_id)
    if not is_judge(competition, judge):
        raise Forbidden(N_("只有本竞赛的评委可以评分"))
    if competition.state == "results":
        raise Conflict(N_("竞赛结果已经公布，评分不能再修改"))
    if competition.state != "judging":
        raise Conflict(N_("本竞赛尚未进入评审阶段，暂不能评分"))
    if entry.state != "submitted":
        raise Conflict(N_("该作品已撤回，不能评分"))
    errors: dict[str, str] = {}
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100:
        errors["score"] = N_("评分须为0到100之间的整数")
    if len(comment or "") > TEXT_LENGTH:
        errors["comment"] = N_("评语不能超过20000个字")
    if errors:
        raise Invalid(errors)
    assert score is not None
    row = session.scalar(select(CompetitionScore).where(
        CompetitionScore.competition_entry_id == entry.id, CompetitionScore.judge_id == judge.id
    ))
    before = row.score if row is not None else None
    if row is None:
        row = CompetitionScore(competition_entry_id=entry.id, judge_id=judge.id, score=score, comment=(comment or "").strip(), scored_at=now)
        session.add(row)
    else:
        row.score, row.comment, row.scored_at = score, (comment or "").strip(), now
    try:
        session.flush()
    except IntegrityError:  # the same judge's other request got in first
        raise Conflict(N_("评分刚刚已提交，请刷新页面查看")) from None
    audit.record(session, action="competition:score", actor=judge, now=now, target=target(competition),
                 details={"entry": entry.id, "score": score, "before": before})
    return row


def visible_scores(session: Session, competition: Competition, viewer: User | None) -> dict[int, list[CompetitionScore]]:
    """Scores by competition entry id that `viewer` may read: all for the Bureau, and for the
    judges once the results are out; a judge's own before that; nothing for anyone else."""
    if not (may_manage(viewer) or is_judge(competition, viewer)):
        return {}
    assert viewer is not None
    query = select(CompetitionScore).join(CompetitionEntry).where(CompetitionEntry.competition_id == competition.id)
    if not may_manage(viewer) and competition.state != "results":
        query = query.where(CompetitionScore.judge_id == viewer.id)
    found: dict[int, list[CompetitionScore]] = {}
    for row in session.scalars(query.order_by(CompetitionScore.id)):
        found.setdefault(row.competition_entry_id, []).append(row)
    return found


# -- ranking and results -------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    entry: CompetitionEntry
    mean: Fraction | None  # None while no judge has scored it
    scores: int


def standings(session: Session, competition: Competition) -> list[Standing]:
    """The submitted entries in ranking order (the unscored last): mean score, then the number
    of scores, then the earliest submission. For the Bureau, and to store the ranks."""
    entries = session.scalars(select(CompetitionEntry).where(
        CompetitionEntry.competition_id == competition.id, CompetitionEntry.state == "submitted"
    ).options(selectinload(CompetitionEntry.entries))).all()
    by_entry: dict[int, list[int]] = {}
    for entry_id, value in session.execute(
        select(CompetitionScore.competition_entry_id, CompetitionScore.score).join(CompetitionEntry)
        .where(CompetitionEntry.competition_id == competition.id)
    ):
        by_entry.setdefault(entry_id, []).append(value)
    rows = [Standing(e, Fraction(sum(s), len(s)) if (s := by_entry.get(e.id)) else None, len(by_entry.get(e.id, []))) for e in entries]
    return sorted(rows, key=lambda r: (r.mean is None, -(r.mean or 0), -r.scores, r.entry.submitted_at, r.entry.id))


def publish_results(
    session: Session, competition: Competition, awards: Mapping[int, str], *, actor: User, now: datetime,
) -> None:
    """judging → results: store each submitted entry's rank and the award the Bureau gives it
    (`awards`: competition entry id → e.g. 一等奖; the others get none). Every entry needs at
    least one score; Conflict when the results are already out."""
    if not may_manage(actor):
        raise Forbidden(N_("只有区数据资源局可以公布竞赛结果"))
    if competition.state == "results":
        raise Conflict(N_("竞赛结果已经公布，请刷新页面查看"))
    if competition.state != "judging":
        raise Conflict(N_("竞赛尚未进入评审阶段，不能公布结果"))
    ranked = standings(session, competition)
    unscored = [r.entry.title for r in ranked if r.mean is None]
    if unscored:
        raise Invalid({"": N_("每件作品至少须有一位评委评分后才能公布结果；尚未评分的作品：") + "、".join(unscored[:10])})
    ids = {r.entry.id for r in ranked}
    cleaned = {int(k): (v or "").strip() for k, v in awards.items()}
    if set(cleaned) - ids:
        raise Invalid({"awards": N_("奖项只能授予本竞赛已提交的作品")})
    if any(len(v) > AWARD_LENGTH for v in cleaned.values()):
        raise Invalid({"awards": N_("奖项名称不能超过100个字")})
    if not compare_and_set(session, competition, where={"state": "judging"},
                           values={"state": "results", "results_published_at": now, "updated_at": now}):
        raise Conflict(N_("竞赛结果刚刚已被他人公布，请刷新页面查看"))
    for rank, row in enumerate(ranked, start=1):
        row.entry.rank, row.entry.award = rank, cleaned.get(row.entry.id, "")
    session.flush()
    audit.record(session, action="competition:results", actor=actor, now=now, target=target(competition),
                 details={"ranks": {str(r.entry.id): n for n, r in enumerate(ranked, start=1)},
                          "awards": {str(k): v for k, v in sorted(cleaned.items()) if v}})


@dataclass(frozen=True)
class Result:
    """One ranked entry of a competition's published results: only what is public."""

    entry_id: int
    rank: int
    award: str  # "" when none
    team_name: str
    members: str  # the other members, as the team gave them
    title: str
    description: str  # Markdown
    url: str  # "" or an http(s) URL
    mean_score: float  # the judges' mean, rounded to 2 decimals
    score_count: int  # how many judges scored it
    datasets: list[Entry]  # used, and in the open catalog now; by id
    submitted_at: datetime


def competition_results(session: Session, competition: Competition) -> list[Result]:
    """The published results by rank; empty until the results are published."""
    if competition.state != "results":
        return []
    ranked = [r for r in standings(session, competition) if r.entry.rank is not None and r.mean is not None]
    ranked.sort(key=lambda r: r.entry.rank or 0)
    return [
        Result(
            entry_id=r.entry.id, rank=r.entry.rank or 0, award=r.entry.award, team_name=r.entry.team_name, members=r.entry.members,
            title=r.entry.title, description=r.entry.description, url=r.entry.url, mean_score=round(float(r.mean or 0), 2),
            score_count=r.scores, datasets=datasets_of(r.entry), submitted_at=r.entry.submitted_at,
        )
        for r in ranked
    ]
