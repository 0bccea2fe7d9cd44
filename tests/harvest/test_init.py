"""The harvester's extension points are documented: every source kind, schedule and setting is
in the README's harvest section, and every kind has its module with the declared protocol."""

from __future__ import annotations

import importlib
from pathlib import Path

import harvest
from harvest.settings import DEFAULT_SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## 采集其他目录 (harvest)"):].split("\n## ", 1)[0]


def test_every_kind_is_documented_and_implemented() -> None:
    for kind in harvest.KINDS:
        assert f"`{kind}`" in SECTION
        module = importlib.import_module(f"harvest.{kind}")
        assert isinstance(module.SUPPORTS_INCREMENTAL, bool) and callable(module.records) and callable(module.check)


def test_every_schedule_and_setting_is_documented() -> None:
    for schedule in harvest.SCHEDULES:
        assert f"`{schedule}`" in SECTION
    for key in DEFAULT_SETTINGS:
        assert f"`{key}`" in SECTION, key
