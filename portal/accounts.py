"""Departments and users: creation, roles, passwords (argon2), public registration and login.

Passwords are stored only as argon2id hashes. Besides the fixed rules (length, character
classes, a short list of common passwords) every new password goes through zxcvbn, a strength
estimator that runs here with its own dictionaries of common passwords, names and words: the
password is never sent anywhere. Login failures are counted per account and lock it for a while
after too many; the message never says whether the account exists.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from .codes import uscc_error
from .errors import Invalid, LoginFailed, NotFound
from .models import Department, User
from .vocab import DEPARTMENT_ROLES, N_, AccountKind, Role

_hasher = PasswordHasher()
# A hash of a random password, verified when the account does not exist so that a login for
# an unknown name costs as much time as one for a known name.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop", "11111111",
     "abc123456", "a123456789", "iloveyou", "admin123", "woaini1314", "qwerty123", "1q2w3e4r5t"}
)
# zxcvbn scores 0 (guessed in under 10^3 tries) to 4 (over 10^10); 3 is "safely unguessable" for an
# online attack slowed by the lockout. It looks at the first 72 characters (its own limit).
MIN_ZXCVBN_SCORE = 3
_ZXCVBN_MAX_LENGTH = 72
# Words an attacker of this portal tries first, next to the user's own names (pinyin of the site).
_SITE_WORDS = ("hefei", "jingkai", "jingkaiqu", "zhengwu", "shuju", "kaifang", "gongxiang", "portal")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    """A random password of 16 URL-safe characters that passes `password_problems`."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password_problems(password):
            return password


def password_problems(password: str, *, related: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> list[str]:
    """Why `password` is too weak, in Chinese; empty when it is acceptable.

    `related` (username, e-mail) may not appear in the password; they and `names` (the display
    name) are also given to zxcvbn, which finds them inside the password in any case or with
    substitutions, together with its common passwords and words."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少需要{MIN_PASSWORD_LENGTH}个字符")
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if classes < 2:
        problems.append(N_("密码须包含字母、数字、符号中的至少两类"))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 3:
        problems.append(N_("密码过于常见或简单"))
    for text in related:
        text = text.lower().split("@")[0]
        if len(text) >= 4 and text in lowered:
            problems.append(N_("密码不能包含用户名或邮箱"))
            break
    if N_("密码过于常见或简单") not in problems and _guessable(password, (*related, *names)):
        problems.append(N_("密码容易被猜中：请避免常见密码、单词、姓名、日期和键盘顺序，可用几个不相关的词加数字和符号"))
    return problems


def _guessable(password: str, user_inputs: tuple[str, ...]) -> bool:
    """Whether zxcvbn (offline) scores `password` below MIN_ZXCVBN_SCORE, knowing the user's own words."""
    words: list[str] = list(_SITE_WORDS)
    for text in user_inputs:
        text = text.strip().lower()
        if text:
            # the whole value and its parts of 3 or more characters: zhang.san@example.cn, zhang, san, example
            words += [text, *(part for part in re.split(r"[^0-9a-z\u4e00-\u9fff]+", text) if len(part) >= 3)]
    return zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=words)["score"] < MIN_ZXCVBN_SCORE


def create_department(session: Session, *, name: str, code: str, parent: Department | None, now: datetime) -> Department:
    errors = {}
    if not name.strip():
        errors["name"] = N_("请填写部门名称")
    if problem := uscc_error(code):
        errors["code"] = problem
    if errors:
        raise Invalid(errors)
    department = Department(name=name.strip(), code=code, parent=parent, created_at=now)
    session.add(department)
    session.flush()
    return department


def department_by_code(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"没有统一社会信用代码为 {code} 的部门")
    return department


def create_user(
    session: Session,
    *,
    username: str,
    role: Role,
    now: datetime,
    department: Department | None = None,
    password: str | None = None,
    display_name: str = "",
) -> tuple[User, str]:
    """Create a staff account; returns the user and its password (generated when not given)."""
    errors = {}
    if not USERNAME.fullmatch(username):
        errors["username"] = N_("用户名须为3至64位字母、数字、下划线、点或连字符")
    elif session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = N_("该用户名已被使用")
    if role in DEPARTMENT_ROLES and department is None:
        errors["department"] = N_("该角色必须隶属一个部门")
    if role not in DEPARTMENT_ROLES and department is not None:
        errors["department"] = N_("该角色不隶属部门")
    password = password or generate_password()
    if problems := password_problems(password, related=(username,), names=(display_name,)):
        errors["password"] = "；".join(problems)
    if errors:
        raise Invalid(errors)
    user = User(
        username=username,
        role=role,
        department=department,
        password_hash=hash_password(password),
        display_name=display_name or username,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user, password


def register_public(
    session: Session,
    *,
    email: str,
    password: str,
    kind: AccountKind,
    display_name: str,
    now: datetime,
) -> User:
    """A member of the public registers with e-mail and password, as an individual or organisation."""
    email = email.strip().lower()
    errors = {}
    if not EMAIL.fullmatch(email) or len(email) > 254:
        errors["email"] = N_("请填写有效的电子邮箱")
    elif session.scalar(select(User.id).where(or_(User.email == email, User.username == email))):
        errors["email"] = N_("该邮箱已注册")
    if not display_name.strip():
        errors["display_name"] = N_("请填写姓名或组织名称")
    elif len(display_name) > 100:
        errors["display_name"] = N_("名称不能超过100个字符")
    if problems := password_problems(password, related=(email,), names=(display_name,)):
        errors["password"] = "；".join(problems)
    if errors:
        raise Invalid(errors)
    user = User(
        username=email,
        email=email,
        role=Role.PUBLIC,
        account_kind=kind,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, *, login: str, password: str, now: datetime, max_failures: int, lockout: timedelta
) -> User:
    """The user whose username or e-mail is `login` and whose password matches.

    Raises LoginFailed with one message for a wrong name or password, and another while the
    account is locked. The caller commits either way, so that failures are counted.
    """
    login = login.strip()
    user = session.scalar(
        select(User).where(or_(func.lower(User.username) == login.lower(), User.email == login.lower()))
    )
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        raise LoginFailed(N_("用户名或密码不正确"))
    if user.locked_until and user.locked_until > now:
        raise LoginFailed(N_("登录失败次数过多，账户已暂时锁定，请稍后再试"))
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.failed_logins = 0
            user.locked_until = now + lockout
            raise LoginFailed(N_("登录失败次数过多，账户已暂时锁定，请稍后再试"))
        raise LoginFailed(N_("用户名或密码不正确"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str | None = None) -> str:
    """Give `user` a new password (generated when not given) and unlock the account."""
    password = password or generate_password()
    related = tuple(text for text in (user.username, user.email) if text)
    if problems := password_problems(password, related=related, names=(user.display_name or "",)):
        raise Invalid({"password": "；".join(problems)})
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    return password


def user_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"没有用户 {username}")
    return user
