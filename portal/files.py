"""Resource files on disk: a content-addressed store (sha256) with crash-safe writes, the
display names users see, and a preview of the first rows of a normalised table.

A file is streamed to a temporary name in the store, fsynced, and atomically moved to its
content address; only then does the caller commit the database row, so a crash leaves at
worst an orphan temporary, which `sweep` removes.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import Invalid

CHUNK = 1 << 20


class TooLarge(Invalid):
    status = 413

    def __init__(self, limit_bytes: int) -> None:
        super().__init__({"file": f"文件超过大小上限（{limit_bytes // (1 << 20)} MB）"})


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


@dataclass(frozen=True)
class Pending:
    """A file received into the store's temporary folder, fsynced but not yet kept."""

    path: Path
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.derived = self.root / "derived"

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256 digest")
        return self.root / sha256[:2] / sha256

    def temporary(self, prefix: str = "work-") -> Path:
        """A new empty file in the temporary folder (removed by `sweep` if never kept or discarded)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix=prefix)
        os.close(fd)
        return Path(name)

    def receive(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Pending:
        """Stream `stream` to a temporary file, hashing as it goes; raises TooLarge (leaving
        nothing behind) past `max_bytes`. Any error in between removes the temporary too."""
        path = self.temporary("upload-")
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Pending(path, digest.hexdigest(), size)

    def pending(self, path: Path) -> Pending:
        """A temporary file the caller wrote itself (see `temporary`), hashed and fsynced."""
        digest = hashlib.sha256()
        with open(path, "rb+") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
            os.fsync(handle.fileno())
        return Pending(path, digest.hexdigest(), path.stat().st_size)

    def keep(self, pending: Pending) -> Stored:
        """Move a received file atomically to its content address. Only after this may the
        database row that names it be committed."""
        final = self.path(pending.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pending.path, final)
        fsync_dir(final.parent)
        return Stored(pending.sha256, pending.size)

    @staticmethod
    def discard(*pendings: Pending | Path | None) -> None:
        for pending in pendings:
            if pending is not None:
                (pending.path if isinstance(pending, Pending) else pending).unlink(missing_ok=True)

    def save(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Stored:
        """Stream `stream` into the store; raises TooLarge (leaving nothing behind) past `max_bytes`."""
        return self.keep(self.receive(stream, max_bytes=max_bytes))

    def sweep(self, *, older_than_seconds: float = 3600) -> int:
        """Remove temporaries left by interrupted uploads and conversions; returns how many."""
        removed = 0
        cutoff = time.time() - older_than_seconds
        for folder in (self.tmp, self.derived):
            if not folder.exists():
                continue
            for leftover in folder.iterdir():
                if leftover.name.startswith((".", "upload-", "work-")) and leftover.stat().st_mtime < cutoff:
                    leftover.unlink(missing_ok=True)
                    removed += 1
        return removed


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def display_name(name: str) -> str:
    """A user's file name made safe to show and to offer in a download: no directories, control
    or bidirectional-override characters, at most 300 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Cc"))
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 300:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 299 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:300]
    return name or "file"


def file_format(name: str) -> str:
    """The lower-case extension of `name`, as the file's format ("csv", "xlsx", "pdf" ...)."""
    _stem, dot, ext = name.rpartition(".")
    return ext.lower()[:20] if dot and ext.isalnum() else "bin"


def python_encoding(declared: str) -> str:
    """The codec to read a file declared as `declared`: GBK and GB2312 are read as GB18030, their
    superset, and UTF-8 tolerates a byte-order mark."""
    declared = declared.lower().replace("_", "-")
    if declared in ("gbk", "gb2312", "gb18030", "cp936"):
        return "gb18030"
    if declared in ("utf-8", "utf8"):
        return "utf-8-sig"
    return declared


def preview_rows(path: Path, *, limit: int = 10) -> tuple[list[str], list[list[str]]]:
    """Header and first `limit` rows of a normalised table (UTF-8 comma CSV, see `intake`)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as text:
        reader = csv.reader(text)
        try:
            header = next(reader, [])
            rows = [row for _, row in zip(range(limit), reader)]
        except csv.Error:
            return [], []
    return header, rows
