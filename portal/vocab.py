"""The catalog's controlled vocabularies, from the national catalog guide and the Measures.

Each vocabulary is a `Choice` enum: a stable ASCII value stored in the database and used in
URLs, and the Chinese label that users, forms and data package descriptors use. Labels are
marked with `N_` so that Babel extracts them; the web layer translates them at render time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


def N_(text: str) -> str:
    """Mark a string for translation without translating it here (the web layer does)."""
    return text


class Choice(StrEnum):
    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def parse(cls, text: str) -> Self:
        """The member whose value or Chinese label is `text`; ValueError otherwise."""
        text = (text or "").strip()
        for member in cls:
            if text in (member.value, member.label):
                return member
        raise ValueError(text)


class ShareType(Choice):
    UNCONDITIONAL = "unconditional", N_("无条件共享")
    CONDITIONAL = "conditional", N_("有条件共享")
    NONE = "none", N_("不予共享")


class OpenType(Choice):
    OPEN = "open", N_("无条件开放")
    ON_APPLICATION = "on-application", N_("依申请开放")
    CLOSED = "closed", N_("依法不予开放")


class UpdateCycle(Choice):
    REALTIME = "realtime", N_("实时")
    DAILY = "daily", N_("每日")
    WEEKLY = "weekly", N_("每周")
    MONTHLY = "monthly", N_("每月")
    QUARTERLY = "quarterly", N_("每季度")
    HALF_YEARLY = "half-yearly", N_("每半年")
    YEARLY = "yearly", N_("每年")
    IRREGULAR = "irregular", N_("不定期")


class SecurityLevel(Choice):
    GENERAL = "general", N_("一般")
    IMPORTANT = "important", N_("重要")
    CORE = "core", N_("核心")


class ClassificationKind(Choice):
    """The three top classes of the guide; the first digit of a classification code."""

    BASE = "base", N_("基础")
    THEME = "theme", N_("主题")
    DEPARTMENT = "department", N_("部门")


CLASSIFICATION_DIGIT = {ClassificationKind.BASE: "1", ClassificationKind.THEME: "2", ClassificationKind.DEPARTMENT: "3"}

# Base libraries that Art. 13 requires to be shared unconditionally: code prefix -> name.
BASE_LIBRARIES = {"101": N_("人口"), "102": N_("法人单位"), "103": N_("自然资源和空间地理"), "104": N_("电子证照")}


class FormatClass(Choice):
    DOCUMENT = "document", N_("电子文件")
    SPREADSHEET = "spreadsheet", N_("电子表格")
    DATABASE = "database", N_("数据库")
    IMAGE = "image", N_("图形图像")
    MEDIA = "media", N_("流媒体")
    SELF_DESCRIBING = "self-describing", N_("自描述格式")
    SERVICE = "service", N_("接口")
    OTHER = "other", N_("其他")


class DataType(Choice):
    """Data item types of the guide, by their one-letter codes."""

    C = "C", N_("字符型")
    N = "N", N_("数值型")
    Y = "Y", N_("货币型")
    D = "D", N_("日期型")
    T = "T", N_("日期时间型")
    L = "L", N_("逻辑型")
    M = "M", N_("备注型")
    G = "G", N_("通用型")
    B = "B", N_("双精度型")
    I = "I", N_("整型")  # noqa: E741 - the guide's own code
    F = "F", N_("浮点型")


# Frictionless Table Schema type -> the guide's data type, for fields that do not say.
DATA_TYPE_OF_FIELD_TYPE = {
    "string": DataType.C,
    "integer": DataType.I,
    "number": DataType.N,
    "date": DataType.D,
    "datetime": DataType.T,
    "time": DataType.C,
    "year": DataType.N,
    "boolean": DataType.L,
    "object": DataType.M,
    "array": DataType.M,
    "geopoint": DataType.C,
    "geojson": DataType.M,
}

# The guide's data type -> the Table Schema type its values are validated as.
FIELD_TYPE_OF_DATA_TYPE = {
    DataType.C: "string",
    DataType.N: "number",
    DataType.Y: "number",
    DataType.D: "date",
    DataType.T: "datetime",
    DataType.L: "boolean",
    DataType.M: "string",
    DataType.G: "any",
    DataType.B: "number",
    DataType.I: "integer",
    DataType.F: "number",
}


class EntryStatus(Choice):
    DRAFT = "draft", N_("草稿")
    PUBLISHED = "published", N_("已发布")
    WITHDRAWN = "withdrawn", N_("已撤销")


class Role(Choice):
    EDITOR = "editor", N_("目录编制员")
    PROVIDER = "provider", N_("数据提供员")
    DEPT_ADMIN = "dept-admin", N_("部门管理员")
    REVIEWER = "reviewer", N_("政务公开审查员")
    BUREAU = "bureau", N_("区数据资源局管理员")
    AUDITOR = "auditor", N_("审计员")
    PUBLIC = "public", N_("公众用户")


DEPARTMENT_ROLES = frozenset({Role.EDITOR, Role.PROVIDER, Role.DEPT_ADMIN})


class AccountKind(Choice):
    INDIVIDUAL = "individual", N_("个人")
    ORGANISATION = "organisation", N_("法人或其他组织")
