"""The audit trail (Art. 22, 24: 谁经手，谁使用，谁管理，谁负责): an append-only table written in the
same transaction as the change it records, hash-chained so that editing or deleting any row is
found by `verify` (`portal audit verify`).

Each row's hash is the sha256 of its own fields and the previous row's hash. Appends are made
one at a time: on PostgreSQL under a transaction-level advisory lock taken before the insert,
on SQLite by the database's single writer (the insert takes the write lock before the previous
row is read). Nothing in the portal deletes or updates audit rows; they are kept for good, which
is more than the 180 days the Measures ask for.

Request facts (source IP, stated purpose) come from the web layer through `RequestFacts`; the
domain passes the actor, the action from `ACTIONS` and the target.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent, User
from .vocab import N_

# Every action the trail records, with its Chinese label: the one declared list.
ACTIONS: dict[str, str] = {
    "entry:create": N_("新建目录条目"),
    "entry:update": N_("修改目录条目"),
    "entry:publish": N_("发布目录条目"),
    "entry:withdraw": N_("撤销目录条目"),
    "entry:file": N_("变更数据文件"),
    "entry:review": N_("开放属性经审查生效"),
    "data:view": N_("查看非公开数据"),
    "data:download": N_("下载非公开数据"),
    "authz:denied": N_("越权操作被拒绝"),
    "auth:login": N_("登录"),
    "auth:login-failed": N_("登录失败"),
    "auth:logout": N_("退出登录"),
    "audit:export": N_("导出审计日志"),
    "calendar:load": N_("载入年度节假日安排"),
    "request:submit": N_("提出数据申请"),
    "request:accept": N_("受理数据申请"),
    "request:return": N_("退回数据申请"),
    "request:clarify": N_("要求补正说明"),
    "request:reply": N_("提交补正说明"),
    "request:approve": N_("同意数据申请"),
    "request:refuse": N_("不同意数据申请"),
    "request:escalate": N_("提请协调"),
    "request:uphold": N_("协调维持不同意"),
    "request:order": N_("协调同意共享"),
    "report:submit": N_("提交数据校核"),
    "report:answer": N_("答复数据校核"),
    "adjustment:open": N_("发起目录调整"),
    "adjustment:close": N_("完成目录调整"),
    "adjustment:cancel": N_("撤销目录调整"),
    "review:propose": N_("提出开放属性"),
    "review:approve": N_("审查同意开放属性"),
    "review:reject": N_("审查不同意开放属性"),
    "review:withdraw": N_("撤回开放属性申请"),
    "clock:rule": N_("修改时限计算规则"),
    "key:create": N_("创建API密钥"),
    "key:revoke": N_("吊销API密钥"),
    "realname:submit": N_("提交实名认证"),
    "realname:approve": N_("通过实名认证"),
    "realname:reject": N_("驳回实名认证"),
    "quota:change": N_("修改调用配额"),
    "department:create": N_("新建部门"),
    "department:update": N_("修改部门"),
    "harvest:source-add": N_("添加采集源"),
    "harvest:source-change": N_("修改采集源"),
    "harvest:mapping": N_("修改采集源的部门对应"),
    "harvest:run": N_("运行采集任务"),
    "plan:create": N_("起草开放计划"),
    "plan:update": N_("修改开放计划"),
    "plan:submit": N_("报送开放计划"),
    "plan:return": N_("退回开放计划"),
    "plan:approve": N_("批准开放计划"),
    "plan:publish": N_("发布开放计划"),
    "competition:create": N_("创建数据应用竞赛"),
    "competition:update": N_("修改数据应用竞赛"),
    "competition:publish": N_("发布数据应用竞赛"),
    "competition:enter": N_("提交参赛作品"),
    "competition:score": N_("评审打分"),
    "competition:results": N_("公布竞赛结果"),
    "showcase:submit": N_("提交成果展示"),
    "showcase:approve": N_("通过成果展示"),
    "showcase:reject": N_("驳回成果展示"),
    "showcase:withdraw": N_("撤回成果展示"),
    "site:build": N_("生成静态网站"),
    "project:register": N_("登记信息化项目及预编目录"),
    "project:entries": N_("修改信息化项目预编目录"),
    "project:approve": N_("信息化项目立项"),
    "project:accept": N_("信息化项目验收"),
    "incident:report": N_("报告数据安全事件"),
    "incident:acknowledge": N_("受理数据安全事件"),
    "incident:note": N_("记录数据安全事件处置情况"),
    "incident:close": N_("数据安全事件结案"),
}
GENESIS = "0" * 64
_LOCK_KEY = 0x617564697431  # "audit1": the PostgreSQL advisory lock of the chain


@dataclass(frozen=True)
class RequestFacts:
    """What the web layer knows of a request: kept in `session.info["audit"]` for its duration."""

    ip: str = ""
    purpose: str = ""


def _canonical(event: AuditEvent) -> bytes:
    fields = [
        event.id, event.at.isoformat(timespec="microseconds"), event.actor_id, event.actor, event.role,
        event.department_id, event.action, event.target, event.details, event.purpose, event.ip, event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def row_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    actor: User | None,
    now: datetime,
    target: str = "",
    details: dict[str, Any] | None = None,
    purpose: str = "",
    actor_name: str = "",
) -> AuditEvent:
    """Append one event to the trail, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"undeclared audit action {action!r}")
    facts: RequestFacts = session.info.get("audit") or RequestFacts()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    event = AuditEvent(
        at=now.astimezone(timezone.utc),  # as it reads back, so that the hash can be checked
        actor_id=actor.id if actor else None,
        actor=(actor.username if actor else actor_name or "系统")[:100],
        role=actor.role.value if actor else "",
        department_id=actor.department_id if actor else None,
        action=action,
        target=target[:300],
        details=details or {},
        purpose=(purpose or facts.purpose)[:2000],
        ip=facts.ip[:45],
        prev_hash="",
        hash="",
    )
    session.add(event)
    session.flush()  # the id, and on SQLite the write lock: no other append can come in between
    previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < event.id).order_by(AuditEvent.id.desc()).limit(1))
    event.prev_hash = previous or GENESIS
    event.hash = row_hash(event)
    session.flush()
    return event


def record_apart(sessions: Any, **kwargs: Any) -> None:
    """Append an event in a transaction of its own, for facts that must be kept although the
    request's own transaction is rolled back (a refused authorisation, a failed login)."""
    with sessions() as session:
        session.info["audit"] = kwargs.pop("facts", None) or RequestFacts()
        record(session, **kwargs)
        session.commit()


@dataclass
class Verified:
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, batch: int = 2000) -> Verified:
    """Walk the whole chain: every row's hash must match its fields, and every row must name the
    hash of the row before it. An edited row breaks the first rule, a deleted one the second."""
    problems: list[str] = []
    previous_hash, rows, last_id = GENESIS, 0, 0
    while True:
        chunk = session.scalars(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)).all()
        if not chunk:
            break
        for event in chunk:
            rows += 1
            if event.prev_hash != previous_hash:
                problems.append(f"第 {event.id} 条记录之前的记录被删除或改动（链接不符）")
            if row_hash(event) != event.hash:
                problems.append(f"第 {event.id} 条记录的内容被改动（哈希不符）")
            previous_hash, last_id = event.hash, event.id
        session.expunge_all()
    return Verified(rows, problems)


def search_events(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, actor: str = "", action: str = "", target: str = "",
    limit: int | None = None, offset: int = 0,
) -> list[AuditEvent]:
    """Events matching the auditor's filters, newest first."""
    query = select(AuditEvent)
    if start:
        query = query.where(AuditEvent.at >= start)
    if end:
        query = query.where(AuditEvent.at < end)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    if target:
        query = query.where(AuditEvent.target.contains(target, autoescape=True))
    query = query.order_by(AuditEvent.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


CSV_COLUMNS = ("id", "at", "actor", "role", "department_id", "action", "target", "details", "purpose", "ip", "hash")


def csv_rows(events: list[AuditEvent]) -> Iterator[str]:
    """The events as CSV text (UTF-8 with BOM for Excel), header first, a row at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        values = [getattr(event, c) for c in CSV_COLUMNS]
        values[1] = event.at.isoformat(timespec="seconds")
        values[7] = json.dumps(event.details, ensure_ascii=False, sort_keys=True)
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
