"""Reading the cells of XLSX and XLS workbooks for the intake (`intake`): the first worksheet
streamed as Python values, its cells as CSV text, and every failure to read turned into a
Chinese refusal (a damaged file, or an XML entity declaration that defusedxml refused)."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path

import openpyxl
import xlrd
import xlrd.compdoc
from defusedxml import DefusedXmlException
from openpyxl.utils.exceptions import InvalidFileException

from .errors import Invalid

DAMAGED = "文件不完整或已损坏，请重新上传"
XML_ENTITY = "工作簿中含有不允许的 XML 实体声明，已拒绝"
# What openpyxl and xlrd raise on a damaged or hostile file.
BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, IndexError, ValueError, TypeError,
          AttributeError, AssertionError, SyntaxError, struct.error, NotImplementedError, RuntimeError,
          InvalidFileException, xlrd.XLRDError, xlrd.compdoc.CompDocError)
Rows = Callable[[], Iterable[Sequence[object]]]  # a sheet's rows, streamed afresh at each call


def _refuse(message: str) -> Invalid:
    return Invalid({"file": message})


@contextmanager
def open_workbook(path: Path, fmt: str) -> Iterator[tuple[list[str], Rows]]:
    """The names of an XLSX or XLS workbook's worksheets and a function streaming the first one's
    rows as Python values; a failure to read, here or in the caller's block, becomes Invalid."""
    try:
        if fmt == "xlsx":
            with open(path, "rb") as handle:  # ours to close, even when openpyxl fails half-way
                book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
                try:
                    sheets = book.worksheets
                    if not sheets:
                        raise _refuse("工作簿中没有工作表")
                    yield [sheet.title for sheet in sheets], lambda: sheets[0].iter_rows(values_only=True)
                finally:
                    book.close()
        else:
            legacy = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
            try:
                first = legacy.sheet_by_index(0)
                yield legacy.sheet_names(), lambda: (
                    [_xls_value(cell, legacy.datemode) for cell in first.row(number)] for number in range(first.nrows))
            finally:
                legacy.release_resources()
    except BROKEN as error:
        cause: BaseException | None = error  # openpyxl wraps defusedxml's refusal in a ValueError
        while cause is not None and not isinstance(cause, DefusedXmlException):
            cause = cause.__cause__ or cause.__context__
        raise _refuse(XML_ENTITY if cause else DAMAGED) from error


def _xls_value(cell: xlrd.sheet.Cell, datemode: int) -> object:
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERR")
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            moment = xlrd.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell.value
        return moment.time() if 0 <= cell.value < 1 else moment
    return cell.value


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def trimmed(rows: Rows) -> Iterator[list[str]]:
    """A sheet's rows as text, without the empty rows and columns past its last filled cell (a
    sheet's reported size counts formatted but empty cells); reads the sheet twice."""
    height = width = 0
    for number, row in enumerate(rows(), 1):
        filled = [column for column, value in enumerate(row, 1) if not blank(value)]
        if filled:
            height, width = number, max(width, filled[-1])
    for row in islice(rows(), height):
        cells = [cell_text(value) for value in row[:width]]
        yield cells + [""] * (width - len(cells))


def cell_text(value: object) -> str:
    """A cell value as CSV text: see `normalise_table`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g").replace("e", "E")
    if isinstance(value, datetime):
        value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
