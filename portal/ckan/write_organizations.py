"""The actions that change organizations (departments), the Bureau's only:
organization_create and organization_update (a name, and the department above it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from .. import audit
from ..accounts import create_department
from ..codes import uscc_error
from ..errors import Invalid, NotFound
from ..models import Department
from ..vocab import N_, Role
from .common import Call, Denied, _extras_list, _json_value, _required, _text, make_id
from .lookups import _department
from .read import organization_show


def _require_bureau(call: Call) -> None:
    if call.user is None or call.user.role != Role.BUREAU:
        raise Denied("department:manage", "organization", hide=False)


def _parent(call: Call, data: Mapping[str, Any]) -> tuple[bool, Department | None]:
    """Whether a parent was sent, and which: extras ``parent`` or CKAN's ``groups`` list."""
    extras, groups = _extras_list(data), _json_value(data, "groups")
    if "parent" in extras:
        ref = extras["parent"]
    elif isinstance(groups, list):
        ref = next((g.get("name") or g.get("id") for g in groups if isinstance(g, Mapping)), "")
    else:
        return False, None
    if not ref:
        return True, None
    parent = _department(call.session, ref)
    if parent is None:
        raise Invalid({"parent": f"没有找到上级部门：{ref}"})
    return True, parent


def organization_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Create an organization (a department). The Bureau only.

    :param name: the department's unified social credit code (in lower case, as every
        organization name here)
    :param title: the department's name
    :param extras: optional ``parent``: the name or id of the department above it
    :rtype: dictionary
    """
    _require_bureau(call)
    code, title = _required(data, "name").upper(), _text(data, "title")
    errors = {}
    if problem := uscc_error(code):
        errors["name"] = f"组织的 name 应为部门的统一社会信用代码（小写）：{problem}"
    elif call.session.scalar(select(Department.id).where(Department.code == code)):
        errors["name"] = "已有该统一社会信用代码的部门"
    if not title:
        errors["title"] = "请填写部门名称"
    elif call.session.scalar(select(Department.id).where(Department.name == title)):
        errors["title"] = "已有同名部门"
    _sent, parent = _parent(call, data)
    if errors:
        raise Invalid(errors)
    department = create_department(call.session, name=title[:100], code=code, parent=parent, now=call.now)
    audit.record(call.session, action="department:create", actor=call.user, now=call.now, target=f"{department.code} {department.name}",
                 details={"department": department.id, "parent": parent.code if parent else None})
    return organization_show(call, {"id": make_id("organization", department.id)})


def organization_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Rename an organization (a department) or change the department above it. The Bureau
    only; its name (the credit code) does not change.

    :param id: the id or name of the organization
    :param title: the new name (optional)
    :param extras: optional ``parent``
    :rtype: dictionary
    """
    _require_bureau(call)
    department = _department(call.session, data.get("id") or data.get("name"))
    if department is None:
        raise NotFound(N_("没有找到该部门"))
    if data.get("id") and (name := _text(data, "name")) and name.upper() != department.code:
        raise Invalid({"name": "组织的 name（统一社会信用代码）不能修改"})
    changes: dict[str, Any] = {}
    if (title := _text(data, "title")) and title != department.name:
        if call.session.scalar(select(Department.id).where(Department.name == title, Department.id != department.id)):
            raise Invalid({"title": "已有同名部门"})
        changes["name"] = [department.name, title]
        department.name = title[:100]
    sent, parent = _parent(call, data)
    if sent and parent is not department.parent:
        ancestor = parent
        while ancestor is not None:
            if ancestor is department:
                raise Invalid({"parent": "上级部门不能是本部门或其下级部门"})
            ancestor = ancestor.parent
        changes["parent"] = [department.parent.code if department.parent else None, parent.code if parent else None]
        department.parent = parent
    if changes:
        call.session.flush()
        audit.record(call.session, action="department:update", actor=call.user, now=call.now,
                     target=f"{department.code} {department.name}", details={"department": department.id, "changes": changes})
    return organization_show(call, {"id": make_id("organization", department.id)})
