"""The upload pipeline: from a byte stream to a kept, described, validated and scanned resource.

    receive   stream to a temporary file, hash, size cap (`files.FileStore.receive`)
    inspect   magic bytes, archives, XML, encoding, delimiter (`intake.inspect_upload`)
    normalise the table as UTF-8 comma CSV; the original is kept as it came (`intake.normalise_table`)
    describe  the Table Schema from the entry's data items; columns the dictionary lacks are
              inferred by Frictionless and become new data items (one list, never two copies)
    check     the Frictionless validation report and, beside it (`survey`), the quality summary and
              the personal-information scan
    keep      fsync + atomic rename to the content address (`files.FileStore.keep`)
    record    the `EntryFile` row (`resources.add_file`); the caller commits

A failure before "keep" removes every temporary and stores nothing; a crash between "keep" and
the commit leaves an unreferenced blob, never a row without its file. `mask_file` is the masking
step: a derived resource with the personal information found replaced by masks.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Sequence

from frictionless import Detector, FrictionlessException, Resource, Schema
from sqlalchemy.orm import Session

from . import resources, survey
from .entry_input import FIELD_NAME, ItemFields
from .errors import Invalid
from .files import FileStore, Pending, display_name
from .intake import Inspected, Limits, inspect_upload, normalise_table
from .models import DataItem, Entry, EntryFile, User
from .pii import Finding, Masker, find_kinds, mask_value
from .vocab import DATA_TYPE_OF_FIELD_TYPE, FIELD_TYPE_OF_DATA_TYPE

MAX_REPORTED_ERRORS = 100
SURVEY_IN_CHILD_BYTES = 8 << 20  # a larger table is surveyed in a child process beside the validation
INFER_SAMPLE_ROWS = 1000
TRUE_VALUES = ["true", "True", "TRUE", "1", "是"]
FALSE_VALUES = ["false", "False", "FALSE", "0", "否"]

# Frictionless error types as a department clerk reads them.
ERROR_TITLES = {
    "type-error": "类型错误",
    "constraint-error": "约束错误",
    "required-error": "必填值缺失",
    "unique-error": "值重复",
    "enum-error": "不在取值范围内",
    "pattern-error": "格式不符",
    "maximum-length-error": "超出长度",
    "minimum-length-error": "长度不足",
    "maximum-error": "超出最大值",
    "minimum-error": "低于最小值",
    "extra-cell": "多余的单元格",
    "missing-cell": "缺少单元格",
    "blank-row": "空行",
    "duplicate-label": "表头重复",
    "blank-label": "表头为空",
    "incorrect-label": "表头与信息项不符",
    "extra-label": "多余的列",
    "missing-label": "缺少列",
    "primary-key": "主键重复",
    "foreign-key": "外键不匹配",
    "source-error": "文件无法读取",
    "encoding-error": "编码错误",
    "format-error": "格式错误",
}
CONSTRAINT_NOTE = re.compile(r'constraint "(\w+)" is "(.*)"')
CONSTRAINT_LABELS = {
    "required": "必填", "unique": "唯一", "enum": "取值范围", "pattern": "格式", "minLength": "最小长度",
    "maxLength": "最大长度", "minimum": "最小值", "maximum": "最大值",
}
TYPE_LABELS = {
    "integer": "整数", "number": "数值", "date": "日期（如 2024-01-31）", "datetime": "日期时间（如 2024-01-31T08:30:00）",
    "boolean": "是/否", "string": "文本", "year": "年份", "time": "时间",
}


@dataclass
class TableFacts:
    """What the pipeline learns about a table."""

    schema: dict[str, Any]
    report: dict[str, Any]
    quality: dict[str, Any]
    findings: list[dict[str, Any]]
    rows: int
    new_items: list[ItemFields] = field(default_factory=list)


# -- describe ------------------------------------------------------------------------------


def read_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def _ascii_name(label: str, taken: set[str]) -> str:
    """A field name for a column whose label is not one (e.g. 姓名 -> xing_ming)."""
    from pypinyin import lazy_pinyin

    syllables = ("".join(c for c in syllable if c.isascii() and c.isalnum()) for syllable in lazy_pinyin(label))
    base = "_".join(s for s in syllables if s).lower()[:60] or "field"
    if not FIELD_NAME.fullmatch(base):
        base = f"f_{base}"[:60]
    name, number = base, 2
    while name.lower() in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def _inferred_types(path: Path) -> list[str]:
    """Frictionless' guess of each column's type from the first rows; long digit strings (ID
    numbers, phone numbers, codes with leading zeros) stay text."""
    resource = Resource(path=path.name, basepath=str(path.parent), format="csv", encoding="utf-8", detector=Detector(sample_size=INFER_SAMPLE_ROWS))
    resource.infer()
    types = [f.type for f in resource.schema.fields]
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for _, row in zip(range(INFER_SAMPLE_ROWS), reader):
            for i, cell in enumerate(row[: len(types)]):
                digits = cell.lstrip("+-")
                if types[i] in ("integer", "number") and digits.isdigit() and (len(digits) >= 11 or (len(digits) > 1 and digits[0] == "0")):
                    types[i] = "string"
    return types


def describe_table(path: Path, items: Sequence[DataItem | ItemFields]) -> tuple[dict[str, Any], list[ItemFields]]:
    """The Table Schema of the normalised CSV at `path`: each column is the data item whose field
    name (or else item name) is its label; columns no item describes get new items, typed by
    inference. Field names in the schema are the file's labels, so the file validates as it is."""
    header = read_header(path)
    by_name = {i.name: i for i in items}
    by_title = {i.title: i for i in items}
    taken = {i.name.lower() for i in items}
    unknown = [n for n, label in enumerate(header) if label not in by_name and label not in by_title]
    inferred = _inferred_types(path) if unknown else []
    new_items: list[ItemFields] = []
    fields = []
    used: set[str] = set()
    for number, label in enumerate(header):
        item = by_name.get(label) or by_title.get(label)
        if item is None and label.strip():
            field_type = inferred[number] if number < len(inferred) else "string"
            name = label if FIELD_NAME.fullmatch(label) and label.lower() not in taken else _ascii_name(label, taken)
            taken.add(name.lower())
            item = ItemFields(title=label, name=name, data_type=DATA_TYPE_OF_FIELD_TYPE.get(field_type, DATA_TYPE_OF_FIELD_TYPE["string"]))
            new_items.append(item)
            by_title[label] = item
        name = label if label not in used else f"{label} ({number + 1})"  # duplicates are reported, not renamed in the file
        used.add(name)
        fields.append(_schema_field(name, item))
    return {"fields": fields, "missingValues": [""]}, new_items


def _schema_field(name: str, item: DataItem | ItemFields | None) -> dict[str, Any]:
    if item is None:
        return {"name": name, "type": "any"}
    field_type = FIELD_TYPE_OF_DATA_TYPE[item.data_type]
    result: dict[str, Any] = {"name": name, "title": item.title, "type": field_type}
    if item.description:
        result["description"] = item.description
    constraints = dict(item.constraints or {})
    if item.length and field_type == "string":
        constraints["maxLength"] = item.length
    if constraints:
        result["constraints"] = constraints
    if field_type == "boolean":
        result["trueValues"], result["falseValues"] = TRUE_VALUES, FALSE_VALUES
    return result


# -- check ---------------------------------------------------------------------------------


def _mask_cell(cell: Any) -> str:
    text = "" if cell is None else str(cell)
    for kind in find_kinds(text):
        text = mask_value(kind, text)
    return text[:60]


def _error_entry(error: Any) -> dict[str, Any]:
    kind = error.type
    row = getattr(error, "row_number", None)
    column = getattr(error, "field_name", None) or getattr(error, "label", None) or ""
    cell = _mask_cell(getattr(error, "cell", None))
    title = ERROR_TITLES.get(kind, kind)
    where = (f"第{row}行" if row else "表头") + (f"“{column}”列" if column else "")
    if kind == "type-error":
        field_type = str(error.note).split('"')[1].split("/")[0] if '"' in str(error.note) else ""
        detail = f"值“{cell}”不是{TYPE_LABELS.get(field_type, field_type)}"
    elif kind == "blank-row":
        detail = "整行为空"
    elif kind in ("extra-cell", "missing-cell"):
        detail = f"{title}：{'多出的值' if kind == 'extra-cell' else '该行比表头少'}“{cell}”" if cell else title
    elif kind == "duplicate-label":
        detail = f"表头“{getattr(error, 'label', '')}”出现了不止一次"
    elif kind == "unique-error":
        detail = f"值“{cell}”与前面的行重复"
    elif kind == "constraint-error" and (match := CONSTRAINT_NOTE.search(str(error.note))):
        name, value = match.groups()
        if name == "required":
            detail = "该信息项必填，此处为空"
        else:
            detail = f"值“{cell}”不符合{CONSTRAINT_LABELS.get(name, name)}约束（{value}）"
    else:
        detail = f"{title}：{error.note}" if error.note else title
    return {"type": kind, "title": title, "row": row, "column": column, "message": f"{where}：{detail}"}


class _Report:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []

    def add(self, error: Any) -> None:
        self.counts[error.type] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(_error_entry(error))

    def as_dict(self, notes: Sequence[str]) -> dict[str, Any]:
        total = sum(self.counts.values())
        return {
            "valid": total == 0,
            "error_count": total,
            "counts": dict(sorted(self.counts.items())),
            "errors": self.errors,
            "truncated": total > len(self.errors),
            "notes": list(notes),
        }


def check_table(
    path: Path, schema: dict[str, Any], *, notes: Sequence[str] = (), in_child: bool | None = None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], int]:
    """Validate the normalised CSV at `path` against `schema` with Frictionless while `survey`
    measures its quality and scans it for personal information, in a child process when the
    table is larger than SURVEY_IN_CHILD_BYTES (or as `in_child` says). Returns (report,
    quality, findings, rows)."""
    fields = schema["fields"]
    labels = [f["name"] for f in fields]
    # A title that only repeats the label (a column the dictionary did not have) says nothing.
    titles = [f.get("title", "") if f.get("title") != f["name"] else "" for f in fields]
    if in_child is None:
        in_child = path.stat().st_size > SURVEY_IN_CHILD_BYTES
    running = survey.Running(path, labels, titles, in_child=in_child)
    report = _Report()
    resource = Resource(path=path.name, basepath=str(path.parent), format="csv", encoding="utf-8", schema=Schema.from_descriptor(schema))
    try:
        with resource:
            for error in resource.header.errors:
                report.add(error)
            for row in resource.row_stream:
                for error in row.errors:
                    report.add(error)
    except FrictionlessException as error:
        running.cancel()
        raise Invalid({"file": f"无法读取表格：{error.error.note or error.error.title}"}) from None
    except BaseException:
        running.cancel()
        raise
    quality, findings = running.result()
    return report.as_dict(notes), quality, findings, quality["rows"]


def analyse_table(path: Path, items: Sequence[DataItem | ItemFields], *, notes: Sequence[str] = ()) -> TableFacts:
    schema, new_items = describe_table(path, items)
    report, quality, findings, rows = check_table(path, schema, notes=notes)
    return TableFacts(schema, report, quality, findings, rows, new_items)


# -- ingest --------------------------------------------------------------------------------


def ingest(
    session: Session,
    store: FileStore,
    entry: Entry,
    *,
    source: BinaryIO,
    name: str,
    actor: User | None,
    now: datetime,
    title: str = "",
    replaces: EntryFile | None = None,
    max_bytes: int | None = None,
    limits: Limits = Limits(),
    actor_name: str = "",
) -> EntryFile:
    """Run the whole pipeline on an upload and record it as a new revision of `entry`'s files
    (replacing `replaces`, or the current file of the same name). Raises `Invalid` (or
    `files.TooLarge`) with a Chinese message and leaves nothing stored when the file is refused."""
    shown = display_name(name)
    pending = store.receive(source, max_bytes=max_bytes)
    current = replaces or next((f for f in entry.files if f.name == shown), None)
    if current is not None and current.sha256 == pending.sha256:
        store.discard(pending)
        return current  # the same content again (a repeated upload, a reload): nothing changes
    normalised: Pending | None = None
    try:
        inspected = inspect_upload(pending.path, name=shown, limits=limits)
        facts = None
        if inspected.tabular:
            normalised = _normalise(store, pending, inspected)
            facts = analyse_table(normalised.path, entry.items, notes=inspected.notes)
        stored = store.keep(pending)
        normalised_sha = None
        if normalised is not None:
            normalised_sha = stored.sha256 if normalised is pending else store.keep(normalised).sha256
    finally:
        store.discard(pending, normalised)
    return resources.add_file(
        session, entry, name=shown, title=title, sha256=stored.sha256, size=stored.size, format=inspected.format,
        encoding=inspected.encoding, normalised_sha256=normalised_sha, facts=facts, replaces=replaces,
        actor=actor, actor_name=actor_name, now=now,
    )


def _normalise(store: FileStore, pending: Pending, inspected: Inspected) -> Pending:
    if inspected.format == "csv" and inspected.encoding == "utf-8" and inspected.delimiter == ",":
        return pending  # already UTF-8 comma CSV: the original is its own normal form
    target = store.temporary()
    try:
        with open(target, "wb") as out:
            normalise_table(pending.path, inspected, out)
        return store.pending(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def revalidate(session: Session, store: FileStore, record: EntryFile, *, actor: User | None, now: datetime) -> bool:
    """Check a current table again against the entry's data dictionary as it is now (after the
    department edited types or constraints); the file's content is unchanged, so this updates
    its schema, report, quality and findings in place. Returns whether the report changed."""
    if not record.tabular or record.normalised_sha256 is None or record.replaced_at is not None:
        raise Invalid({"file": "只能重新校验当前版本的表格文件"})
    entry = record.entry
    path = store.path(record.normalised_sha256)
    facts = analyse_table(path, entry.items, notes=(record.report or {}).get("notes", []))
    before = record.report
    resources.update_facts(session, record, facts, actor=actor, now=now)
    return before != facts.report


def mask_file(session: Session, store: FileStore, record: EntryFile, *, actor: User | None, now: datetime) -> EntryFile:
    """The masking step: a derived CSV resource in which every cell of a column with findings
    is masked (110101********1234, 138****5678, 张**), validated and scanned again, recorded as
    cleared by masking. The source file stays, withheld from release."""
    if not record.findings or record.normalised_sha256 is None:
        raise Invalid({"file": "该文件没有发现个人信息，无需脱敏"})
    header = read_header(store.path(record.normalised_sha256))
    masker = Masker(header, [Finding.from_dict(f) for f in record.findings])
    target = store.temporary()
    try:
        with open(store.path(record.normalised_sha256), encoding="utf-8", newline="") as src, open(target, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            reader = csv.reader(src)
            writer.writerow(next(reader, []))
            for row in reader:
                writer.writerow(masker.mask_row(row))
        pending = store.pending(target)
        report, quality, findings, rows = check_table(pending.path, record.table_schema or {"fields": []})
        stored = store.keep(pending)
    finally:
        target.unlink(missing_ok=True)
    stem = record.name.rsplit(".", 1)[0] if "." in record.name else record.name
    facts = TableFacts(record.table_schema or {}, report, quality, findings, rows)
    return resources.add_derived_file(
        session, record, name=f"{stem}（脱敏）.csv", sha256=stored.sha256, size=stored.size, facts=facts, actor=actor, now=now,
    )
