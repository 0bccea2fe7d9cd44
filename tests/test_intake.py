"""What an upload really is, and its table normalised to UTF-8 CSV: each case is a real file
built in tmp_path (XLSX with openpyxl, ZIP with zipfile, XLS with the small BIFF8 writer below)."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from portal.errors import Invalid
from portal.intake import GBK_NOTE, Inspected, Limits, inspect_upload, normalise_table

ROWS = "名称,数量,备注\n甲,1,\"含,逗号\"\n乙,2,\"两行\n文字\"\n"
NORMALISED = "名称,数量,备注\r\n甲,1,\"含,逗号\"\r\n乙,2,\"两行\n文字\"\r\n".encode()


def upload(folder: Path, data: bytes) -> Path:
    path = folder / "upload.tmp"  # a temporary name: the uploader's name is passed apart
    path.write_bytes(data)
    return path


def refusal(path: Path, name: str, **options: object) -> str:
    with pytest.raises(Invalid) as caught:
        inspect_upload(path, name=name, **options)  # type: ignore[arg-type]
    assert list(caught.value.errors) == ["file"]
    return caught.value.errors["file"]


def normalised(path: Path, inspected: Inspected) -> tuple[bytes, tuple[int, int]]:
    out = io.BytesIO()
    counts = normalise_table(path, inspected, out)
    assert not out.closed
    return out.getvalue(), counts


# --- text encodings ------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 4096])
@pytest.mark.parametrize(
    "data, encoding, notes",
    [
        (ROWS.encode("gbk"), "gb18030", (GBK_NOTE,)),
        # GBK "统一社会信用代码" starts with bytes that are valid two-byte UTF-8: still GBK
        ("统一社会信用代码,时间\n91340100MA2N0X1X1X,2024\n".encode("gbk"), "gb18030", (GBK_NOTE,)),
        ("名称,数量\n𠀀,1\n".encode("gb18030"), "gb18030", (GBK_NOTE,)),  # four-byte GB18030
        (b"\xef\xbb\xbf" + ROWS.encode(), "utf-8-sig", ()),
        (ROWS.encode(), "utf-8", ()),
        (b"a,b\n1,2\n", "utf-8", ()),
    ],
    ids=["gbk", "gbk-looks-utf8", "gb18030-4byte", "utf8-bom", "utf8", "ascii"],
)
def test_text_encoding_is_decided_over_the_whole_file(
    tmp_path: Path, data: bytes, encoding: str, notes: tuple[str, ...], chunk_size: int
) -> None:
    path = upload(tmp_path, data)
    inspected = inspect_upload(path, name="表.csv", chunk_size=chunk_size)
    assert inspected == Inspected("csv", True, encoding, ",", notes)


MIXED_HEAD = "名称,数量\n甲,1\n".encode()
UNDECODABLE = b"a,b\n1,\xff\n"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 4096])
@pytest.mark.parametrize(
    "data, message",
    [
        (MIXED_HEAD + "乙,2\n".encode("gbk"),
         f"文件编码不一致：前面是 UTF-8，从第 {len(MIXED_HEAD) + 1} 字节起不是 UTF-8；请统一保存为 UTF-8 或 GBK 后重新上传"),
        (b"\xef\xbb\xbfa,b\n1," + "乙".encode("gbk") + b"\n",
         "文件编码不一致：前面是 UTF-8，从第 10 字节起不是 UTF-8；请统一保存为 UTF-8 或 GBK 后重新上传"),
        (UNDECODABLE, "无法确定文件编码：第 7 字节处既不是 UTF-8 也不是 GBK/GB18030"),
        ("名称\n".encode("gbk") + b"\x80\n", "无法确定文件编码：第 6 字节处既不是 UTF-8 也不是 GBK/GB18030"),
        ("名称\n".encode("gbk") + b"\xd6", "无法确定文件编码：第 6 字节处既不是 UTF-8 也不是 GBK/GB18030"),
        (b"a,b\n1,\x002\n", "文件第 7 字节处含有空字符（NUL），不是文本表格"),
        ("名称,数量\n甲,\x00\n".encode("gbk"), "文件第 14 字节处含有空字符（NUL），不是文本表格"),
        ("a,b\n".encode("utf-16-le"), "文件第 2 字节处含有空字符（NUL），不是文本表格"),
        ("a,b\n".encode("utf-16"), "文件为 UTF-16 编码（如 Excel 的“Unicode 文本”），请另存为 UTF-8 或 GBK 编码的 CSV 后重新上传"),
    ],
    ids=["utf8-then-gbk", "bom-then-gbk", "undecodable", "gbk-then-0x80", "gbk-cut-short", "nul", "gbk-nul", "utf16",
         "utf16-bom"],
)
def test_undecodable_text_is_refused_with_its_offset(tmp_path: Path, data: bytes, message: str, chunk_size: int) -> None:
    assert refusal(upload(tmp_path, data), "表.csv", chunk_size=chunk_size) == message


# --- delimiters, rows ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, text, delimiter, notes, expected, counts",
    [
        ("a.csv", "名称;数量\n甲;1\n乙;2\n", ";", ("分隔符为分号",), "名称,数量\r\n甲,1\r\n乙,2\r\n", (2, 2)),
        ("a.csv", "名称\t数量\n甲\t1\n", "\t", ("分隔符为制表符",), "名称,数量\r\n甲,1\r\n", (1, 2)),
        ("a.csv", "名称|数量|单位\n甲|1|个\n乙|2|个\n", "|", ("分隔符为竖线（|）",),
         "名称,数量,单位\r\n甲,1,个\r\n乙,2,个\r\n", (2, 3)),
        ("a.tsv", "名称\t金额\n甲\t1,5\n乙\t2;5\n", "\t", (), "名称,金额\r\n甲,\"1,5\"\r\n乙,2;5\r\n", (2, 2)),
        # semicolons outside, commas and newlines inside quotes
        ("a.csv", '金额;说明\n"1,5";"甲,乙"\n"2,5";"第一行\r\n第二行"\n', ";", ("分隔符为分号",),
         '金额,说明\r\n"1,5","甲,乙"\r\n"2,5","第一行\r\n第二行"\r\n', (2, 2)),
        # commas outside, semicolons, pipes, tabs and newlines inside quotes
        ("a.csv", '名称,备注\n"甲;乙;丙","第一行\n第二行"\n"丁|戊","x\ty"\n', ",", (),
         '名称,备注\r\n甲;乙;丙,"第一行\n第二行"\r\n丁|戊,x\ty\r\n', (2, 2)),
        ("a.csv", "数量\n1\n2\n", ",", (), "数量\r\n1\r\n2\r\n", (2, 1)),
        # ragged and blank rows are kept for the validator to report
        ("a.csv", "a,b,c\n1,2\n\n3,4,5,6\n,,\n", ",", (), "a,b,c\r\n1,2\r\n\r\n3,4,5,6\r\n,,\r\n", (4, 3)),
        ("a.csv", "\n名称,数量\r\n甲,1\r\n", ",", (), "\r\n名称,数量\r\n甲,1\r\n", (1, 2)),
        ("a.csv", "名称,名称\n甲,乙\n", ",", (), "名称,名称\r\n甲,乙\r\n", (1, 2)),  # duplicates: the validator's
    ],
    ids=["semicolon", "tab", "pipe", "tsv", "quoted-commas", "quoted-others", "one-column", "ragged-blank",
         "leading-blank", "duplicate-header"],
)
def test_delimited_text_is_normalised(
    tmp_path: Path, name: str, text: str, delimiter: str, notes: tuple[str, ...], expected: str,
    counts: tuple[int, int],
) -> None:
    path = upload(tmp_path, text.encode())
    inspected = inspect_upload(path, name=name)
    assert (inspected.delimiter, inspected.notes) == (delimiter, notes)
    assert normalised(path, inspected) == (expected.encode(), counts)


def test_gbk_normalises_to_the_same_bytes_as_utf8(tmp_path: Path) -> None:
    results = []
    for number, data in enumerate((ROWS.encode("gbk"), ROWS.encode(), b"\xef\xbb\xbf" + ROWS.encode())):
        (tmp_path / str(number)).mkdir()
        path = upload(tmp_path / str(number), data)
        results.append(normalised(path, inspect_upload(path, name="表.csv", chunk_size=3)))
    assert results == [(NORMALISED, (2, 3))] * 3


def test_the_delimiter_is_guessed_from_the_start_only(tmp_path: Path) -> None:
    text = "名称;数量\n" + "甲;1\n" * 20_000 + "乙,丙;2\n"  # a comma far past the sample does not matter
    path = upload(tmp_path, text.encode())
    inspected = inspect_upload(path, name="a.csv")
    assert inspected.delimiter == ";"
    assert normalised(path, inspected)[1] == (20_001, 2)


def test_unreadable_csv_is_refused_with_its_line(tmp_path: Path) -> None:
    path = upload(tmp_path, b'a,b\n1,2\n"3,' + b"x" * 200_000 + b"\n4,5\n")  # a quote never closed
    inspected = inspect_upload(path, name="a.csv")  # reads only as far as the first data row
    with pytest.raises(Invalid) as caught:
        normalise_table(path, inspected, io.BytesIO())
    assert caught.value.errors == {"file": "第 3 行附近无法按 CSV 读取（字段过长或引号不配对）"}
    path.write_bytes(b'a,b\n"1,' + b"x" * 200_000 + b"\n4,5\n")
    assert refusal(path, "a.csv") == "第 2 行附近无法按 CSV 读取（字段过长或引号不配对）"


# --- refusals by type, magic bytes and content ---------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20)
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("空.csv", b"", "文件为空"),
        ("a.csv", b"\n\n \n", "表格中没有任何数据"),
        ("a.csv", "名称,数量\n".encode(), "文件只有表头，没有数据行"),
        ("a.csv", "名称,数量\r\n\r\n\r\n,\r\n".encode("gbk"), "文件只有表头，没有数据行"),
        ("a.tsv", "名称\t数量".encode(), "文件只有表头，没有数据行"),
        ("a.csv", b"\xef\xbb\xbf \r\n<!DOCTYPE html>\n<html><body>404</body></html>",
         "该文件是网页（HTML），不是 CSV 表格；请上传导出的数据文件"),
        ("a.json", b"<HTML><HEAD><TITLE>login</TITLE></HEAD></HTML>",
         "该文件是网页（HTML），不是 JSON 数据；请上传导出的数据文件"),
        ("a.txt", b"<body>\n</body>", "该文件是网页（HTML），不是 文本文件；请上传导出的数据文件"),
        ("a.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "文件内容与扩展名不符：扩展名为 .xlsx，内容不是 Excel 工作簿"),
        ("a.xlsx", OLE2, "文件内容与扩展名不符：扩展名为 .xlsx，内容不是 Excel 工作簿（可能设置了打开密码，或是旧版 .xls 文件）"),
        ("a.csv", PNG, "文件内容与扩展名不符：扩展名为 .csv，内容却是二进制文件（PNG 图片），不是文本"),
        ("a.json", b"\x1f\x8b\x08\x00", "文件内容与扩展名不符：扩展名为 .json，内容却是二进制文件（gzip 压缩文件），不是文本"),
        ("a.csv", b"MZ\x90\x00\x03\x00", "文件内容与扩展名不符：扩展名为 .csv，内容却是二进制文件（Windows 程序），不是文本"),
        ("a.xls", b"a,b\n1,2\n", "文件内容与扩展名不符：扩展名为 .xls，内容不是 Excel 97-2003 工作簿"),
        ("a.pdf", b"<html></html>", "文件内容与扩展名不符：扩展名为 .pdf，内容不是 PDF 文件"),
        ("a.jpg", PNG, "文件内容与扩展名不符：扩展名为 .jpg，内容不是 JPEG 图片"),
        ("a.xls", OLE2, "文件不完整或已损坏，请重新上传"),
        ("setup.exe", b"MZ\x90\x00", "不支持的文件类型：.exe"),
        ("page.HTML", b"<html></html>", "不支持的文件类型：.html"),
        ("run.sh", b"#!/bin/sh\n", "不支持的文件类型：.sh"),
        ("app.js", b"alert(1)", "不支持的文件类型：.js"),
        ("README", b"text", "不支持的文件类型：（文件名没有扩展名）"),
        ("a.json", b'[{"a": 1},\n {"a": 2,}]', "JSON 格式错误：第 2 行第 10 列附近"),
        ("a.json", b"[" * 100_000 + b"]" * 100_000, "JSON 嵌套过深或数值过长，无法读取"),
        ("a.json", b'[["a", "b"]]', "文件只有表头，没有数据行"),
    ],
)
def test_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    assert refusal(upload(tmp_path, data), name) == message


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("图.png", PNG, Inspected("png", False, None, None)),
        ("照片.JPEG", b"\xff\xd8\xff\xe0\x00\x10JFIF", Inspected("jpg", False, None, None)),
        ("动图.gif", b"GIF89a\x01\x00\x01\x00", Inspected("gif", False, None, None)),
        ("报告.pdf", b"%PDF-1.4\n1 0 obj\n", Inspected("pdf", False, None, None)),
        ("旧文档.doc", OLE2, Inspected("doc", False, None, None)),
        ("说明.txt", "说明文字\n".encode("gbk"), Inspected("txt", False, "gb18030", None, ("文件为 GBK/GB18030 编码",))),
        ("边界.geojson", b'{"type": "FeatureCollection", "features": []}', Inspected("geojson", False, "utf-8", None)),
        ("a.xml", "<?xml version='1.0'?><header>表头</header>".encode(), Inspected("xml", False, "utf-8", None)),
        ("a.json", b'{"a": [1, 2]}',
         Inspected("json", False, "utf-8", None, ("JSON 顶层不是对象数组或二维数组，按非表格文件保存",))),
        ("a.json", b"[1, 2]", Inspected("json", False, "utf-8", None, ("JSON 顶层不是对象数组或二维数组，按非表格文件保存",))),
        ("a.json", b"[]", Inspected("json", False, "utf-8", None, ("JSON 顶层不是对象数组或二维数组，按非表格文件保存",))),
        ("a.json", '[{"名称": "甲"}]'.encode("gbk"), Inspected("json", True, "gb18030", None, (GBK_NOTE,))),
    ],
)
def test_accepted_as(tmp_path: Path, name: str, data: bytes, expected: Inspected) -> None:
    assert inspect_upload(upload(tmp_path, data), name=name) == expected


def test_json_over_the_limit_is_stored_as_non_tabular(tmp_path: Path) -> None:
    path = upload(tmp_path, b'[{"a": 1}, {"a": 2}]')
    inspected = inspect_upload(path, name="a.json", limits=Limits(max_json_bytes=10))
    assert inspected == Inspected("json", False, "utf-8", None, ("JSON 文件过大，按非表格文件保存",))
    with pytest.raises(Invalid):
        normalise_table(path, inspected, io.BytesIO())


@pytest.mark.parametrize(
    "data, expected, counts",
    [
        (
            [{"编号": 1, "名称": "甲", "标签": ["a", "b"], "属性": {"k": None}},
             {"编号": 2, "空": None, "是否": True, "比例": 0.5, "名称": "乙,丙"}],
            '编号,名称,标签,属性,空,是否,比例\r\n1,甲,"[""a"",""b""]","{""k"":null}",,,\r\n2,"乙,丙",,,,true,0.5\r\n',
            (2, 7),
        ),
        ([["a", "b"], [1, None], [False, 1.5e20], [12.0]], "a,b\r\n1,\r\nfalse,1.5E+20\r\n12\r\n", (3, 2)),
    ],
    ids=["objects", "arrays"],
)
def test_json_tables(tmp_path: Path, data: object, expected: str, counts: tuple[int, int]) -> None:
    path = upload(tmp_path, json.dumps(data, ensure_ascii=False).encode())
    inspected = inspect_upload(path, name="a.json")
    assert inspected == Inspected("json", True, "utf-8", None)
    assert normalised(path, inspected) == (expected.encode(), counts)


# --- ZIP containers -------------------------------------------------------------------------

def build_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


BOMB = "压缩文件解压后过大或压缩比异常（疑似压缩炸弹），已拒绝"
DOCX = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}


def test_zero_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.bin", "w") as member:
        for _ in range(50):
            member.write(bytes(1 << 20))
    assert path.stat().st_size < 1 << 20
    assert refusal(path, "地图.zip") == BOMB


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "many.zip", {f"{n}.txt": b"" for n in range(20_000)}, zipfile.ZIP_STORED)
    assert refusal(path, "地图.zip") == BOMB


@pytest.mark.parametrize(
    "members, limits",
    [
        ({"../evil.txt": b"x"}, Limits()),
        ({"a/../../evil.txt": b"x"}, Limits()),
        ({"/etc/cron.d/evil": b"x"}, Limits()),
        ({"C:/evil.txt": b"x"}, Limits()),
        ({f"{n}.shp": os.urandom(600) for n in range(2)}, Limits(max_unpacked_bytes=1000)),
        ({f"{n}.shp": b"" for n in range(11)}, Limits(max_entries=10)),
        ({"a.txt": b"a" * 10_000}, Limits(max_ratio=10)),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "unpacked", "entries", "ratio"],
)
def test_unsafe_zip_is_refused(tmp_path: Path, members: dict[str, bytes], limits: Limits) -> None:
    assert refusal(build_zip(tmp_path / "a.zip", members), "地图.zip", limits=limits) == BOMB


def test_zip_and_docx_are_accepted(tmp_path: Path) -> None:
    shapes = build_zip(tmp_path / "a.zip", {"边界.shp": os.urandom(300), "边界.dbf": b"x" * 50})
    assert inspect_upload(shapes, name="边界.ZIP") == Inspected("zip", False, None, None)
    document = build_zip(tmp_path / "b.docx", DOCX)
    assert inspect_upload(document, name="说明.docx") == Inspected("docx", False, None, None)
    assert refusal(shapes, name="说明.docx") == "文件内容与扩展名不符：扩展名为 .docx，内容不是 Word 文档"
    assert refusal(document, name="表.xlsx") == "文件内容与扩展名不符：扩展名为 .xlsx，内容不是 Excel 工作簿"


# --- XLSX -----------------------------------------------------------------------------------

def build_xlsx(path: Path, rewrite: Callable[[str, bytes], bytes] = lambda _name, data: data) -> Path:
    """A workbook with every kind of value, a second sheet and a styled empty cell far away (which
    makes openpyxl report 30 rows and 12 columns); `rewrite` may change any member on the way."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "数据"
    sheet.append(["编号", "名称", "数量", "单价", "身份证号", "日期", "时间", "合计", "是否"])
    sheet.append([1, "中文名称", 12, 3.5, 110101199003071234.0, date(2024, 1, 5), datetime(2024, 1, 5, 8, 30),
                  "=C2*D2", True])
    sheet.append([2, "含,逗号", 12.0, 0.1, None, date(2024, 12, 31), datetime(2024, 12, 31, 23, 59, 59),
                  "=C3*D3", False])
    sheet["L30"].font = Font(bold=True)
    book.create_sheet("说明")["A1"] = "本表由经开区统计局提供"
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member.filename, rewrite(member.filename, source.read(member)))
    return path


def with_cached_total(name: str, data: bytes) -> bytes:
    """What Excel saves and openpyxl does not: the formula's last computed value (in H2 only)."""
    if name == "xl/worksheets/sheet1.xml":
        assert b"<f>C2*D2</f><v />" in data
        return data.replace(b"<f>C2*D2</f><v />", b"<f>C2*D2</f><v>42</v>")
    return data


def test_xlsx_round_trip(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "a.xlsx", with_cached_total)
    inspected = inspect_upload(path, name="统计.xlsx")
    assert inspected == Inspected("xlsx", True, None, None, ("工作簿有 2 个工作表，只读取了第一个：数据",))
    assert normalised(path, inspected) == (
        "编号,名称,数量,单价,身份证号,日期,时间,合计,是否\r\n"
        "1,中文名称,12,3.5,1.10101199003071E+17,2024-01-05,2024-01-05T08:30:00,42,true\r\n"
        '2,"含,逗号",12,0.1,,2024-12-31,2024-12-31T23:59:59,,false\r\n'.encode(),
        (2, 9),
    )


ENTITIES = b'<?xml version="1.0"?>\n<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'


@pytest.mark.parametrize(
    "member, prefix",
    [
        ("xl/worksheets/sheet1.xml", ENTITIES),
        ("xl/_rels/workbook.xml.rels", ENTITIES),
        ("xl/workbook.xml", ENTITIES.decode().encode("utf-16")),
        # past the bytes searched: defusedxml, under openpyxl, refuses it
        ("xl/worksheets/sheet1.xml",
         b'<?xml version="1.0"?>\n<!-- ' + os.urandom(40_000).hex().encode() + b" -->\n" + ENTITIES.split(b"\n")[1]),
    ],
    ids=["sheet", "rels", "utf16", "far"],
)
def test_xlsx_with_xml_entities_is_refused(tmp_path: Path, member: str, prefix: bytes) -> None:
    def add_entities(name: str, data: bytes) -> bytes:
        if name != member:
            return data
        return prefix + (data.decode().encode("utf-16")[2:] if prefix.startswith(b"\xff\xfe") else data)

    path = build_xlsx(tmp_path / "a.xlsx", add_entities)
    assert refusal(path, "统计.xlsx") == "工作簿中含有不允许的 XML 实体声明，已拒绝"


def test_truncated_xlsx_is_refused(tmp_path: Path) -> None:
    whole = build_xlsx(tmp_path / "whole.xlsx").read_bytes()
    path = upload(tmp_path, whole[: len(whole) // 2])
    assert refusal(path, "统计.xlsx") == "文件不完整或已损坏，请重新上传"


def test_xlsx_whose_sheet_is_not_xml_is_refused(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "a.xlsx", lambda name, data: b"<worksheet><sheetData><row" if "sheet1" in name else data)
    assert refusal(path, "统计.xlsx") == "文件不完整或已损坏，请重新上传"


def test_xlsx_with_only_a_header_is_refused(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名称", "数量"])
    sheet["C9"].font = Font(bold=True)
    book.save(tmp_path / "a.xlsx")
    assert refusal(tmp_path / "a.xlsx", "a.xlsx") == "文件只有表头，没有数据行"


# --- XLS: a minimal BIFF8 workbook in an OLE2 compound file (xlwt is not installed) ---------

def biff_record(code: int, data: bytes) -> bytes:
    return struct.pack("<HH", code, len(data)) + data


def biff_string(text: str, length_format: str) -> bytes:
    return struct.pack(length_format, len(text)) + b"\x01" + text.encode("utf-16-le")


def biff_cell(row: int, column: int, value: object) -> bytes:
    if isinstance(value, str):
        return biff_record(0x0204, struct.pack("<HHH", row, column, 0) + biff_string(value, "<H"))  # LABEL
    if isinstance(value, bool):
        return biff_record(0x0205, struct.pack("<HHHBB", row, column, 0, value, 0))  # BOOLERR
    if isinstance(value, datetime | date):
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        serial = (moment - datetime(1899, 12, 30)).total_seconds() / 86400
        return biff_record(0x0203, struct.pack("<HHHd", row, column, 2 if moment.hour else 1, serial))
    assert isinstance(value, int | float)
    return biff_record(0x0203, struct.pack("<HHHd", row, column, 0, value))  # NUMBER


def build_xls(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    def bof(kind: int) -> bytes:  # BIFF8, of a workbook (5) or a worksheet (0x10)
        return biff_record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    eof = biff_record(0x000A, b"")
    xfs = b"".join(biff_record(0x00E0, struct.pack("<HHHBBBBIiH", 0, fmt, 0, 0x20, 0, 0, 0, 0, 0, 0x20C0))
                   for fmt in (0, 14, 22))  # general, date, date and time
    streams = [bof(0x10) + b"".join(biff_cell(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row)
                                    if v is not None) + eof for rows in sheets.values()]
    head = bof(0x05) + biff_record(0x0042, struct.pack("<H", 1200)) + biff_record(0x0022, b"\x00\x00") + xfs
    globals_size = len(head) + sum(4 + 6 + len(biff_string(n, "<B")) for n in sheets) + len(eof)
    offsets = [globals_size + sum(len(s) for s in streams[:i]) for i in range(len(streams))]
    sheet_records = b"".join(biff_record(0x0085, struct.pack("<IBB", o, 0, 0) + biff_string(n, "<B"))
                             for o, n in zip(offsets, sheets))
    workbook = (head + sheet_records + eof + b"".join(streams)).ljust(4096, b"\x00")
    workbook += bytes(-len(workbook) % 512)
    count = len(workbook) // 512  # sector 0: FAT; 1..count: Workbook stream; count + 1: directory
    end, free, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    fat = [0xFFFFFFFD, *range(2, count + 1), end, end]
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", OLE2[:8], b"", 0x3E, 3, 0xFFFE, 9, 6, b"",
                         0, 1, count + 1, 0, 4096, end, 0, end, 0) + struct.pack("<109I", 0, *[free] * 108)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return struct.pack("<64sHBBIII16sIQQIII", encoded, len(encoded), kind, 1, no_stream, no_stream, child,
                           b"", 0, 0, 0, start, size, 0)

    directory = (entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, no_stream, 1, len(workbook))
                 + entry("", 0, no_stream, free, 0) * 2)
    fat_sector = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", free) * (128 - len(fat))
    path.write_bytes(header + fat_sector + workbook + directory)
    return path


def test_xls_round_trip(tmp_path: Path) -> None:
    path = build_xls(tmp_path / "a.xls", {
        "数据": [["编号", "名称", "数量", "身份证号", "日期", "时间", "时刻", "是否"],
               [1, "中文名称", 12.0, 110101199003071234.0, date(2024, 1, 5), datetime(2024, 1, 5, 8, 30),
                datetime(1899, 12, 30, 8, 30), True],
               [2, "含,逗号", 0.1, None, date(2024, 12, 31), datetime(2024, 12, 31, 23, 59, 59), None, False],
               [None] * 8],
        "说明": [["本表由经开区统计局提供"]],
    })
    inspected = inspect_upload(path, name="统计.XLS")
    assert inspected == Inspected("xls", True, None, None, ("工作簿有 2 个工作表，只读取了第一个：数据",))
    assert normalised(path, inspected) == (
        "编号,名称,数量,身份证号,日期,时间,时刻,是否\r\n"
        "1,中文名称,12,1.10101199003071E+17,2024-01-05,2024-01-05T08:30:00,08:30:00,true\r\n"
        '2,"含,逗号",0.1,,2024-12-31,2024-12-31T23:59:59,,false\r\n'.encode(),
        (2, 8),
    )


def test_xls_with_only_a_header_is_refused(tmp_path: Path) -> None:
    path = build_xls(tmp_path / "a.xls", {"数据": [["名称", "数量"]]})
    assert refusal(path, "a.xls") == "文件只有表头，没有数据行"


def test_non_tabular_file_is_not_normalised(tmp_path: Path) -> None:
    path = upload(tmp_path, b"text\n")
    with pytest.raises(Invalid) as caught:
        normalise_table(path, inspect_upload(path, name="a.txt"), io.BytesIO())
    assert caught.value.errors == {"file": "该文件不是表格，不能转换为 CSV"}
