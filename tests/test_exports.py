"""Download formats written from a normalised table, build_file's atomic replace, and ZIPs."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet import _writer as openpyxl_writer

from portal.exports import FORMATS, build_file, excel_sheet_title, neutralise, write_table, write_zip

CHINESE = [["区县", "企业名称", "注册资本（万元）"], ["经开区", "合肥某某科技有限公司", "1200.5"], ["蜀山区", "安徽“示例”集团", "-30"]]


def _table(tmp_path: Path, rows: list[list[str]] | str, name: str = "table.csv") -> Path:
    """A normalised table: UTF-8 without BOM, comma, CRLF, minimal quoting (or the raw text given)."""
    path = tmp_path / name
    if isinstance(rows, str):
        path.write_bytes(rows.encode("utf-8"))
    else:
        with open(path, "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
    return path


def _export(fmt: str, src: Path, tmp_path: Path, **kwargs: Any) -> tuple[int, Path]:
    dst = tmp_path / f"out-{fmt}{FORMATS[fmt].extension}"
    with open(dst, "wb") as out:
        rows = write_table(fmt, src, out, **kwargs)
    return rows, dst


def _read_back(fmt: str, path: Path) -> list[list[Any]]:
    """Header and rows of an exported file, read with the ordinary library for its format."""
    if fmt in ("csv", "excel-csv"):
        with open(path, encoding="utf-8-sig", newline="") as text:
            return list(csv.reader(text))
    if fmt == "json":
        with open(path, encoding="utf-8") as text:
            records = json.load(text)
        header = list(records[0]) if records else []
        return [header] + [list(record.values()) for record in records]
    workbook = openpyxl.load_workbook(path)
    return [[cell.value for cell in row] for row in workbook.worksheets[0].iter_rows()]


def test_formats_are_ordered_with_labels_and_types() -> None:
    assert list(FORMATS) == ["csv", "excel-csv", "json", "xlsx"]
    assert [f.extension for f in FORMATS.values()] == [".csv", ".csv", ".json", ".xlsx"]
    assert FORMATS["excel-csv"].label == "CSV（Excel 兼容，带 BOM）"
    assert FORMATS["xlsx"].mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert all(key == f.key for key, f in FORMATS.items())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_chinese_text_round_trips(fmt: str, tmp_path: Path) -> None:
    rows, dst = _export(fmt, _table(tmp_path, CHINESE), tmp_path)
    assert rows == 2
    assert _read_back(fmt, dst) == CHINESE


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_quoted_newlines_and_ragged_rows(fmt: str, tmp_path: Path) -> None:
    src = _table(tmp_path, 'a,b,c\r\n"第一行\n第二行","x\r\ny",z\r\nshort\r\n1,2,3,extra,more\r\n\r\n')
    rows, dst = _export(fmt, src, tmp_path)
    assert rows == 3
    empty = "" if fmt in ("csv", "excel-csv") else None
    crlf = "\n" if fmt == "xlsx" else "\r\n"  # XML keeps no CR: XLSX line breaks are LF, as in Excel
    expected = [["a", "b", "c"], ["第一行\n第二行", f"x{crlf}y", "z"], ["short", empty, empty], ["1", "2", "3"]]
    assert _read_back(fmt, dst) == expected


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hidden_columns_are_removed(fmt: str, tmp_path: Path) -> None:
    src = _table(tmp_path, [["名称", "身份证号", "电话", "地址"], ["甲", "340100", "138", "合肥"], ["乙"]])
    rows, dst = _export(fmt, src, tmp_path, hidden={"身份证号", "电话", "不存在的列"})
    assert rows == 2
    empty = "" if fmt in ("csv", "excel-csv") else None
    assert _read_back(fmt, dst) == [["名称", "地址"], ["甲", "合肥"], ["乙", empty]]
    assert b"340100" not in dst.read_bytes() or fmt == "xlsx"  # xlsx is deflated: checked by reading back


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+86 138", "'+86 138"),
        ("-", "'-"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-4.4", "-4.4"),
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("-.5", "-.5"),
        ("普通", "普通"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_excel_csv_neutralises_formula_cells(cell: str, expected: str, tmp_path: Path) -> None:
    assert neutralise(cell) == expected
    src = _table(tmp_path, [[cell, "列"], [cell, "值"]])
    _export("excel-csv", src, tmp_path)
    _, plain = _export("csv", src, tmp_path)
    assert _read_back("excel-csv", tmp_path / "out-excel-csv.csv") == [[expected, "列"], [expected, "值"]]
    assert _read_back("csv", plain) == [[cell, "列"], [cell, "值"]]


@pytest.mark.parametrize(("fmt", "bom"), [("csv", False), ("excel-csv", True), ("json", False)])
def test_bom_only_in_excel_csv(fmt: str, bom: bool, tmp_path: Path) -> None:
    _, dst = _export(fmt, _table(tmp_path, CHINESE), tmp_path)
    data = dst.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") is bom
    assert data.count(b"\xef\xbb\xbf") == int(bom)


def test_csv_is_crlf_with_minimal_quoting(tmp_path: Path) -> None:
    _, dst = _export("csv", _table(tmp_path, 'a,b\n1,"x,y"\n"2",plain\n'), tmp_path)
    assert dst.read_bytes() == b'a,b\r\n1,"x,y"\r\n2,plain\r\n'


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("integer", "42", 42),
        ("integer", "-7", -7),
        ("integer", " 8 ", 8),
        ("integer", "4.5", "4.5"),
        ("integer", "一百", "一百"),
        ("integer", "", None),
        ("integer", "9" * 5000, "9" * 5000),
        ("number", "-9" + "9" * 5000, "-9" + "9" * 5000),
        ("number", "3", 3),
        ("number", "-4.25", -4.25),
        ("number", "1e3", 1000.0),
        ("number", "1e999", "1e999"),
        ("number", "NaN", "NaN"),
        ("number", "Infinity", "Infinity"),
        ("number", "1,000", "1,000"),
        ("number", "", None),
        ("boolean", "true", True),
        ("boolean", "TRUE", True),
        ("boolean", "1", True),
        ("boolean", "是", True),
        ("boolean", "False", False),
        ("boolean", "0", False),
        ("boolean", "否", False),
        ("boolean", "yes", "yes"),
        ("boolean", "", None),
        ("string", "007", "007"),
        ("date", "2024-01-01", "2024-01-01"),
        ("string", "", None),
    ],
)
def test_json_and_xlsx_type_cells(kind: str, text: str, expected: Any, tmp_path: Path) -> None:
    src = _table(tmp_path, [["值", "说明"], [text, "x"]])
    _, dst = _export("json", src, tmp_path, types={"值": kind, "说明": "string"})
    assert json.loads(dst.read_text("utf-8")) == [{"值": expected, "说明": "x"}]
    assert "NaN" not in dst.read_text("utf-8").replace('"NaN"', "")
    _, book = _export("xlsx", src, tmp_path, types={"值": kind})
    value = _read_back("xlsx", book)[1][0]
    assert value == expected and isinstance(value, str) == isinstance(expected, str)  # 1000.0 reads back as 1000


def test_json_is_an_array_in_header_order(tmp_path: Path) -> None:
    _, dst = _export("json", _table(tmp_path, [["z", "a", "m"], ["1", "2", "3"]]), tmp_path)
    assert list(json.loads(dst.read_bytes())[0]) == ["z", "a", "m"]
    _, empty = _export("json", _table(tmp_path, [["z", "a"]]), tmp_path)
    assert json.loads(empty.read_bytes()) == []


def test_xlsx_never_writes_formulas_and_drops_illegal_characters(tmp_path: Path) -> None:
    src = _table(tmp_path, [["=公式", "b", "c", "d"], ["=1+1", "#N/A", "a\x01b\x1fc\x0b", "1234567890123456789"]])
    rows, dst = _export("xlsx", src, tmp_path, types={"d": "integer"}, sheet_title="2024:企业[名录]")
    assert rows == 1
    sheet = openpyxl.load_workbook(dst).worksheets[0]
    assert sheet.title == "2024_企业_名录_"
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    assert [c.value for c in cells[1]] == ["=1+1", "#N/A", "abc", "1234567890123456789"]
    assert all(c.data_type == "s" for row in cells for c in row)
    with zipfile.ZipFile(dst) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml and b"=1+1" in xml


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("数据", "数据"),
        ("a/b\\c?d*e[f]g:h", "a_b_c_d_e_f_g_h"),
        ("很" * 40, "很" * 31),
        ("'引号'", "引号"),
        ("", "数据"),
        ("''", "数据"),
        ("History", "History_"),
    ],
)
def test_sheet_titles_are_made_valid_for_excel(title: str, expected: str, tmp_path: Path) -> None:
    assert excel_sheet_title(title) == expected
    _, dst = _export("xlsx", _table(tmp_path, [["a"], ["1"]]), tmp_path, sheet_title=title)
    assert openpyxl.load_workbook(dst).sheetnames == [expected]


def test_xlsx_leaves_no_openpyxl_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl write_only streams through a temporary file; it goes after success and failure."""
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where NamedTemporaryFile puts files
    before = list(openpyxl_writer.ALL_TEMP_FILES)
    good = _table(tmp_path, [["a", "b"]] + [[str(i), "行"] for i in range(50)])
    assert _export("xlsx", good, tmp_path)[0] == 50
    assert list(scratch.iterdir()) == []
    broken = tmp_path / "broken.csv"  # invalid UTF-8 far enough in that rows were already written
    broken.write_bytes("a,b\r\n".encode() + "1,数据\r\n".encode() * 5000 + b"2,\xff\xfe\r\n")
    with pytest.raises(UnicodeDecodeError):
        _export("xlsx", broken, tmp_path)
    with pytest.raises(ValueError, match="columns"):
        _export("xlsx", _table(tmp_path, [[f"c{i}" for i in range(16_385)]]), tmp_path)
    assert list(scratch.iterdir()) == []
    assert openpyxl_writer.ALL_TEMP_FILES == before


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_header_only_and_empty_tables(fmt: str, tmp_path: Path) -> None:
    rows, dst = _export(fmt, _table(tmp_path, [["名称", "值"]]), tmp_path)
    assert rows == 0
    assert _read_back(fmt, dst) == ([[]] if fmt == "json" else [["名称", "值"]])  # JSON: [] has no header
    assert _export(fmt, _table(tmp_path, "", "empty.csv"), tmp_path)[0] == 0


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown"):
        write_table("pdf", _table(tmp_path, CHINESE), io.BytesIO())


def test_build_file_replaces_atomically(tmp_path: Path) -> None:
    src = _table(tmp_path, CHINESE)
    dst = tmp_path / "out" / "企业.json"
    dst.parent.mkdir()
    dst.write_text("old", "utf-8")
    assert build_file("json", src, dst, hidden={"区县"}) == 2
    assert json.loads(dst.read_bytes())[0] == {"企业名称": "合肥某某科技有限公司", "注册资本（万元）": "1200.5"}
    assert [p.name for p in dst.parent.iterdir()] == ["企业.json"]


@pytest.mark.parametrize("fmt", ["pdf", "csv", "json", "xlsx"])
def test_build_file_leaves_no_temporary_when_the_writer_fails(fmt: str, tmp_path: Path) -> None:
    src = tmp_path / "src" / "broken.csv"
    src.parent.mkdir()
    src.write_bytes(b"a,b\r\n" + b"1,2\r\n" * 5000 + b"\xff\r\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError):  # unknown format, or UnicodeDecodeError (a ValueError) mid-way
        build_file(fmt, src, out / "new.csv")
    assert list(out.iterdir()) == []
    (out / "kept.csv").write_bytes(b"previous")
    with pytest.raises(ValueError):
        build_file(fmt, src, out / "kept.csv")
    assert [p.name for p in out.iterdir()] == ["kept.csv"]
    assert (out / "kept.csv").read_bytes() == b"previous"


def _zip_members(tmp_path: Path) -> list[tuple[str, Path | bytes]]:
    data = tmp_path / "data.csv"
    data.write_bytes("名称,值\r\n".encode() + "企业,1\r\n".encode() * 1000)
    return [("数据/企业名录.csv", data), ("说明.txt", "元数据说明".encode()), ("datapackage.json", b"{}")]


def test_zip_is_deterministic_and_reads_back(tmp_path: Path) -> None:
    members = _zip_members(tmp_path)
    first, second = io.BytesIO(), io.BytesIO()
    write_zip(first, members)
    os.utime(tmp_path / "data.csv", (1_000_000_000, 1_000_000_000))  # the file's own time is ignored
    with open(tmp_path / "again.zip", "wb") as out:
        write_zip(out, members)
    write_zip(second, members)
    assert first.getvalue() == second.getvalue() == (tmp_path / "again.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "again.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["数据/企业名录.csv", "说明.txt", "datapackage.json"]
        assert archive.read("数据/企业名录.csv") == (tmp_path / "data.csv").read_bytes()
        assert archive.read("说明.txt").decode() == "元数据说明"
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.external_attr >> 16 == 0o100644
            assert info.flag_bits & 0x800 or info.filename.isascii()  # UTF-8 name flag
    assert "数据/企业名录.csv".encode() in first.getvalue()


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../up.csv", "a/../../b", "说明.txt"])
def test_zip_refuses_bad_or_duplicate_names(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_zip(io.BytesIO(), [("说明.txt", b"x"), (name, b"y")])


@pytest.fixture(scope="module")
def big_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~30 MB normalised table with Chinese text, quoted newlines and numbers."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    note = "合肥经济技术开发区企业信息公开说明，" * 8
    block = "".join(f'{i},企业名称{i},"{note}\n第二行",{i * 1.5},-{i},=A{i}\r\n' for i in range(1000)).encode()
    with open(path, "wb") as out:
        out.write("编号,名称,备注,金额,差额,公式\r\n".encode())
        while out.tell() < 30 << 20:
            out.write(block)
    return path


@pytest.mark.parametrize("fmt", ["csv", "excel-csv", "json", "zip"])
def test_memory_stays_flat_for_a_large_table(fmt: str, big_table: Path, tmp_path: Path) -> None:
    dst = tmp_path / f"big.{fmt}"
    tracemalloc.start()
    try:
        with open(dst, "wb") as out:
            if fmt == "zip":
                write_zip(out, [("大表.csv", big_table)])
            else:
                write_table(fmt, big_table, out, types={"编号": "integer", "金额": "number"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dst.stat().st_size > (1 << 20)
    assert peak < 10 << 20, f"peak {peak / (1 << 20):.1f} MB"
