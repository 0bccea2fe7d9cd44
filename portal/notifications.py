"""In-app notifications of the statutory clocks, and the e-mails that carry them (`portal tick`).

`tick` looks at every open task (`work.all_tasks`) and writes, once per user and occasion:
- "due soon" when 0 to 2 working days are left (2 working days before the due date, or later
  when the tick did not run that day), again if the due date moves;
- "overdue" on the first tick after the due date, to the task's assignees and to every Bureau
  administrator (Art. 24: the Bureau supervises the zone's deadlines);
- a notice for each flag of a task not yet overdue (e.g. 超过2个工作日未受理), to the same people.
A notice's `key` (unique per user) makes `tick` idempotent: running it again writes nothing.

`send_pending` e-mails the unread notices of the last `EMAIL_WITHIN` to users with an address,
one message per user and one SMTP connection per run. A failure leaves `emailed_at` empty, so
the next tick retries; the log says only how many failed and the error's class, never an
address or a notice's text.

No Flask here: "today" and "now" are passed in, the SMTP settings too; callers commit.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import adjustments, quotas
from .models import Notification, User
from .vocab import Role
from .work import TASK_KINDS, Task, all_tasks
from .workdays import Calendar

log = logging.getLogger(__name__)

DUE_SOON_DAYS = 2  # working days left when the "due soon" notice is written
EMAIL_WITHIN = timedelta(days=7)  # older unsent notices are not e-mailed any more (stale news)
SITE_NAME = "合肥经开区公共数据开放平台"
_KEY_LENGTH = 100  # Notification.key


@dataclass(frozen=True)
class Occasion:
    """One thing to tell about a task: its key (without the user), its text, and whether the
    Bureau is told too."""

    key: str
    text: str
    bureau: bool


@dataclass(frozen=True)
class TickReport:
    tasks: int  # open tasks looked at
    written: int  # notices written
    users: int  # users who got at least one new notice


@dataclass(frozen=True)
class MailReport:
    sent: int = 0  # messages accepted by the mail server
    notices: int = 0  # notices those messages carried
    failed: int = 0  # messages not sent (retried next tick)
    error: str = ""  # the class of the last error, e.g. ConnectionRefusedError


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes; built from the PORTAL_SMTP_* settings (`from_config`)."""

    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = ""
    starttls: bool = True
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        """The settings, or None when no SMTP host is configured (no e-mail then)."""
        host = (config.get("SMTP_HOST") or "").strip()
        if not host:
            return None
        return cls(
            host=host, port=int(config.get("SMTP_PORT") or 587), user=config.get("SMTP_USER") or "",
            password=config.get("SMTP_PASSWORD") or "", sender=config.get("SMTP_FROM") or config.get("SMTP_USER") or "",
            starttls=bool(config.get("SMTP_STARTTLS", True)),
        )


# -- what to say ---------------------------------------------------------------------------


def _subject(task: Task) -> str:
    return f"{TASK_KINDS.get(task.kind, task.kind)} #{task.id}（{task.title}）待{task.waiting_for}"


def occasions(task: Task) -> list[Occasion]:
    """What is to be told about `task` today (pure: everything is in the task's clock)."""
    clock = task.clock
    found: list[Occasion] = []
    base = f"{task.kind}:{task.id}"
    if clock is not None and clock.due.date is not None and clock.days_left is not None:
        due = clock.due.date.isoformat()
        provisional = "（到期日为暂定）" if clock.provisional else ""
        if clock.overdue:
            flags = f"：{'；'.join(task.flags)}" if task.flags else ""
            found.append(Occasion(
                f"{base}:overdue:{due}",
                f"{_subject(task)}，已于 {due} 到期，现已超期{flags}（{clock.kind.article}）{provisional}",
                bureau=True,
            ))
        elif 0 <= clock.days_left <= DUE_SOON_DAYS:
            left = f"剩余 {clock.days_left} 个工作日" if clock.days_left else "今日到期"
            found.append(Occasion(
                f"{base}:due-soon:{due}",
                f"{_subject(task)}，将于 {due} 到期，{left}（{clock.kind.article}）{provisional}",
                bureau=False,
            ))
    if not task.overdue:  # an overdue task's notice already names its flags
        for flag in task.flags:
            found.append(Occasion(f"{base}:flag:{flag}", f"{_subject(task)}：{flag}", bureau=True))
    return found


# -- writing notices -----------------------------------------------------------------------


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_notices(session: Session, tasks: Iterable[Task], *, now: datetime) -> TickReport:
    """Write the notices `tasks` call for that are not written yet (flushes, does not commit)."""
    tasks = list(tasks)
    planned = [(task, occasion) for task in tasks for occasion in occasions(task)]
    if not planned:
        return TickReport(tasks=len(tasks), written=0, users=0)
    staff = list(session.scalars(select(User).where(User.is_active.is_(True), User.role != Role.PUBLIC).order_by(User.id)))
    bureau = [u for u in staff if u.role == Role.BUREAU]
    keys = sorted({occasion.key[:_KEY_LENGTH] for _task, occasion in planned})
    written_before: set[tuple[int, str]] = set()
    for chunk in _chunks(keys):
        rows = session.execute(select(Notification.user_id, Notification.key).where(Notification.key.in_(chunk)))
        written_before.update((user_id, key) for user_id, key in rows)
    written, users = 0, set()
    for task, occasion in planned:
        candidates = list(staff)
        if task.assignee.user_id is not None and all(u.id != task.assignee.user_id for u in staff):
            requester = session.get(User, task.assignee.user_id)
            if requester is not None and requester.is_active:
                candidates.append(requester)
        recipients = {u.id: u for u in candidates if task.assignee.includes(u)}
        if occasion.bureau:
            recipients |= {u.id: u for u in bureau}
        key = occasion.key[:_KEY_LENGTH]
        for user_id in sorted(recipients):
            if (user_id, key) in written_before:
                continue
            session.add(Notification(
                user_id=user_id, key=key, task_kind=task.kind, task_id=task.id, text=occasion.text, created_at=now,
            ))
            written_before.add((user_id, key))
            written += 1
            users.add(user_id)
    session.flush()
    return TickReport(tasks=len(tasks), written=written, users=len(users))


def tick(session: Session, calendar: Calendar, today: date, now: datetime) -> TickReport:
    """The periodic work of `portal tick`: close the catalog adjustments whose entries were all
    updated (the catalog does so as it changes; this catches anything it missed), delete expired
    quota counters, then the
    notices of every open task as of `today`. The caller commits, then sends the e-mails
    (`send_pending`) outside this transaction."""
    adjustments.close_updated(session, now)
    quotas.purge_expired(session, now=now)
    return write_notices(session, all_tasks(session, calendar, today), now=now)


# -- e-mail --------------------------------------------------------------------------------


def _message(settings: SmtpSettings, user: User, notices: list[Notification]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{SITE_NAME}：{len(notices)} 条期限提醒" if len(notices) > 1 else f"{SITE_NAME}：{notices[0].text}"[:200]
    message["From"] = settings.sender
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    lines = [f"{user.display_name or user.username}：", "", *(f"· {n.text}" for n in notices), "",
             "请登录平台，在“我的待办”中办理。", "", f"—— {SITE_NAME}（系统邮件，请勿回复）"]
    message.set_content("\n".join(lines), charset="utf-8")
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """A connection, logged in when a user is set: TLS from the start on port 465, otherwise
    STARTTLS when `starttls` (the default), plain only when it is turned off."""
    if settings.port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo()
        if settings.starttls and settings.port != 465:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.user:
            client.login(settings.user, settings.password)
    except BaseException:
        client.close()
        raise
    return client


def pending_mail(session: Session, *, now: datetime) -> dict[int, list[Notification]]:
    """The notices to e-mail, by user: not e-mailed, unread, recent, to an active user with an
    address; oldest first."""
    query = (
        select(Notification).join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), Notification.read_at.is_(None), Notification.created_at >= now - EMAIL_WITHIN,
               User.email.is_not(None), User.email != "", User.is_active.is_(True))
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    )
    by_user: dict[int, list[Notification]] = {}
    for notice in session.scalars(query):
        by_user.setdefault(notice.user_id, []).append(notice)
    return by_user


def send_pending(session: Session, settings: SmtpSettings | None, *, now: datetime) -> MailReport:
    """E-mail the pending notices, one message per user over one connection; marks what was
    sent (flushes, does not commit). Nothing happens without `settings`."""
    if settings is None:
        return MailReport()
    by_user = pending_mail(session, now=now)
    if not by_user:
        return MailReport()
    sent = failed = marked = 0
    error = ""
    try:
        client = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        return _failed(sent, len(by_user), type(exc).__name__)
    try:
        for done, (user_id, notices) in enumerate(by_user.items()):
            user = session.get(User, user_id)
            assert user is not None
            try:
                client.send_message(_message(settings, user, notices))
            except smtplib.SMTPServerDisconnected as exc:  # the rest cannot go either
                error, failed = type(exc).__name__, failed + len(by_user) - done
                break
            except (OSError, ValueError, smtplib.SMTPException) as exc:  # this recipient or message only
                error, failed = type(exc).__name__, failed + 1
                continue
            sent += 1
            for notice in notices:
                notice.emailed_at = now
                marked += 1
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    session.flush()
    if failed:
        return _failed(sent, failed, error, notices=marked)
    return MailReport(sent=sent, notices=marked)


def _failed(sent: int, failed: int, error: str, *, notices: int = 0) -> MailReport:
    """Log a failure with counts and the error's class only: no address, no notice text."""
    log.warning("notification e-mail: %d sent, %d failed (%s); retried at the next tick", sent, failed, error)
    return MailReport(sent=sent, notices=notices, failed=failed, error=error)


# -- a user's notices ----------------------------------------------------------------------


def notices_of(session: Session, user: User, *, limit: int = 200) -> list[Notification]:
    """`user`'s notices, newest first."""
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at.desc(), Notification.id.desc())
    return list(session.scalars(query.limit(limit)))


def unread_count(session: Session, user: User) -> int:
    query = select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return session.scalar(query) or 0


def mark_all_read(session: Session, user: User, *, now: datetime) -> int:
    """Mark every unread notice of `user` read; returns how many."""
    unread = list(session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))))
    for notice in unread:
        notice.read_at = now
    session.flush()
    return len(unread)
