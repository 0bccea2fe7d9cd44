"""Notifications of the statutory clocks: who is told what and when around National Day 2026,
once only (tick is idempotent), a moved due date told again, and the e-mails, sent to a real
SMTP server listening on localhost (and to a closed port, to see a failure retried)."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import socketserver
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import data_requests as dr
from portal import notifications
from portal.models import DataRequest, Notification, User
from portal.notifications import SmtpSettings, send_pending, tick
from portal.vocab import EntryStatus, OpenType, Role, ShareType
from portal.work import Assignee, Task
from portal.workdays import Calendar

from .live import serving
from .support import World, at

CAL = Calendar()


def _share(session: Session, world: World, day: str = "2026-09-25", *, accepted: bool = False) -> DataRequest:
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    request = dr.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                        duty="《市场主体登记管理条例》第三条", items=["station"], now=at(day))
    if accepted:
        dr.accept(session, request, actor=world.users["provider_a"], now=at(day, 11))
    session.commit()
    return request


def _tick(session: Session, day: str) -> notifications.TickReport:
    report = tick(session, CAL, date.fromisoformat(day), at(day, 12))
    session.commit()
    return report


def _told(session: Session) -> dict[str, list[str]]:
    """The notices by username, oldest first."""
    rows = session.execute(select(Notification).order_by(Notification.id)).scalars()
    found: dict[str, list[str]] = {}
    for notice in rows:
        user = session.get(User, notice.user_id)
        assert user is not None
        found.setdefault(user.username, []).append(notice.text)
    return found


# -- the rules (dates from `portal calendar due`) -----------------------------------------------


def test_acceptance_due_soon_then_missed_tells_the_bureau_once(session: Session, world: World) -> None:
    request = _share(session, world, "2026-09-25")  # acceptance due 2026-09-29 (2 working days)
    report = _tick(session, "2026-09-25")
    assert (report.written, report.users) == (2, 2)
    told = _told(session)
    assert set(told) == {"provider_a", "admin_a"}  # the entry's department answers; not its editor
    assert told["provider_a"] == [(f"共享申请 #{request.id}（{request.entry.title}）待受理，将于 2026-09-29 到期，剩余 2 个工作日"
                                   "（第十四条、第十八条（及时受理，时限为办理惯例））")]
    assert _tick(session, "2026-09-25").written == 0  # idempotent
    assert _tick(session, "2026-09-28").written == 0  # 1 working day left: already told for this due date

    assert _tick(session, "2026-09-30").written == 3  # missed: the assignees and the Bureau (Art. 24)
    told = _told(session)
    assert set(told) == {"provider_a", "admin_a", "bureau"}
    missed = told["bureau"][0]
    assert "已于 2026-09-29 到期，现已超期" in missed and "超过2个工作日未受理" in missed
    assert _tick(session, "2026-09-30").written == 0
    assert _tick(session, "2026-10-08").written == 0  # overdue is told once


def test_answer_clock_across_national_day(session: Session, world: World) -> None:
    _share(session, world, "2026-09-25", accepted=True)  # due 2026-10-15; 10-10 (Saturday) is a working day
    assert _tick(session, "2026-09-25").written == 0  # 10 working days left
    assert _tick(session, "2026-10-10").written == 0  # 4 left
    assert _tick(session, "2026-10-12").written == 0  # 3 left
    assert _tick(session, "2026-10-13").written == 2  # 2 working days before the due date
    assert "将于 2026-10-15 到期，剩余 2 个工作日（第十四条）" in _told(session)["provider_a"][0]
    assert _tick(session, "2026-10-15").written == 0
    assert _tick(session, "2026-10-16").written == 3
    assert "已于 2026-10-15 到期，现已超期（第十四条）" in _told(session)["bureau"][0]


def test_a_missed_tick_still_warns(session: Session, world: World) -> None:
    _share(session, world, "2026-09-25", accepted=True)
    assert _tick(session, "2026-10-14").written == 2  # cron did not run on 10-13
    assert "剩余 1 个工作日" in _told(session)["admin_a"][0]
    assert _tick(session, "2026-10-15").written == 0


def test_due_today(session: Session, world: World) -> None:
    _share(session, world, "2026-09-25", accepted=True)
    assert _tick(session, "2026-10-15").written == 2
    assert "将于 2026-10-15 到期，今日到期" in _told(session)["provider_a"][0]


def test_a_moved_due_date_is_told_again_and_a_pause_tells_nothing(session: Session, world: World) -> None:
    request = _share(session, world, "2026-09-25", accepted=True)
    assert _tick(session, "2026-10-13").written == 2  # due 2026-10-15
    dr.ask_clarification(session, request, actor=world.users["provider_a"], now=at("2026-10-13", 15), question="请说明使用范围")
    session.commit()
    assert _tick(session, "2026-10-13").written == 0  # paused before the limit: no due date, nothing to tell the requester
    dr.reply(session, request, actor=world.users["editor_b"], now=at("2026-10-14", 9), answer="仅限本局使用")
    session.commit()
    assert _tick(session, "2026-10-14").written == 2  # 10-14 is not counted: due 2026-10-16, 2 working days left
    assert "将于 2026-10-16 到期，剩余 2 个工作日" in _told(session)["provider_a"][1]


def test_inactive_users_and_other_departments_are_not_told(session: Session, world: World) -> None:
    world.users["admin_a"].is_active = False
    session.commit()
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-30")
    assert set(_told(session)) == {"provider_a", "bureau"}


def test_a_flag_without_an_overdue_clock_is_told_to_the_bureau(session: Session, world: World) -> None:
    task = Task(
        kind="share", id=7, title="企业登记信息", state="待受理", waiting_for="受理",
        assignee=Assignee(roles=frozenset({Role.PROVIDER}), department_id=world.dept_a.id),
        flags=("需要协调",),
    )
    report = notifications.write_notices(session, [task, task], now=at("2026-09-30"))
    assert report.written == 2
    assert _told(session) == {"provider_a": ["共享申请 #7（企业登记信息）待受理：需要协调"], "bureau": ["共享申请 #7（企业登记信息）待受理：需要协调"]}
    assert notifications.write_notices(session, [task], now=at("2026-09-30")).written == 0


def test_read_and_unread(session: Session, world: World) -> None:
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-25")
    provider = world.users["provider_a"]
    assert notifications.unread_count(session, provider) == 1
    assert notifications.mark_all_read(session, provider, now=at("2026-09-25", 13)) == 1
    assert notifications.unread_count(session, provider) == 0
    assert notifications.unread_count(session, world.users["admin_a"]) == 1
    assert [n.key for n in notifications.notices_of(session, provider)] == [n.key for n in notifications.notices_of(session, world.users["admin_a"])]


# -- e-mail ------------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """A minimal SMTP server on localhost: what it received, and addresses it refuses."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, sender="noreply@zone.example", starttls=False, timeout=5)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        box = self.server.box
        self._say("220 localhost ESMTP test")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self._say("250-localhost")
                self._say("250 8BITMIME")
            elif verb == "MAIL":
                recipients = []
                self._say("250 OK")
            elif verb == "RCPT":
                address = command.partition(":")[2].strip().strip("<>")
                if address in box.refuse:
                    self._say("550 no such user")
                else:
                    recipients.append(address)
                    self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = email.message_from_bytes(data, policy=email.policy.default)
                box.messages.append((recipients, message))  # type: ignore[arg-type]
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:  # HELO, RSET, NOOP
                self._say("250 OK")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    box: SmtpServer


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    """A minimal SMTP server on a free port of localhost, for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.box = SmtpServer(port=server.server_address[1])
    with serving(server):
        yield server.box


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_settings_from_config() -> None:
    assert SmtpSettings.from_config({"SMTP_HOST": ""}) is None
    settings = SmtpSettings.from_config({"SMTP_HOST": "mail.example", "SMTP_PORT": 465, "SMTP_USER": "u@example", "SMTP_STARTTLS": False})
    assert settings == SmtpSettings(host="mail.example", port=465, user="u@example", sender="u@example", starttls=False)


def test_notices_are_emailed_once(session: Session, world: World, smtp: SmtpServer) -> None:
    world.users["provider_a"].email = "provider@a.example"
    world.users["bureau"].email = "bureau@zone.example"
    session.commit()
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-25")  # provider_a, admin_a (no address)
    report = send_pending(session, smtp.settings(), now=at("2026-09-25", 12))
    session.commit()
    assert (report.sent, report.notices, report.failed) == (1, 1, 0)
    (recipients, message), = smtp.messages
    assert recipients == ["provider@a.example"]
    assert message["Subject"].startswith("合肥经开区公共数据开放平台：共享申请 #")
    body = message.get_content()
    assert "将于 2026-09-29 到期，剩余 2 个工作日" in body and "我的待办" in body
    assert send_pending(session, smtp.settings(), now=at("2026-09-25", 13)).sent == 0  # nothing twice

    _tick(session, "2026-09-30")  # missed: provider_a and the Bureau
    report = send_pending(session, smtp.settings(), now=at("2026-09-30", 12))
    session.commit()
    assert (report.sent, report.failed) == (2, 0)
    assert sorted(r[0][0] for r in smtp.messages[1:]) == ["bureau@zone.example", "provider@a.example"]
    assert session.scalars(select(Notification).where(Notification.emailed_at.is_(None))).all() == [
        n for n in session.scalars(select(Notification)) if n.user_id == world.users["admin_a"].id
    ]


def test_a_failed_send_is_logged_without_addresses_and_retried(
    session: Session, world: World, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    world.users["provider_a"].email = "provider@a.example"
    world.users["admin_a"].email = "admin@a.example"
    session.commit()
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-25")
    down = SmtpSettings(host="127.0.0.1", port=_closed_port(), starttls=False, timeout=5)
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        report = send_pending(session, down, now=at("2026-09-25", 12))
    session.commit()
    assert (report.sent, report.failed, report.error) == (0, 2, "ConnectionRefusedError")
    assert "ConnectionRefusedError" in caplog.text and "@" not in caplog.text and "共享申请" not in caplog.text

    smtp.refuse.add("admin@a.example")
    report = send_pending(session, smtp.settings(), now=at("2026-09-25", 13))  # the next tick
    session.commit()
    assert (report.sent, report.failed, report.error) == (1, 1, "SMTPRecipientsRefused")
    assert [r for r, _m in smtp.messages] == [["provider@a.example"]]

    smtp.refuse.clear()
    assert send_pending(session, smtp.settings(), now=at("2026-09-25", 14)).sent == 1
    assert send_pending(session, smtp.settings(), now=at("2026-09-25", 15)).sent == 0


def test_read_or_old_notices_are_not_emailed(session: Session, world: World, smtp: SmtpServer) -> None:
    world.users["provider_a"].email = "provider@a.example"
    world.users["admin_a"].email = "admin@a.example"
    session.commit()
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-25")
    notifications.mark_all_read(session, world.users["admin_a"], now=at("2026-09-25", 12))
    session.commit()
    assert send_pending(session, smtp.settings(), now=at("2026-10-08")).sent == 0  # more than a week later: stale
    assert send_pending(session, smtp.settings(), now=at("2026-09-26")).sent == 1  # provider_a only
    assert send_pending(None, None, now=at("2026-09-26")) == notifications.MailReport()  # type: ignore[arg-type]


def test_several_notices_go_in_one_message(session: Session, world: World, smtp: SmtpServer) -> None:
    world.users["provider_a"].email = "provider@a.example"
    session.commit()
    _share(session, world, "2026-09-25")
    _share(session, world, "2026-09-25")
    _tick(session, "2026-09-25")
    assert send_pending(session, smtp.settings(), now=at("2026-09-25", 12)).notices == 2
    (_rcpt, message), = smtp.messages
    assert message["Subject"] == "合肥经开区公共数据开放平台：2 条期限提醒"
    assert message.get_content().count("待受理，将于 2026-09-29 到期") == 2
