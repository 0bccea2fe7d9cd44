"""What an uploaded file really is, and its table as UTF-8 CSV.

This module owns the intake of an upload that has already been streamed to a temporary file.
`inspect_upload` decides from the bytes, not from the name alone, whether the file is what its
extension claims; it refuses what the portal must not store (unsupported types, disguised files,
undecodable or mixed text encodings, NUL bytes, ZIP bombs, XML entity declarations inside a
workbook) and describes the rest. `normalise_table` then writes a tabular file as the UTF-8,
comma, CRLF CSV that validation and downloads read. Everything is streamed in chunks, except
JSON, which is parsed whole and only up to `Limits.max_json_bytes`.

Every refusal is `Invalid({"file": <Chinese message>})`. Byte offsets in messages count from 1:
"第 1 字节" is the first byte of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import frictionless.formats.csv.parser  # noqa: F401 - see CELL_LIMIT below

from .errors import Invalid
from .files import file_format, python_encoding
from .workbooks import DAMAGED, XML_ENTITY, blank, cell_text, open_workbook, trimmed

# Frictionless raises the csv module's per-cell limit to 2 GB, process-wide, when its CSV parser
# is imported; a quote never closed would then read a whole upload into one cell. It is imported
# above, so the standard limit put back here holds for the intake and for validation alike.
CELL_LIMIT = 128 * 1024
csv.field_size_limit(CELL_LIMIT)
CHUNK = 1 << 20  # bytes read at a time
SNIFF_CHARS = 64 * 1024  # decoded characters the CSV delimiter is guessed from
XML_HEAD = 65 * 1024  # bytes at the start of each workbook XML member searched for DTDs

TABULAR = frozenset({"csv", "tsv", "xlsx", "xls", "json"})
TEXT = frozenset({"csv", "tsv", "json", "txt", "geojson", "xml"})
ACCEPTED = TABULAR | TEXT | {"pdf", "zip", "png", "jpg", "gif", "docx", "doc"}
ALIASES = {"jpeg": "jpg"}

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC: dict[str, tuple[tuple[bytes, ...], str]] = {  # claimed type: (signatures, what it should be)
    "xlsx": ((b"PK\x03\x04",), "Excel 工作簿"), "docx": ((b"PK\x03\x04",), "Word 文档"),
    "zip": ((b"PK\x03\x04",), "ZIP 压缩包"), "xls": ((OLE2,), "Excel 97-2003 工作簿"),
    "doc": ((OLE2,), "Word 97-2003 文档"), "pdf": ((b"%PDF-",), "PDF 文件"),
    "png": ((b"\x89PNG\r\n\x1a\n",), "PNG 图片"), "jpg": ((b"\xff\xd8\xff",), "JPEG 图片"),
    "gif": ((b"GIF87a", b"GIF89a"), "GIF 图片"),
}
_BINARY = (
    (b"PK\x03\x04", "ZIP 压缩包或 Office 文档"), (b"PK\x05\x06", "ZIP 压缩包"), (OLE2, "旧版 Office 文档"),
    (b"%PDF", "PDF 文件"), (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
    (b"MZ", "Windows 程序"), (b"\x7fELF", "可执行程序"), (b"\x1f\x8b", "gzip 压缩文件"),
    (b"Rar!\x1a\x07", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
)
_TEXT_NOUN = {"csv": "CSV 表格", "tsv": "TSV 表格", "json": "JSON 数据", "txt": "文本文件",
              "geojson": "GeoJSON 数据", "xml": "XML 数据"}
_REQUIRED_MEMBERS = {"xlsx": ("[Content_Types].xml", "xl/workbook.xml"),
                     "docx": ("[Content_Types].xml", "word/document.xml")}
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>/]")
_DELIMITERS = {",": "逗号", "\t": "制表符", ";": "分号", "|": "竖线（|）"}  # in order of preference
_WIDE = re.compile("[\u0800-\U0010ffff]")  # characters of three or more UTF-8 bytes (all of CJK)

BOMB = "压缩文件解压后过大或压缩比异常（疑似压缩炸弹），已拒绝"
GBK_NOTE = "文件为 GBK/GB18030 编码，已转换为 UTF-8"


@dataclass(frozen=True)
class Limits:
    max_unpacked_bytes: int = 2 * 1024**3  # total uncompressed size of a ZIP/XLSX
    max_ratio: int = 200  # per-member uncompressed/compressed ratio (repetitive sheets reach ~100; bombs 1000+)
    max_entries: int = 10_000  # members of a ZIP/XLSX
    max_json_bytes: int = 200 * 1024**2  # JSON larger than this is stored as non-tabular


@dataclass(frozen=True)
class Inspected:
    format: str  # canonical lower-case extension: "csv" "xlsx" "jpg" ...
    tabular: bool
    encoding: str | None  # text files: "utf-8", "utf-8-sig" or "gb18030"
    delimiter: str | None  # csv/tsv: "," ";" "\t" or "|"
    notes: tuple[str, ...] = ()  # Chinese remarks for the uploader


def _refuse(message: str) -> Invalid:
    return Invalid({"file": message})


def inspect_upload(path: Path, *, name: str, limits: Limits = Limits(), chunk_size: int = CHUNK) -> Inspected:
    """What the upload at `path`, named `name` by its uploader, really is; raises Invalid for
    anything refused. Text is decoded over the whole file, `chunk_size` bytes at a time."""
    claimed = file_format(name)
    fmt = ALIASES.get(claimed, claimed)
    if fmt not in ACCEPTED:
        shown = f".{claimed}" if name.lower().endswith("." + claimed) else "（文件名没有扩展名）"
        raise _refuse(f"不支持的文件类型：{shown}")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise _refuse("文件为空")
    if fmt in TEXT:
        return _inspect_text(path, fmt, claimed, head, limits, chunk_size)
    signatures, noun = _MAGIC[fmt]
    if not head.startswith(signatures):
        hint = "（可能设置了打开密码，或是旧版 .xls 文件）" if fmt == "xlsx" and head.startswith(OLE2) else ""
        raise _refuse(f"文件内容与扩展名不符：扩展名为 .{claimed}，内容不是 {noun}{hint}")
    if fmt in ("zip", "xlsx", "docx"):
        _check_archive(path, fmt, f"文件内容与扩展名不符：扩展名为 .{claimed}，内容不是 {noun}", limits)
    if fmt in ("xlsx", "xls"):
        with open_workbook(path, fmt) as (sheets, rows):
            _check_rows(rows())
        notes = (f"工作簿有 {len(sheets)} 个工作表，只读取了第一个：{sheets[0]}",) if len(sheets) > 1 else ()
        return Inspected(fmt, True, None, None, notes)
    return Inspected(fmt, False, None, None)


def _inspect_text(path: Path, fmt: str, claimed: str, head: bytes, limits: Limits, chunk_size: int) -> Inspected:
    for signature, kind in _BINARY:
        if head.startswith(signature):
            raise _refuse(f"文件内容与扩展名不符：扩展名为 .{claimed}，内容却是二进制文件（{kind}），不是文本")
    if _HTML.match(head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n\f").lower()):
        raise _refuse(f"该文件是网页（HTML），不是 {_TEXT_NOUN[fmt]}；请上传导出的数据文件")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse("文件为 UTF-16 编码（如 Excel 的“Unicode 文本”），请另存为 UTF-8 或 GBK 编码的 CSV 后重新上传")
    encoding = _text_encoding(path, chunk_size)
    gbk = encoding == "gb18030"
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else _sniff(path, encoding)
        _check_rows(_csv_rows(path, encoding, delimiter))
        notes = (GBK_NOTE,) * gbk + ((f"分隔符为{_DELIMITERS[delimiter]}",) if fmt == "csv" and delimiter != "," else ())
        return Inspected(fmt, True, encoding, delimiter, notes)
    stored = ("文件为 GBK/GB18030 编码",) * gbk  # stored as it is, not converted
    if fmt == "json":
        if path.stat().st_size > limits.max_json_bytes:
            return Inspected(fmt, False, encoding, None, stored + ("JSON 文件过大，按非表格文件保存",))
        if (table := _json_table(path, encoding)) is None:
            return Inspected(fmt, False, encoding, None, stored + ("JSON 顶层不是对象数组或二维数组，按非表格文件保存",))
        _check_rows(table)
        return Inspected(fmt, True, encoding, None, (GBK_NOTE,) * gbk)
    return Inspected(fmt, False, encoding, None, stored)


def _text_encoding(path: Path, chunk_size: int) -> str:
    """utf-8-sig, utf-8 or gb18030, decided over the whole file; refuses mixed or undecodable text.

    A file whose first undecodable UTF-8 byte follows at least two characters of three or more
    UTF-8 bytes (Chinese, in practice) is refused as mixed rather than read as GB18030: GBK text
    often starts with a pair of bytes that happens to be valid two-byte UTF-8 ("时间", "统一社会
    信用代码"), while two accidental three-byte sequences in a row are very rare.
    """
    with open(path, "rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
    bad, wide = _scan(path, "utf-8", chunk_size)
    if bad is None:
        return "utf-8-sig" if bom else "utf-8"
    if bom or wide >= 2:
        raise _refuse(f"文件编码不一致：前面是 UTF-8，从第 {bad + 1} 字节起不是 UTF-8；请统一保存为 UTF-8 或 GBK 后重新上传")
    bad, _ = _scan(path, "gb18030", chunk_size)
    if bad is None:
        return "gb18030"
    raise _refuse(f"无法确定文件编码：第 {bad + 1} 字节处既不是 UTF-8 也不是 GBK/GB18030")


def _scan(path: Path, encoding: str, chunk_size: int) -> tuple[int | None, int]:
    """Decode the whole file incrementally: (0-based offset of the first byte `encoding` cannot
    decode, or None; how many characters from U+0800 up come before it, counted up to 2).
    Refuses a NUL byte met before any undecodable byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    fed = wide = 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk_size)
            nul = block.find(b"\x00")
            start = fed - len(decoder.getstate()[0])  # offset of the first byte the decoder holds
            try:
                text = decoder.decode(block if nul < 0 else block[:nul], final=not block or nul >= 0)
            except UnicodeDecodeError as error:
                valid = error.object[: error.start].decode(encoding)
                return start + error.start, min(2, wide + len(_WIDE.findall(valid)))
            if wide < 2 and not text.isascii():
                wide += sum(1 for _ in islice(_WIDE.finditer(text), 2))
            if nul >= 0:
                raise _refuse(f"文件第 {fed + nul + 1} 字节处含有空字符（NUL），不是文本表格")
            if not block:
                return None, wide
            fed += len(block)


def _sniff(path: Path, encoding: str) -> str:
    """The delimiter of a CSV file, from its first SNIFF_CHARS characters: csv.Sniffer's guess if
    every row then has the same number (> 1) of fields, else the first candidate that does, else
    the Sniffer's guess or a comma."""
    with open(path, encoding=python_encoding(encoding), newline="") as handle:
        sample = handle.read(SNIFF_CHARS)
        if handle.read(1):  # drop the last line, probably cut short
            sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in _DELIMITERS and _steady(sample, sniffed):
        return sniffed
    return next((d for d in _DELIMITERS if _steady(sample, d)), sniffed if sniffed in _DELIMITERS else ",")


def _steady(sample: str, delimiter: str) -> bool:
    """Whether the first 50 non-blank rows of `sample` (quotes respected) all have the same number
    of fields, more than one."""
    try:
        counts = {len(row) for row in islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 50) if row}
    except csv.Error:
        return False
    return len(counts) == 1 and counts.pop() > 1


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[list[str]]:
    with open(path, encoding=python_encoding(encoding), newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as error:
            raise _refuse(f"第 {reader.line_num} 行附近无法按 CSV 读取（字段过长或引号不配对）") from error
        except UnicodeDecodeError as error:
            raise _refuse("文件编码与检测结果不符，无法读取，请重新上传") from error


def _json_table(path: Path, encoding: str) -> list[list[object]] | None:
    """A JSON file as rows, header first, when its top level is an array of objects (header: the
    keys in order of first appearance) or of arrays; None for any other JSON."""
    try:
        with open(path, encoding=python_encoding(encoding), newline="") as handle:
            data = json.loads(handle.read())
    except json.JSONDecodeError as error:
        raise _refuse(f"JSON 格式错误：第 {error.lineno} 行第 {error.colno} 列附近") from error
    except (RecursionError, ValueError) as error:  # nesting too deep, integers too long
        raise _refuse("JSON 嵌套过深或数值过长，无法读取") from error
    if not isinstance(data, list) or not data:
        return None
    if all(isinstance(item, dict) for item in data):
        header = list(dict.fromkeys(key for item in data for key in item))
        return [header, *([item.get(key) for key in header] for item in data)] if header else None
    if all(isinstance(item, list) for item in data):
        return data
    return None


def _check_archive(path: Path, fmt: str, mismatch: str, limits: Limits) -> None:
    """Refuse a ZIP container (zip, xlsx, docx) that is damaged, too big once unpacked, too
    compressed, has unsafe member names, lacks its required members or (xlsx) declares a DTD.
    Only the central directory and the first bytes of XML members are read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > limits.max_entries:
                raise _refuse(BOMB)
            for member in members:
                name = member.filename
                if (name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name)
                        or member.file_size > limits.max_ratio * member.compress_size):
                    raise _refuse(BOMB)
            if sum(member.file_size for member in members) > limits.max_unpacked_bytes:
                raise _refuse(BOMB)
            names = {member.filename for member in members}
            if any(required not in names for required in _REQUIRED_MEMBERS.get(fmt, ())):
                raise _refuse(mismatch)
            for member in members if fmt == "xlsx" else ():
                if member.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with archive.open(member) as stream:
                        start = stream.read(XML_HEAD).replace(b"\x00", b"").lower()  # NULs: UTF-16 XML
                    if b"<!doctype" in start or b"<!entity" in start:
                        raise _refuse(XML_ENTITY)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        raise _refuse(DAMAGED) from error


def _check_rows(rows: Iterable[Sequence[object]]) -> None:
    """Refuse a table without any filled row, or whose header (its first filled row) has no
    filled row after it; reads only as far as the first data row."""
    filled = (row for row in rows if not all(blank(value) for value in row))
    if next(filled, None) is None:
        raise _refuse("表格中没有任何数据")
    if next(filled, None) is None:
        raise _refuse("文件只有表头，没有数据行")


@contextmanager
def _table(path: Path, inspected: Inspected) -> Iterator[Iterable[list[str]]]:
    if inspected.format in ("xlsx", "xls"):
        with open_workbook(path, inspected.format) as (_sheets, rows):
            yield trimmed(rows)
    elif inspected.format == "json":
        table = _json_table(path, inspected.encoding or "utf-8")
        if table is None:
            raise _refuse("JSON 顶层不是对象数组或二维数组，不能转换为表格")
        yield ([cell_text(value) for value in row] for row in table)
    else:
        yield _csv_rows(path, inspected.encoding or "utf-8", inspected.delimiter or ",")


def normalise_table(path: Path, inspected: Inspected, out: BinaryIO) -> tuple[int, int]:
    """Write the table as UTF-8 (no BOM), comma, CRLF CSV; returns (data rows, columns of the header).

    The header is the first row with a filled cell; every row after it counts as a data row,
    blank ones included. CSV/TSV rows are copied as they are (ragged and blank rows kept), XLSX
    and XLS give their first worksheet without trailing empty rows and columns, JSON gives one
    column per key. Values: None -> ""; bool -> "true"/"false"; an integral float under 1e15 ->
    "12"; other floats -> 15 significant digits with "E" ("1.10101199003071E+17"); datetimes ->
    "YYYY-MM-DD" at midnight, else "YYYY-MM-DDTHH:MM:SS"; nested JSON -> compact JSON text.
    Raises Invalid when the file cannot be read; `out` then holds a partial table to discard.
    """
    if not inspected.tabular:
        raise _refuse("该文件不是表格，不能转换为 CSV")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    data_rows = columns = 0
    header_seen = False
    try:
        with _table(path, inspected) as rows:
            for row in rows:
                writer.writerow(row)
                if header_seen:
                    data_rows += 1
                elif not all(blank(value) for value in row):
                    header_seen, columns = True, len(row)
    finally:
        text.flush()
        text.detach()
    return data_rows, columns
