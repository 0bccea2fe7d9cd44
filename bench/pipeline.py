"""Upload pipeline and download benchmark: how fast `portal.pipeline.ingest` takes in a large CSV
(UTF-8 and GBK) next to two floors measured in the same run, and how fast the real app serves a
large original file over HTTP next to a plain read of the same file from disk.

    python bench/pipeline.py [--rows 1000000] [--download-mb 1024] [--skip-download]
                             [--encodings utf-8,gbk] [--json] [--workdir DIR] [--keep] [--seed 1]

What it does:

1. Writes a deterministic (seeded) table of N rows and 8 columns: 序号 (integer), 金额（元）
   (number, 2 decimals), 登记日期 (ISO date), 事项说明 (Chinese text with a number), 类别 (one of
   6 Chinese values), 项目编码 (an 18-character code "JZ3401722024" + 6 digits: not an ID number,
   so the personal-information scan finds nothing), 数量 (integer) and 是否完成 (是/否); once as
   UTF-8 and once as GBK, CRLF line ends, into the work folder.
2. For each encoding, three measurements, each in a child process of its own (so that each peak
   RSS, the child's own VmHWM, is that of the measured work alone plus its imports):
   - floor A, `csv.reader`: the file decoded with its codec (utf-8 / gb18030) and split into
     rows by the standard csv module, rows counted; what reading the file costs at the least;
   - floor B, Frictionless alone: `Resource(path=..., basepath=..., format="csv",
     encoding=..., schema=Schema.from_descriptor(SCHEMA)).validate()`, the call behind
     `frictionless validate --schema schema.json file.csv`, with the default checklist and
     the explicit Table Schema of the 8 fields the pipeline itself derives from the entry's
     data items (types, maxLength, 是/否 as booleans), so that nothing is inferred;
   - the pipeline: `portal.pipeline.ingest(session, store, entry, source=open(path, "rb"), ...)`
     plus `session.commit()`, on a draft entry whose 8 data items describe the columns, against
     a real SQLite database (`portal.db.make_engine` + `upgrade`) and file store in the work
     folder. It receives (copy, sha256, fsync), inspects (the whole file decoded, delimiter
     sniffed), normalises (GBK only: rewritten as UTF-8), validates with Frictionless, measures
     quality, scans for personal information, keeps and records. The time spent in each of
     these steps is reported too (wrappers around the module's functions in the child only).
   Each gives wall seconds, rows/s, peak RSS, and its ratio to floor B of the same encoding.
3. Downloads: a file of M MB (pseudo-random bytes, generated in 1 MB chunks straight into the
   store, never held whole in memory) recorded as the non-tabular file "download.bin" of a
   published, open entry; the app (`portal.create_app` on the same database and store) served
   by waitress on a free local port in a child process; the file read once from disk (not
   timed: the timed reads then all find it in the page cache), then timed read from disk in
   1 MB chunks, then timed fetched with urllib from `/catalog/<slug>/files/<id>/download.bin` in 1 MB
   chunks. Reports both MB/s, their ratio, and the server's peak RSS. For scale, it also
   measures what the local TCP connection carries at most on this machine: the same file sent
   by a child process with `os.sendfile` over a plain 127.0.0.1 socket, received the same way
   (no HTTP, no Python in the data path of the sender); reported as "loopback ceiling".

The targets printed beside the figures are the requirements: pipeline <= 1.5 x Frictionless
alone and pipeline peak RSS < 300 MB (each encoding); download >= 0.5 x the disk read.
Absolute times depend on the machine; the ratios much less so. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import resource as rusage
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/pipeline.py` without the package installed
    sys.path.insert(0, str(ROOT))

SCRIPT = Path(__file__).resolve()
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
CHUNK = 1 << 20  # bytes per read, download and generation step
ENCODINGS = {"utf-8": "utf-8", "gbk": "gb18030"}  # name in --encodings: codec the floors read it with
FILE_NAMES = {"utf-8": "table-utf8.csv", "gbk": "table-gbk.csv"}
TARGET_PIPELINE_RATIO = 1.5  # pipeline wall / Frictionless alone
TARGET_PIPELINE_RSS_MB = 300.0
TARGET_DOWNLOAD_RATIO = 0.5  # HTTP MB/s / disk MB/s
STEP_LABELS = {"csv": "floor A: csv.reader", "frictionless": "floor B: Frictionless alone", "pipeline": "pipeline.ingest + commit"}
FRICTIONLESS_CALL = 'frictionless.Resource(path, basepath, format="csv", encoding, schema=<8 fields>).validate()'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB. On Linux this is VmHWM of
    /proc/self/status: `ru_maxrss` survives execve there, so a child started by a parent of
    200 MB would report at least 200 MB whatever it does. Elsewhere `ru_maxrss` (KB; macOS: bytes)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


# -- the table ------------------------------------------------------------------------------

# (title = the CSV header, field name, data type code, length): what the entry's data items say.
ITEMS: tuple[tuple[str, str, str, int | None], ...] = (
    ("序号", "id", "I", None),
    ("金额（元）", "amount", "N", None),
    ("登记日期", "record_date", "D", None),
    ("事项说明", "description", "C", 100),
    ("类别", "category", "C", 20),
    ("项目编码", "code", "C", 18),
    ("数量", "quantity", "I", None),
    ("是否完成", "done", "L", None),
)
CATEGORIES = ("工业制造", "商贸流通", "科技创新", "社会民生", "生态环境", "交通运输")
PLACES = ("锦绣大道", "繁华大道", "芙蓉路", "明珠广场", "莲花路", "紫云路", "海恒社区", "芙蓉社区", "翡翠湖", "始信路",
          "云谷路", "丹霞路", "石门路", "汤口路", "金寨南路", "翡翠路", "宿松路", "天都路", "桃花工业园", "综合保税区")
SUBJECTS = ("厂房改造", "道路维修", "绿化养护", "设备采购", "管网更新", "路灯安装", "企业走访", "安全检查",
            "充电桩建设", "停车场改造", "垃圾分类", "社区服务")


def table_schema() -> dict[str, Any]:
    """The Table Schema the pipeline derives from ITEMS for a file whose header is their titles
    (`portal.pipeline.describe_table`): field names are the labels, types from the data type
    codes, maxLength from the lengths, 是/否 among the boolean values, "" the missing value."""
    from portal.pipeline import FALSE_VALUES, TRUE_VALUES
    from portal.vocab import FIELD_TYPE_OF_DATA_TYPE, DataType

    fields = []
    for title, _name, code, length in ITEMS:
        field_type = FIELD_TYPE_OF_DATA_TYPE[DataType(code)]
        field: dict[str, Any] = {"name": title, "title": title, "type": field_type}
        if length and field_type == "string":
            field["constraints"] = {"maxLength": length}
        if field_type == "boolean":
            field["trueValues"], field["falseValues"] = TRUE_VALUES, FALSE_VALUES
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


def generate_tables(rows: int, seed: int, paths: dict[str, Path]) -> None:
    """Write the same `rows` data rows (header first, CRLF) to each of `paths` in its encoding."""
    rng = random.Random(seed)
    start = date(2020, 1, 1)
    dates = [(start + timedelta(days=d)).isoformat() for d in range(6 * 366)]
    handles = {enc: open(path, "w", encoding=enc, newline="") for enc, path in paths.items()}  # noqa: SIM115
    try:
        writers = [csv.writer(h, lineterminator="\r\n") for h in handles.values()]
        header = [title for title, *_ in ITEMS]
        for writer in writers:
            writer.writerow(header)
        batch: list[list[object]] = []
        for number in range(1, rows + 1):
            cents = rng.randrange(100, 50_000_000)
            batch.append([
                number,
                f"{cents // 100}.{cents % 100:02d}",
                dates[rng.randrange(len(dates))],
                f"合肥经开区{rng.choice(PLACES)}{rng.choice(SUBJECTS)}项目第{rng.randrange(1, 1000)}号",
                rng.choice(CATEGORIES),
                f"JZ3401722024{rng.randrange(10**6):06d}",
                rng.randrange(1, 5000),
                "是" if rng.random() < 0.6 else "否",
            ])
            if len(batch) == 10_000:
                for writer in writers:
                    writer.writerows(batch)
                batch.clear()
        for writer in writers:
            writer.writerows(batch)
    finally:
        for handle in handles.values():
            handle.close()


class PseudoRandomStream(io.RawIOBase):
    """`size` bytes of cheap pseudo-random data, made 1 MB at a time (never held whole): one
    random 1 MB block, rotated differently for each chunk and preceded by the chunk's number."""

    def __init__(self, size: int, seed: int) -> None:
        self.left = size
        self.block = random.Random(seed).randbytes(CHUNK)
        self.number = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        shift = (self.number * 7919) % CHUNK
        chunk = self.number.to_bytes(8, "big") + self.block[shift:] + self.block[:shift]
        self.number += 1
        want = CHUNK if size is None or size < 0 else min(size, CHUNK)
        chunk = chunk[: min(want, self.left)]
        self.left -= len(chunk)
        return chunk


# -- the database ---------------------------------------------------------------------------


def database_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'instance' / 'portal.sqlite3'}"


def files_path(workdir: Path) -> Path:
    return workdir / "instance" / "files"


def make_uscc(n: int) -> str:
    """A valid unified social credit code of a government organ (as tests/support.py makes them)."""
    from portal.codes import org_code_check_char, uscc_check_char

    body = f"{n:08d}"
    first17 = "11340172" + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def entry_fields(title: str, items: Sequence[tuple[str, str, str, int | None]]) -> Any:
    from portal.catalog import EntryFields, ItemFields
    from portal.vocab import ClassificationKind, DataType, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle

    return EntryFields(
        title=title, classification_kind=ClassificationKind.THEME, classification_path="经济建设/项目管理",
        classification_code="2010100", format_class=FormatClass.SPREADSHEET, format_type="CSV",
        share_type=ShareType.UNCONDITIONAL, open_type=OpenType.OPEN, update_cycle=UpdateCycle.MONTHLY,
        security_level=SecurityLevel.GENERAL, abstract="基准测试用的合成数据。",
        items=[ItemFields(t, n, DataType(c), length) for t, n, c, length in items],
    )


def prepare_database(workdir: Path, encodings: Sequence[str], repeat: int = 1) -> dict[str, list[int]]:
    """A migrated SQLite database with one department and `repeat` draft entries per encoding
    (a file ingested twice into one entry would be recognised and skipped); returns the
    entries' ids by encoding."""
    from portal.accounts import create_department
    from portal.catalog import create_entry
    from portal.db import make_engine, make_sessionmaker, upgrade

    engine = make_engine(database_url(workdir))
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        department = create_department(session, name="经开区数据资源局", code=make_uscc(1), parent=None, now=NOW)
        entries = {
            enc: [create_entry(session, department=department, fields=entry_fields(f"项目台账（{enc}，第{n + 1}次）", ITEMS), actor=None, now=NOW) for n in range(repeat)]
            for enc in encodings
        }
        session.commit()
        ids = {enc: [entry.id for entry in made] for enc, made in entries.items()}
    engine.dispose()
    return ids


def prepare_download(workdir: Path, megabytes: int, seed: int) -> dict[str, Any]:
    """The download file, streamed into the store and recorded on a published open entry."""
    from portal.accounts import department_by_code
    from portal.catalog import create_entry
    from portal.db import make_engine, make_sessionmaker
    from portal.files import FileStore
    from portal.open_review import record_imported
    from portal.resources import add_file
    from portal.vocab import EntryStatus, FormatClass

    store = FileStore(files_path(workdir))
    stored = store.save(PseudoRandomStream(megabytes * CHUNK, seed))  # type: ignore[arg-type]
    engine = make_engine(database_url(workdir))
    with make_sessionmaker(engine)() as session:
        fields = entry_fields("下载测试文件", ITEMS[:1])
        fields.format_class, fields.format_type = FormatClass.OTHER, "BIN"
        entry = create_entry(session, department=department_by_code(session, make_uscc(1)), fields=fields, actor=None, now=NOW, status=EntryStatus.PUBLISHED)
        record_imported(session, entry, conclusion="基准测试数据", actor_name="基准测试", now=NOW)  # open without a reviewer
        record = add_file(session, entry, name="download.bin", sha256=stored.sha256, size=stored.size, format="bin",
                          encoding=None, normalised_sha256=None, facts=None, actor=None, now=NOW)
        session.commit()
        found = {"slug": entry.slug, "file_id": record.id, "name": record.name, "path": str(store.path(stored.sha256)), "bytes": stored.size}
    engine.dispose()
    return found


# -- the children ---------------------------------------------------------------------------


def child_csv(spec: dict[str, Any]) -> dict[str, Any]:
    start_rss = peak_rss_mb()
    started = time.perf_counter()
    with open(spec["path"], encoding=spec["codec"], newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        rows = sum(1 for _ in reader)
    return {"seconds": time.perf_counter() - started, "rows": rows, "start_rss_mb": start_rss}


def child_frictionless(spec: dict[str, Any]) -> dict[str, Any]:
    from frictionless import Resource, Schema

    path = Path(spec["path"])
    schema = Schema.from_descriptor(spec["schema"])
    start_rss = peak_rss_mb()
    started = time.perf_counter()
    resource = Resource(path=path.name, basepath=str(path.parent), format="csv", encoding=spec["codec"], schema=schema)
    report = resource.validate()
    seconds = time.perf_counter() - started
    task = report.tasks[0] if report.tasks else None
    return {
        "seconds": seconds,
        "rows": (task.stats.get("rows") if task is not None else None),
        "start_rss_mb": start_rss,
        "valid": report.valid,
        "error_count": report.stats.get("errors"),
        "call": FRICTIONLESS_CALL,
    }


def _timing_wrappers(targets: Sequence[tuple[Any, str, str]], spent: dict[str, float]) -> Callable[[], None]:
    """Wrap `owner.attribute` (if it exists) so that its time adds up under `step`; returns the undo."""
    undo = []
    for owner, attribute, step in targets:
        original = getattr(owner, attribute, None)
        if original is None:
            continue

        def timed(*args: Any, __original: Callable[..., Any] = original, __step: str = step, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                spent[__step] = spent.get(__step, 0.0) + time.perf_counter() - started

        setattr(owner, attribute, timed)
        undo.append((owner, attribute, original))
    return lambda: [setattr(o, a, f) for o, a, f in undo]  # type: ignore[func-returns-value]


def child_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    from portal import pipeline, resources
    from portal.db import make_engine, make_sessionmaker
    from portal.files import FileStore
    from portal.models import Entry

    workdir = Path(spec["workdir"])
    engine = make_engine(database_url(workdir))
    store = FileStore(files_path(workdir))
    spent: dict[str, float] = {}
    with make_sessionmaker(engine)() as session:
        entry = session.get(Entry, spec["entry_id"])
        assert entry is not None, "the benchmark entry is missing"
        undo = _timing_wrappers(
            [
                (store, "receive", "receive"), (pipeline, "inspect_upload", "inspect"), (pipeline, "_normalise", "normalise"),
                (pipeline, "describe_table", "describe"), (pipeline, "check_table", "check"), (store, "keep", "keep"),
                (resources, "add_file", "record"),
            ],
            spent,
        )
        start_rss = peak_rss_mb()
        started = time.perf_counter()
        with open(spec["path"], "rb") as source:
            record = pipeline.ingest(session, store, entry, source=source, name=Path(spec["path"]).name, actor=None, now=NOW)
        committed = time.perf_counter()
        session.commit()
        seconds = time.perf_counter() - started
        spent["commit"] = time.perf_counter() - committed
        undo()
        result = {
            "seconds": seconds,
            "rows": record.row_count,
            "start_rss_mb": start_rss,
            "valid": record.valid,
            "error_count": (record.report or {}).get("error_count"),
            "error_counts": (record.report or {}).get("counts"),
            "findings": len(record.findings or []),
            "notes": (record.report or {}).get("notes", []),
            "normalised": record.normalised_sha256 != record.sha256,
            "new_items": len(entry.items) - len(ITEMS),
            "steps_seconds": {k: round(v, 3) for k, v in spent.items()},
        }
    engine.dispose()
    return result


def child_socket(spec: dict[str, Any]) -> None:
    """Send one file with os.sendfile to the first connection on a free port: print {"port": ...}."""
    import socket

    size = os.path.getsize(spec["path"])
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
        connection, _ = listener.accept()
        with connection, open(spec["path"], "rb") as source:
            offset = 0
            while offset < size:
                offset += os.sendfile(connection.fileno(), source.fileno(), offset, size - offset)


def child_serve(spec: dict[str, Any]) -> None:
    """Serve the app on a free port: print {"port": ...}, then on SIGTERM {"peak_rss_mb": ...}."""
    from waitress import create_server

    from portal import create_app

    workdir = Path(spec["workdir"])
    app = create_app({
        "DATABASE_URL": database_url(workdir), "INSTANCE_PATH": workdir / "instance", "FILES_PATH": files_path(workdir),
        "SEARCH_PATH": workdir / "instance" / "search", "SEARCH_BACKEND": "whoosh", "SECRET_KEY": "bench-pipeline",
    })  # its own SQLite database and Whoosh index, whatever PORTAL_* the caller's environment holds
    server = create_server(app, host="127.0.0.1", port=0, threads=spec.get("threads", 8), ident="portal")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"port": server.effective_port, "start_rss_mb": peak_rss_mb()}), flush=True)
    try:
        server.run()
    finally:
        print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


CHILDREN: dict[str, Callable[[dict[str, Any]], Any]] = {
    "csv": child_csv, "frictionless": child_frictionless, "pipeline": child_pipeline, "serve": child_serve, "socket": child_socket,
}


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its stdout is one JSON object."""
    command = [sys.executable, str(SCRIPT), "--child", json.dumps({"kind": kind, **spec}, ensure_ascii=False)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} child failed (exit {done.returncode}); see its error above")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(raw: str) -> int:
    spec = json.loads(raw)
    result = CHILDREN[spec["kind"]](spec)
    if result is not None:
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


# -- measuring ------------------------------------------------------------------------------


def _fastest(best: dict[str, Any] | None, figures: dict[str, Any]) -> dict[str, Any]:
    """The faster of two runs' figures, with every run's seconds and the highest peak memory."""
    seconds = [*(best["all_seconds"] if best else []), round(figures["seconds"], 3)]
    peak = max(figures["peak_rss_mb"], best["peak_rss_mb"] if best else 0)
    chosen = best if best and best["seconds"] <= figures["seconds"] else figures
    return {**chosen, "all_seconds": seconds, "peak_rss_mb": peak}


def measure_ingest(workdir: Path, paths: dict[str, Path], entry_ids: dict[str, list[int]], rows: int) -> list[dict[str, Any]]:
    """Each step in its own child process, `len(entry_ids[...])` times in turn (csv, Frictionless,
    pipeline, csv, ...); the fastest run of each counts, as timeit does, since a shared machine
    only ever adds time. Peak memory is the highest of the runs."""
    schema = table_schema()
    results = []
    for enc, path in paths.items():
        spec = {"path": str(path), "codec": ENCODINGS[enc]}
        measured: dict[str, dict[str, Any]] = {}
        steps = [
            (run, kind, extra)
            for run, entry_id in enumerate(entry_ids[enc], start=1)
            for kind, extra in (("csv", {}), ("frictionless", {"schema": schema}), ("pipeline", {"workdir": str(workdir), "entry_id": entry_id}))
        ]
        for run, kind, extra in steps:
            log(f"{enc}: {STEP_LABELS[kind]} (run {run}) ...")
            figures = run_child(kind, {**spec, **extra})
            log(f"{enc}: {STEP_LABELS[kind]}: {figures['seconds']:.2f} s, peak RSS {figures['peak_rss_mb']} MB")
            if figures.get("rows") != rows:
                log(f"WARNING: {enc} {kind} counted {figures.get('rows')} rows, not {rows}")
            if kind != "csv" and not figures.get("valid"):
                log(f"WARNING: {enc} {kind}: the table did not come out valid ({figures.get('error_count')} errors)")
            if kind == "pipeline" and (figures.get("findings") or figures.get("new_items")):
                log(f"WARNING: {enc} pipeline: {figures.get('findings')} personal-information findings, {figures.get('new_items')} new data items (expected none)")
            measured[kind] = _fastest(measured.get(kind), figures)
        base = measured["frictionless"]["seconds"]
        for kind, figures in measured.items():
            row = {
                "encoding": enc,
                "step": kind,
                "label": STEP_LABELS[kind],
                "bytes": path.stat().st_size,
                "rows": figures.get("rows"),
                "seconds": round(figures["seconds"], 3),
                "rows_per_s": round(rows / figures["seconds"]) if figures["seconds"] else None,
                "mb_per_s": round(path.stat().st_size / 2**20 / figures["seconds"], 1) if figures["seconds"] else None,
                "peak_rss_mb": figures["peak_rss_mb"],
                "start_rss_mb": figures["start_rss_mb"],
                "ratio_to_frictionless": round(figures["seconds"] / base, 2) if base else None,
            }
            row.update({k: v for k, v in figures.items() if k not in row and k not in ("start_rss_mb",)})
            results.append(row)
    return results


def read_file(path: Path) -> tuple[int, float]:
    """A plain read of `path` in 1 MB chunks: (bytes, seconds)."""
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        total = receive(handle)
    return total, time.perf_counter() - started


def start_child(kind: str, spec: dict[str, Any]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A child that serves something: started, and its first line (the port) read."""
    child = subprocess.Popen([sys.executable, str(SCRIPT), "--child", json.dumps({"kind": kind, **spec})], stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()  # type: ignore[union-attr]
    if not line:
        child.wait()
        raise RuntimeError(f"the {kind} child did not start; see its error above")
    return child, json.loads(line)


def stop_child(child: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """Terminate a serving child (if still running); its further JSON lines."""
    if child.poll() is None:
        child.terminate()
    try:
        rest, _ = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        rest, _ = child.communicate()
    return [json.loads(x) for x in (rest or "").splitlines() if x.startswith("{")]


def receive(stream: Any) -> int:
    """Read `stream` (readinto) to its end in 1 MB chunks; the byte count."""
    view = memoryview(bytearray(CHUNK))
    total = 0
    while count := stream.readinto(view):
        total += count
    return total


def drop_caches() -> bool:
    """Empty the kernel's page cache (root on Linux only), so that the next read of a file comes
    from the disk; False where that is not allowed."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def http_get(url: str) -> tuple[int, int, int, float]:
    """GET `url` to its end: (status, Content-Length, bytes, seconds)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        status, length = response.status, int(response.headers.get("Content-Length") or -1)
        total = receive(response)
    return status, length, total, time.perf_counter() - started


def measure_download(workdir: Path, target: dict[str, Any], *, cold: bool = True) -> dict[str, Any]:
    import socket

    path = Path(target["path"])
    cold = cold and drop_caches()
    cold_disk = read_file(path) if cold else None  # from the disk itself
    read_file(path)  # warm: the next reads find the file in the page cache
    disk_bytes, disk_seconds = read_file(path)

    sender, ready = start_child("socket", {"path": str(path)})
    try:
        with socket.create_connection(("127.0.0.1", ready["port"])) as connection, connection.makefile("rb", buffering=0) as stream:
            started = time.perf_counter()
            socket_bytes = receive(stream)
            socket_seconds = time.perf_counter() - started
    finally:
        stop_child(sender)

    server, started_server = start_child("serve", {"workdir": str(workdir)})
    try:
        url = f"http://127.0.0.1:{started_server['port']}/catalog/{target['slug']}/files/{target['file_id']}/{target['name']}"
        log(f"download: {url}")
        cold_http = http_get(url) if cold and drop_caches() else None
        status, length, total, http_seconds = http_get(url)
    finally:
        lines = stop_child(server)
    peak = next((x["peak_rss_mb"] for x in lines if "peak_rss_mb" in x), None)
    for what, count in (("download", total), ("loopback transfer", socket_bytes)):
        if count != target["bytes"]:
            log(f"WARNING: the {what} gave {count} bytes, the file has {target['bytes']}")
    disk_rate = disk_bytes / 2**20 / disk_seconds
    socket_rate = socket_bytes / 2**20 / socket_seconds
    http_rate = total / 2**20 / http_seconds
    return {
        "url_path": url.split(str(started_server["port"]), 1)[1],
        "status": status,
        "content_length": length,
        "bytes": total,
        "mb": round(total / 2**20, 1),
        "disk_seconds": round(disk_seconds, 3),
        "disk_mb_per_s": round(disk_rate, 1),
        "loopback_seconds": round(socket_seconds, 3),
        "loopback_mb_per_s": round(socket_rate, 1),
        "http_seconds": round(http_seconds, 3),
        "http_mb_per_s": round(http_rate, 1),
        "ratio_to_disk": round(http_rate / disk_rate, 3),
        "ratio_to_loopback": round(http_rate / socket_rate, 3),
        "server_start_rss_mb": started_server.get("start_rss_mb"),
        "server_peak_rss_mb": peak,
        "warm": "file read once before the timed reads (page cache warm for all)",
        # With the page cache emptied before each (root only): the disk itself against the download.
        "cold_disk_mb_per_s": round(cold_disk[0] / 2**20 / cold_disk[1], 1) if cold_disk else None,
        "cold_http_mb_per_s": round(cold_http[2] / 2**20 / cold_http[3], 1) if cold_http else None,
        "cold_ratio_to_disk": round((cold_http[2] / cold_http[3]) / (cold_disk[0] / cold_disk[1]), 3) if cold_disk and cold_http else None,
    }


def targets_met(ingest: Sequence[dict[str, Any]], download: dict[str, Any] | None) -> list[dict[str, Any]]:
    checks = []
    for row in ingest:
        if row["step"] != "pipeline":
            continue
        checks.append({"what": f"{row['encoding']} pipeline / Frictionless alone", "target": f"<= {TARGET_PIPELINE_RATIO}",
                       "value": row["ratio_to_frictionless"], "met": row["ratio_to_frictionless"] is not None and row["ratio_to_frictionless"] <= TARGET_PIPELINE_RATIO})
        checks.append({"what": f"{row['encoding']} pipeline peak RSS MB", "target": f"< {TARGET_PIPELINE_RSS_MB:g}",
                       "value": row["peak_rss_mb"], "met": row["peak_rss_mb"] < TARGET_PIPELINE_RSS_MB})
    if download is not None:
        cold = download["cold_ratio_to_disk"]
        if cold is not None:
            checks.append({"what": "download / disk read, both from disk", "target": f">= {TARGET_DOWNLOAD_RATIO}",
                           "value": cold, "met": cold >= TARGET_DOWNLOAD_RATIO})
        checks.append({"what": "download / read, both from page cache", "target": f">= {TARGET_DOWNLOAD_RATIO}",
                       "value": download["ratio_to_disk"], "met": download["ratio_to_disk"] >= TARGET_DOWNLOAD_RATIO})
    return checks


# -- the command ----------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000", help="data rows of the generated table (default: 1000000)")
    parser.add_argument("--download-mb", type=int, default=1024, help="size of the downloaded file in MB (default: 1024)")
    parser.add_argument("--skip-download", action="store_true", help="measure the upload pipeline only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each ingest step; the fastest counts (default: 1)")
    parser.add_argument("--no-cold", action="store_true", help="do not empty the page cache for the from-disk download figures")
    parser.add_argument("--encodings", default="utf-8,gbk", help="comma-separated: utf-8, gbk (default: utf-8,gbk)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--workdir", type=Path, default=None, help="work folder (default: a new /tmp/bench-pipeline-* folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files, database and store")
    parser.add_argument("--seed", type=int, default=1, help="seed of the table and the download file (default: 1)")
    arguments = parser.parse_args(argv)
    arguments.rows = int(str(arguments.rows).replace("_", "").replace(",", ""))
    arguments.encodings = [e.strip().lower() for e in arguments.encodings.split(",") if e.strip()]
    unknown = [e for e in arguments.encodings if e not in ENCODINGS]
    if unknown:
        parser.error(f"unknown encodings {unknown}: use {', '.join(ENCODINGS)}")
    if arguments.rows < 1 or arguments.download_mb < 1:
        parser.error("need at least 1 row and 1 MB")
    if not arguments.encodings and arguments.skip_download:
        parser.error("nothing to measure")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(sys.argv[2])
    args = parse_arguments(argv)
    if __name__ == "__main__":  # a stopped run still removes its files
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    made_folder = args.workdir is None or not args.workdir.exists()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-", dir="/tmp" if os.path.isdir("/tmp") else None)) if args.workdir is None else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {enc: workdir / FILE_NAMES[enc] for enc in args.encodings}
    created = [*paths.values(), workdir / "instance"]
    if not made_folder and any(p.exists() for p in created):
        log(f"{workdir} already holds {', '.join(p.name for p in created if p.exists())}: choose an empty or new folder")
        return 2
    log(f"work folder: {workdir}")
    try:
        started = time.perf_counter()
        if paths:
            generate_tables(args.rows, args.seed, paths)
            log(f"generated {args.rows:,} rows ({', '.join(f'{e}: {p.stat().st_size / 2**20:.1f} MB' for e, p in paths.items())}) in {time.perf_counter() - started:.1f} s")
        entry_ids = prepare_database(workdir, args.encodings, args.repeat)
        ingest = measure_ingest(workdir, paths, entry_ids, args.rows) if paths else []
        download = None
        if not args.skip_download:
            started = time.perf_counter()
            target = prepare_download(workdir, args.download_mb, args.seed)
            log(f"wrote the {args.download_mb} MB download file into the store in {time.perf_counter() - started:.1f} s")
            download = measure_download(workdir, target, cold=not args.no_cold)
            log(f"download: disk {download['disk_mb_per_s']} MB/s, loopback ceiling {download['loopback_mb_per_s']} MB/s, "
                f"HTTP {download['http_mb_per_s']} MB/s, server peak RSS {download['server_peak_rss_mb']} MB")
    finally:
        if args.keep:
            log(f"kept: {workdir}")
        elif made_folder:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for path in created:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    import frictionless

    report = {
        "parameters": {
            "rows": args.rows,
            "columns": len(ITEMS),
            "encodings": args.encodings,
            "download_mb": None if args.skip_download else args.download_mb,
            "seed": args.seed,
            "frictionless_call": FRICTIONLESS_CALL,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "frictionless": getattr(frictionless, "__version__", None),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "workdir": str(workdir) if args.keep else None,
        },
        "ingest": ingest,
        "download": download,
        "targets": targets_met(ingest, download),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report)
    return 0


def print_table(report: dict[str, Any]) -> None:
    p = report["parameters"]
    table = f"{p['rows']:,} rows x {p['columns']} columns ({', '.join(p['encodings'])}), " if p["encodings"] else ""
    print(f"Upload pipeline benchmark: {table}seed {p['seed']}, {p['cores']} cores, Python {p['python']}, "
          f"Frictionless {p['frictionless']}, SQLite {p['sqlite']}")
    if report["ingest"]:
        print(f"floor B is {p['frictionless_call']}")
        header = f"{'encoding':<9}{'step':<30}{'MB':>8}{'seconds':>9}{'rows/s':>10}{'peak MB':>9}{'start MB':>9}{'x floor B':>10}"
        print(header)
        print("-" * len(header))
        for r in report["ingest"]:
            print(f"{r['encoding']:<9}{r['label']:<30}{r['bytes'] / 2**20:>8.1f}{r['seconds']:>9.2f}{r['rows_per_s'] or 0:>10,}"
                  f"{r['peak_rss_mb']:>9.1f}{r['start_rss_mb']:>9.1f}{r['ratio_to_frictionless']:>10.2f}")
        for r in report["ingest"]:
            if r["step"] == "pipeline":
                steps = ", ".join(f"{k} {v:.2f}" for k, v in r.get("steps_seconds", {}).items())
                state = "valid" if r.get("valid") else f"INVALID ({r.get('error_count')} errors: {r.get('error_counts')})"
                print(f"  {r['encoding']} pipeline steps (s): {steps}; {state}, {r.get('findings')} personal-information findings"
                      + (f", notes: {'; '.join(r['notes'])}" if r.get("notes") else ""))
        print("  (start MB: the child's peak RSS after its imports and set-up, before the timed work)")
    d = report["download"]
    if d is not None:
        print(f"download of {d['mb']:,.0f} MB ({d['url_path']}, HTTP {d['status']}), {d['warm']}:")
        print(f"  disk read           {d['disk_mb_per_s']:>9,.1f} MB/s  ({d['disk_seconds']:.2f} s)")
        print(f"  loopback ceiling    {d['loopback_mb_per_s']:>9,.1f} MB/s  ({d['loopback_seconds']:.2f} s; os.sendfile to a 127.0.0.1 socket, no HTTP)")
        print(f"  HTTP via waitress   {d['http_mb_per_s']:>9,.1f} MB/s  ({d['http_seconds']:.2f} s); "
              f"x disk read {d['ratio_to_disk']:.2f}, x loopback ceiling {d['ratio_to_loopback']:.2f}")
        if d["cold_ratio_to_disk"] is not None:
            print(f"  from disk (page cache emptied before each): read {d['cold_disk_mb_per_s']:,.1f} MB/s, "
                  f"HTTP {d['cold_http_mb_per_s']:,.1f} MB/s, x disk read {d['cold_ratio_to_disk']:.2f}")
        print(f"  server peak RSS {d['server_peak_rss_mb']} MB (after start-up, before the request: {d['server_start_rss_mb']} MB)")
    note = "" if p["cores"] == 2 else f" (this machine has {p['cores']} cores)"
    print(f"targets{note}: pipeline <= {TARGET_PIPELINE_RATIO} x Frictionless alone, pipeline peak RSS < {TARGET_PIPELINE_RSS_MB:g} MB, "
          f"download >= {TARGET_DOWNLOAD_RATIO} x disk read")
    for c in report["targets"]:
        print(f"  {c['what']:<40}{c['target']:>8}  {c['value']!s:>8}  {'met' if c['met'] else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
