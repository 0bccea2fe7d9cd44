"""Showcases (成果展示, Art. 19): apps, analyses and visualisations built on the open data,
submitted by any signed-in user, moderated by the Bureau, listed in a public gallery, on each
entry page they use and (through `approved_showcases`) on the static site.

    pending --approve--> approved --withdraw--> withdrawn
       |  \\--reject (reason)--> rejected --update--> pending
       |                            \\--withdraw--> withdrawn
       \\--update--> pending, --withdraw--> withdrawn
    approved --reject (reason)--> rejected   (the Bureau takes a showcase down)

A showcase links at least one entry, each in the open catalog (what an anonymous visitor sees,
`browse.visible_clause(None)`) when submitted. An entry may leave the open catalog later: the
showcase still shows, but every list of its entries is filtered by what the viewer may see
(`visible_entries`, `visible_entries_of`), so no title of a non-public entry is ever shown.

A URL (http or https only) is required for an app and a visualisation; an analysis may have
none, and then its description is the report itself (at least `REPORT_LENGTH` characters).
The slug is "sc-<id>" unless the submitter gives a free ASCII slug; it never changes.

Moderation and every state change are a compare-and-set on the state and version the actor saw
(`portal.db.compare_and_set`): a double click or two people acting at once give one decision and
a `Conflict` (409) for the other. Each change writes an audit row (showcase:submit, approve,
reject, withdraw; an update that sends a showcase back for review is a showcase:submit) in the
caller's transaction. "Now" is passed in; nothing here commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from . import audit
from .browse import visible_clause
from .db import compare_and_set
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Entry, Showcase, ShowcaseEntry, User
from .vocab import N_, Role

KINDS = {"app": N_("应用"), "analysis": N_("分析报告"), "visualisation": N_("可视化")}
STATES = {"pending": N_("待审核"), "approved": N_("已展示"), "rejected": N_("已驳回"), "withdrawn": N_("已撤回")}
EDITABLE = ("pending", "rejected")  # the submitter may change the showcase (back to pending)
WITHDRAWABLE = ("pending", "rejected", "approved")
REJECTABLE = ("pending", "approved")  # the Bureau may also take an approved showcase down
TITLE_LENGTH = (2, 200)
DESCRIPTION_LENGTH = (10, 20000)
REPORT_LENGTH = 50  # an analysis without a URL: its description is the report
URL_LENGTH = 2000
REASON_LENGTH = (4, 2000)
MAX_ENTRIES = 30
MAX_PENDING = 10  # a user's showcases waiting for review at once
GALLERY_PAGE_SIZE = 24
SLUG = re.compile(r"[a-z][a-z0-9-]{1,58}[a-z0-9]")
GENERATED_SLUG = re.compile(r"sc-[0-9]+")  # reserved for "sc-<id>"
RESERVED_SLUGS = frozenset({"new", "mine", "review", "edit"})  # the gallery's own pages
_SEPARATORS = re.compile(r"[\s,，、;；]+")


# -- who may do what ---------------------------------------------------------------------------


def may_submit(user: User | None) -> bool:
    """Any signed-in, active user, whatever the role."""
    return user is not None and user.is_active


def may_moderate(user: User | None) -> bool:
    return user is not None and user.role == Role.BUREAU


def is_submitter(user: User | None, showcase: Showcase) -> bool:
    return user is not None and user.id == showcase.submitted_by_id


def may_see(user: User | None, showcase: Showcase) -> bool:
    """An approved showcase is public; the others only for their submitter and the Bureau."""
    return showcase.state == "approved" or is_submitter(user, showcase) or may_moderate(user)


def target(showcase: Showcase) -> str:
    return f"成果展示 {showcase.slug} {showcase.title}"


# -- reading -----------------------------------------------------------------------------------


def get_showcase(session: Session, slug: str, viewer: User | None) -> Showcase:
    """The showcase `slug` if `viewer` may see it; NotFound otherwise."""
    showcase = session.scalar(select(Showcase).where(Showcase.slug == slug).options(selectinload(Showcase.submitted_by)))
    if showcase is None or not may_see(viewer, showcase):
        raise NotFound(N_("没有找到该成果，或它尚未通过审核"))
    return showcase


def _approved(kind: str | None) -> Select[tuple[Showcase]]:
    query = select(Showcase).where(Showcase.state == "approved")
    return query if kind is None else query.where(Showcase.kind == kind)


def approved_showcases(session: Session, *, kind: str | None = None) -> list[Showcase]:
    """The approved showcases (of `kind`, when given), newest approval first, ties by id: the
    static site's whole gallery. List their entries with `visible_entries_of(session,
    showcases, None)`, never with `Showcase.entries` (which holds entries no longer public)."""
    return list(session.scalars(_approved(kind).order_by(Showcase.decided_at.desc(), Showcase.id.desc())))


@dataclass(frozen=True)
class GalleryPage:
    items: list[Showcase]
    page: int  # from 1; a number past the last page gives the last page
    pages: int  # at least 1
    total: int


def gallery_page(session: Session, *, kind: str | None = None, page: int = 1, page_size: int = GALLERY_PAGE_SIZE) -> GalleryPage:
    """One page of the portal's gallery, in the order of `approved_showcases`."""
    total = session.scalar(select(func.count()).select_from(_approved(kind).subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    query = _approved(kind).order_by(Showcase.decided_at.desc(), Showcase.id.desc()).offset((page - 1) * page_size).limit(page_size)
    return GalleryPage(list(session.scalars(query)), page, pages, total)


def showcases_of_entry(session: Session, entry: Entry) -> list[Showcase]:
    """The approved showcases that use `entry`, newest approval first."""
    return list(
        session.scalars(
            select(Showcase)
            .join(ShowcaseEntry, ShowcaseEntry.showcase_id == Showcase.id)
            .where(ShowcaseEntry.entry_id == entry.id, Showcase.state == "approved")
            .order_by(Showcase.decided_at.desc(), Showcase.id.desc())
        )
    )


def pending_showcases(session: Session) -> list[Showcase]:
    """The Bureau's queue: pending showcases, longest waiting first."""
    return list(
        session.scalars(
            select(Showcase).where(Showcase.state == "pending").options(selectinload(Showcase.submitted_by))
            .order_by(Showcase.updated_at, Showcase.id)
        )
    )


def showcases_of_user(session: Session, user: User) -> list[Showcase]:
    """Everything `user` submitted, in every state, newest first."""
    return list(
        session.scalars(select(Showcase).where(Showcase.submitted_by_id == user.id).order_by(Showcase.created_at.desc(), Showcase.id.desc()))
    )


def visible_entries_of(session: Session, showcases: Iterable[Showcase], viewer: User | None) -> dict[int, list[Entry]]:
    """For each showcase id, the entries it uses that `viewer` (None: anonymous) may see, by id."""
    found: dict[int, list[Entry]] = {s.id: [] for s in showcases}
    if not found:
        return found
    rows = session.execute(
        select(ShowcaseEntry.showcase_id, Entry)
        .join(Entry, Entry.id == ShowcaseEntry.entry_id)
        .where(ShowcaseEntry.showcase_id.in_(list(found)), visible_clause(viewer))
        .order_by(Entry.id)
    ).all()
    for showcase_id, entry in rows:
        found[showcase_id].append(entry)
    return found


def visible_entries(session: Session, showcase: Showcase, viewer: User | None) -> list[Entry]:
    """The entries `showcase` uses that `viewer` may see."""
    return visible_entries_of(session, [showcase], viewer)[showcase.id]


def resolve_entries(session: Session, references: str) -> list[int]:
    """The ids of the open-catalog entries named in `references`: resource codes, slugs or entry
    page addresses (…/catalog/<slug>), separated by lines, spaces or commas. Invalid names what
    is not found, without telling whether a non-public entry of that name exists."""
    tokens = [t for t in _SEPARATORS.split(references.strip()) if t][: MAX_ENTRIES * 2]
    if not tokens:
        raise Invalid({"entries": N_("请至少填写一项所用数据资源的资源代码")})
    ids: list[int] = []
    missing: list[str] = []
    for token in tokens:
        key = token.split("/catalog/", 1)[1].strip("/").split("/")[0].split("?")[0].split("#")[0] if "/catalog/" in token else token
        entry_id = session.scalar(
            select(Entry.id).where((Entry.resource_code == key) | (Entry.slug == key), visible_clause(None)).limit(1)
        )
        if entry_id is None:
            missing.append(token[:60])
        elif entry_id not in ids:
            ids.append(entry_id)
    if missing:
        raise Invalid({"entries": f"开放目录中没有找到：{'、'.join(missing)}（请填写资源代码，如 2050100/000001，或数据资源页面的地址）"})
    return ids


# -- submitting and changing -------------------------------------------------------------------


def submit_showcase(
    session: Session, *, user: User, title: str, kind: str, description: str, url: str, entry_ids: Sequence[int],
    now: datetime, slug: str = "",
) -> Showcase:
    """Submit a showcase for the Bureau's review (state pending), linking the open-catalog
    entries `entry_ids`; its slug is `slug` when given and free, otherwise "sc-<id>"."""
    if not may_submit(user):
        raise Forbidden(N_("请先登录后再提交成果"))
    slug = slug.strip().lower()
    errors: dict[str, str] = {}
    try:
        fields, ids = _validated(session, title=title, kind=kind, description=description, url=url, entry_ids=entry_ids)
    except Invalid as invalid:
        errors.update(invalid.errors)
    if slug and (problem := _slug_problem(session, slug)):
        errors["slug"] = problem
    if errors:
        raise Invalid(errors)
    waiting = session.scalars(select(Showcase.id).where(Showcase.submitted_by_id == user.id, Showcase.state == "pending")).all()
    if len(waiting) >= MAX_PENDING:
        raise Invalid({"": f"您已有 {MAX_PENDING} 项成果正在等待审核，请在审核后再提交新的成果"})
    showcase = Showcase(
        slug=slug or f"new-{uuid.uuid4().hex}", submitted_by_id=user.id, state="pending", version=0, reason="",
        created_at=now, updated_at=now, **fields,
    )
    try:
        with session.begin_nested():
            session.add(showcase)
            session.flush()
    except IntegrityError:  # the slug was taken meanwhile
        raise Invalid({"slug": f"地址标识 {slug} 已被使用，请换一个"}) from None
    if not slug:
        showcase.slug = f"sc-{showcase.id}"
    _link_entries(session, showcase, ids)
    audit.record(session, action="showcase:submit", actor=user, now=now, target=target(showcase), details={"kind": kind, "entries": ids})
    return showcase


def update_showcase(
    session: Session, showcase: Showcase, *, user: User, title: str, kind: str, description: str, url: str,
    entry_ids: Sequence[int], now: datetime, version: int | None = None,
) -> None:
    """The submitter changes a pending or rejected showcase (`version`: the one they saw); it
    goes (back) to pending, the earlier reason cleared."""
    if not is_submitter(user, showcase):
        raise Forbidden(N_("只有提交人可以修改该成果"))
    source = showcase.state
    if source not in EDITABLE:
        raise Conflict(N_("只有待审核或已驳回的成果可以修改；请刷新页面查看最新状态"))
    fields, ids = _validated(session, title=title, kind=kind, description=description, url=url, entry_ids=entry_ids)
    values = {**fields, "state": "pending", "reason": "", "updated_at": now, "decided_at": None, "decided_by_id": None}
    if not compare_and_set(session, showcase, where={"state": source}, values=values, version=version):
        raise Conflict(N_("该成果刚刚已被审核或修改，本次修改未生效；请刷新页面查看最新状态"))
    _link_entries(session, showcase, ids)
    audit.record(
        session, action="showcase:submit", actor=user, now=now, target=target(showcase),
        details={"kind": kind, "entries": ids, "resubmitted": True},
    )


def withdraw_showcase(session: Session, showcase: Showcase, *, user: User, now: datetime, version: int | None = None) -> None:
    """The submitter withdraws a showcase, approved or not; it leaves the gallery for good."""
    if not is_submitter(user, showcase):
        raise Forbidden(N_("只有提交人可以撤回该成果"))
    source = showcase.state
    if source not in WITHDRAWABLE:
        raise Conflict(N_("该成果已撤回"))
    if not compare_and_set(session, showcase, where={"state": source}, values={"state": "withdrawn", "updated_at": now}, version=version):
        raise Conflict(N_("该成果刚刚已被审核或修改，本次撤回未生效；请刷新页面查看最新状态"))
    audit.record(session, action="showcase:withdraw", actor=user, now=now, target=target(showcase), details={"from": source})


# -- the Bureau's decision ---------------------------------------------------------------------


def approve_showcase(session: Session, showcase: Showcase, *, actor: User, now: datetime, version: int | None = None) -> None:
    """The Bureau approves a pending showcase: it joins the gallery and its entries' pages.
    Invalid when none of its entries is still in the open catalog."""
    if not may_moderate(actor):
        raise Forbidden(N_("成果展示由区数据资源局审核"))
    if showcase.state != "pending":
        raise Conflict(f"该成果{STATES[showcase.state]}，不能通过；请刷新页面查看最新状态")
    if not visible_entries(session, showcase, None):
        raise Invalid({"": N_("该成果所用的数据资源均已不在开放目录中，不能通过；请驳回并说明理由")})
    values = {"state": "approved", "reason": "", "decided_at": now, "decided_by_id": actor.id}
    if not compare_and_set(session, showcase, where={"state": "pending"}, values=values, version=version):
        raise Conflict(N_("该成果刚刚已被他人审核或已修改，本次操作未生效；请刷新页面查看最新状态"))
    audit.record(session, action="showcase:approve", actor=actor, now=now, target=target(showcase))


def reject_showcase(
    session: Session, showcase: Showcase, *, actor: User, reason: str, now: datetime, version: int | None = None
) -> None:
    """The Bureau rejects a pending showcase, or takes an approved one down, saying why (the
    submitter sees the reason and may change and resubmit it)."""
    if not may_moderate(actor):
        raise Forbidden(N_("成果展示由区数据资源局审核"))
    source = showcase.state
    if source not in REJECTABLE:
        raise Conflict(f"该成果{STATES[source]}，不能驳回；请刷新页面查看最新状态")
    reason = reason.strip()
    shortest, longest = REASON_LENGTH
    if len(reason) < shortest:
        raise Invalid({"reason": f"请说明驳回的理由（至少{shortest}个字），提交人将看到它"})
    if len(reason) > longest:
        raise Invalid({"reason": f"驳回理由不能超过{longest}个字"})
    values = {"state": "rejected", "reason": reason, "decided_at": now, "decided_by_id": actor.id}
    if not compare_and_set(session, showcase, where={"state": source}, values=values, version=version):
        raise Conflict(N_("该成果刚刚已被他人审核或已修改，本次操作未生效；请刷新页面查看最新状态"))
    audit.record(session, action="showcase:reject", actor=actor, now=now, target=target(showcase), details={"from": source, "reason": reason})


# -- checks ------------------------------------------------------------------------------------


def _validated(
    session: Session, *, title: str, kind: str, description: str, url: str, entry_ids: Sequence[int]
) -> tuple[dict[str, str], list[int]]:
    """The showcase's columns from what the submitter gave, and the entry ids (deduplicated);
    Invalid with every problem found, field by field."""
    errors: dict[str, str] = {}
    title, description, url = title.strip(), description.strip(), url.strip()
    shortest, longest = TITLE_LENGTH
    if not shortest <= len(title) <= longest:
        errors["title"] = f"请填写成果名称（{shortest}至{longest}个字）"
    if kind not in KINDS:
        errors["kind"] = N_("请选择成果类型：应用、分析报告或可视化")
    shortest, longest = DESCRIPTION_LENGTH
    if len(description) < shortest:
        errors["description"] = f"请介绍该成果（至少{shortest}个字）：做了什么、怎样使用了开放数据"
    elif len(description) > longest:
        errors["description"] = f"介绍不能超过{longest}个字"
    if url:
        if problem := _url_problem(url):
            errors["url"] = problem
    elif kind in ("app", "visualisation"):
        errors["url"] = N_("请填写应用或可视化的访问地址（http:// 或 https:// 开头）")
    elif kind == "analysis" and "description" not in errors and len(description) < REPORT_LENGTH:
        errors["description"] = f"分析报告没有链接时，介绍即为报告正文，请至少写{REPORT_LENGTH}个字；或填写报告的地址"
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        errors["entries"] = N_("请至少填写一项所用数据资源的资源代码")
    elif len(ids) > MAX_ENTRIES:
        errors["entries"] = f"所用数据资源最多填写{MAX_ENTRIES}项"
    else:
        open_ids = set(session.scalars(select(Entry.id).where(Entry.id.in_(ids), visible_clause(None))))
        if len(open_ids) < len(ids):
            errors["entries"] = f"所选数据资源中有{len(ids) - len(open_ids)}项不在开放目录中，请只填写开放目录中的数据资源"
    if errors:
        raise Invalid(errors)
    return {"title": title, "kind": kind, "description": description, "url": url}, ids


def _url_problem(url: str) -> str:
    if len(url) > URL_LENGTH:
        return f"地址不能超过{URL_LENGTH}个字符"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return N_("地址中不能有空格")
    try:
        parts = urlsplit(url)
    except ValueError:
        return N_("地址格式不正确")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return N_("地址须以 http:// 或 https:// 开头，并包含网站域名")
    return ""


def _slug_problem(session: Session, slug: str) -> str:
    if not SLUG.fullmatch(slug) or slug in RESERVED_SLUGS or GENERATED_SLUG.fullmatch(slug) or "--" in slug:
        return N_("地址标识须为3至60个小写字母、数字或连字符，以字母开头（“sc-数字”留作系统生成）")
    if session.scalar(select(Showcase.id).where(Showcase.slug == slug)) is not None:
        return f"地址标识 {slug} 已被使用，请换一个"
    return ""


def _link_entries(session: Session, showcase: Showcase, entry_ids: Sequence[int]) -> None:
    session.execute(delete(ShowcaseEntry).where(ShowcaseEntry.showcase_id == showcase.id))
    session.add_all(ShowcaseEntry(showcase_id=showcase.id, entry_id=entry_id) for entry_id in entry_ids)
    session.flush()
    session.expire(showcase, ["entries"])
