"""What an entry's HTML page embeds: the schema.org Dataset of the entry as the viewer sees it
(the downloads of `dcat._download`), as JSON-LD written so that it may sit in a <script> element.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from ..models import Entry, User
from ..serving import hidden_columns, released_files
from ..vocab import OpenType
from .dcat import CATALOG_TITLE, FILE_TYPES, Links, _download


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def schema_org(entry: Entry, modified: datetime, viewer: User | None, links: Links) -> dict[str, Any]:
    """The schema.org Dataset of `entry` as `viewer` sees it, as JSON-LD with an inline context
    (so that it is read without fetching anything)."""
    department = entry.department
    hidden = hidden_columns(viewer, entry)
    distributions = []
    for record in released_files(viewer, entry):
        download = _download(viewer, entry, record, hidden, links)
        if download is None:
            continue
        url, fmt = download
        item: dict[str, Any] = {"@type": "DataDownload", "name": record.title or record.name, "contentUrl": url}
        if fmt in FILE_TYPES:
            item["encodingFormat"] = FILE_TYPES[fmt][1]
        if fmt == record.format and not hidden:
            item["contentSize"] = f"{record.size} B"
        distributions.append(item)
    data: dict[str, Any] = {
        "@context": {"@vocab": "https://schema.org/", "url": {"@type": "@id"}, "contentUrl": {"@type": "@id"}},
        "@type": "Dataset",
        "@id": str(links.dataset(entry)),
        "name": entry.title,
        "description": entry.abstract or entry.title,
        "identifier": entry.resource_code,
        "url": links.entry_page(entry.slug),
        "inLanguage": "zh-CN",
        "keywords": list(entry.keywords or []),
        "isAccessibleForFree": True,
        "publisher": {
            "@type": "GovernmentOrganization", "name": department.name, "identifier": department.code,
            "url": links.department_page(department.id),
        },
        "includedInDataCatalog": {"@type": "DataCatalog", "name": CATALOG_TITLE, "url": links.catalog},
        "dateModified": _iso(modified),
        "variableMeasured": [
            {"@type": "PropertyValue", "name": item.title, "propertyID": item.name, **({"description": item.description} if item.description else {})}
            for item in entry.items
        ],
    }
    data["creator"] = data["publisher"]
    if entry.publish_date:
        data["datePublished"] = _iso(entry.publish_date)
    if entry.open_type != OpenType.OPEN and entry.open_condition:
        data["conditionsOfAccess"] = entry.open_condition
    if entry.usage_requirements:
        data["usageInfo"] = entry.usage_requirements
    if distributions:
        data["distribution"] = distributions
    return data


def html_safe_json(data: Any) -> str:
    """`data` as JSON that may sit inside an HTML <script> element: <, > and & are written as
    JSON escapes, so no "</script>" or "<!--" can end or change the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
