"""`RemoteRecord`: the neutral form every source kind parses a remote record into, before
`mapping` turns it into the catalog's fields; and its content hash, which decides whether a
record changed since the last job."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RemoteResource:
    """A file or link of a remote record."""

    url: str
    name: str = ""
    format: str = ""  # upper-case, as remote catalogs say it: CSV, XLSX, JSON ...
    description: str = ""
    size: int | None = None
    modified: str = ""  # the remote timestamp as given
    hash: str = ""  # a checksum the source gives, if any


@dataclass
class RemoteRecord:
    """One remote record. `guid` is the stable remote identifier (a CKAN package id, a DCAT
    dataset IRI, a data package's `id` or URL), never the title or slug. `extras` holds
    everything else the source says as flat strings, including the zone catalog's own fields
    when the source is a zone-style portal (共享类型, 开放类型, 更新周期, 资源代码, 信息项 ...)."""

    guid: str
    title: str
    name: str = ""  # the remote slug
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    organization: str = ""  # the remote organization's name: the key of the org → department mapping
    organization_title: str = ""
    themes: list[str] = field(default_factory=list)  # CKAN groups, dcat:theme
    url: str = ""  # the landing page at the source
    license: str = ""
    issued: str = ""
    modified: str = ""
    extras: dict[str, str] = field(default_factory=dict)
    resources: list[RemoteResource] = field(default_factory=list)

    def content_hash(self) -> str:
        """sha256 of the record's content in a canonical JSON form: equal for equal content,
        whatever order the source listed keys in."""
        data: dict[str, Any] = asdict(self)
        data["tags"] = sorted(data["tags"])
        data["themes"] = sorted(data["themes"])
        canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
