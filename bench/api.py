"""API benchmark: what counting quotas costs per call, and the CKAN API next to the catalog page.

    python bench/api.py [--calls 400] [--json] [--workdir DIR] [--redis-url redis://127.0.0.1:6379/15]

A real app (`portal.create_app`) on its own migrated SQLite database and Whoosh index, whatever
the environment says, with the sample datasets loaded,
called in-process through Flask's test client (no network in the figures), the same sequence
of calls each time, best of three rounds:

- baseline: `GET /api/3/action/package_show?id=<slug>` anonymously with the anonymous tier set
  to 0 (not counted: the quota hook only reads the tier);
- the same calls counted in the database store (`PORTAL_QUOTA_STORE=database`: two or three
  small writes per call, each in its own transaction);
- the same calls counted in Redis (`PORTAL_QUOTA_STORE=redis`), when a Redis server answers at
  `--redis-url` (skipped with a note otherwise);
- `package_search?q=企业` next to the catalog page `/catalog?q=企业` (the same search service).

Each is printed as calls per second and its ratio to the baseline of the same run. Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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
    from portal.quotas import TIERS, Limits, set_tier_limits
    from portal.vocab import EntryStatus, OpenType

    from portal.db import upgrade

    app = _app(workdir, "database", "")
    upgrade(app.extensions["portal.engine"])
    now = datetime.now(timezone.utc)
    with app.extensions["portal.sessions"]() as session:
        load_datasets(session, ROOT / "datasets", store=app.extensions["portal.files"], now=now)
        for tier in TIERS:
            set_tier_limits(session, tier, Limits(1_000_000, 2_000_000_000, 1 << 50), actor=None, now=now, actor_name="基准测试")
        session.commit()
        slugs = list(session.scalars(select(Entry.slug).where(Entry.status == EntryStatus.PUBLISHED, Entry.open_type == OpenType.OPEN).order_by(Entry.id)))
    app.extensions["portal.engine"].dispose()
    return slugs


def _set_anonymous(workdir: Path, counted: bool) -> None:
    from portal.quotas import Limits, set_tier_limits

    app = _app(workdir, "database", "")
    with app.extensions["portal.sessions"]() as session:
        limits = Limits(1_000_000, 2_000_000_000, 1 << 50) if counted else Limits(0, 0, 0)
        set_tier_limits(session, "anonymous", limits, actor=None, now=datetime.now(timezone.utc), actor_name="基准测试")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-api-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"calls": args.calls}
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
            print(f"note: no Redis at {args.redis_url}; the Redis store is not measured", file=sys.stderr)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    base = figures["baseline_per_s"]
    for key in ("database_store_per_s", "redis_store_per_s"):
        if key in figures:
            figures[key.replace("_per_s", "_ratio")] = round(figures[key] / base, 2)
    figures["package_search_to_page_ratio"] = round(figures["package_search_per_s"] / figures["catalog_page_per_s"], 2)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'measure':<44}{'calls/s':>10}{'ratio':>10}")
    print(f"{'package_show, quota not counted (baseline)':<44}{base:>10.0f}{1.0:>10.2f}")
    for label, key in (("package_show, counted in the database", "database_store"), ("package_show, counted in Redis", "redis_store")):
        if f"{key}_per_s" in figures:
            print(f"{label:<44}{figures[f'{key}_per_s']:>10.0f}{figures[f'{key}_ratio']:>10.2f}")
    print(f"{'/catalog?q=企业 (the page)':<42}{figures['catalog_page_per_s']:>10.0f}{1.0:>10.2f}")
    print(f"{'package_search?q=企业 (÷ the page)':<42}{figures['package_search_per_s']:>10.0f}{figures['package_search_to_page_ratio']:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
