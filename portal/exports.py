"""Download formats of a table: CSV, Excel-safe CSV, JSON and XLSX written from a normalised
table, and ZIP archives of such files, all streamed so that memory stays flat whatever the size.

The input is always a normalised table (UTF-8 CSV without BOM, comma, header first). It is read
row by row with the csv module and written out in chunks; no format holds the table in memory.
Every format is shaped by the header: hidden columns are removed by name, short (ragged) rows
are padded with empty cells, cells beyond the header are dropped (they have no column name to
be shown or hidden under) and blank lines are skipped.

"excel-csv" follows the OWASP CSV-injection advice: a cell (header cells included) that begins
with = + - @ TAB or CR gets a leading single quote, so Excel shows it as text instead of
evaluating it. Decision: a cell that is a plain number ("-4.4", "+3", "-1e5") is left alone, so
negative numbers stay numbers in Excel; a plain number cannot call a function or a link.

"json" and "xlsx" type cells by the Frictionless `types` given per column: integer and number
become numbers (the text is kept when it does not parse or is not finite), boolean becomes
true/false (是/否 included), anything else stays a string; an empty cell is null (JSON) or an
empty cell (XLSX). In XLSX every string is a text cell, never a formula or an error value;
XML-illegal control characters are removed, line breaks become LF (what XML keeps and Excel
uses in a cell), integers of more than 15 digits stay text (Excel would round them), openpyxl
truncates a string to Excel's 32,767 characters, and a table past Excel's sheet size is refused.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet import _writer as openpyxl_writer

from .files import fsync_dir
from .vocab import N_

CHUNK = 1 << 16
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # a regular file, rw-r--r--
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    extension: str
    mimetype: str


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("csv", N_("CSV（UTF-8）"), ".csv", "text/csv; charset=utf-8"),
        Format("excel-csv", N_("CSV（Excel 兼容，带 BOM）"), ".csv", "text/csv; charset=utf-8"),
        Format("json", "JSON", ".json", "application/json"),
        Format("xlsx", N_("Excel（XLSX）"), ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
}

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset({"true", "True", "TRUE", "1", "是"})
_FALSE = frozenset({"false", "False", "FALSE", "0", "否"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def write_table(fmt: str, src: Path, out: BinaryIO, *, hidden: Collection[str] = (),
                types: Mapping[str, str] | None = None, sheet_title: str = "数据", stamp: tuple[str, str] | None = None) -> int:
    """Write the table at `src` to `out` in format `fmt` without the `hidden` columns, and with a
    last column `stamp` = (name, value) on every row when given (a grant's code, so that a copy
    can be traced); returns the number of data rows. Raises ValueError for an unknown format, or
    a table too big for XLSX."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown download format: {fmt!r}")
    with _open_table(src, frozenset(hidden), stamp) as (header, rows):
        if fmt in ("csv", "excel-csv"):
            return _write_csv(header, rows, out, excel=fmt == "excel-csv")
        converters = [_converter((types or {}).get(name, "string")) for name in header]
        if fmt == "json":
            return _write_json(header, rows, out, converters)
        return _write_xlsx(header, rows, out, converters, sheet_title)


def build_file(fmt: str, src: Path, dst: Path, **kwargs: Any) -> int:
    """write_table into a temporary file beside `dst`, fsync, then os.replace onto `dst` (atomic:
    a reader never sees half a file); returns rows. On failure the temporary is removed and an
    existing `dst` is left as it was."""
    dst = Path(dst)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            rows = write_table(fmt, src, out, **kwargs)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, dst)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)
    return rows


def write_zip(out: BinaryIO, members: Sequence[tuple[str, Path | bytes]]) -> None:
    """A ZIP of `members` (archive name, file path or bytes), deflated at zlib's default level,
    streamed from disk in chunks, with fixed timestamps (1980-01-01 00:00:00) and fixed
    permissions (0644) so the same members give byte-identical archives; zip64 when needed.
    Archive names are UTF-8 (flag bit 11). ValueError for an empty, absolute, `..` or duplicate name."""
    seen: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, content in members:
            parts = name.replace("\\", "/").split("/")
            if "" in parts or ".." in parts or name in seen:  # "" : empty, absolute, "a//b", "dir/"
                raise ValueError(f"bad or duplicate archive name: {name!r}")
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform, so that external_attr means the same
            info.external_attr = ZIP_FILE_MODE << 16
            if isinstance(content, bytes):
                archive.writestr(info, content)
                continue
            info.file_size = Path(content).stat().st_size  # lets zipfile choose zip64 up front
            with open(content, "rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, CHUNK)


@contextmanager
def _open_table(src: Path, hidden: frozenset[str], stamp: tuple[str, str] | None = None) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
    """The visible header and an iterator of visible rows shaped to it, read lazily from `src`,
    with the `stamp` column last when given."""
    with open(src, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        header = next(reader, [])
        keep = [i for i, name in enumerate(header) if name not in hidden]
        width = len(header)
        extra = [stamp[1]] if stamp else []

        def rows() -> Iterator[list[str]]:
            for row in reader:
                if not row:  # a blank line is no row
                    continue
                if len(row) < width:
                    row.extend([""] * (width - len(row)))
                yield [row[i] for i in keep] + extra

        yield [header[i] for i in keep] + ([stamp[0]] if stamp else []), rows()


class _Chunks:
    """A text sink for csv/json writers: strings gathered and written to `out` as UTF-8 in chunks."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.out.write("".join(self.parts).encode("utf-8"))
            self.parts.clear()
            self.size = 0


def neutralise(cell: str) -> str:
    """A cell made safe to open in Excel: a leading ' when it begins with = + - @ TAB or CR,
    unless it is a plain number such as -4.4 or +3 (see the module docstring)."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _write_csv(header: list[str], rows: Iterator[list[str]], out: BinaryIO, *, excel: bool) -> int:
    sink = _Chunks(out)
    if excel:
        sink.write("\ufeff")
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in header] if excel else header)
    count = 0
    for row in rows:
        writer.writerow([neutralise(c) for c in row] if excel else row)
        count += 1
    sink.flush()
    return count


def _write_json(
    header: list[str], rows: Iterator[list[str]], out: BinaryIO, converters: list[Callable[[str], Any]]
) -> int:
    sink = _Chunks(out)
    sink.write("[")
    count = 0
    for row in rows:
        record = {name: convert(value) for name, convert, value in zip(header, converters, row)}
        sink.write(",\n" if count else "\n")
        sink.write(_JSON.encode(record))
        count += 1
    sink.write("\n]\n" if count else "]\n")
    sink.flush()
    return count


def _converter(kind: str) -> Callable[[str], Any]:
    """A cell's text to its JSON/XLSX value for a Frictionless type; "" is None."""

    def integer(text: str) -> Any:
        if _INTEGER.fullmatch(stripped := text.strip()) and len(stripped) < 4000:  # Python's int() limit
            return int(stripped)
        return text or None

    def number(text: str) -> Any:
        if (value := integer(text)) is not text:
            return value
        if _NUMBER.fullmatch(stripped := text.strip()) and math.isfinite(parsed := float(stripped)):
            return parsed
        return text

    def boolean(text: str) -> Any:
        return True if text in _TRUE else False if text in _FALSE else text or None

    return {"integer": integer, "number": number, "boolean": boolean}.get(kind, lambda text: text or None)


def excel_sheet_title(title: str) -> str:
    """`title` made valid for Excel: none of []:*?/\\ or control characters, no quote at either
    end, at most 31 characters, not empty and not the reserved name History."""
    title = _SHEET_ILLEGAL.sub("_", title).strip("'")[:31].strip("'")
    if not title:
        return "数据"
    return title + "_" if title.lower() == "history" else title


def _write_xlsx(
    header: list[str], rows: Iterator[list[str]], out: BinaryIO, converters: list[Callable[[str], Any]], title: str
) -> int:
    if len(header) > XLSX_MAX_COLUMNS:
        raise ValueError(f"an XLSX sheet holds at most {XLSX_MAX_COLUMNS} columns")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=excel_sheet_title(title))
    try:
        sheet.append([_xlsx_text(sheet, name) for name in header])
        count = 0
        for row in rows:
            if count + 2 > XLSX_MAX_ROWS:
                raise ValueError(f"an XLSX sheet holds at most {XLSX_MAX_ROWS} rows")
            sheet.append([_xlsx_value(sheet, convert(value)) for convert, value in zip(converters, row)])
            count += 1
        workbook.save(out)
    except BaseException:
        _drop_openpyxl_temporary(sheet)
        raise
    return count


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if isinstance(value, str):
        return _xlsx_text(sheet, value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return _xlsx_text(sheet, str(value))
    return value


def _xlsx_text(sheet: Any, text: str) -> WriteOnlyCell | None:
    """A text cell, forced to the string type: openpyxl would take "=..." as a formula and
    "#N/A" as an error value."""
    text = _XML_ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return None
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _drop_openpyxl_temporary(sheet: Any) -> None:
    """openpyxl write_only streams the sheet into a temporary file that it removes only after a
    successful save (otherwise at interpreter exit); after a failure, close its streams (in
    order, so that nothing is left to fail during garbage collection) and remove it now."""
    writer = getattr(sheet, "_writer", None)
    path = getattr(writer, "out", None)
    if writer is None or not isinstance(path, str) or path not in openpyxl_writer.ALL_TEMP_FILES:
        return  # never started, or saved and cleaned up by openpyxl
    rows = getattr(sheet, "_rows", None)
    if rows is not None:
        rows.close()
    writer.close()
    Path(path).unlink(missing_ok=True)
    openpyxl_writer.ALL_TEMP_FILES.remove(path)

