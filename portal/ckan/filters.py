"""package_search's filters: `fq` in Solr syntax parsed into clauses (`parse_fq`, `Clause`),
each clause as a condition on entries (`FQ_FIELDS`, `DATE_FIELDS`, the extras), and the
filters the search index holds itself (`INDEX_FILTERS`, `_index_filters`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, false, func, not_, or_, true

from ..authz import OPEN_CATALOG
from ..errors import Invalid
from ..models import Entry, EntryFile
from ..vocab import EntryStatus
from .common import _TRUE, EXTRAS, STATES, Call, read_id
from .lookups import _department, _group_prefix


# -- package_search: filters ---------------------------------------------------------------

_FQ_TOKEN = re.compile(
    r"""(?P<op>AND|OR|&&|\|\|)(?=\s|$)
      | (?P<all>\*:\*)
      | (?P<sign>[+-]?)(?P<field>[A-Za-z_][\w.]*):(?P<value>"(?:\\.|[^"\\])*"|[\[{][^\]}]*[\]}]|\((?:\\.|[^)\\])*\)|(?:\\.|[^\s()"\\])+)""",
    re.X,
)
_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Clause:
    negative: bool
    field: str
    values: tuple[str, ...] = ()
    range: tuple[str, str, bool, bool] | None = None  # low, high, low inclusive, high inclusive


def parse_fq(text: str) -> list[list[Clause]]:
    """Solr filter syntax, the part CKAN clients send: ``field:value`` clauses (a value quoted,
    a ``(a OR b)`` group, or a ``[low TO high]`` range), ``+``/``-`` before a clause, ``OR``
    between clauses. Returns the clauses as a conjunction of disjunctions (``a OR b c`` is
    ``(a OR b) AND c``); raises Invalid for anything else, so no filter is ever ignored."""
    groups: list[list[Clause]] = []
    position, join = 0, False
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        match = _FQ_TOKEN.match(text, position)
        if match is None:
            raise Invalid({"fq": f"无法理解的筛选条件：{text[position:position + 40]}（应为“字段:取值”）"})
        position = match.end()
        if match.group("op"):
            if match.group("op") in ("OR", "||"):
                if not groups:
                    raise Invalid({"fq": "筛选条件不能以 OR 开头"})
                join = True
            continue
        clause = Clause(False, "*") if match.group("all") else _clause(match.group("sign"), match.group("field"), match.group("value"))
        if join:
            groups[-1].append(clause)
        else:
            groups.append([clause])
        join = False
    if join:
        raise Invalid({"fq": "OR 后缺少筛选条件"})
    return groups


def _clause(sign: str, field: str, value: str) -> Clause:
    negative = sign == "-"
    field = field.lower()
    if value[0] == '"':
        return Clause(negative, field, (_UNESCAPE.sub(r"\1", value[1:-1]),))
    if value[0] in "[{":
        match = _RANGE.fullmatch(value)
        if match is None:
            raise Invalid({"fq": f"范围条件应为 [起 TO 止]：{value}"})
        opening, low, high, closing = match.groups()
        return Clause(negative, field, range=(_UNESCAPE.sub(r"\1", low), _UNESCAPE.sub(r"\1", high), opening == "[", closing == "]"))
    if value[0] == "(":
        parts = [p.strip() for p in re.split(r"\s+(?:OR|\|\|)\s+", value[1:-1].strip())]
        if not parts or any(not p or re.search(r"\s(AND|&&)\s", f" {p} ") for p in parts):
            raise Invalid({"fq": f"括号内只支持用 OR 连接的取值：{value}"})
        return Clause(negative, field, tuple(_UNESCAPE.sub(r"\1", p.strip('"')) for p in parts))
    if re.search(r"(?<!\\)[*?]", value):
        raise Invalid({"fq": f"不支持通配符：{field}:{value}"})
    return Clause(negative, field, (_UNESCAPE.sub(r"\1", value),))


def _when(text: str, *, high: bool) -> datetime | None:
    """A bound of a date range: an ISO date or time (UTC unless it says), NOW, or * (open)."""
    if text == "*":
        return None
    if text.upper() == "NOW":
        return datetime.now(timezone.utc)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) - timedelta(microseconds=1) if high else day
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Invalid({"fq": f"无法识别的时间：{text}（应为 ISO 8601，如 2026-01-01T00:00:00Z）"}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# Filter fields besides the extras: field -> a condition on Entry for one value.
def _fq_organization(call: Call, value: str) -> ColumnElement[bool]:
    department = _department(call.session, value)
    return Entry.department_id == department.id if department else false()


def _fq_group(call: Call, value: str) -> ColumnElement[bool]:
    prefix = _group_prefix(value)
    return Entry.classification_code.startswith(prefix) if prefix else false()


def _fq_tag(call: Call, value: str) -> ColumnElement[bool]:
    text = cast(Entry.keywords, String)  # the JSON text, whichever way the driver escaped it
    return or_(text.contains(json.dumps(value), autoescape=True), text.contains(json.dumps(value, ensure_ascii=False), autoescape=True))


def _fq_format(call: Call, value: str) -> ColumnElement[bool]:
    return exists().where(EntryFile.entry_id == Entry.id, EntryFile.replaced_at.is_(None), func.lower(EntryFile.format) == value.lower())


def _fq_state(call: Call, value: str) -> ColumnElement[bool]:
    status = {v: k for k, v in STATES.items()}.get(value.lower())
    if status is None:
        raise Invalid({"fq": f"state 的取值应为 {'、'.join(STATES.values())}"})
    return Entry.status == status


def _fq_capacity(call: Call, value: str) -> ColumnElement[bool]:
    public = and_(Entry.status == EntryStatus.PUBLISHED, Entry.open_type.in_(list(OPEN_CATALOG)))
    if value.lower() not in ("public", "private"):
        raise Invalid({"fq": "capacity 的取值应为 public 或 private"})
    return public if value.lower() == "public" else not_(public)


def _fq_id(call: Call, value: str) -> ColumnElement[bool]:
    number = read_id("package", value)
    return Entry.id == number if number is not None else false()


FQ_FIELDS: dict[str, Callable[[Call, str], ColumnElement[bool]]] = {
    "organization": _fq_organization,
    "owner_org": _fq_organization,
    "groups": _fq_group,
    "tags": _fq_tag,
    "res_format": _fq_format,
    "state": _fq_state,
    "capacity": _fq_capacity,
    "id": _fq_id,
    "name": lambda call, value: Entry.slug == value,
    "dataset_type": lambda call, value: true() if value == "dataset" else false(),
    "type": lambda call, value: true() if value == "dataset" else false(),
}
DATE_FIELDS = {"metadata_modified": Entry.updated_at, "metadata_created": Entry.created_at}
# Extras the search index filters on, and its filter keys (`browse.FILTERS`).
INDEX_FILTERS = {"classification_kind": "classification", "format_class": "format", "share_type": "share", "open_type": "open", "update_cycle": "cycle"}


def _extra_field(field: str) -> str | None:
    name = field[len("extras_"):] if field.startswith("extras_") else field
    return name if name in EXTRAS and name not in ("data_items",) else None


def _fq_extra(name: str, value: str) -> ColumnElement[bool]:
    column = getattr(Entry, name)
    vocabulary = EXTRAS[name]
    if vocabulary is not None:
        try:
            return column == vocabulary.parse(value)
        except ValueError:
            allowed = "、".join(m.value for m in vocabulary)
            raise Invalid({"fq": f"{name} 的取值“{value}”无效（可用：{allowed}，或其中文名称）"}) from None
    if name == "personal_information":
        return column.is_(value.lower() in _TRUE)
    if name == "publish_date":
        try:
            return column == date.fromisoformat(value)
        except ValueError:
            raise Invalid({"fq": "publish_date 的取值应为 YYYY-MM-DD"}) from None
    if name in ("related_codes",):
        raise Invalid({"fq": "related_codes 不能作为筛选条件"})
    return column == value


def _condition(call: Call, clause: Clause) -> ColumnElement[bool]:
    if clause.field == "*":
        return true()
    if clause.field in DATE_FIELDS:
        if clause.range is None:
            raise Invalid({"fq": f"{clause.field} 只支持范围条件，如 [2026-01-01T00:00:00Z TO *]"})
        low, high, low_in, high_in = clause.range
        column, parts = DATE_FIELDS[clause.field], []
        if (start := _when(low, high=False)) is not None:
            parts.append(column >= start if low_in else column > start)
        if (end := _when(high, high=True)) is not None:
            parts.append(column <= end if high_in else column < end)
        condition: ColumnElement[bool] = and_(true(), *parts)
    elif clause.range is not None:
        raise Invalid({"fq": f"{clause.field} 不支持范围条件"})
    elif clause.field in FQ_FIELDS:
        condition = or_(*(FQ_FIELDS[clause.field](call, v) for v in clause.values))
    elif (name := _extra_field(clause.field)) is not None:
        condition = or_(*(_fq_extra(name, v) for v in clause.values))
    else:
        known = [*FQ_FIELDS, *DATE_FIELDS, *(k for k in EXTRAS if k != "data_items")]
        raise Invalid({"fq": f"不支持的筛选字段：{clause.field}（支持：{'、'.join(known)}；扩展字段也可写作 extras_字段名）"})
    return not_(condition) if clause.negative else condition


def _index_filters(call: Call, groups: list[list[Clause]]) -> dict[str, Any] | None:
    """The filters as the search index's own (`search_catalog`), or None when some clause needs
    the database (a group, tag, format, state, date, negation, OR ...)."""
    filters: dict[str, Any] = {}
    for group in groups:
        clause = group[0]
        if len(group) > 1 or clause.negative or clause.range is not None or len(clause.values) > 1:
            return None
        value = clause.values[0] if clause.values else ""
        if clause.field == "*" or (clause.field in ("dataset_type", "type") and value == "dataset"):
            continue
        if clause.field in ("organization", "owner_org"):
            department = _department(call.session, value)
            key, chosen = "department", department.id if department else None
        elif (name := _extra_field(clause.field)) in INDEX_FILTERS:
            try:
                key, chosen = INDEX_FILTERS[name], EXTRAS[name].parse(value)
            except ValueError:
                return None  # the database path reports it
        else:
            return None
        if chosen is None or filters.get(key, chosen) != chosen:
            return None
        filters[key] = chosen
    return filters
