"""Remote words for the catalog's vocabularies: what other catalogs write for a share type, an
open type, an update cycle ... (their Chinese labels, our ASCII values, common synonyms, the
EU frequency authority, ISO 8601 repeating durations) turned into the catalog's `Choice`
members, and a resource's format turned into a format class.

An unknown word is `UnknownValue`: a source that declared something we cannot read is a failed
item with the reason, never silently given a default (`mapping`).
"""

from __future__ import annotations

import re
from typing import TypeVar

from portal.vocab import (
    ClassificationKind,
    Choice,
    FormatClass,
    OpenType,
    SecurityLevel,
    ShareType,
    UpdateCycle,
)

C = TypeVar("C", bound=Choice)


class UnknownValue(ValueError):
    """A remote value that names no member of the vocabulary; `message` is Chinese."""

    def __init__(self, label: str, value: str, choices: type[Choice]) -> None:
        known = "、".join(member.label for member in choices)
        self.message = f"{label}“{value}”无法识别（可用：{known}）"
        super().__init__(self.message)


# Words besides each member's value and label, compared case-insensitively without spaces.
SYNONYMS: dict[type[Choice], dict[str, Choice]] = {
    ShareType: {
        "无条件": ShareType.UNCONDITIONAL,
        "有条件": ShareType.CONDITIONAL,
        "不共享": ShareType.NONE,
        "不予": ShareType.NONE,
    },
    OpenType: {
        "开放": OpenType.OPEN,
        "无条件": OpenType.OPEN,
        "public": OpenType.OPEN,
        "有条件开放": OpenType.ON_APPLICATION,  # the term of several provincial regulations
        "依申请": OpenType.ON_APPLICATION,
        "onapplication": OpenType.ON_APPLICATION,
        "不予开放": OpenType.CLOSED,
        "不开放": OpenType.CLOSED,
        "非开放": OpenType.CLOSED,
    },
    UpdateCycle: {
        "实时更新": UpdateCycle.REALTIME, "real-time": UpdateCycle.REALTIME, "continuous": UpdateCycle.REALTIME,
        "cont": UpdateCycle.REALTIME, "update_cont": UpdateCycle.REALTIME,
        "每天": UpdateCycle.DAILY, "日": UpdateCycle.DAILY, "天": UpdateCycle.DAILY, "日更新": UpdateCycle.DAILY,
        "周": UpdateCycle.WEEKLY, "每星期": UpdateCycle.WEEKLY,
        "月": UpdateCycle.MONTHLY, "月度": UpdateCycle.MONTHLY,
        "季": UpdateCycle.QUARTERLY, "季度": UpdateCycle.QUARTERLY, "每季": UpdateCycle.QUARTERLY,
        "半年": UpdateCycle.HALF_YEARLY, "每半年度": UpdateCycle.HALF_YEARLY, "semiannual": UpdateCycle.HALF_YEARLY,
        "semi-annual": UpdateCycle.HALF_YEARLY, "halfyearly": UpdateCycle.HALF_YEARLY, "annual_2": UpdateCycle.HALF_YEARLY,
        "年": UpdateCycle.YEARLY, "年度": UpdateCycle.YEARLY, "每年度": UpdateCycle.YEARLY, "annual": UpdateCycle.YEARLY,
        "annually": UpdateCycle.YEARLY,
        "不定时": UpdateCycle.IRREGULAR, "irreg": UpdateCycle.IRREGULAR, "irregularly": UpdateCycle.IRREGULAR,
        "asneeded": UpdateCycle.IRREGULAR, "as-needed": UpdateCycle.IRREGULAR, "other": UpdateCycle.IRREGULAR,
        "r/p1d": UpdateCycle.DAILY, "p1d": UpdateCycle.DAILY, "r/p1w": UpdateCycle.WEEKLY, "p1w": UpdateCycle.WEEKLY,
        "r/p1m": UpdateCycle.MONTHLY, "p1m": UpdateCycle.MONTHLY, "r/p3m": UpdateCycle.QUARTERLY, "p3m": UpdateCycle.QUARTERLY,
        "r/p6m": UpdateCycle.HALF_YEARLY, "p6m": UpdateCycle.HALF_YEARLY, "r/p1y": UpdateCycle.YEARLY, "p1y": UpdateCycle.YEARLY,
    },
    SecurityLevel: {"一般数据": SecurityLevel.GENERAL, "重要数据": SecurityLevel.IMPORTANT, "核心数据": SecurityLevel.CORE},
    ClassificationKind: {"基础类": ClassificationKind.BASE, "主题类": ClassificationKind.THEME, "部门类": ClassificationKind.DEPARTMENT},
    FormatClass: {},
}

_TRUE = {"true", "1", "yes", "y", "是", "有", "含", "涉及"}
_FALSE = {"false", "0", "no", "n", "否", "无", "不含", "不涉及", ""}


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def parse_choice(choices: type[C], value: str, label: str) -> C:
    """The member of `choices` that `value` names; UnknownValue otherwise. A URI (the EU
    frequency authority, a SKOS concept) is read by its last segment."""
    text = (value or "").strip()
    candidates = [text]
    if "/" in text and re.match(r"https?://", text):
        candidates.append(text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1])
    for candidate in candidates:
        try:
            return choices.parse(candidate)
        except ValueError:
            pass
        key = _key(candidate)
        for member in choices:
            if key in (_key(member.value), _key(member.label)):
                return member
        found = SYNONYMS.get(choices, {}).get(key)
        if found is not None:
            return found  # type: ignore[return-value]
    raise UnknownValue(label, text, choices)


def parse_flag(value: str, label: str) -> bool:
    key = _key(value or "")
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{label}“{value}”无法识别（应为“是”或“否”）")


FORMAT_CLASSES: dict[str, FormatClass] = {
    **dict.fromkeys(("CSV", "TSV", "XLS", "XLSX", "ODS", "ET"), FormatClass.SPREADSHEET),
    **dict.fromkeys(("JSON", "XML", "GEOJSON", "JSON-LD", "JSONLD", "RDF", "TTL", "TURTLE", "KML", "GML", "SHP"), FormatClass.SELF_DESCRIBING),
    **dict.fromkeys(("PDF", "DOC", "DOCX", "TXT", "ODT", "WPS", "OFD", "HTML", "HTM", "RTF"), FormatClass.DOCUMENT),
    **dict.fromkeys(("PNG", "JPG", "JPEG", "GIF", "TIF", "TIFF", "SVG", "BMP", "WEBP"), FormatClass.IMAGE),
    **dict.fromkeys(("MP4", "MP3", "AVI", "FLV", "M3U8", "RTSP", "WAV"), FormatClass.MEDIA),
    **dict.fromkeys(("API", "WMS", "WFS", "WMTS", "WCS", "ESRI REST", "ARCGIS GEOSERVICES REST API", "SPARQL", "接口"), FormatClass.SERVICE),
    **dict.fromkeys(("SQL", "DB", "MDB", "ACCDB", "SQLITE", "DBF"), FormatClass.DATABASE),
}
# Formats of resources that are links to a page or a service, never a file to download.
LINK_FORMATS = frozenset({"HTML", "HTM", "API", "WMS", "WFS", "WMTS", "WCS", "ESRI REST", "ARCGIS GEOSERVICES REST API", "SPARQL", "接口", "网页", "WEB PAGE"})


def normal_format(text: str) -> str:
    """A resource format as remote catalogs say it, upper-case: "text/csv" and ".csv" are "CSV"."""
    value = (text or "").strip()
    if "/" in value:  # a media type or a format URI
        value = value.rstrip("/").rsplit("/", 1)[-1]
        value = {"vnd.ms-excel": "XLS", "vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX", "plain": "TXT"}.get(value.lower(), value)
    return value.lstrip(".").upper()[:40]


def format_class_of(formats: list[str]) -> FormatClass | None:
    """The format class of the first resource whose format says one."""
    for fmt in formats:
        found = FORMAT_CLASSES.get(normal_format(fmt))
        if found is not None:
            return found
    return None
