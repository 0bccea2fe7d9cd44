"""The search benchmark (bench/search.py) runs end to end at a tiny size and reports sensible
figures; its catalog and query mix are deterministic. No timing is asserted anywhere."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "bench" / "search.py"


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _backends() -> tuple[list[str], list[str]]:
    """The backends to run here, and extra arguments: Whoosh once its module exists, PostgreSQL
    when the suite runs on it (PORTAL_DATABASE_URL), and always the FTS5 baseline."""
    names, extra = [], []
    if _exists("portal.search.whoosh_backend"):
        names.append("whoosh")
    url = os.environ.get("PORTAL_DATABASE_URL", "")
    if url.startswith("postgresql") and _exists("portal.search.pg_backend"):
        names.append("postgresql")
        extra = ["--pg-url", url]
    return [*names, "fts5"], extra


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_search", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_benchmark_runs_and_reports(tmp_path: Path) -> None:
    backends, extra = _backends()
    command = [sys.executable, str(SCRIPT), "--sizes", "300", "--queries", "40", "--backends", ",".join(backends), "--json", *extra]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object, nothing else on stdout

    parameters = report["parameters"]
    assert parameters["sizes"] == [300] and parameters["queries"] == 40 and parameters["seed"] == 1
    assert parameters["backends"] == backends and not parameters["skipped"]
    assert parameters["cores"] >= 1 and parameters["python"].startswith("3.")
    assert set(report) >= {"parameters", "results", "agreement", "totals_agree", "targets", "parse_ms_mean"}

    assert [row["backend"] for row in report["results"]] == backends
    for row in report["results"]:
        assert row["size"] == 300 and row["entries"] == 300 and row["queries"] == 40
        assert row["build_seconds"] > 0 and row["build_per_s"] > 0 and row["index_bytes"] > 0
        assert 0 <= row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
        assert row["mean_ms"] > 0 and row["p95_ratio_to_fts5"] > 0
        assert row["zero_hit_queries"] < 40 and row["mean_total"] > 0
        assert set(row["p95_ms_by_kind"]) == set(parameters["query_kinds"])
    assert next(r for r in report["results"] if r["backend"] == "fts5")["p95_ratio_to_fts5"] == 1.0
    assert report["targets"] == []  # targets are for 10,000 and 100,000 entries only

    (agreement,) = report["agreement"]
    if len(backends) > 1:
        assert agreement["queries_compared"] == 40
        assert agreement["disagreements"] == [] and report["totals_agree"] is True


def test_catalog_is_deterministic_and_plausible(bench: ModuleType) -> None:
    first = bench.generate_catalog(200, seed=3)
    assert first == bench.generate_catalog(200, seed=3)
    assert first[:50] == bench.generate_catalog(50, seed=3)  # a smaller catalog is the start of a larger
    assert first != bench.generate_catalog(200, seed=4)
    assert [d.id for d in first] == list(range(1, 201))
    assert {d.department for d in first} <= {str(i) for i in range(1, 21)}
    assert {d.status for d in first} == {"published", "draft", "withdrawn"}
    assert {d.open for d in first} == {"open", "on-application", "closed"}
    assert all(d.title and d.tags and d.body and d.name_key for d in first)
    assert all(d.publish_date is None for d in first if d.status == "draft")


def test_query_mix_is_fixed_with_every_kind_and_half_filtered(bench: ModuleType) -> None:
    mix = bench.query_mix(240, seed=1)
    assert mix == bench.query_mix(240, seed=1) and len(mix) == 240
    assert {q.kind for q in mix} == {"single", "two", "phrase", "pinyin", "exclusion"}
    assert sum(1 for q in mix if q.filters) == 120
    assert all(set(q.filters) <= {"department"} for q in mix)


def test_match_expression_follows_the_parsed_query(bench: ModuleType) -> None:
    from portal.search.analysis import Query, Term

    query = Query(
        "社保 kqzl",
        terms=(Term("社保", (("社保",), ("社会保险",))), Term("kqzl", (("kqzl",),), pinyin="kqzl")),
        phrases=(("空", "气"),),
        excluded=('a"b',),
    )
    assert bench.match_expression(query) == (
        '(({title tags body} : ("社保") OR {title tags body} : ("社会保险")) AND '
        '({title tags body} : ("kqzl") OR pinyin : "kqzl") AND chars : "空 气") '
        'NOT ({title tags body} : "a""b")'
    )


PIPELINE = ROOT / "bench" / "pipeline.py"


def test_pipeline_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """bench/pipeline.py at a tiny size: every step runs and reports; the work folder is removed."""
    command = [sys.executable, str(PIPELINE), "--rows", "2000", "--download-mb", "4", "--no-cold", "--json", "--workdir", str(tmp_path / "work")]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object
    assert [(r["encoding"], r["step"]) for r in report["ingest"]] == [
        (encoding, step) for encoding in ("utf-8", "gbk") for step in ("csv", "frictionless", "pipeline")
    ]
    assert all(r["rows"] == 2000 and r["seconds"] > 0 and r["peak_rss_mb"] > 0 for r in report["ingest"])
    pipeline = [r for r in report["ingest"] if r["step"] == "pipeline"]
    assert all(r["valid"] and r["findings"] == 0 and r["ratio_to_frictionless"] > 0 for r in pipeline)
    assert pipeline[1]["normalised"] and not pipeline[0]["normalised"]  # GBK is converted, UTF-8 is its own normal form
    download = report["download"]
    assert download["status"] == 200 and download["bytes"] == download["content_length"] == 4 * 2**20
    assert download["cold_ratio_to_disk"] is None  # --no-cold
    assert {t["what"] for t in report["targets"]} >= {"utf-8 pipeline / Frictionless alone", "gbk pipeline peak RSS MB"}
    assert not (tmp_path / "work").exists()


def test_workflow_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """bench/workflows.py at a tiny size: every clock computed, tick idempotent, ratios printed."""
    command = [sys.executable, str(ROOT / "bench" / "workflows.py"), "--requests", "40", "--reports", "10", "--repeat", "1", "--json"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["open_items"] == 50 and figures["tasks"] == 50 and figures["overdue"] > 0
    paused = len(range(0, 40, 18))  # requests waiting for the requester to clarify
    assert figures["provider_items"] == 50 - paused
    assert figures["notices"] > 0 and figures["notices_again"] == 0 and figures["notices_in_db"] == figures["notices"]
    assert all(figures[k] > 0 for k in ("all_tasks_ratio", "tick_first_ratio", "tick_again_ratio"))


def test_api_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """bench/api.py --mode inprocess at a tiny size: quota counting in the database (and Redis
    when there is one) next to uncounted calls, and the CKAN search next to the catalog page."""
    command = [sys.executable, str(ROOT / "bench" / "api.py"), "--mode", "inprocess", "--calls", "8", "--json"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["calls"] == 8 and figures["baseline_per_s"] > 0 and figures["database_store_ratio"] > 0
    assert figures["package_search_to_page_ratio"] > 0


def test_api_load_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """bench/api.py (gunicorn and the load generator) at a tiny size: it builds and caches the
    instance, serves every scenario without an error, and stops its server."""
    cache = tmp_path / "cache"
    command = [
        sys.executable, str(ROOT / "bench" / "api.py"), "--entries", "200", "--seconds", "1", "--warmup", "0.5", "--clients", "4",
        "--cache-dir", str(cache), "--json",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object
    assert set(report) >= {"mode", "parameters", "catalog", "entry_page_caching", "results", "targets", "targets_met"}
    assert report["catalog"]["entries"] == 200 and 0 < report["catalog"]["open_entries"] < 200
    assert report["catalog"]["reused"] is False and (cache / "n200-seed1" / "bench-ready.json").exists()
    assert [r["scenario"] for r in report["results"]] == ["baseline", "package_show", "package_search", "entry_page"]
    for row in report["results"]:
        assert row["clients"] == 4 and row["requests"] > 0 and row["errors"] == 0, row
        assert set(row) >= {"per_s", "p50_ms", "p95_ms", "ratio_to_baseline", "target", "met", "statuses"}
    assert report["results"][0]["ratio_to_baseline"] == 1.0
    assert report["targets_met"] is None  # targets are for 10,000 entries and 50 clients
    assert report["entry_page_caching"]["status"] == 200
    assert report["server"]["stopped"] is True
