"""Resource files on disk: a content-addressed store (sha256) with crash-safe writes, the
display names users see, and a preview of the first rows of a table.

A file is streamed to a temporary name in the store, fsynced, and atomically moved to its
content address; only then does the caller commit the database row, so a crash leaves at
worst an orphan temporary, which `sweep` removes.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
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
TABULAR_FORMATS = {"csv", "tsv"}


class TooLarge(Invalid):
    status = 413

    def __init__(self, limit_bytes: int) -> None:
        super().__init__({"file": f"文件超过大小上限（{limit_bytes // (1 << 20)} MB）"})


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256 digest")
        return self.root / sha256[:2] / sha256

    def save(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Stored:
        """Stream `stream` into the store; raises TooLarge (leaving nothing behind) past `max_bytes`."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            final = self.path(digest.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return Stored(digest.hexdigest(), size)

    def save_file(self, path: Path) -> Stored:
        with open(path, "rb") as stream:
            return self.save(stream)

    def sweep(self, *, older_than_seconds: float = 3600) -> int:
        """Remove temporaries left by interrupted uploads; returns how many were removed."""
        if not self.tmp.exists():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in self.tmp.iterdir():
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_dir(path: Path) -> None:
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


def detect_encoding(path: Path, *, sample: int = 4 * CHUNK) -> str | None:
    """utf-8-sig, utf-8 or gb18030 (which reads GBK and GB2312) for a text file; None if neither fits."""
    with open(path, "rb") as handle:
        head = handle.read(sample)
        complete = not handle.read(1)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def python_encoding(declared: str) -> str:
    """The codec to read a file declared as `declared`: GBK and GB2312 are read as GB18030, their
    superset, and UTF-8 tolerates a byte-order mark."""
    declared = declared.lower().replace("_", "-")
    if declared in ("gbk", "gb2312", "gb18030", "cp936"):
        return "gb18030"
    if declared in ("utf-8", "utf8"):
        return "utf-8-sig"
    return declared


def preview_rows(path: Path, *, format: str, encoding: str | None, limit: int = 10) -> tuple[list[str], list[list[str]]]:
    """Header and first `limit` rows of a CSV or TSV file; empty when it cannot be read as a table."""
    if format not in TABULAR_FORMATS:
        return [], []
    encoding = python_encoding(encoding) if encoding else detect_encoding(path)
    if encoding is None:
        return [], []
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter="\t" if format == "tsv" else ",")
        try:
            header = next(reader, [])
            rows = [row for _, row in zip(range(limit), reader)]
        except csv.Error:
            return [], []
    return header, rows
