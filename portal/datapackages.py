"""Load Frictionless data packages into the catalog (the sample `datasets/` and any package a
department hands over).

A package is a folder with `datapackage.json` and its files. The catalog metadata lives in the
descriptor's custom property `catalog` (vocabulary values as their Chinese labels); the Table
Schema fields of its tabular resources are the entry's data items, so the two can never drift
(a field name used by several resources must have one definition). Files go through the upload
pipeline like any upload; a resource may carry `clearance` ({"basis": "consent" or
"public_interest", "note": ...}) recording why personal information in it may be released.
Loading is idempotent: entries are matched by the package `name`, files by name and content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import catalog, open_review
from .accounts import create_department, department_by_code
from .errors import Invalid, PortalError
from .files import FileStore
from .models import Department, Entry
from .pipeline import ingest
from .release import release_problems
from .resources import clear_file
from .vocab import DATA_TYPE_OF_FIELD_TYPE, EntryStatus

IMPORTER = "数据包导入"
# A package's open type was settled where the package was made (the sample datasets of a new
# install): loading records it as reviewed, unless a file still has unresolved findings.
IMPORTED_REVIEW = "数据包随附的开放属性，导入时按已审查记录；文件扫描结果见本记录"


@dataclass
class Loaded:
    name: str
    action: str  # created | updated | unchanged | failed
    entry: Entry | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)  # what keeps it from the open catalog


def load_departments(session: Session, path: Path, *, now: datetime) -> int:
    """Create the departments listed in `path` (a JSON list of name, code, parent code) that do
    not exist yet, parents first; returns how many were created."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    created = 0
    pending = list(rows)
    while pending:
        progressed = False
        for row in list(pending):
            parent = None
            if row.get("parent"):
                parent = session.scalar(select(Department).where(Department.code == row["parent"]))
                if parent is None:
                    continue
            pending.remove(row)
            progressed = True
            if session.scalar(select(Department.id).where(Department.code == row["code"])) is None:
                create_department(session, name=row["name"], code=row["code"], parent=parent, now=now)
                created += 1
        if not progressed:
            raise Invalid({"parent": f"部门的上级部门不存在：{pending[0]['name']}"})
    return created


def entry_input(descriptor: dict[str, Any]) -> dict[str, Any]:
    """The input of `catalog.parse_entry` that a package descriptor describes."""
    meta = descriptor.get("catalog") or {}
    classification = meta.get("classification") or {}
    fields: dict[str, dict[str, Any]] = {}  # the union of the tables' fields, by name
    for resource in descriptor.get("resources", []):
        if isinstance(resource.get("schema"), dict):
            for f in resource["schema"].get("fields", []):
                fields.setdefault(f.get("name"), f)
    return {
        **{k: meta.get(k) for k in (
            "format_class", "format_type", "share_type", "share_condition", "share_method", "legal_basis",
            "open_type", "open_condition", "update_cycle", "publish_date", "related_codes",
            "usage_requirements", "security_level", "personal_information",
        )},
        "title": descriptor.get("title") or descriptor.get("name"),
        "abstract": descriptor.get("description", ""),
        "keywords": descriptor.get("keywords", []),
        "classification_kind": classification.get("kind"),
        "classification_path": classification.get("path"),
        "classification_code": classification.get("code"),
        "items": [
            {
                "title": f.get("title") or f.get("name"),
                "name": f.get("name"),
                "data_type": f.get("dataType") or DATA_TYPE_OF_FIELD_TYPE.get(f.get("type", "string"), "C"),
                "length": f.get("length") or (f.get("constraints") or {}).get("maxLength"),
                "description": f.get("description", ""),
                "share_type": f.get("shareType"),
                "open_type": f.get("openType"),
                "constraints": f.get("constraints") or {},
            }
            for f in fields.values()
        ],
    }


def load_package(session: Session, folder: Path, *, store: FileStore, now: datetime) -> Loaded:
    """Create or update the entry that the package in `folder` describes, with its files."""
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    name = descriptor.get("name") or folder.name
    meta = descriptor.get("catalog") or {}
    department = department_by_code(session, meta.get("department", ""))
    fields = catalog.parse_entry(entry_input(descriptor))
    entry = session.scalar(select(Entry).where(Entry.slug == name))
    if entry is None:
        entry = catalog.create_entry(
            session, department=department, fields=fields, actor=None, actor_name=IMPORTER, now=now,
            slug=name, resource_code=meta.get("resource_code"), status=EntryStatus.PUBLISHED,
        )
        action = "created"
    else:
        changed = catalog.update_entry(session, entry, fields, actor=None, actor_name=IMPORTER, now=now)
        action = "updated" if changed else "unchanged"
    version = entry.version
    for resource in descriptor.get("resources", []):
        path = folder / resource["path"]
        if not path.resolve().is_relative_to(folder.resolve()):
            raise Invalid({"path": f"资源路径超出数据包目录：{resource['path']}"})
        with open(path, "rb") as source:
            record = ingest(session, store, entry, source=source, name=path.name, title=resource.get("title", ""), actor=None, actor_name=IMPORTER, now=now)
        clearance = resource.get("clearance") or {}
        if record.findings and not record.clearance and clearance.get("basis"):
            clear_file(session, record, basis=clearance["basis"], note=clearance.get("note", ""), actor=None, now=now)
    open_review.record_imported(session, entry, conclusion=IMPORTED_REVIEW, actor_name=IMPORTER, now=now)
    if action == "unchanged" and entry.version != version:
        action = "updated"
    return Loaded(name, action, entry, warnings=release_problems(entry))


def load_datasets(session: Session, root: Path, *, store: FileStore, now: datetime) -> list[Loaded]:
    """Load `root/departments.json` and every package folder under `root`. A package that fails
    is reported and skipped; the others still load (each in its own savepoint)."""
    if (root / "departments.json").exists():
        load_departments(session, root / "departments.json", now=now)
    results = []
    for folder in sorted(p.parent for p in root.glob("*/datapackage.json")):
        try:
            with session.begin_nested():
                results.append(load_package(session, folder, store=store, now=now))
        except (PortalError, KeyError, ValueError, OSError) as error:
            message = error.message if isinstance(error, PortalError) else f"数据包格式错误：{error}"
            results.append(Loaded(folder.name, "failed", error=message))
    return results
