"""The portal command: init twice, users, help in two languages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from portal import accounts
from portal.cli import main
from portal.models import Entry, EntryFile, User
from portal.vocab import Role

from .support import NOW, ROOT, make_uscc


@pytest.fixture
def env(database_url: str, engine: Engine, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_DATASETS_PATH": str(ROOT / "datasets"),
        "PORTAL_LANG": "zh",
    }


def portal(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], env=env, capture_output=True, text=True, timeout=300)


def test_init_twice_keeps_everything_and_shows_the_password_once(env: dict[str, str], session: Session) -> None:
    first = portal(env, "init")
    assert first.returncode == 0, first.stderr
    match = re.search(r"用户名：(\S+)\s+密码：(\S+)", first.stdout)
    assert match, first.stdout
    username, password = match.groups()
    entries = session.scalar(select(func.count(Entry.id)))
    files = session.scalar(select(func.count(EntryFile.id)))
    assert entries and entries >= 10 and files

    second = portal(env, "init")
    assert second.returncode == 0, second.stderr
    assert password not in second.stdout and "已存在" in second.stdout
    assert "新建 0" in second.stdout and "失败 0" in second.stdout
    assert session.scalar(select(func.count(Entry.id))) == entries
    assert session.scalar(select(func.count(EntryFile.id))) == files
    admin = session.scalar(select(User).where(User.username == username))
    assert admin is not None and admin.role == Role.BUREAU
    assert admin.password_hash.startswith("$argon2id$") and password not in admin.password_hash
    logged_in = accounts.authenticate(session, login=username, password=password, now=NOW, max_failures=5, lockout=NOW - NOW)
    assert logged_in.id == admin.id


def test_users_create_and_reset_password(env: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("PORTAL_DATABASE_URL", "PORTAL_INSTANCE_PATH"):
        monkeypatch.setenv(key, env[key])
    code = make_uscc(5)
    accounts.create_department(session, name="经贸发展局", code=code, parent=None, now=NOW)
    session.commit()
    runner = CliRunner()
    result = runner.invoke(main, ["users", "create", "wang", "--role", "dept-admin", "--department", code])
    assert result.exit_code == 0, result.output
    password = re.search(r"密码：(\S+)", result.output).group(1)  # type: ignore[union-attr]
    user = session.scalar(select(User).where(User.username == "wang"))
    assert user is not None and user.role == Role.DEPT_ADMIN and user.department is not None and user.department.code == code
    assert accounts.authenticate(session, login="wang", password=password, now=NOW, max_failures=5, lockout=NOW - NOW)

    result = runner.invoke(main, ["users", "create", "li", "--role", "editor"])
    assert result.exit_code == 1 and "该角色必须隶属一个部门" in result.output
    result = runner.invoke(main, ["users", "create", "li", "--role", "editor", "--department", make_uscc(6)])
    assert result.exit_code == 1 and "没有统一社会信用代码" in result.output
    result = runner.invoke(main, ["users", "create", "li", "--role", "king"])
    assert result.exit_code == 2

    result = runner.invoke(main, ["users", "reset-password", "wang"])
    assert result.exit_code == 0
    new_password = re.search(r"新密码：(\S+)", result.output).group(1)  # type: ignore[union-attr]
    session.expire_all()
    assert accounts.authenticate(session, login="wang", password=new_password, now=NOW, max_failures=5, lockout=NOW - NOW)


@pytest.mark.parametrize(
    "lang, words",
    [
        ("zh", ["用法", "选项", "命令", "创建或升级数据库"]),
        ("en", ["Usage", "Options", "Commands", "Create or upgrade the database"]),
    ],
)
def test_help_in_chinese_and_english(lang: str, words: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portal.cli", "--help"], env={**os.environ, "PORTAL_LANG": lang}, capture_output=True, text=True
    )
    assert result.returncode == 0
    for word in words:
        assert word in result.stdout
    users = subprocess.run(
        [sys.executable, "-m", "portal.cli", "users", "create", "--help"], env={**os.environ, "PORTAL_LANG": lang}, capture_output=True, text=True
    )
    assert "--department" in users.stdout and "editor" in users.stdout


def test_tick_writes_notices_once_and_emails_them(
    database_url: str, engine: Engine, tmp_path: Path, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timezone

    from portal import data_requests
    from portal.models import Notification
    from portal.vocab import EntryStatus, OpenType, ShareType

    from .support import build_world
    from .test_notifications import running_smtp

    for key, value in {"PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_LANG": "zh"}.items():
        monkeypatch.setenv(key, value)
    world = build_world(session)
    world.users["provider_a"].email = "provider@a.example"
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    data_requests.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                         duty="履职依据", items=["station"], now=datetime.now(timezone.utc))
    session.commit()  # whatever today is, acceptance is due in 2 working days: provider_a and admin_a are told
    runner = CliRunner()

    result = runner.invoke(main, ["tick"])  # no PORTAL_SMTP_HOST: in-app only
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "提醒：新写入 2 条（2 人），发送邮件 0 封，失败 0 封。"

    with running_smtp() as smtp:
        monkeypatch.setenv("PORTAL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PORTAL_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("PORTAL_SMTP_FROM", "noreply@zone.example")
        monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "false")
        result = runner.invoke(main, ["tick"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "提醒：新写入 0 条（0 人），发送邮件 1 封，失败 0 封。"
        assert [recipients for recipients, _message in smtp.messages] == [["provider@a.example"]]
        assert runner.invoke(main, ["tick"]).output.strip() == "提醒：新写入 0 条（0 人），发送邮件 0 封，失败 0 封。"
    session.expire_all()
    assert len(session.scalars(select(Notification)).all()) == 2


def test_tick_survives_a_mail_server_that_is_down(database_url: str, engine: Engine, tmp_path: Path, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    from datetime import datetime, timezone

    from portal import data_requests
    from portal.models import Notification
    from portal.vocab import EntryStatus, OpenType, ShareType

    from .support import build_world

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    for key, value in {"PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_LANG": "zh",
                       "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(closed), "PORTAL_SMTP_STARTTLS": "false"}.items():
        monkeypatch.setenv(key, value)
    world = build_world(session)
    world.users["provider_a"].email = "provider@a.example"
    entry = world.entry(ShareType.CONDITIONAL, OpenType.CLOSED, EntryStatus.PUBLISHED)
    data_requests.submit(session, entry, kind="share", requester=world.users["editor_b"], purpose="核验企业登记信息",
                         duty="履职依据", items=["station"], now=datetime.now(timezone.utc))
    session.commit()
    result = CliRunner().invoke(main, ["tick"])
    assert result.exit_code == 0, result.output
    assert "新写入 2 条（2 人），发送邮件 0 封，失败 1 封" in result.output and "provider@a.example" not in result.output
    session.expire_all()
    assert [n.emailed_at for n in session.scalars(select(Notification))] == [None, None]  # kept, and retried next tick
