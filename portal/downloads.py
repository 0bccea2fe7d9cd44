"""What a download is made of: the formats of a table (`exports`) built once into the store's
`derived/` folder and then served from disk like any file (so Content-Length, ETag and Range
work for all of them), the entry's Frictionless `datapackage.json`, and the ZIP of the package.

A derived file is named by a digest of everything it depends on (the normalised table, the
format, the columns withheld from the viewer), so it never goes stale and two processes that
build it at once each write their own temporary and rename it into place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from .exports import FORMATS, build_file, write_zip
from .files import FileStore
from .models import Entry, EntryFile
from .release import CLEARANCES

DERIVED_VERSION = "1"  # bump when the writers change what they produce
ORIGINAL = "original"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def download_name(record: EntryFile, fmt: str, grant_code: str = "") -> str:
    """The file name a user's browser saves, Chinese kept (sent per RFC 6266 by the web layer)."""
    if fmt == ORIGINAL:
        return record.name
    suffix = ("（Excel）" if fmt == "excel-csv" else "") + (f"（{grant_code}）" if grant_code else "")
    return f"{stem(record.name)}{suffix}{FORMATS[fmt].extension}"


def field_types(record: EntryFile) -> dict[str, str]:
    return {f["name"]: f.get("type", "string") for f in (record.table_schema or {}).get("fields", [])}


GRANT_COLUMN = "授权编号"


def derived_file(store: FileStore, record: EntryFile, fmt: str, *, hidden: Collection[str] = (), grant_code: str = "") -> Path:
    """The table of `record` in format `fmt` without the `hidden` columns, built on first use;
    served under a grant, every row carries the grant's code in a last column (Art. 22)."""
    if fmt not in FORMATS or record.normalised_sha256 is None:
        raise ValueError(f"no {fmt} form of file {record.id}")
    key = _digest(DERIVED_VERSION, record.normalised_sha256, fmt, *sorted(hidden), record.title, grant_code)
    path = store.derived / f"{key}{FORMATS[fmt].extension}"
    if not path.exists():
        store.derived.mkdir(parents=True, exist_ok=True)
        build_file(fmt, store.path(record.normalised_sha256), path, hidden=hidden, types=field_types(record),
                   sheet_title=record.title or "数据", stamp=(GRANT_COLUMN, grant_code) if grant_code else None)
    return path


# -- data package --------------------------------------------------------------------------


def resource_name(record: EntryFile, taken: set[str]) -> str:
    """A Frictionless resource name (lower-case ASCII) for `record`, unique within the package."""
    base = re.sub(r"[^a-z0-9._-]+", "-", stem(record.name).lower()).strip("-._") or f"resource-{record.id}"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def package_path(record: EntryFile) -> str:
    """Where `record` sits inside the package ZIP: tables as normalised CSV under data/."""
    if record.tabular:
        return f"data/{stem(record.name)}.csv"
    return f"files/{record.name}"


def entry_descriptor(
    entry: Entry, files: Sequence[EntryFile], *, hidden: Collection[str] = (), path_of: Callable[[EntryFile], str] = package_path,
    grant_code: str = "",
) -> dict[str, Any]:
    """The entry as a Frictionless data package: its catalog metadata in the `catalog` property
    (the form `datapackages.load_package` reads back) and each file as a resource; a table's
    schema omits the `hidden` columns, as do the data it points to. Under a grant each table
    ends with the grant's code column, as `derived_file` writes it, and the package names the
    grant."""
    taken: set[str] = set()
    resources = []
    for record in files:
        resource: dict[str, Any] = {"name": resource_name(record, taken), "title": record.title or record.name, "path": path_of(record)}
        if record.tabular:
            fields = [f for f in (record.table_schema or {}).get("fields", []) if f["name"] not in hidden]
            if grant_code:
                fields.append({"name": GRANT_COLUMN, "type": "string", "constraints": {"enum": [grant_code]}})
            resource.update(format="csv", mediatype="text/csv", encoding="utf-8", schema={"fields": fields, "missingValues": [""]})
            if record.clearance:
                resource["clearance"] = {"basis": record.clearance, "label": CLEARANCES[record.clearance], "note": record.clearance_note}
        else:
            resource.update(format=record.format, bytes=record.size, hash=f"sha256:{record.sha256}")
        resources.append(resource)
    descriptor = {
        "name": entry.slug,
        "title": entry.title,
        "description": entry.abstract,
        "keywords": list(entry.keywords),
        "version": str(entry.version),
        "created": entry.created_at.isoformat(timespec="seconds"),
        "catalog": catalog_metadata(entry),
        "resources": resources,
    }
    if grant_code:
        descriptor["grant"] = grant_code
    return descriptor


def catalog_metadata(entry: Entry) -> dict[str, Any]:
    return {
        "resource_code": entry.resource_code,
        "department": entry.department.code,
        "department_name": entry.department.name,
        "classification": {"kind": entry.classification_kind.label, "path": entry.classification_path, "code": entry.classification_code},
        "format_class": entry.format_class.label,
        "format_type": entry.format_type,
        "share_type": entry.share_type.label,
        "share_condition": entry.share_condition,
        "share_method": entry.share_method,
        "legal_basis": entry.legal_basis,
        "open_type": entry.open_type.label,
        "open_condition": entry.open_condition,
        "update_cycle": entry.update_cycle.label,
        "publish_date": entry.publish_date.isoformat() if entry.publish_date else None,
        "data_updated": entry.data_updated_at.isoformat(timespec="seconds") if entry.data_updated_at else None,
        "related_codes": list(entry.related_codes),
        "usage_requirements": entry.usage_requirements,
        "security_level": entry.security_level.label,
        "personal_information": entry.personal_information,
    }


def package_zip(store: FileStore, entry: Entry, files: Sequence[EntryFile], *, hidden: Collection[str] = (), grant_code: str = "") -> Path:
    """A ZIP of `datapackage.json` and every file of the package, built on first use; the same
    entry and files give a byte-identical archive. Under a grant, only tables, each stamped."""
    descriptor = entry_descriptor(entry, files, hidden=hidden, grant_code=grant_code)
    text = json.dumps(descriptor, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    path = store.derived / f"{_digest(DERIVED_VERSION, 'zip', text.decode('utf-8'), *(f.sha256 for f in files))}.zip"
    if path.exists():
        return path
    members: list[tuple[str, Path | bytes]] = [("datapackage.json", text)]
    for record in files:
        source = derived_file(store, record, "csv", hidden=hidden, grant_code=grant_code) if record.tabular else store.path(record.sha256)
        members.append((package_path(record), source))
    store.derived.mkdir(parents=True, exist_ok=True)
    temporary = store.temporary()
    try:
        with open(temporary, "wb") as out:
            write_zip(out, members)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
