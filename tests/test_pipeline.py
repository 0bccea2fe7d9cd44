"""The upload pipeline end to end on a real database and store: describe, validate, scan, keep,
revisions, masking and the release gate; bad input refused with nothing half-stored."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import open_review
from portal.catalog import create_entry, publish_entry, update_entry
from portal.codes import id_check_char
from portal.errors import Invalid
from portal.files import FileStore, TooLarge
from portal.intake import Limits
from portal.models import Entry, EntryFile
from portal.pipeline import ingest, mask_file
from portal.release import file_problems, release_problems
from portal.resources import clear_file, revisions
from portal.vocab import DataType, EntryStatus, OpenType, ShareType

from .support import NOW, World, entry_fields

GOOD = "station,aqi\r\n明珠广场,64\r\n管委会,80\r\n"


def _id(prefix17: str) -> str:
    return prefix17 + id_check_char(prefix17)


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def draft(session: Session, world: World) -> Entry:
    entry = create_entry(session, department=world.dept_a, fields=entry_fields(), actor=None, now=NOW)
    open_review.record_imported(session, entry, conclusion="开放属性已审查", actor_name="测试", now=NOW)  # open before its data arrives
    session.commit()
    return entry


def _ingest(session: Session, store: FileStore, entry: Entry, data: bytes | str, name: str = "data.csv", **kwargs: object) -> EntryFile:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    record = ingest(session, store, entry, source=io.BytesIO(raw), name=name, actor=None, now=NOW, **kwargs)  # type: ignore[arg-type]
    session.commit()
    return record


def _kept(store: FileStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file() and "tmp" not in p.parts and "derived" not in p.parts]


def test_a_valid_csv_is_described_by_the_data_items(session: Session, store: FileStore, draft: Entry) -> None:
    record = _ingest(session, store, draft, GOOD)
    assert record.tabular and record.valid and record.row_count == 2
    assert record.normalised_sha256 == record.sha256  # UTF-8 comma CSV is its own normal form
    fields = record.table_schema["fields"]
    assert [(f["name"], f["title"], f["type"]) for f in fields] == [("station", "监测站点", "string"), ("aqi", "空气质量指数", "integer")]
    assert fields[0]["constraints"] == {"maxLength": 50}
    assert record.quality == {
        "rows": 2, "columns": 2, "missing": {"station": 0.0, "aqi": 0.0}, "missing_cells": 0,
        "duplicate_rows": 0, "blank_rows": 0, "machine_readable": True,
    }
    assert record.findings == [] and file_problems(record) == []
    assert draft.data_updated_at == NOW


def test_gbk_is_normalised_and_the_original_kept(session: Session, store: FileStore, draft: Entry) -> None:
    raw = GOOD.encode("gbk")
    record = _ingest(session, store, draft, raw)
    assert record.encoding == "gb18030"
    assert store.path(record.sha256).read_bytes() == raw
    assert store.path(record.normalised_sha256).read_bytes().decode("utf-8") == GOOD
    assert any("GB" in note for note in record.report["notes"])


def test_columns_the_dictionary_lacks_become_data_items(session: Session, store: FileStore, draft: Entry) -> None:
    data = "station,aqi,联系电话,备注,measured_on\r\n明珠广场,64,0551-62499588,正常,2025-02-01\r\n管委会,80,0551-62499589,,2025-02-02\r\n"
    record = _ingest(session, store, draft, data)
    items = {i.title: i for i in draft.items}
    assert items["联系电话"].name == "lian_xi_dian_hua" and items["联系电话"].data_type == DataType.C
    assert items["measured_on"].name == "measured_on" and items["measured_on"].data_type == DataType.D
    assert record.valid
    assert [f["name"] for f in record.table_schema["fields"]] == ["station", "aqi", "联系电话", "备注", "measured_on"]
    assert record.quality["missing"]["备注"] == 0.5
    history = draft.version
    assert history >= 2  # the file and its new items are one recorded change


def test_invalid_data_is_kept_as_a_draft_with_its_report(session: Session, store: FileStore, draft: Entry) -> None:
    data = "station,aqi,aqi\r\n明珠广场,64,1\r\n,,\r\n管委会,很好,2,9\r\n短行\r\n"
    record = _ingest(session, store, draft, data)
    report = record.report
    assert not report["valid"] and not record.valid
    assert report["counts"] == {"blank-row": 1, "duplicate-label": 1, "extra-cell": 1, "missing-cell": 2, "type-error": 1}
    type_error = next(e for e in report["errors"] if e["type"] == "type-error")
    assert type_error["row"] == 4 and type_error["column"] == "aqi"
    assert type_error["message"] == "第4行“aqi”列：值“很好”不是整数"
    assert record.quality["blank_rows"] == 1
    assert file_problems(record) == ["数据未通过校验（6 个错误）"]
    with pytest.raises(Invalid) as refused:
        publish_entry(session, draft, actor=None, now=NOW)
    assert "数据未通过校验" in refused.value.message
    session.rollback()


def test_an_entry_outside_the_open_catalog_publishes_with_invalid_data(session: Session, store: FileStore, world: World) -> None:
    entry = create_entry(session, department=world.dept_a, fields=entry_fields(share_type=ShareType.CONDITIONAL, open_type=OpenType.CLOSED), actor=None, now=NOW)
    _ingest(session, store, entry, "station,aqi\r\n明珠广场,abc\r\n")
    publish_entry(session, entry, actor=None, now=NOW)
    assert entry.status == EntryStatus.PUBLISHED
    with pytest.raises(Invalid) as refused:  # and cannot then be opened while its file is invalid
        update_entry(session, entry, entry_fields(share_type=ShareType.CONDITIONAL, open_type=OpenType.OPEN), actor=None, now=NOW)
    assert "open_type" in refused.value.errors
    session.rollback()


def test_too_many_errors_are_counted_but_only_the_first_hundred_kept(session: Session, store: FileStore, draft: Entry) -> None:
    data = "station,aqi\r\n" + "".join(f"站{i},x{i}\r\n" for i in range(250))
    report = _ingest(session, store, draft, data).report
    assert report["error_count"] == 250 and len(report["errors"]) == 100 and report["truncated"]


PERSONAL = (
    "name,id_number,phone,note\r\n"
    f"张三丰,{_id('11010119900307123')},13812345678,无\r\n"
    f"李四,{_id('34010419940917916')},13398053857,无\r\n"
)


def _personal_entry(session: Session, world: World, store: FileStore) -> tuple[Entry, EntryFile]:
    fields = entry_fields(items=[])
    entry = create_entry(session, department=world.dept_a, fields=fields, actor=None, now=NOW)
    open_review.record_imported(session, entry, conclusion="开放属性已审查", actor_name="测试", now=NOW)
    return entry, _ingest(session, store, entry, PERSONAL, name="人员.csv")


def test_personal_information_blocks_release_until_masked(session: Session, store: FileStore, world: World) -> None:
    entry, record = _personal_entry(session, world, store)
    kinds = {(f["column"], f["kind"]) for f in record.findings}
    assert {("name", "person_name"), ("id_number", "id_number"), ("phone", "mobile")} <= kinds
    assert all("1234" not in s or "*" in s for f in record.findings for s in f["samples"])
    assert any("个人信息" in p for p in file_problems(record))
    with pytest.raises(Invalid):
        publish_entry(session, entry, actor=None, now=NOW)
    session.rollback()

    masked = mask_file(session, store, record, actor=world.users["provider_a"], now=NOW)
    session.commit()
    text = store.path(masked.sha256).read_text(encoding="utf-8")
    assert "110101********" in text and "138****5678" in text and "张**" in text
    assert "13812345678" not in text and "张三丰" not in text
    assert masked.derived_from_id == record.id and masked.clearance == "masked" and masked.name == "人员（脱敏）.csv"
    assert file_problems(masked) == [] and file_problems(record)  # the original stays withheld
    assert release_problems(entry) == []
    publish_entry(session, entry, actor=None, now=NOW)
    session.commit()


def test_consent_or_public_interest_is_recorded_with_its_document(session: Session, store: FileStore, world: World) -> None:
    entry, record = _personal_entry(session, world, store)
    with pytest.raises(Invalid) as refused:
        clear_file(session, record, basis="consent", note="", actor=None, now=NOW)
    assert "note" in refused.value.errors
    clear_file(session, record, basis="public_interest", note="区政府〔2026〕12号公共利益决定", actor=world.users["admin_a"], now=NOW)
    session.commit()
    assert file_problems(record) == [] and record.cleared_by_id == world.users["admin_a"].id
    version = entry.version
    clear_file(session, record, basis="public_interest", note="区政府〔2026〕12号公共利益决定", actor=world.users["admin_a"], now=NOW)
    assert entry.version == version  # a double-clicked decision records nothing twice


def test_findings_only_in_columns_never_opened_do_not_block(session: Session, store: FileStore, world: World) -> None:
    from portal.catalog import ItemFields

    items = [ItemFields("单位", "unit", DataType.C), ItemFields("联系电话", "phone", DataType.C, open_type=OpenType.CLOSED)]
    entry = create_entry(session, department=world.dept_a, fields=entry_fields(items=items), actor=None, now=NOW)
    record = _ingest(session, store, entry, "unit,phone\r\n甲公司,13812345678\r\n")
    assert record.findings and file_problems(record) == []


def test_a_new_revision_replaces_the_current_file_and_keeps_history(session: Session, store: FileStore, draft: Entry) -> None:
    first = _ingest(session, store, draft, GOOD)
    again = _ingest(session, store, draft, GOOD)
    assert again.id == first.id  # the same content twice changes nothing
    second = _ingest(session, store, draft, GOOD + "滨湖,70\r\n")
    session.refresh(draft)
    assert [f.id for f in draft.files] == [second.id]
    assert first.replaced_at == NOW and first.replaced_by_id == second.id
    assert [r.id for r in revisions(draft, second)] == [second.id, first.id]
    other = _ingest(session, store, draft, "station,aqi\r\n甲,1\r\n", name="another.csv", replaces=second)
    assert [f.id for f in draft.files] == [other.id]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_is_normalised_and_scanned(session: Session, store: FileStore, draft: Entry) -> None:
    raw = _xlsx([["station", "aqi", "证件号"], ["明珠广场", 64, 110101199003071234.0], ["管委会", 80, None]])
    record = _ingest(session, store, draft, raw, name="站点.xlsx")
    assert record.format == "xlsx" and record.tabular and record.row_count == 2
    assert store.path(record.sha256).read_bytes() == raw
    kinds = {f["kind"] for f in record.findings}
    assert "id_number_float" in kinds


def test_a_pdf_is_stored_as_it_is(session: Session, store: FileStore, draft: Entry) -> None:
    record = _ingest(session, store, draft, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", name="说明.pdf")
    assert not record.tabular and record.normalised_sha256 is None and record.quality == {"machine_readable": False}
    assert file_problems(record) == []


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.shp", b"\0" * (20 << 20))
    return buffer.getvalue()


def _entity_bomb_xlsx() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["a"], [1]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' + data
            archive.writestr(info, data)
    return buffer.getvalue()


BAD_INPUTS = [
    ("empty", b"", "a.csv", "文件为空"),
    ("header only", b"station,aqi\r\n", "a.csv", "只有表头"),
    ("html named csv", b"<!DOCTYPE html><html><body>404</body></html>", "a.csv", "网页"),
    ("nul byte", b"station,aqi\r\n\x00\x00,1\r\n", "a.csv", "NUL"),
    ("encoding switch", "station,aqi\r\n明珠广场,1\r\n".encode() + "管委会,2\r\n".encode("gbk"), "a.csv", "编码不一致"),
    ("pdf named xlsx", b"%PDF-1.7\n", "a.xlsx", "扩展名"),
    ("executable", b"MZ\x90\x00", "a.exe", "不支持的文件类型"),
    ("zip bomb", _zip_bomb(), "shapes.zip", "压缩炸弹"),
    ("xml entity bomb", _entity_bomb_xlsx(), "a.xlsx", "实体"),
    ("cut-off xlsx", _xlsx([["a"], [1]])[:900], "a.xlsx", "不完整"),
]


@pytest.mark.parametrize("data, name, message", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_and_nothing_is_stored(session: Session, store: FileStore, draft: Entry, data: bytes, name: str, message: str) -> None:
    items_before = len(draft.items)
    with pytest.raises(Invalid) as refused:
        ingest(session, store, draft, source=io.BytesIO(data), name=name, actor=None, now=NOW, limits=Limits(max_ratio=100))
    session.rollback()
    assert message in refused.value.message
    assert _kept(store) == [] and list(store.tmp.iterdir()) == []
    assert session.scalar(select(func.count(EntryFile.id))) == 0
    assert len(draft.items) == items_before


def test_an_oversize_upload_is_refused_with_413(session: Session, store: FileStore, draft: Entry) -> None:
    with pytest.raises(TooLarge) as refused:
        ingest(session, store, draft, source=io.BytesIO(b"a,b\n" * 5000), name="a.csv", actor=None, now=NOW, max_bytes=4096)
    assert refused.value.status == 413 and "MB" in refused.value.message
    assert _kept(store) == [] and list(store.tmp.iterdir()) == []


CRASHING_WRITER = """
import io, sys, time
from datetime import datetime, timezone
from portal.db import make_engine, make_sessionmaker
from portal.files import FileStore
from portal.models import Entry
from portal.pipeline import ingest

engine = make_engine(sys.argv[1])
session = make_sessionmaker(engine)()
entry = session.get(Entry, int(sys.argv[3]))

class Slow(io.RawIOBase):
    sent = 0
    def readable(self):
        return True
    def readinto(self, buffer):
        if self.sent == 0:
            print("started", flush=True)
        if self.sent > 50 << 20:
            return 0
        time.sleep(0.01)
        chunk = b"station,aqi\\r\\n" if self.sent == 0 else b"x,1\\r\\n" * (len(buffer) // 6)
        buffer[: len(chunk)] = chunk
        self.sent += len(chunk)
        return len(chunk)

ingest(session, FileStore(sys.argv[2]), entry, source=io.BufferedReader(Slow()), name="big.csv", actor=None, now=datetime.now(timezone.utc))
session.commit()
"""


def test_a_crash_mid_upload_leaves_the_old_state_and_a_temporary_the_sweeper_removes(
    session: Session, store: FileStore, draft: Entry, database_url: str
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, database_url, str(store.root), str(draft.id)],
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    ) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == b"started"
        time.sleep(0.3)
        child.send_signal(signal.SIGKILL)
        child.wait()
    session.expire_all()
    assert session.scalar(select(func.count(EntryFile.id))) == 0
    assert _kept(store) == []
    assert len(list(store.tmp.iterdir())) == 1
    assert store.sweep(older_than_seconds=3600) == 0  # a fresh temporary may belong to a live upload
    assert store.sweep(older_than_seconds=-1) == 1 and list(store.tmp.iterdir()) == []


def test_revalidation_follows_the_edited_data_dictionary(session: Session, store: FileStore, draft: Entry) -> None:
    from portal.catalog import ItemFields
    from portal.pipeline import revalidate

    record = _ingest(session, store, draft, GOOD)
    assert record.valid
    items = [ItemFields("监测站点", "station", DataType.C, 50, constraints={"enum": ["明珠广场"]}), ItemFields("空气质量指数", "aqi", DataType.I)]
    update_entry(session, draft, entry_fields(items=items), actor=None, now=NOW)
    assert revalidate(session, store, record, actor=None, now=NOW)
    session.commit()
    assert not record.valid and record.report["counts"] == {"constraint-error": 1}
    assert record.report["errors"][0]["message"] == "第3行“station”列：值“管委会”不符合取值范围约束（['明珠广场']）"
    assert record.table_schema["fields"][0]["constraints"] == {"enum": ["明珠广场"], "maxLength": 50}


def test_a_required_value_missing_is_explained(session: Session, store: FileStore, world: World) -> None:
    from portal.catalog import ItemFields

    items = [ItemFields("监测站点", "station", DataType.C, constraints={"required": True}), ItemFields("空气质量指数", "aqi", DataType.I)]
    entry = create_entry(session, department=world.dept_a, fields=entry_fields(items=items), actor=None, now=NOW)
    report = _ingest(session, store, entry, "station,aqi\r\n,64\r\n").report
    assert report["errors"][0]["message"] == "第2行“station”列：该信息项必填，此处为空"


@pytest.mark.parametrize("data, notes", [
    ("station;aqi\r\n明珠广场;64\r\n管委会;80\r\n", "分号"),
    ("station\taqi\r\n明珠广场\t64\r\n管委会\t80\r\n", "制表符"),
    ("\ufeffstation,aqi\r\n明珠广场,64\r\n管委会,80\r\n", ""),
    ('station,aqi\r\n"明珠\r\n广场",64\r\n管委会,80\r\n', ""),
])
def test_delimiters_bom_and_quoted_newlines_are_read(session: Session, store: FileStore, draft: Entry, data: str, notes: str) -> None:
    record = _ingest(session, store, draft, data)
    assert record.valid and record.row_count == 2
    assert notes in " ".join(record.report["notes"])
    assert store.path(record.normalised_sha256).read_bytes().decode("utf-8").startswith("station,aqi\r\n")


def test_duplicate_and_missing_cells_are_measured(session: Session, store: FileStore, draft: Entry) -> None:
    data = "station,aqi\r\n甲,1\r\n乙,\r\n甲,1\r\n甲,1\r\n丙\r\n"
    quality = _ingest(session, store, draft, data).quality
    assert quality["duplicate_rows"] == 2 and quality["rows"] == 5
    assert quality["missing"] == {"station": 0.0, "aqi": 0.4} and quality["missing_cells"] == 2


@pytest.mark.parametrize("in_child", [False, True])
def test_the_survey_gives_the_same_figures_in_a_child_process(tmp_path: Path, in_child: bool) -> None:
    from portal.pipeline import check_table

    path = tmp_path / "t.csv"
    path.write_text("name,phone,aqi\r\n张三,13812345678,1\r\n张三,13812345678,1\r\n,,\r\n李四,,x\r\n", encoding="utf-8")
    schema = {"fields": [{"name": "name", "type": "string"}, {"name": "phone", "type": "string"}, {"name": "aqi", "type": "integer"}]}
    report, quality, findings, rows = check_table(path, schema, in_child=in_child)
    assert rows == 4 and report["counts"] == {"blank-row": 1, "type-error": 1}
    assert quality["duplicate_rows"] == 1 and quality["blank_rows"] == 1 and quality["missing"]["phone"] == 0.25
    assert {(f["column"], f["kind"], f["count"]) for f in findings} == {("name", "person_name", 3), ("phone", "mobile", 2)}
