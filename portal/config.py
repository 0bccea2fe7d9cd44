"""Every setting of the portal, declared once as data with its help text.

Each setting is read from the environment variable ``PORTAL_<NAME>``; a test checks that the
README documents every one of them. `load_settings` turns the environment into the Flask config
mapping used by `create_app`; tests pass overrides on top.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable is PORTAL_<name>
    default: Callable[[Path], Any] | Any
    help: str
    parse: Callable[[str], Any] = str


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE_PATH", lambda root: root, "实例目录：数据库、上传文件和密钥所在目录。默认为项目下的 instance/。"),
    Setting(
        "DATABASE_URL",
        lambda root: f"sqlite:///{root / 'portal.sqlite3'}",
        "SQLAlchemy 数据库地址。默认为实例目录中的 SQLite；生产环境使用 PostgreSQL，"
        "如 postgresql+psycopg://user@host/portal。",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "会话和 CSRF 令牌的签名密钥。未设置时在实例目录生成 secret_key 文件并复用。",
    ),
    Setting("FILES_PATH", lambda root: root / "files", "资源文件的存储目录（按 sha256 内容寻址）。", Path),
    Setting("DATASETS_PATH", lambda root: Path.cwd() / "datasets", "`portal init` 载入的样例数据包目录。", Path),
    Setting("MAX_UPLOAD_MB", 1024, "单个上传请求的大小上限（MB），超过时返回 413。", int),
    Setting("DEFAULT_LOCALE", "zh", "界面默认语言：zh（简体中文）或 en（English）。"),
    Setting("PAGE_SIZE", 20, "目录列表每页条数。", int),
    Setting("LOGIN_MAX_FAILURES", 5, "连续登录失败多少次后锁定账户。", int),
    Setting("LOGIN_LOCKOUT_MINUTES", 15, "账户锁定的分钟数。", int),
    Setting("SECURE_COOKIES", False, "仅通过 HTTPS 发送会话 Cookie（生产环境应开启）。", _bool),
    Setting(
        "SEARCH_BACKEND",
        "whoosh",
        "全文检索后端：whoosh（索引文件在 SEARCH_PATH，单机默认）或 postgresql（索引在 PostgreSQL 数据库中，多进程、多机部署时使用）。",
    ),
    Setting("SEARCH_PATH", lambda root: root / "search", "Whoosh 索引目录。", Path),
    Setting(
        "SEARCH_SYNONYMS",
        lambda root: Path(__file__).parent / "search" / "synonyms.txt",
        "同义词文件：每行一组，用“=”分隔。",
        Path,
    ),
    Setting("HOST", "127.0.0.1", "`portal serve` 监听的地址。"),
    Setting("PORT", 5000, "`portal serve` 监听的端口。", int),
    Setting("SMTP_HOST", "", "发送期限提醒邮件的 SMTP 服务器；不设置则不发邮件，提醒只在站内显示。"),
    Setting("SMTP_PORT", 587, "SMTP 端口：587（STARTTLS）、465（全程 TLS）或 25。", int),
    Setting("SMTP_USER", "", "SMTP 登录用户名；为空时不登录。"),
    Setting("SMTP_PASSWORD", "", "SMTP 登录密码（或授权码）。"),
    Setting("SMTP_FROM", "", "提醒邮件的发件人地址，如 noreply@example.gov.cn；为空时用 SMTP_USER。"),
    Setting(
        "PERSONAL_DATA_KEY",
        None,
        "加密实名认证中身份证号、联系电话的密钥（Fernet 密钥，44 个字符，可用 `portal keys new-secret` 生成）。"
        "生产环境必须通过环境变量提供并另行备份：丢失后已加密的号码无法解密。未设置时在实例目录生成 personal_data_key 文件并复用。",
    ),
    Setting("QUOTA_STORE", "database", "调用配额计数的存储：database（默认，所有进程共用数据库）或 redis（多台应用服务器时使用）。"),
    Setting("REDIS_URL", "redis://127.0.0.1:6379/0", "QUOTA_STORE=redis 时的 Redis 地址。"),
    Setting("SMTP_STARTTLS", True, "连接后用 STARTTLS 加密（端口 465 总是加密）；仅在内网无加密的中继上关闭。", _bool),
)


def load_settings(
    environ: dict[str, str] | None = None, *, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Settings by name: `overrides` (tests), then PORTAL_* variables, then the defaults, which
    are computed from the instance folder chosen the same way."""
    environ = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    root = Path(overrides.get("INSTANCE_PATH") or environ.get("PORTAL_INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(f"PORTAL_{setting.name}")
        if setting.name in overrides:
            values[setting.name] = overrides.pop(setting.name)
        elif raw not in (None, ""):
            values[setting.name] = setting.parse(raw)
        elif callable(setting.default):
            values[setting.name] = setting.default(root)
        else:
            values[setting.name] = setting.default
    values["INSTANCE_PATH"] = root
    values.update(overrides)  # Flask settings such as TESTING
    return values


def secret_key(instance: Path) -> str:
    """The instance's persistent secret key, created on first use with owner-only permissions."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
