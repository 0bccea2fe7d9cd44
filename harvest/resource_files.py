"""A harvested record's files: each downloaded (`Fetcher.download`, into the file store's
temporary folder, under the source's size cap) and put through the upload pipeline
(`pipeline.ingest`) as an upload would be, each in a savepoint of its own.

A file whose content the entry already has (the remote checksum says so, or the pipeline finds
the same content under the same name) changes nothing. When every resource of the record was
dealt with, a current file the harvest brought (one no one uploaded) that no resource of the
record still names is taken out of the entry (`resources.remove_file`, its history kept): the
source removed it. After any failure nothing is removed, since the failed resource may be it. A file that cannot be downloaded, or a
table the pipeline refuses, is a failure of the item at stage "resource" (the entry stays); a
link to a page or a service, a resource the source does not offer for download, or a file the
pipeline does not keep that is not a table, is only noted.

The file's name: the one the server gives (Content-Disposition), else the last segment of the
URL when it has an extension, else the resource's name with the extension of its format.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from portal.errors import Invalid
from portal.files import display_name, file_format
from portal.intake import TABULAR
from portal.models import Entry
from portal.pipeline import ingest
from portal.resources import remove_file

from .fetch import MB, Fetched, FetchError
from .records import RemoteResource
from .vocabulary import LINK_FORMATS

if TYPE_CHECKING:
    from .writing import Context

_DISPOSITION_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)
_DISPOSITION = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))', re.IGNORECASE)
_HEX = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


@dataclass
class FilesOutcome:
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # names of files that are new or new revisions
    removed: list[str] = field(default_factory=list)  # names of files the source no longer has
    kept: set[int] = field(default_factory=set)  # ids of the entry's files that the resources name


def disposition_name(header: str) -> str:
    """The file name of a Content-Disposition header (RFC 6266, `filename*` preferred)."""
    if match := _DISPOSITION_STAR.search(header or ""):
        charset = match.group(1) or "utf-8"
        try:
            return unquote(match.group(2).strip().strip('"'), encoding=charset, errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    if match := _DISPOSITION.search(header or ""):
        return (match.group(1) or match.group(2) or "").strip()
    return ""


def file_name(fetched: Fetched | None, resource: RemoteResource) -> str:
    name = disposition_name(fetched.headers.get("content-disposition", "")) if fetched else ""
    if not name:
        for url in (fetched.url if fetched else "", resource.url):
            segment = unquote(PurePosixPath(urlsplit(url).path).name) if url else ""
            if re.search(r"\.[A-Za-z0-9]{1,6}$", segment):
                name = segment
                break
    if not name:
        fmt = resource.format.lower()
        if not re.fullmatch(r"[a-z0-9]{1,6}", fmt) and fetched is not None:
            fmt = (mimetypes.guess_extension(fetched.content_type) or ".bin").lstrip(".")
        name = f"{resource.name or '资源文件'}.{fmt or 'bin'}"
    return display_name(name)


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, number = name, 2
    while candidate in used:
        candidate = f"{stem}（{number}）" + (f".{ext}" if ext else "")
        number += 1
    used.add(candidate)
    return candidate


def remote_sha256(resource: RemoteResource) -> str | None:
    match = _HEX.fullmatch(resource.hash.strip()) if resource.hash else None
    return match.group(1).lower() if match else None


def harvest_files(ctx: Context, entry: Entry, resources: list[RemoteResource]) -> FilesOutcome:
    """Download `resources` into `entry`'s files; what failed and what was noted."""
    outcome = FilesOutcome()
    used: set[str] = set()
    cap = int(ctx.settings.get("max_resource_mb") or 100) * MB
    for resource in resources:
        label = resource.name or resource.url or "未命名资源"
        if not resource.url:
            outcome.notes.append(f"资源“{label}”来源未提供公开下载，未采集其文件")
            continue
        if resource.format in LINK_FORMATS:
            outcome.notes.append(f"资源“{label}”是链接（{resource.format}），未下载")
            continue
        sha = remote_sha256(resource)
        same = next((f for f in entry.files if sha and f.sha256 == sha), None)
        if same is not None:
            used.add(same.name)
            outcome.kept.add(same.id)
            continue  # the entry already has this content
        _one(ctx, entry, resource, label, cap, used, outcome)
    if not outcome.failures:
        _remove_gone(ctx, entry, outcome)
    return outcome


def _remove_gone(ctx: Context, entry: Entry, outcome: FilesOutcome) -> None:
    """Take out the harvested files that no resource named (masked copies go with their file)."""
    for record in list(entry.files):
        if record.id not in outcome.kept and record.created_by_id is None and record.derived_from_id is None:
            with ctx.session.begin_nested():
                remove_file(ctx.session, record, actor=None, actor_name=ctx.actor_name, now=ctx.clock())
            outcome.removed.append(record.name)


def _one(ctx: Context, entry: Entry, resource: RemoteResource, label: str, cap: int, used: set[str], outcome: FilesOutcome) -> None:
    temporary = ctx.store.temporary("work-")
    try:
        try:
            fetched = ctx.fetcher.download(resource.url, temporary, max_bytes=cap)
        except FetchError as error:
            outcome.failures.append(f"资源“{label}”下载失败：{error.message}")
            return
        name = _unique(file_name(fetched, resource), used)
        before = {f.id for f in entry.files}
        try:
            with open(temporary, "rb") as stream, ctx.session.begin_nested():
                record = ingest(
                    ctx.session, ctx.store, entry, source=stream, name=name, title=(resource.name or "")[:200],
                    actor=None, actor_name=ctx.actor_name, now=ctx.clock(), max_bytes=cap,
                )
        except Invalid as refused:
            if file_format(name) in TABULAR:
                outcome.failures.append(f"资源文件“{name}”未通过检查：{refused.message}")
            else:
                outcome.notes.append(f"资源文件“{name}”未保存：{refused.message}")
            return
        outcome.kept.add(record.id)
        if record.id not in before:
            outcome.added.append(record.name)
    finally:
        temporary.unlink(missing_ok=True)
