"""Users, roles, argon2 passwords, public registration and login lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from portal import accounts
from portal.errors import Invalid, LoginFailed
from portal.vocab import AccountKind, Role

from .support import NOW, PASSWORD, make_uscc

LOCKOUT = timedelta(minutes=15)


def login(session: Session, name: str, password: str, when=NOW):  # type: ignore[no-untyped-def]
    return accounts.authenticate(session, login=name, password=password, now=when, max_failures=3, lockout=LOCKOUT)


@pytest.mark.parametrize(
    "password, ok",
    [
        ("short1!", False),
        ("abcdefghijkl", False),  # one class
        ("1234567890", False),
        ("password1", False),
        ("aaaaaaaaaa11", False),  # too few distinct characters
        ("经开区数据开放平台2026", True),
        ("Correct-Horse-9", True),
    ],
)
def test_password_strength(password: str, ok: bool) -> None:
    assert (accounts.password_problems(password) == []) is ok


def test_password_may_not_contain_the_email() -> None:
    assert accounts.password_problems("zhangwei-2026!", related=("zhangwei@example.cn",))


def test_generated_passwords_pass_the_check() -> None:
    for _ in range(50):
        assert accounts.password_problems(accounts.generate_password()) == []


def test_staff_user_is_stored_with_an_argon2id_hash(session: Session) -> None:
    department = accounts.create_department(session, name="市场监督管理局", code=make_uscc(3), parent=None, now=NOW)
    user, password = accounts.create_user(session, username="li.editor", role=Role.EDITOR, department=department, now=NOW)
    assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash
    assert login(session, "LI.EDITOR", password).id == user.id


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"username": "x", "role": Role.BUREAU}, "username"),
        ({"username": "bad name", "role": Role.BUREAU}, "username"),
        ({"username": "editor1", "role": Role.EDITOR}, "department"),
        ({"username": "bureau1", "role": Role.BUREAU, "department": "dept"}, "department"),
        ({"username": "bureau2", "role": Role.BUREAU, "password": "weak"}, "password"),
    ],
)
def test_create_user_checks(session: Session, kwargs: dict, field: str) -> None:
    department = accounts.create_department(session, name="市场监督管理局", code=make_uscc(3), parent=None, now=NOW)
    if kwargs.get("department") == "dept":
        kwargs["department"] = department
    with pytest.raises(Invalid) as caught:
        accounts.create_user(session, now=NOW, **kwargs)
    assert field in caught.value.errors


def test_usernames_are_unique_ignoring_case(session: Session) -> None:
    accounts.create_user(session, username="Admin", role=Role.BUREAU, now=NOW)
    with pytest.raises(Invalid):
        accounts.create_user(session, username="admin", role=Role.BUREAU, now=NOW)


def test_department_code_is_checked(session: Session) -> None:
    code = make_uscc(3)
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(Invalid) as caught:
        accounts.create_department(session, name="某局", code=broken, parent=None, now=NOW)
    assert "校验位" in caught.value.errors["code"]


def test_public_registration(session: Session) -> None:
    user = accounts.register_public(
        session, email=" Wang@Example.CN ", password=PASSWORD, kind=AccountKind.ORGANISATION, display_name="合肥某科技有限公司", now=NOW
    )
    assert (user.role, user.email, user.account_kind) == (Role.PUBLIC, "wang@example.cn", AccountKind.ORGANISATION)
    assert login(session, "wang@example.cn", PASSWORD).id == user.id
    with pytest.raises(Invalid) as caught:
        accounts.register_public(session, email="wang@example.cn", password="123", kind=AccountKind.INDIVIDUAL, display_name="", now=NOW)
    assert set(caught.value.errors) == {"email", "password", "display_name"}


def test_lockout_after_repeated_failures_and_release_after_the_period(session: Session) -> None:
    user, password = accounts.create_user(session, username="zhao", role=Role.AUDITOR, now=NOW)
    for _ in range(2):
        with pytest.raises(LoginFailed, match="不正确"):
            login(session, "zhao", "wrong-password")
    with pytest.raises(LoginFailed, match="锁定"):
        login(session, "zhao", "wrong-password")
    with pytest.raises(LoginFailed, match="锁定"):
        login(session, "zhao", password)  # the right password does not help while locked
    assert login(session, "zhao", password, when=NOW + LOCKOUT + timedelta(seconds=1)).id == user.id
    assert user.failed_logins == 0 and user.locked_until is None


def test_unknown_user_gets_the_same_message(session: Session) -> None:
    with pytest.raises(LoginFailed) as caught:
        login(session, "nobody", "whatever-password")
    assert caught.value.message == "用户名或密码不正确"


def test_reset_password_unlocks(session: Session) -> None:
    user, _ = accounts.create_user(session, username="qian", role=Role.REVIEWER, now=NOW)
    user.locked_until = NOW + LOCKOUT
    new = accounts.set_password(user)
    assert login(session, "qian", new).id == user.id


GUESSABLE = "密码容易被猜中：请避免常见密码、单词、姓名、日期和键盘顺序，可用几个不相关的词加数字和符号"


@pytest.mark.parametrize(
    "password, names, ok",
    [
        ("P@ssw0rd2026", (), False),  # passes the fixed rules, a common password with substitutions
        ("Qwerty!2345678", (), False),  # keyboard run
        ("Summer2026!", (), False),  # a word and a year
        ("Jingkaiqu2026!", (), False),  # the site's own name
        ("Wudangshan-88", (), True),
        ("Wudangshan-88", ("Wudangshan",), False),  # the display name, found by the estimator
        ("Zhaolingyun#7", ("赵凌云 zhaolingyun",), False),
    ],
)
def test_password_strength_is_estimated_with_zxcvbn(password: str, names: tuple[str, ...], ok: bool) -> None:
    problems = accounts.password_problems(password, names=names)
    assert (problems == []) is ok
    assert ok or problems == [GUESSABLE]


def test_a_common_password_gets_one_message_not_two() -> None:
    assert accounts.password_problems("qwertyuiop") == ["密码须包含字母、数字、符号中的至少两类", "密码过于常见或简单"]


def test_long_passwords_are_estimated_without_error() -> None:
    assert accounts.password_problems("Lang-Mima-" + "x7Q!" * 300) == []


def test_the_estimate_sends_nothing_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the password check opened a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert accounts.password_problems("P@ssw0rd2026") == [GUESSABLE]
    assert accounts.password_problems(accounts.generate_password()) == []


def test_registration_and_staff_accounts_give_their_names_to_the_estimate(session: Session) -> None:
    with pytest.raises(Invalid) as caught:
        accounts.register_public(
            session, email="user2026@example.cn", password="Zhaolingyun#7", kind=AccountKind.INDIVIDUAL, display_name="赵凌云 Zhaolingyun", now=NOW
        )
    assert caught.value.errors == {"password": GUESSABLE}
    with pytest.raises(Invalid) as caught:
        accounts.create_user(session, username="bureau7", role=Role.BUREAU, password="Wudangshan-88", display_name="Wudangshan", now=NOW)
    assert caught.value.errors == {"password": GUESSABLE}
    user, _ = accounts.create_user(session, username="bureau7", role=Role.BUREAU, password="Wudangshan-88", display_name="武当", now=NOW)
    user.display_name = "Wudangshan"
    with pytest.raises(Invalid):
        accounts.set_password(user, "Wudangshan-88")
