"""API benchmark: the portal under gunicorn on a 10,000-entry catalog, loaded over the loopback;
and, in-process, what counting quotas costs per call.

    python bench/api.py [--entries 10000] [--seed 1] [--clients 50] [--seconds 10] [--warmup 2]
                        [--repeat 1] [--procs 2] [--workers 2] [--threads 1] [--scenarios ...]
                        [--cache-dir DIR] [--rebuild] [--json]
    python bench/api.py --mode inprocess [--calls 400] [--workdir DIR] [--redis-url URL] [--json]

`--mode http` (the default):

1. A synthetic Chinese catalog of `--entries` entries (`generate_catalog` of bench/search.py,
   the same for the same seed) is written through the catalog's own domain functions
   (`catalog.create_entry`, `resources.add_file`, `open_review.record_imported`,
   `catalog.withdraw_entry`) into a fresh migrated SQLite database, then indexed at once with
   Whoosh (`Indexer.rebuild`, what `portal reindex` does). The instance folder is kept under
   `--cache-dir`, keyed by the size and the seed, and reused by the next run (`--rebuild` makes
   it anew).
2. The anonymous quota tier is lifted (`quota_tiers.set_tier_limits(..., Limits(0, 0, 0, 0))`: not
   counted at all), then `gunicorn -w 2 -b 127.0.0.1:<free port> portal.wsgi:app` starts
   on that instance (PORTAL_* variables point it there) and is stopped at the end, also on
   Ctrl-C or an error.
3. A load generator on the same machine (asyncio over raw HTTP/1.1 sockets, in `--procs`
   processes sharing `--clients` clients; keep-alive where the server keeps the connection,
   a new connection where it closes it) runs each scenario for `--warmup` seconds (not counted)
   and then `--seconds` seconds: the baseline `status_show`, `package_show` of a random entry
   of the open catalog, `package_search` with a Chinese word and facets, and an entry page
   (revalidated with If-None-Match / If-Modified-Since when the portal sends a validator,
   otherwise fetched in full and reported as uncached).

Printed: requests per second, p50 and p95 latency, errors (any answer other than 2xx and 304,
any exception), the ratio of each rate to the baseline of the same run, the targets and whether
they are met, and the CPU used by the server, the load generator and everything else on the
machine during each measurement. Nothing asserts a time.

`--mode inprocess`: the real app on the sample datasets, called through Flask's test client (no
network), best of three rounds: `package_show` with the anonymous tier at 0 (baseline), the same
calls counted in the database store and in Redis (when one answers at `--redis-url`), and
`package_search?q=企业` next to the catalog page `/catalog?q=企业`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/api.py` without the package installed
    sys.path.insert(0, str(ROOT))

BUILDER = "基准测试"
BUILD_VERSION = 1  # bump when the built instance changes: cached instances of another version are rebuilt
BATCH = 500
FACET_FIELDS = '["organization","tags","res_format"]'
SCENARIOS = ("baseline", "package_show", "package_search", "entry_page")
# Not run unless asked for (--scenarios): package_search with facets the search index answers by
# itself (organization) and without facet fields, to see what the facets of the default cost.
EXTRA_SCENARIOS = ("package_search_org", "package_search_nofacets")
LABELS = {
    "baseline": "baseline: status_show",
    "package_show": "package_show",
    "package_search": "package_search, Chinese q + 3 facets",
    "entry_page": "entry page /catalog/<slug>",
    "package_search_org": "package_search, q + organization facet",
    "package_search_nofacets": "package_search, q, no facet fields",
}
# Requirements on a 2-core machine, at 10,000 entries and 50 concurrent clients; every scenario: no errors.
TARGETS: dict[str, dict[str, float]] = {"package_show": {"per_s": 300.0}, "package_search": {"per_s": 100.0, "p95_ms": 300.0}}
TARGET_ENTRIES, TARGET_CLIENTS = 10_000, 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _bench_search() -> Any:
    """bench/search.py as a module: its synthetic catalog generator and vocabulary."""
    name = "bench_search"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "search.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


# == the instance: a 10,000-entry catalog in SQLite and Whoosh ==================================


def instance_settings(folder: Path) -> dict[str, str]:
    """The settings of the benchmark instance, by name (PORTAL_<name> for the server)."""
    return {
        "INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
        "FILES_PATH": str(folder / "files"),
        "SEARCH_BACKEND": "whoosh",
        "SEARCH_PATH": str(folder / "search"),
        "SECRET_KEY": "bench-api",
        "QUOTA_STORE": "database",
        "SMTP_HOST": "",
    }


def _portal_app(folder: Path) -> Any:
    from portal import create_app

    settings: dict[str, Any] = instance_settings(folder)
    for key in ("INSTANCE_PATH", "FILES_PATH", "SEARCH_PATH"):
        settings[key] = Path(settings[key])
    return create_app(settings)


def _department_codes() -> Any:
    from portal.codes import org_code_check_char, uscc_check_char

    def code(number: int) -> str:
        body = f"{90_000_000 + number:08d}"
        first17 = "11340172" + body + org_code_check_char(body)
        return first17 + uscc_check_char(first17)

    return code


def _departments(session: Any, now: datetime) -> dict[str, Any]:
    """The zone's departments (datasets/departments.json) and those of the generator that are
    not among them, by the generator's department key."""
    from sqlalchemy import select

    from portal.accounts import create_department
    from portal.datapackages import load_departments
    from portal.models import Department

    load_departments(session, ROOT / "datasets" / "departments.json", now=now)
    parent = session.scalar(select(Department).where(Department.parent_id.is_(None)).order_by(Department.id))
    code = _department_codes()
    found = {}
    for key, name in _bench_search().DEPARTMENTS.items():
        full = f"合肥经济技术开发区{name}"
        department = session.scalar(select(Department).where(Department.name == full))
        if department is None:
            department = create_department(session, name=full, code=code(int(key)), parent=parent, now=now)
        found[key] = department
    return found


FORMAT_NAMES = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".pdf": "pdf", ".xml": "xml", ".png": "png", ".mp4": "mp4", ".zip": "zip", ".docx": "docx"}


def _placeholder_files(store: Any) -> dict[str, Any]:
    """One small stored file per extension, shared by every entry's file row of that format (the
    store is content-addressed: the same bytes uploaded twice are one file)."""
    import io

    return {ext: store.save(io.BytesIO(f"基准测试占位文件 {ext}\n".encode())) for ext in FORMAT_NAMES}


def _item_type(title: str) -> Any:
    from portal.vocab import DataType

    if title.endswith(("日期", "日", "有效期至", "有效期限")):
        return DataType.D
    if title.endswith(("时间",)):
        return DataType.T
    if title.endswith(("数", "数量", "人数", "面积")) or title in ("功率", "年度"):
        return DataType.I
    if title.endswith(("金额", "产值", "价格", "资本", "浓度", "指数", "增速", "增长", "用电量", "收入", "基数", "经度", "纬度", "率", "额")):
        return DataType.N
    return DataType.C


def _field_name(title: str, taken: set[str]) -> str:
    from pypinyin import lazy_pinyin

    name = "_".join(p for p in ("".join(c for c in s.lower() if c.isascii() and (c.isalnum() or c == "_")) for s in lazy_pinyin(title)) if p)
    name = (name if name[:1].isalpha() else f"f_{name}")[:60] or "field"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


@dataclass
class _Codes:
    """Classification codes by path (kind digit + 4 digits) and the next sequence number of each."""

    by_path: dict[str, str] = field(default_factory=dict)
    next: Counter[str] = field(default_factory=Counter)

    def resource_code(self, kind: str, path: str) -> tuple[str, str]:
        base = {"基础/人口": "10100", "基础/法人单位": "10200", "基础/自然资源和空间地理": "10300", "基础/电子证照/许可": "10400"}
        if path not in self.by_path:
            digit = {"base": "1", "theme": "2", "department": "3"}[kind]
            used = sum(1 for c in self.by_path.values() if c[0] == digit)
            self.by_path[path] = base.get(path) or f"{digit}{50 + used:02d}00"
        code = self.by_path[path]
        self.next[code] += 1
        return code, f"{code}/{self.next[code]:06d}"


def _entry_fields(document: Any, bench: Any) -> tuple[Any, str, str]:
    """The catalog fields of a generated `Document`, its classification path and its file name."""
    from portal.catalog import EntryFields, ItemFields
    from portal.vocab import ClassificationKind, FormatClass, OpenType, SecurityLevel, ShareType, UpdateCycle

    department = bench.DEPARTMENTS[document.department]
    subject = max((s for s in bench.SUBJECTS if s in document.title), key=len)
    home_path = bench.SUBJECTS[subject][1]
    if document.classification == "department":
        path = home_path if home_path.startswith("部门") else f"部门/{department}"
    else:
        path = home_path
    tags = document.tags.split(" ")
    keywords = tags[: tags.index(department)]
    abstract, *rest = document.body.split(" ")
    files = [t for t in rest if Path(t).suffix in FORMAT_NAMES]
    taken: set[str] = set()
    items = [ItemFields(t, _field_name(t, taken), _item_type(t), description="") for t in rest if t not in files]
    share, open_ = ShareType(document.share), OpenType(document.open)
    fields = EntryFields(
        title=document.title,
        classification_kind=ClassificationKind(document.classification),
        classification_path=path,
        classification_code="",  # set by the caller with the resource code
        format_class=FormatClass(document.format),
        format_type=Path(files[0]).suffix.lstrip(".").upper(),
        share_type=share,
        share_condition="仅限履行法定职责使用，不得向第三方提供" if share == ShareType.CONDITIONAL else "",
        legal_basis="《中华人民共和国数据安全法》第三十八条" if share == ShareType.NONE else "",
        open_type=open_,
        open_condition="申请人须说明数据用途并承诺不用于商业目的" if open_ == OpenType.ON_APPLICATION else "",
        update_cycle=UpdateCycle(document.cycle),
        security_level=SecurityLevel.GENERAL,
        abstract=abstract,
        keywords=keywords,
        publish_date=document.publish_date,
        items=items,
    )
    return fields, path, files[0]


def build_instance(folder: Path, entries: int, seed: int) -> float:
    """Write the catalog into a new instance at `folder` (built beside it, then renamed); returns
    the seconds it took."""
    from dataclasses import replace

    from sqlalchemy import func, select

    from portal import catalog, open_review, resources
    from portal.db import make_sessionmaker, upgrade
    from portal.models import Entry
    from portal.vocab import EntryStatus

    began = time.perf_counter()
    bench = _bench_search()
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        documents = bench.generate_catalog(entries, seed)
        log(f"generated {len(documents):,} entries ({time.perf_counter() - began:.1f} s); writing them into {partial}")
        app = _portal_app(partial)
        engine = app.extensions["portal.engine"]
        upgrade(engine)
        # Plain sessions: changes are queued for the index but not written after each commit;
        # the index is built once at the end, as `portal reindex` does.
        sessions = make_sessionmaker(engine)
        start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
        codes = _Codes()
        written = time.perf_counter()
        with sessions() as session:
            departments = _departments(session, start)
            stored = _placeholder_files(app.extensions["portal.files"])
            session.commit()
            for number, document in enumerate(documents, start=1):
                now = start + timedelta(minutes=document.id)
                fields, path, file_name = _entry_fields(document, bench)
                code, resource_code = codes.resource_code(document.classification, path)
                status = EntryStatus.DRAFT if document.status == "draft" else EntryStatus.PUBLISHED
                entry = catalog.create_entry(
                    session, department=departments[document.department], fields=replace(fields, classification_code=code),
                    actor=None, actor_name=BUILDER, now=now, resource_code=resource_code, status=status,
                )
                entry.downloads = max(document.downloads, 0)
                ext = Path(file_name).suffix
                resources.add_file(
                    session, entry, name=file_name, sha256=stored[ext].sha256, size=stored[ext].size, format=FORMAT_NAMES[ext],
                    encoding=None, normalised_sha256=None, facts=None, actor=None, actor_name=BUILDER, now=now,
                )
                open_review.record_imported(session, entry, conclusion="基准测试合成数据，开放属性按已审查记录", actor_name=BUILDER, now=now)
                if document.status == "withdrawn":
                    catalog.withdraw_entry(session, entry, actor=None, now=now)
                if number % BATCH == 0 or number == len(documents):
                    session.commit()
                    session.expunge_all()
                    departments = {k: session.merge(d, load=False) for k, d in departments.items()}
                    rate = number / (time.perf_counter() - written)
                    left = (len(documents) - number) / rate
                    log(f"  {number:,} / {len(documents):,} entries written ({rate:.0f}/s, about {left:.0f} s to go)")
            count = session.scalar(select(func.count(Entry.id))) or 0
        log(f"indexing {count:,} entries with Whoosh (portal reindex; at 10,000 entries a few minutes) ...")
        indexed_at = time.perf_counter()
        indexed = app.extensions["portal.search"].indexer.rebuild()
        log(f"  indexed {indexed:,} entries in {time.perf_counter() - indexed_at:.0f} s")
        engine.dispose()
        seconds = time.perf_counter() - began
        (partial / "bench-ready.json").write_text(
            json.dumps({"version": BUILD_VERSION, "entries": entries, "seed": seed, "build_seconds": round(seconds, 1)}), encoding="utf-8"
        )
        if folder.exists():
            shutil.rmtree(folder)
        try:
            os.rename(partial, folder)
        except OSError:  # another run finished the same instance first: use that one
            shutil.rmtree(partial, ignore_errors=True)
        return seconds
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def ready(folder: Path, entries: int, seed: int) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / "bench-ready.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if (marker.get("version"), marker.get("entries"), marker.get("seed")) == (BUILD_VERSION, entries, seed) else None


@dataclass
class Prepared:
    entries: int
    open_slugs: list[str]
    words: list[str]


def prepare(folder: Path, seed: int) -> Prepared:
    """Bring the instance's schema up to date, lift the anonymous quota, and pick what to ask for."""
    from sqlalchemy import func, select

    from portal.db import upgrade
    from portal.models import Entry
    from portal.quota_tiers import Limits, set_tier_limits
    from portal.search import OPEN_CATALOG
    from portal.vocab import EntryStatus

    app = _portal_app(folder)
    engine = app.extensions["portal.engine"]
    upgrade(engine)  # a migration added since the instance was built
    with app.extensions["portal.sessions"]() as session:
        if set_tier_limits(session, "anonymous", Limits(0, 0, 0, 0), actor=None, now=datetime.now(timezone.utc), actor_name=BUILDER):
            log("anonymous quota lifted for the run (tier anonymous: 0 = no limit, not counted)")
        session.commit()
        total = session.scalar(select(func.count(Entry.id))) or 0
        slugs = list(session.scalars(
            select(Entry.slug).where(Entry.status == EntryStatus.PUBLISHED, Entry.open_type.in_(list(OPEN_CATALOG))).order_by(Entry.id)
        ))
    engine.dispose()
    bench = _bench_search()
    words = sorted({w for _, _, _, keywords in bench.SUBJECTS.values() for w in keywords} | set(bench.PLACES[:10]))
    random.Random(seed).shuffle(words)
    return Prepared(total, slugs, words)


# == the server ================================================================================


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on the instance, in its own process group; `stop` ends it (and its workers)."""

    def __init__(self, folder: Path, workers: int, threads: int, app: str = "portal.wsgi:app") -> None:
        self.folder, self.workers, self.threads, self.app = folder, workers, threads, app
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "gunicorn.log"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}"]
        if self.threads > 1:
            command += ["--threads", str(self.threads)]
        return [*command, "--log-level", "warning", "--graceful-timeout", "5", self.app]

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update({f"PORTAL_{k}": v for k, v in instance_settings(self.folder).items()})
        for attempt in range(3):
            self.port = _free_port()
            with open(self.log_path, "ab") as out:
                self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
            log(f"started {' '.join(self.command()[1:])} (pid {self.process.pid})")
            if self._wait():
                return
            self.stop()
            if attempt == 2:
                tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise SystemExit(f"gunicorn did not start; its log ({self.log_path}) ends with:\n{tail}")
            log("gunicorn did not answer; trying another port")

    def _wait(self, timeout: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/api/3/action/status_show")
                if connection.getresponse().status == 200:
                    connection.close()
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            children = []
        return [self.process.pid, *map(int, children)]

    def stopped(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # the group of the process this run started
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# == CPU accounting (Linux /proc) ==============================================================

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by `pids`."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


# == the load generator ========================================================================


@dataclass
class Load:
    """What one generator process measured."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0  # answers other than 2xx and 304, and failures
    failed: int = 0  # no answer: refused or broken connections, unreadable answers
    error_samples: list[str] = field(default_factory=list)
    connections: int = 0
    late: int = 0  # answers that came after the end of the measurement (not counted)
    bytes: int = 0
    cpu_seconds: float = 0.0


class _Closed(Exception):
    """The server closed the connection before an answer began (a kept-alive connection it
    had already let go)."""


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool, int]:
    """Read one HTTP/1.1 answer: (status, whether the connection is closed after it, body bytes)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise _Closed from None
        raise
    lines = head.decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status_text)
    close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
    size = 0
    if status in (204, 304) or status < 200:
        pass
    elif "content-length" in headers:
        size = int(headers["content-length"])
        await reader.readexactly(size)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            chunk = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if chunk == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                break
            size += chunk
            await reader.readexactly(chunk + 2)
    else:
        size, close = len(await reader.read()), True
    return status, close, size


async def _client(number: int, port: int, paths: list[str], validators: dict[str, str], seed: int, measure_from: float, until: float, load: Load) -> None:
    """One client: a request, its whole answer, the next request, until `until`. Counted are the
    answers (and failures) that complete between `measure_from` and `until`, as wrk counts; a
    request still running at `until` is waited for (so that the next scenario starts on an idle
    server) but not counted."""
    rng = random.Random(seed * 1_000_003 + number)
    host = f"127.0.0.1:{port}"
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < until:
        path = paths[rng.randrange(len(paths))]
        extra = validators.get(path, "")
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: zone-portal-bench\r\nAccept: */*\r\n{extra}\r\n".encode("ascii")
        began = time.perf_counter()
        status, failure, connected = None, "", False
        for attempt in range(2):
            fresh = writer is None
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    connected = True
                assert reader is not None
                writer.write(request)
                status, close, size = await _answer(reader)
            except (_Closed, OSError, asyncio.IncompleteReadError, ValueError) as error:
                if writer is not None:
                    writer.close()
                reader = writer = None
                if isinstance(error, _Closed) and not fresh and attempt == 0:
                    continue  # a kept-alive connection the server had closed: once more on a new one, as browsers do
                failure = f"{path}: {type(error).__name__}: {error}"
            break
        ended = time.perf_counter()
        if status is not None and close and writer is not None:
            writer.close()
            reader = writer = None
        done = time.monotonic()
        if not measure_from <= done < until:
            load.late += done >= until
            continue
        load.connections += connected
        if status is None:
            load.errors += 1
            load.failed += 1
            if len(load.error_samples) < 5:
                load.error_samples.append(failure)
            continue
        load.latencies_ms.append((ended - began) * 1000)
        load.statuses[status] += 1
        load.bytes += size
        if not (200 <= status < 300 or status == 304):
            load.errors += 1
            if len(load.error_samples) < 5:
                load.error_samples.append(f"{path}: HTTP {status}")
    if writer is not None:
        writer.close()


def generate(port: int, clients: list[int], paths: list[str], validators: dict[str, str], seed: int, start_at: float, warmup: float, seconds: float) -> Load:
    """One generator process: `clients` (their numbers) in one event loop, from `start_at`
    (time.monotonic, the same clock in every process) for `warmup` + `seconds`."""
    load = Load()

    async def run() -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu = time.process_time()
        await asyncio.gather(*(_client(n, port, paths, validators, seed, start_at + warmup, start_at + warmup + seconds, load) for n in clients))
        load.cpu_seconds = time.process_time() - cpu

    asyncio.run(run())
    return load


def _generate_star(arguments: tuple[Any, ...]) -> Load:
    return generate(*arguments)


@dataclass
class Scenario:
    name: str
    paths: list[str]
    validators: dict[str, str] = field(default_factory=dict)  # path -> conditional request header line


def _percentile(values: list[float], cut: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[cut - 1]


def run_scenario(server: Server, scenario: Scenario, *, clients: int, procs: int, seconds: float, warmup: float, seed: int) -> dict[str, Any]:
    """Drive `scenario` with `clients` clients split over `procs` processes; the figures."""
    procs = max(1, min(procs, clients))
    groups = [list(range(p, clients, procs)) for p in range(procs)]
    start_at = time.monotonic() + 0.5
    arguments = [(server.port, group, scenario.paths, scenario.validators, seed, start_at, warmup, seconds) for group in groups]
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with context.Pool(procs) as pool:
        pending = pool.map_async(_generate_star, arguments)
        # CPU of the server and of the machine over the measured window, read from here
        time.sleep(max(0.0, start_at + warmup - time.monotonic()))
        server_cpu, machine = _process_cpu(server.pids()), _machine_cpu()
        time.sleep(max(0.0, start_at + warmup + seconds - time.monotonic()))
        server_cpu, machine_after = _process_cpu(server.pids()) - server_cpu, _machine_cpu()
        loads: list[Load] = pending.get(timeout=seconds + warmup + 300)
    latencies = sorted(ms for load in loads for ms in load.latencies_ms)
    requests = len(latencies) + sum(load.failed for load in loads)
    statuses: Counter[int] = sum((load.statuses for load in loads), Counter())
    window = machine_after[1] - machine[1]
    generator_cpu = sum(load.cpu_seconds for load in loads) * seconds / (seconds + warmup)  # its share of the window, roughly
    busy = machine_after[0] - machine[0]
    cores = os.cpu_count() or 1
    per_core = (lambda s: round(100 * s * cores / window, 1)) if window > 0 else (lambda s: None)
    return {
        "scenario": scenario.name,
        "label": LABELS[scenario.name],
        "example": scenario.paths[0],
        "distinct_paths": len(scenario.paths),
        "clients": clients,
        "requests": requests,
        "seconds": seconds,
        "per_s": round(requests / seconds, 1),
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p95_ms": round(_percentile(latencies, 95), 2),
        "p99_ms": round(_percentile(latencies, 99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else 0.0,
        "errors": sum(load.errors for load in loads),
        "error_samples": [s for load in loads for s in load.error_samples][:5],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "connections": sum(load.connections for load in loads),
        "late": sum(load.late for load in loads),
        "mean_bytes": round(sum(load.bytes for load in loads) / requests) if requests else 0,
        # CPU over the measured window, in % of one core (200 = both cores of a 2-core machine)
        "server_cpu_pct": per_core(server_cpu),
        "generator_cpu_pct": per_core(generator_cpu),
        "other_cpu_pct": per_core(max(0.0, busy - server_cpu - generator_cpu)),
    }


def _prime(server: Server, paths: list[str], count: int) -> None:
    """A few requests at once before the warm-up, so that each worker has loaded what the first
    call of a kind loads (jieba's dictionary for a search: a second or two)."""
    threads = [threading.Thread(target=_fetch, args=(server.port, paths[i % len(paths)])) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def entry_page_caching(port: int, slugs: list[str]) -> dict[str, Any]:
    """What the portal sends on an entry page that a cache could use, and whether a conditional
    request gets 304."""
    status, headers, body = _fetch(port, f"/catalog/{slugs[0]}")
    found: dict[str, Any] = {
        "status": status, "bytes": len(body),
        **{name.replace("-", "_"): headers.get(name) for name in ("etag", "last-modified", "cache-control", "expires", "vary")},
        "sets_cookie": "set-cookie" in headers,
    }
    if headers.get("etag"):
        found["validator"], line = "etag", f"If-None-Match: {headers['etag']}"
    elif headers.get("last-modified"):
        found["validator"], line = "last-modified", f"If-Modified-Since: {headers['last-modified']}"
    else:
        found["validator"], line = None, ""
    if line:
        name, _, value = line.partition(": ")
        found["conditional_status"] = _fetch(port, f"/catalog/{slugs[0]}", {name: value})[0]
    found["cached"] = found.get("conditional_status") == 304
    return found


def _validators(port: int, paths: list[str], kind: str) -> dict[str, str]:
    """The conditional header line of each page, as a cache that has each page would send."""
    header = {"etag": ("etag", "If-None-Match"), "last-modified": ("last-modified", "If-Modified-Since")}[kind]
    found = {}
    for path in paths:
        _status, headers, _body = _fetch(port, path)
        if headers.get(header[0]):
            found[path] = f"{header[1]}: {headers[header[0]]}\r\n"
    return found


def targets_met(results: list[dict[str, Any]], entries: int, clients: int) -> list[dict[str, Any]]:
    applies = entries == TARGET_ENTRIES and clients == TARGET_CLIENTS
    checks = []
    for row in results:
        target = TARGETS.get(row["scenario"], {})
        parts = [f"≥ {target['per_s']:.0f} req/s"] if "per_s" in target else []
        parts += [f"p95 < {target['p95_ms']:.0f} ms"] if "p95_ms" in target else []
        parts.append("0 errors")
        met = row["errors"] == 0 and row["per_s"] >= target.get("per_s", 0) and row["p95_ms"] < target.get("p95_ms", float("inf"))
        checks.append({"scenario": row["scenario"], "target": ", ".join(parts), "met": met if applies else None})
    return checks


def run_http(args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache_dir).expanduser().resolve()
    folder = cache / f"n{args.entries}-seed{args.seed}"
    build_seconds = None
    if args.rebuild or ready(folder, args.entries, args.seed) is None:
        log(f"building the instance in {folder} ({args.entries:,} entries, seed {args.seed}) ...")
        cache.mkdir(parents=True, exist_ok=True)
        build_seconds = build_instance(folder, args.entries, args.seed)
        log(f"built in {build_seconds:.0f} s")
    else:
        log(f"reusing the instance in {folder} (--rebuild to make it anew)")
    prepared = prepare(folder, args.seed)
    if not prepared.open_slugs:
        raise SystemExit("the catalog has no entry in the open catalog")
    rng = random.Random(args.seed)
    slugs = prepared.open_slugs
    show_paths = [f"/api/3/action/package_show?id={quote(s)}" for s in slugs]
    def searches(**extra: Any) -> list[str]:
        return ["/api/3/action/package_search?" + urlencode({"q": w, **extra, "rows": 10}, quote_via=quote) for w in prepared.words]

    page_paths = [f"/catalog/{quote(s)}" for s in rng.sample(slugs, min(len(slugs), 1000))]
    server = Server(folder, args.workers, args.threads, args.app)
    results, caching = [], {}
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    server.start()
    try:
        caching = entry_page_caching(server.port, slugs)
        validators = {}
        if caching["cached"]:
            log(f"entry pages carry a validator ({caching['validator']}): fetching it for {len(page_paths)} pages")
            validators = _validators(server.port, page_paths, caching["validator"])
        else:
            log("entry pages carry no cache validator (no ETag, no Last-Modified): measured as full, uncached answers")
        scenarios = {
            "baseline": Scenario("baseline", ["/api/3/action/status_show"]),
            "package_show": Scenario("package_show", show_paths),
            "package_search": Scenario("package_search", searches(**{"facet.field": FACET_FIELDS})),
            "entry_page": Scenario("entry_page", page_paths, validators),
            "package_search_org": Scenario("package_search_org", searches(**{"facet.field": '["organization"]'})),
            "package_search_nofacets": Scenario("package_search_nofacets", searches()),
        }
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in args.scenarios}
        for number in range(1, args.repeat + 1):
            for name in args.scenarios:
                scenario = scenarios[name]
                _prime(server, scenario.paths, 2 * args.workers * max(1, args.threads))
                round_text = f" (round {number} of {args.repeat})" if args.repeat > 1 else ""
                log(f"{LABELS[name]}{round_text}: {args.clients} clients, {args.warmup:g} s warm-up + {args.seconds:g} s ...")
                row = run_scenario(server, scenario, clients=args.clients, procs=args.procs, seconds=args.seconds, warmup=args.warmup, seed=args.seed)
                log(f"  {row['requests']:,} requests, {row['per_s']:.0f}/s, p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
                    f"{row['errors']} errors; CPU % of a core: server {row['server_cpu_pct']}, generator {row['generator_cpu_pct']}, others {row['other_cpu_pct']}")
                rounds[name].append(row)
        for name, rows in rounds.items():  # the best round of each: a busy machine only ever takes away
            best = dict(max(rows, key=lambda r: r["per_s"]))
            best["rounds_per_s"] = [r["per_s"] for r in rows]
            best["rounds_p95_ms"] = [r["p95_ms"] for r in rows]
            best["rounds_errors"] = [r["errors"] for r in rows]
            best["errors"] = sum(r["errors"] for r in rows)  # an error in any round counts
            results.append(best)
    finally:
        server.stop()
    base = next((r["per_s"] for r in results if r["scenario"] == "baseline"), None)
    for row in results:
        row["ratio_to_baseline"] = round(row["per_s"] / base, 3) if base else None
    targets = targets_met(results, prepared.entries, args.clients)
    for row, check in zip(results, targets):
        row["target"], row["met"] = check["target"], check["met"]
    import gunicorn

    return {
        "mode": "http",
        "parameters": {
            "entries": args.entries, "seed": args.seed, "clients": args.clients, "seconds": args.seconds, "warmup": args.warmup,
            "repeat": args.repeat, "procs": args.procs, "workers": args.workers, "threads": args.threads, "scenarios": args.scenarios,
            "server": f"gunicorn {gunicorn.__version__}, {args.workers} {'gthread' if args.threads > 1 else 'sync'} workers"
                      + (f" x {args.threads} threads" if args.threads > 1 else "") + f", app {args.app}",
            "cores": os.cpu_count(), "python": platform.python_version(), "date": date.today().isoformat(),
            "loadavg_before": [round(v, 2) for v in load_before] if load_before else None,
            "loadavg_after": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        },
        "catalog": {"instance": str(folder), "entries": prepared.entries, "open_entries": len(slugs), "reused": build_seconds is None,
                    "build_seconds": round(build_seconds, 1) if build_seconds is not None else None},
        "server": {"command": " ".join(server.command()[1:]), "port": server.port, "stopped": server.stopped()},
        "entry_page_caching": caching,
        "results": results,
        "targets": targets,
        "targets_met": all(t["met"] for t in targets) if all(t["met"] is not None for t in targets) else None,
    }


def print_http(report: dict[str, Any]) -> None:
    p = report["parameters"]
    print(f"{report['catalog']['entries']:,} entries ({report['catalog']['open_entries']:,} in the open catalog), {p['server']}, "
          f"{p['clients']} clients, {p['warmup']:g} s warm-up + {p['seconds']:g} s per scenario, {p['cores']} cores, {p['date']}")
    head = f"{'scenario':<38}{'clients':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'÷ base':>8}  {'target':<36}met"
    print(head)
    print("-" * len(head))
    for r in report["results"]:
        met = {True: "yes", False: "NO", None: "n/a"}[r["met"]]
        ratio = f"{r['ratio_to_baseline']:.2f}" if r["ratio_to_baseline"] is not None else "-"
        print(f"{r['label']:<38}{r['clients']:>8}{r['requests']:>10,}{r['per_s']:>9.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
              f"{r['errors']:>8}{ratio:>8}  {r['target']:<36}{met}")
    print()
    print("CPU during each measurement, % of one core (server = gunicorn master + workers; others = the rest of the machine):")
    for r in report["results"]:
        print(f"  {r['label']:<38} server {r['server_cpu_pct']}, load generator {r['generator_cpu_pct']}, others {r['other_cpu_pct']}; "
              f"{r['connections']:,} connections for {r['requests']:,} requests; statuses {r['statuses']}")
    if p["repeat"] > 1:
        print(f"Each scenario ran {p['repeat']} times in turn; the table shows its best round. req/s of every round:")
        for r in report["results"]:
            print(f"  {r['label']:<38} {', '.join(f'{v:.1f}' for v in r['rounds_per_s'])} (p95 ms {', '.join(f'{v:.0f}' for v in r['rounds_p95_ms'])})")
    c = report["entry_page_caching"]
    if c.get("cached"):
        print(f"Entry pages: {c['validator']} validator, conditional requests answered {c['conditional_status']}: measured as revalidations.")
    else:
        print(f"Entry pages: no cache validator (ETag {c.get('etag')}, Last-Modified {c.get('last_modified')}, "
              f"Cache-Control {c.get('cache_control')}): measured as full answers ({c.get('bytes', 0):,} bytes), not cached.")
    if report["targets_met"] is None:
        print(f"Targets apply at {TARGET_ENTRIES:,} entries and {TARGET_CLIENTS} clients: not judged for this run.")
    for r in report["results"]:
        for sample in r["error_samples"]:
            print(f"  error ({r['scenario']}): {sample}")


# == --mode inprocess: what counting quotas costs, through Flask's test client =================


def _app(workdir: Path, store: str, redis_url: str) -> Any:
    from portal import create_app

    return create_app({
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "INSTANCE_PATH": workdir, "FILES_PATH": workdir / "files",
        "SEARCH_BACKEND": "whoosh", "SEARCH_PATH": workdir / "search", "SECRET_KEY": "bench", "QUOTA_STORE": store, "REDIS_URL": redis_url,
    })


def _prepare(workdir: Path) -> list[str]:
    """Load the sample datasets; lift every tier's limits so that no call is refused while measuring."""
    from sqlalchemy import select

    from portal.datapackages import load_datasets
    from portal.models import Entry
    from portal.quota_tiers import TIERS, Limits, set_tier_limits
    from portal.vocab import EntryStatus, OpenType

    from portal.db import upgrade

    app = _app(workdir, "database", "")
    upgrade(app.extensions["portal.engine"])
    now = datetime.now(timezone.utc)
    with app.extensions["portal.sessions"]() as session:
        load_datasets(session, ROOT / "datasets", store=app.extensions["portal.files"], now=now)
        for tier in TIERS:
            set_tier_limits(session, tier, Limits(1_000_000, 2_000_000_000, 1 << 50), actor=None, now=now, actor_name=BUILDER)
        session.commit()
        slugs = list(session.scalars(select(Entry.slug).where(Entry.status == EntryStatus.PUBLISHED, Entry.open_type == OpenType.OPEN).order_by(Entry.id)))
    app.extensions["portal.engine"].dispose()
    return slugs


def _set_anonymous(workdir: Path, counted: bool) -> None:
    from portal.quota_tiers import Limits, set_tier_limits

    app = _app(workdir, "database", "")
    with app.extensions["portal.sessions"]() as session:
        limits = Limits(1_000_000, 2_000_000_000, 1 << 50) if counted else Limits(0, 0, 0, 0)
        set_tier_limits(session, "anonymous", limits, actor=None, now=datetime.now(timezone.utc), actor_name=BUILDER)
        session.commit()
    app.extensions["portal.engine"].dispose()


def _rate(app: Any, paths: list[str]) -> float:
    """Calls per second over `paths`, best of three rounds (after one warm-up call)."""
    client = app.test_client()
    assert client.get(paths[0]).status_code == 200
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for path in paths:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
        best = min(best, time.perf_counter() - began)
    return len(paths) / best


def _redis_up(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means: no Redis to measure
        return False


def run_inprocess(args: argparse.Namespace) -> dict[str, Any]:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-api-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"mode": "inprocess", "calls": args.calls}
    try:
        slugs = _prepare(workdir)
        shows = [f"/api/3/action/package_show?id={slugs[n % len(slugs)]}" for n in range(args.calls)]
        searches = ["/api/3/action/package_search?q=企业&rows=10"] * max(1, args.calls // 4)
        pages = ["/catalog?q=企业"] * max(1, args.calls // 4)

        _set_anonymous(workdir, counted=False)
        app = _app(workdir, "database", args.redis_url)
        figures["baseline_per_s"] = _rate(app, shows)
        figures["catalog_page_per_s"] = _rate(app, pages)
        figures["package_search_per_s"] = _rate(app, searches)
        app.extensions["portal.engine"].dispose()

        _set_anonymous(workdir, counted=True)
        app = _app(workdir, "database", args.redis_url)
        figures["database_store_per_s"] = _rate(app, shows)
        app.extensions["portal.engine"].dispose()
        if _redis_up(args.redis_url):
            app = _app(workdir, "redis", args.redis_url)
            figures["redis_store_per_s"] = _rate(app, shows)
            app.extensions["portal.engine"].dispose()
        else:
            log(f"note: no Redis at {args.redis_url}; the Redis store is not measured")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    base = figures["baseline_per_s"]
    for key in ("database_store_per_s", "redis_store_per_s"):
        if key in figures:
            figures[key.replace("_per_s", "_ratio")] = round(figures[key] / base, 2)
    figures["package_search_to_page_ratio"] = round(figures["package_search_per_s"] / figures["catalog_page_per_s"], 2)
    return figures


def print_inprocess(figures: dict[str, Any]) -> None:
    base = figures["baseline_per_s"]
    print(f"{'measure':<44}{'calls/s':>10}{'ratio':>10}")
    print(f"{'package_show, quota not counted (baseline)':<44}{base:>10.0f}{1.0:>10.2f}")
    for label, key in (("package_show, counted in the database", "database_store"), ("package_show, counted in Redis", "redis_store")):
        if f"{key}_per_s" in figures:
            print(f"{label:<44}{figures[f'{key}_per_s']:>10.0f}{figures[f'{key}_ratio']:>10.2f}")
    print(f"{'/catalog?q=企业 (the page)':<42}{figures['catalog_page_per_s']:>10.0f}{1.0:>10.2f}")
    print(f"{'package_search?q=企业 (÷ the page)':<42}{figures['package_search_per_s']:>10.0f}{figures['package_search_to_page_ratio']:>10.2f}")


# == the command ===============================================================================


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("http", "inprocess"), default="http", help="http: gunicorn and a load generator (default); inprocess: quota counting cost")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    http_options = parser.add_argument_group("--mode http")
    http_options.add_argument("--entries", type=int, default=10_000, help="catalog size (default: 10000)")
    http_options.add_argument("--seed", type=int, default=1, help="seed of the catalog and the request mix (default: 1)")
    http_options.add_argument("--clients", type=int, default=50, help="concurrent clients (default: 50)")
    http_options.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario (default: 10)")
    http_options.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each (default: 2)")
    http_options.add_argument("--repeat", type=int, default=1, help="rounds of all scenarios, in turn; the best round of each counts (default: 1)")
    http_options.add_argument("--procs", type=int, default=2, help="load generator processes sharing the clients (default: 2)")
    http_options.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: 2)")
    http_options.add_argument("--threads", type=int, default=1, help="threads per worker; above 1 gunicorn's gthread worker (default: 1, sync)")
    http_options.add_argument("--app", default="portal.wsgi:app",
                              help="what gunicorn serves (default: portal.wsgi:app; portal:create_app() for the app without the frozen start-up heap)")
    http_options.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, in order (default: {','.join(SCENARIOS)})")
    http_options.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "zone-portal-bench-api"),
                              help="where built instances are kept, one folder per size and seed (default: %(default)s)")
    http_options.add_argument("--rebuild", action="store_true", help="build the instance anew even if one is cached")
    inprocess = parser.add_argument_group("--mode inprocess")
    inprocess.add_argument("--calls", type=int, default=400, help="package_show calls per round (default: 400)")
    inprocess.add_argument("--workdir", type=Path, help="work folder (default: a new temporary folder, removed at the end)")
    inprocess.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := [s for s in args.scenarios if s not in (*SCENARIOS, *EXTRA_SCENARIOS)]:
        parser.error(f"unknown scenarios: {', '.join(unknown)} (known: {', '.join((*SCENARIOS, *EXTRA_SCENARIOS))})")
    if args.entries < 1 or args.clients < 1 or args.seconds <= 0 or args.warmup < 0 or args.procs < 1 or args.repeat < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--entries, --clients, --repeat, --procs, --workers, --threads must be at least 1, --seconds positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if __name__ == "__main__":  # a stopped run still stops its server and removes a half-built instance
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run_inprocess(args) if args.mode == "inprocess" else run_http(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif args.mode == "inprocess":
        print_inprocess(report)
    else:
        print_http(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
