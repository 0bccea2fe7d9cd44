"""Data application competitions (Art. 19), `competitions` and `judging`: a whole run from
creation to published results with two entries and two judges, the ranking and its ties, what
each viewer sees, and every refusal (the Bureau only, the period, one entry per leader, open
datasets only, judges only while judging, results only when every entry is scored, a double or
stale transition answered with a Conflict)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import competitions as comp
from portal import judging
from portal.catalog import withdraw_entry
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.models import AuditEvent, Competition, CompetitionEntry, Entry
from portal.vocab import EntryStatus, OpenType, ShareType

from .support import World

CHINA = timezone(timedelta(hours=8))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA)


def _open(world: World) -> list[Entry]:
    return [e for e in world.entries if e.status == EntryStatus.PUBLISHED and e.open_type != OpenType.CLOSED]


def _create(session: Session, world: World, *, slug: str = "traffic-2026", judges: tuple[str, ...] = ("reviewer", "auditor"),
            **overrides: Any) -> Competition:
    values: dict[str, Any] = dict(
        slug=slug, title="2026年经开区交通数据应用大赛", theme="用开放数据改善出行", rules="## 规则\n\n作品须使用开放数据。",
        prizes="- 一等奖 1 名", opens_on=date(2026, 3, 1), closes_on=date(2026, 3, 31),
        dataset_ids=[e.id for e in _open(world)[:2]], judges=[world.users[j] for j in judges],
    )
    values.update(overrides)
    made = comp.create_competition(session, **values, actor=world.users["bureau"], now=at("2026-02-20"))
    session.commit()
    return made


def _published(session: Session, world: World, **overrides: Any) -> Competition:
    made = _create(session, world, **overrides)
    comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    session.commit()
    return made


def _enter(session: Session, world: World, competition: Competition, user: str, *, when: str = "2026-03-10",
           **overrides: Any) -> CompetitionEntry:
    values: dict[str, Any] = dict(
        team_name=f"{user}队", members="张三、李四", title=f"{user}的出行助手", description="基于**开放数据**的出行应用",
        url="https://example.org/app", entry_ids=[_open(world)[0].id],
    )
    values.update(overrides)
    made = judging.submit_entry(session, competition, leader=world.users[user], **values, now=at(when))
    session.commit()
    return made


def _judging(session: Session, world: World, competition: Competition) -> None:
    comp.start_judging(session, competition, actor=world.users["bureau"], now=at("2026-04-01"))
    session.commit()


def _score(session: Session, world: World, entry: CompetitionEntry, judge: str, score: int) -> None:
    judging.score_entry(session, entry, judge=world.users[judge], score=score, comment="", now=at("2026-04-02"))
    session.commit()


def _actions(session: Session) -> list[str]:
    return [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("competition:")).order_by(AuditEvent.id))]


def test_a_competition_runs_from_creation_to_published_results(session: Session, world: World) -> None:
    made = _create(session, world)
    assert made.state == "draft" and comp.public_competitions(session) == []
    with pytest.raises(NotFound):
        comp.get_competition(session, made.slug, world.users["citizen"])
    assert comp.get_competition(session, made.slug, world.users["bureau"]) is made
    comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    session.commit()
    assert made.state == "published" and comp.phase(made, date(2026, 2, 28)) == "upcoming"
    assert comp.phase(made, date(2026, 3, 31)) == "open" and comp.phase(made, date(2026, 4, 1)) == "closed"

    first = _enter(session, world, made, "citizen", when="2026-03-01")  # the opening day counts
    second = _enter(session, world, made, "editor_b", when="2026-03-31", entry_ids=[e.id for e in _open(world)[:3]])
    assert [e.id for e in second.entries] == sorted(e.id for e in _open(world)[:3])
    [summary] = comp.public_competitions(session)
    assert summary.competition is made and summary.entry_count == 2 and [e.id for e in summary.datasets] == sorted(
        (e.id for e in _open(world)[:2]), key=lambda i: session.get_one(Entry, i).resource_code)
    assert judging.entries_of(session, made, None) == [] and judging.entries_of(session, made, world.users["reviewer"]) == []
    assert judging.entries_of(session, made, world.users["citizen"]) == [first]

    _judging(session, world, made)
    assert made.state == "judging" and judging.entries_of(session, made, world.users["reviewer"]) == [first, second]
    _score(session, world, first, "reviewer", 80)
    _score(session, world, first, "auditor", 90)
    _score(session, world, second, "reviewer", 70)
    judging.score_entry(session, second, judge=world.users["reviewer"], score=95, comment="改分", now=at("2026-04-03"))
    session.commit()
    mine = judging.visible_scores(session, made, world.users["reviewer"])
    assert {k: [s.score for s in v] for k, v in mine.items()} == {first.id: [80], second.id: [95]}  # not the other judge's
    assert {k: [s.score for s in v] for k, v in judging.visible_scores(session, made, world.users["bureau"]).items()} == {
        first.id: [80, 90], second.id: [95]}
    assert judging.visible_scores(session, made, world.users["citizen"]) == {}
    assert judging.competition_results(session, made) == []

    judging.publish_results(session, made, {first.id: "二等奖", second.id: " 一等奖 "}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.commit()
    assert made.state == "results" and made.results_published_at is not None
    results = judging.competition_results(session, made)
    assert [(r.entry_id, r.rank, r.award, r.mean_score, r.score_count) for r in results] == [
        (second.id, 1, "一等奖", 95.0, 1), (first.id, 2, "二等奖", 85.0, 2)]
    assert results[0].team_name == "editor_b队" and results[0].members == "张三、李四" and results[0].url == "https://example.org/app"
    assert [e.id for e in results[1].datasets] == [_open(world)[0].id]
    assert not hasattr(results[0], "leader") and not hasattr(results[0], "leader_id")  # no account, no contact details
    assert judging.entries_of(session, made, None) == [second, first]
    assert len(judging.visible_scores(session, made, world.users["auditor"])[first.id]) == 2  # judges see all once results are out
    assert _actions(session) == [
        "competition:create", "competition:publish", "competition:enter", "competition:enter", "competition:update",
        "competition:score", "competition:score", "competition:score", "competition:score", "competition:results",
    ]


def test_ranking_by_mean_then_number_of_scores_then_earliest_submission(session: Session, world: World) -> None:
    made = _published(session, world, judges=("reviewer", "auditor"))
    two_scores = _enter(session, world, made, "citizen", when="2026-03-20")
    early = _enter(session, world, made, "editor_a", when="2026-03-02")
    late = _enter(session, world, made, "editor_b", when="2026-03-05")
    best = _enter(session, world, made, "admin_b", when="2026-03-30")
    _judging(session, world, made)
    _score(session, world, two_scores, "reviewer", 70)
    _score(session, world, two_scores, "auditor", 90)
    _score(session, world, early, "reviewer", 80)
    _score(session, world, late, "auditor", 80)
    _score(session, world, best, "reviewer", 81)
    judging.publish_results(session, made, {}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.commit()
    assert [(r.entry_id, r.rank, r.award) for r in judging.competition_results(session, made)] == [
        (best.id, 1, ""), (two_scores.id, 2, ""), (early.id, 3, ""), (late.id, 4, "")]


def test_means_are_compared_exactly(session: Session, world: World) -> None:
    made = _published(session, world, judges=("reviewer", "auditor", "provider_b"))
    thirds = _enter(session, world, made, "citizen", when="2026-03-20")  # (70+70+71)/3 = 70.33...
    other = _enter(session, world, made, "editor_a", when="2026-03-02")  # (70+71)/2 = 70.5
    _judging(session, world, made)
    for judge, score in (("reviewer", 70), ("auditor", 70), ("provider_b", 71)):
        _score(session, world, thirds, judge, score)
    _score(session, world, other, "reviewer", 70)
    _score(session, world, other, "auditor", 71)
    assert [r.entry.id for r in judging.standings(session, made)] == [other.id, thirds.id]


@pytest.mark.parametrize("user", ["citizen", "editor_a", "reviewer"])
def test_only_the_bureau_runs_a_competition(session: Session, world: World, user: str) -> None:
    with pytest.raises(Forbidden):
        comp.create_competition(session, slug="x", title="x", theme="x", rules="", prizes="", opens_on=date(2026, 3, 1),
                                closes_on=date(2026, 3, 2), dataset_ids=[], judges=[], actor=world.users[user], now=at("2026-02-20"))
    session.rollback()
    made = _create(session, world)
    for act in (comp.publish_competition, comp.start_judging):
        with pytest.raises(Forbidden):
            act(session, made, actor=world.users[user], now=at("2026-02-21"))
    with pytest.raises(Forbidden):
        judging.publish_results(session, made, {}, actor=world.users[user], now=at("2026-04-21"))


def test_the_fields_of_a_competition_are_checked(session: Session, world: World) -> None:
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    draft = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.DRAFT)
    for dataset in (closed, draft):
        with pytest.raises(Invalid) as refused:
            _create(session, world, dataset_ids=[dataset.id])
        assert "开放目录" in refused.value.errors["datasets"]
        session.rollback()
    with pytest.raises(Invalid) as refused:
        _create(session, world, slug="交通 大赛", title="", theme="", opens_on=date(2026, 3, 2), closes_on=date(2026, 3, 1))
    assert set(refused.value.errors) == {"slug", "title", "theme", "closes_on"}
    session.rollback()
    _create(session, world)
    with pytest.raises(Invalid) as refused:
        _create(session, world)
    assert "已被其他竞赛使用" in refused.value.errors["slug"]


def test_editing_keeps_the_slug_once_published_and_stops_at_judging(session: Session, world: World) -> None:
    made = _create(session, world)
    fields: dict[str, Any] = dict(title="新名称", theme="新主题", rules="", prizes="", opens_on=made.opens_on, closes_on=date(2026, 4, 15),
                                  dataset_ids=[_open(world)[2].id], judges=[world.users["reviewer"]])
    comp.update_competition(session, made, slug="renamed", **fields, actor=world.users["bureau"], now=at("2026-02-21"))
    session.commit()
    assert (made.slug, made.title, [d.entry_id for d in made.datasets], [j.user_id for j in made.judges]) == (
        "renamed", "新名称", [_open(world)[2].id], [world.users["reviewer"].id])
    comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    session.commit()
    with pytest.raises(Invalid) as refused:
        comp.update_competition(session, made, slug="again", **fields, actor=world.users["bureau"], now=at("2026-02-22"))
    assert "网址名称" in refused.value.errors["slug"]
    session.rollback()
    entry = _enter(session, world, made, "citizen")
    with pytest.raises(Invalid) as refused:  # an entrant cannot become a judge
        comp.update_competition(session, made, slug="renamed", **(fields | {"judges": [world.users["citizen"]]}),
                                actor=world.users["bureau"], now=at("2026-03-12"))
    assert "评委" in refused.value.errors["judges"]
    session.rollback()
    comp.start_judging(session, made, actor=world.users["bureau"], now=at("2026-04-16"))
    session.commit()
    with pytest.raises(Conflict):
        comp.update_competition(session, made, slug="renamed", **fields, actor=world.users["bureau"], now=at("2026-04-17"))
    assert entry.state == "submitted"


def test_publishing_twice_or_from_a_stale_page_is_a_conflict(session: Session, world: World) -> None:
    made = _create(session, world)
    comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    session.commit()
    with pytest.raises(Conflict):
        comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    session.rollback()
    other = _create(session, world, slug="other")
    session.execute(update(Competition).where(Competition.id == other.id).values(version=Competition.version + 1)
                    .execution_options(synchronize_session=False))  # someone else, unseen here
    with pytest.raises(Conflict):
        comp.publish_competition(session, other, actor=world.users["bureau"], now=at("2026-02-21"))
    session.rollback()
    assert session.get_one(Competition, other.id).state == "draft"


def test_publishing_needs_a_future_closing_date_and_open_datasets(session: Session, world: World) -> None:
    made = _create(session, world)
    with pytest.raises(Invalid):
        comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-04-01"))
    session.rollback()
    withdraw_entry(session, _open(world)[0], actor=None, now=at("2026-02-20"))
    with pytest.raises(Invalid) as refused:
        comp.publish_competition(session, made, actor=world.users["bureau"], now=at("2026-02-21"))
    assert "开放目录" in refused.value.errors["datasets"]


def test_judging_starts_after_the_closing_date_or_early_when_the_bureau_says_so(session: Session, world: World) -> None:
    made = _published(session, world)
    with pytest.raises(Invalid):
        comp.start_judging(session, made, actor=world.users["bureau"], now=at("2026-03-31", 23))
    session.rollback()
    comp.start_judging(session, made, actor=world.users["bureau"], now=at("2026-03-20"), early=True)
    session.commit()
    assert made.state == "judging"
    with pytest.raises(Conflict):
        comp.start_judging(session, made, actor=world.users["bureau"], now=at("2026-04-02"))
    with pytest.raises(Invalid):  # entries close with the start of judging
        _enter(session, world, made, "citizen", when="2026-03-21")
    session.rollback()
    lonely = _published(session, world, slug="no-judges", judges=())
    with pytest.raises(Invalid) as refused:
        comp.start_judging(session, lonely, actor=world.users["bureau"], now=at("2026-04-02"))
    assert "评委" in refused.value.errors["judges"]


@pytest.mark.parametrize("when", ["2026-02-28", "2026-04-01"])
def test_entries_only_within_the_period_china_time(session: Session, world: World, when: str) -> None:
    made = _published(session, world)
    with pytest.raises(Invalid) as refused:
        _enter(session, world, made, "citizen", when=when)
    assert "征集期" in refused.value.errors[""]
    session.rollback()
    # 2026-03-31 23:30 in China is still the closing day, although it is 15:30 UTC
    judging.submit_entry(session, made, leader=world.users["citizen"], team_name="夜猫子", members="", title="晚到的作品", description="",
                         url="", entry_ids=[_open(world)[0].id], now=datetime(2026, 3, 31, 15, 30, tzinfo=timezone.utc))
    with pytest.raises(Invalid):
        judging.submit_entry(session, made, leader=world.users["editor_a"], team_name="迟到", members="", title="迟到的作品",
                             description="", url="", entry_ids=[_open(world)[0].id], now=datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc))


def test_a_draft_takes_no_entries(session: Session, world: World) -> None:
    made = _create(session, world)
    with pytest.raises(Invalid):
        _enter(session, world, made, "citizen")


def test_one_entry_per_leader_and_withdrawing_frees_the_place(session: Session, world: World) -> None:
    made = _published(session, world)
    entry = _enter(session, world, made, "citizen")
    with pytest.raises(Invalid) as refused:
        _enter(session, world, made, "citizen", title="第二件")
    assert "只能提交一件" in refused.value.errors[""]
    session.rollback()
    with pytest.raises(Forbidden):
        judging.withdraw_entry(session, entry, leader=world.users["editor_a"], now=at("2026-03-11"))
    judging.withdraw_entry(session, entry, leader=world.users["citizen"], now=at("2026-03-11"))
    session.commit()
    with pytest.raises(Conflict):
        judging.withdraw_entry(session, entry, leader=world.users["citizen"], now=at("2026-03-11"))
    again = _enter(session, world, made, "citizen", when="2026-03-12")
    assert judging.my_entry(session, made, world.users["citizen"]) is again and comp.entry_count(session, made) == 1


def test_the_leader_edits_until_the_closing_date_and_then_nothing_changes(session: Session, world: World) -> None:
    made = _published(session, world)
    entry = _enter(session, world, made, "citizen")
    fields: dict[str, Any] = dict(team_name="新队名", members="王五", title="改进版", description="", url="http://example.org",
                                  entry_ids=[e.id for e in _open(world)[1:3]])
    with pytest.raises(Forbidden):
        judging.update_entry(session, entry, leader=world.users["editor_a"], **fields, now=at("2026-03-31"))
    judging.update_entry(session, entry, leader=world.users["citizen"], **fields, now=at("2026-03-31"))
    session.commit()
    assert (entry.team_name, entry.title, [e.id for e in entry.entries]) == ("新队名", "改进版", [e.id for e in _open(world)[1:3]])
    with pytest.raises(Invalid):
        judging.update_entry(session, entry, leader=world.users["citizen"], **fields, now=at("2026-04-01"))
    with pytest.raises(Invalid):
        judging.withdraw_entry(session, entry, leader=world.users["citizen"], now=at("2026-04-01"))


def test_the_fields_of_an_entry_are_checked(session: Session, world: World) -> None:
    made = _published(session, world)
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    withdrawn = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.WITHDRAWN)
    for ids in ([closed.id], [_open(world)[0].id, withdrawn.id], [999999]):
        with pytest.raises(Invalid) as refused:
            _enter(session, world, made, "citizen", entry_ids=ids)
        assert "开放目录" in refused.value.errors["datasets"]
        session.rollback()
    with pytest.raises(Invalid) as refused:
        _enter(session, world, made, "citizen", team_name=" ", title="", url="javascript:alert(1)", entry_ids=[])
    assert set(refused.value.errors) == {"team_name", "title", "url", "datasets"}
    session.rollback()
    for url in ("ftp://example.org/x", "https://", "http://exa mple.org"):
        with pytest.raises(Invalid):
            _enter(session, world, made, "citizen", url=url)
        session.rollback()


@pytest.mark.parametrize("user", ["bureau", "reviewer"])
def test_the_bureau_and_the_judges_may_not_enter(session: Session, world: World, user: str) -> None:
    made = _published(session, world)
    assert not judging.may_enter(made, world.users[user]) and judging.may_enter(made, world.users["auditor" if user == "bureau" else "citizen"]) is (user != "bureau")
    with pytest.raises(Forbidden):
        _enter(session, world, made, user)


def test_only_the_judges_score_and_only_while_judging(session: Session, world: World) -> None:
    made = _published(session, world)
    entry = _enter(session, world, made, "citizen")
    with pytest.raises(Conflict) as refused:
        judging.score_entry(session, entry, judge=world.users["reviewer"], score=80, comment="", now=at("2026-03-20"))
    assert "尚未进入评审" in refused.value.message
    _judging(session, world, made)
    for outsider in ("bureau", "editor_a", "citizen"):
        with pytest.raises(Forbidden):
            judging.score_entry(session, entry, judge=world.users[outsider], score=80, comment="", now=at("2026-04-02"))
    for bad in (-1, 101, None, True):
        with pytest.raises(Invalid):
            judging.score_entry(session, entry, judge=world.users["reviewer"], score=bad, comment="", now=at("2026-04-02"))  # type: ignore[arg-type]
    _score(session, world, entry, "reviewer", 0)
    judging.publish_results(session, made, {entry.id: "一等奖"}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.commit()
    with pytest.raises(Conflict) as refused:
        judging.score_entry(session, entry, judge=world.users["reviewer"], score=90, comment="", now=at("2026-04-11"))
    assert "结果已经公布" in refused.value.message


def test_results_need_every_entry_scored_and_are_published_once(session: Session, world: World) -> None:
    made = _published(session, world)
    scored = _enter(session, world, made, "citizen")
    unscored = _enter(session, world, made, "editor_a", title="无人评分的作品")
    withdrawn = _enter(session, world, made, "editor_b")
    judging.withdraw_entry(session, withdrawn, leader=world.users["editor_b"], now=at("2026-03-20"))
    session.commit()
    with pytest.raises(Conflict):  # not judging yet
        judging.publish_results(session, made, {}, actor=world.users["bureau"], now=at("2026-03-25"))
    _judging(session, world, made)
    _score(session, world, scored, "reviewer", 60)
    with pytest.raises(Invalid) as refused:
        judging.publish_results(session, made, {}, actor=world.users["bureau"], now=at("2026-04-10"))
    assert "无人评分的作品" in refused.value.errors[""]
    session.rollback()
    _score(session, world, unscored, "auditor", 60)
    with pytest.raises(Invalid):  # an award for a withdrawn entry
        judging.publish_results(session, made, {withdrawn.id: "一等奖"}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.rollback()
    judging.publish_results(session, made, {scored.id: "优秀奖"}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.commit()
    with pytest.raises(Conflict):
        judging.publish_results(session, made, {scored.id: "一等奖"}, actor=world.users["bureau"], now=at("2026-04-10"))
    session.rollback()
    assert [(r.entry_id, r.award) for r in judging.competition_results(session, made)] == [(scored.id, "优秀奖"), (unscored.id, "")]
    assert withdrawn.rank is None and comp.entry_count(session, made) == 2


def test_the_public_never_sees_datasets_that_left_the_open_catalog(session: Session, world: World) -> None:
    first, second = _open(world)[:2]
    made = _published(session, world)
    entry = _enter(session, world, made, "citizen", entry_ids=[first.id, second.id])
    withdraw_entry(session, first, actor=None, now=at("2026-03-15"))
    session.commit()
    assert [e.id for e in comp.offered_datasets(session, made)] == [second.id]
    assert [e.id for e in judging.datasets_of(entry)] == [second.id]


def test_datasets_are_found_by_resource_code_or_title(session: Session, world: World) -> None:
    first, second = _open(world)[:2]
    assert comp.find_open_entries(session, [first.resource_code, second.title, ""]) == [first, second]
    closed = world.entry(ShareType.UNCONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    with pytest.raises(Invalid) as refused:
        comp.find_open_entries(session, [closed.resource_code, "甲局资源"])  # not open; matches many
    assert closed.resource_code in refused.value.errors["more_datasets"] and "甲局资源" in refused.value.errors["more_datasets"]
    assert comp.find_judges(session, ["reviewer", " auditor "]) == [world.users["reviewer"], world.users["auditor"]]
    with pytest.raises(Invalid):
        comp.find_judges(session, ["nobody"])
