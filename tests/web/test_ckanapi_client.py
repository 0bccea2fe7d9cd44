"""The real `ckanapi` client (from PyPI, unchanged) against a live portal: the command line's
`action`, `dump datasets --all` and a `resource_create` upload, and the Python client's
exceptions, which it makes from CKAN's error envelope."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, ValidationError
from sqlalchemy.orm import Session

from portal import api_keys
from portal.accounts import create_user, department_by_code
from portal.vocab import Role

from ..support import NOW

BIN = Path(sys.executable).parent
MARKET = "11340172MB0T381604"  # 市场监督管理局 of the sample catalog


@pytest.fixture
def keys(session: Session, sample_catalog: None) -> dict[str, str]:
    """A read key and a write key of an editor of 市场监督管理局."""
    editor, _password = create_user(session, username="market_editor", role=Role.EDITOR, department=department_by_code(session, MARKET), now=NOW)
    _row, read = api_keys.create_key(session, editor, name="导出", scopes=["read"], now=NOW)
    _row, write = api_keys.create_key(session, editor, name="上传", scopes=["read", "write"], now=NOW)
    session.commit()
    return {"read": read, "write": write}


def ckanapi(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # dump's workers run `ckanapi` by name
    return subprocess.run([str(BIN / "ckanapi"), *args], capture_output=True, text=True, timeout=180, env=env, cwd=cwd)


def test_action_package_search(live_url: str, sample_catalog: None) -> None:
    done = ckanapi("action", "package_search", "q=空气质量", "rows:5", "-r", live_url, "-j")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["count"] >= 1 and found["results"][0]["name"] == "air-quality-hourly"
    assert found["results"][0]["resources"][0]["url"].startswith(live_url)
    done = ckanapi("action", "package_search", "fq=organization:" + MARKET.lower(), "-r", live_url, "-j", "-g")  # GET
    assert done.returncode == 0, done.stderr
    assert {p["organization"]["name"] for p in json.loads(done.stdout)["results"]} == {MARKET.lower()}


def test_dump_datasets_all_with_a_department_key(live_url: str, keys: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "datasets.jsonl"
    done = ckanapi("dump", "datasets", "--all", "-q", "-O", str(out), "-r", live_url, "-a", keys["read"])
    assert done.returncode == 0, done.stderr
    dumped = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    listed = RemoteCKAN(live_url, apikey=keys["read"]).action.package_list()
    assert [d["name"] for d in dumped] == listed and len(listed) >= 10
    assert all(d["resources"] and d["organization"] and d["extras"] for d in dumped)
    private = tmp_path / "private.jsonl"
    done = ckanapi("dump", "datasets", "--all", "--include-private", "-q", "-O", str(private), "-r", live_url, "-a", keys["read"])
    assert done.returncode == 0, done.stderr
    assert len(private.read_text(encoding="utf-8").splitlines()) > len(dumped)  # the share catalog besides the open one


def test_dump_organizations_and_groups(live_url: str, sample_catalog: None, tmp_path: Path) -> None:
    for thing in ("organizations", "groups"):
        out = tmp_path / f"{thing}.jsonl"
        done = ckanapi("dump", thing, "--all", "-q", "-O", str(out), "-r", live_url)
        assert done.returncode == 0, done.stderr
        dumped = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert dumped and all(d["is_organization"] is (thing == "organizations") for d in dumped)
    assert any(d["name"] == "theme-205" and d["title"] == "生态环保" for d in dumped)


def test_an_anonymous_dump_is_refused(live_url: str, sample_catalog: None, tmp_path: Path) -> None:
    done = ckanapi("dump", "datasets", "--all", "-q", "-O", str(tmp_path / "x.jsonl"), "-r", live_url)
    assert done.returncode != 0
    assert "NotAuthorized" in done.stderr


def test_resource_create_uploads_through_the_pipeline(live_url: str, keys: dict[str, str], tmp_path: Path) -> None:
    table = tmp_path / "抽查结果.csv"
    table.write_text("统一社会信用代码,企业名称,结果\n91340100MA2N0F1A2B,示例公司,合格\n", encoding="utf-8")
    done = ckanapi("action", "resource_create", "package_id=enterprise-registration", f"upload@{table}", "name=双随机抽查结果",
                   "-r", live_url, "-a", keys["write"], "-j")
    assert done.returncode == 0, done.stderr
    resource = json.loads(done.stdout)
    assert resource["name"] == "双随机抽查结果" and resource["file_name"] == "抽查结果.csv" and resource["format"] == "CSV"
    assert resource["hash"].startswith("sha256:") and resource["row_count"] == 1
    shown = RemoteCKAN(live_url, apikey=keys["read"]).action.resource_show(id=resource["id"])
    assert shown["id"] == resource["id"]
    done = ckanapi("action", "resource_create", "package_id=enterprise-registration", f"upload@{table}", "-r", live_url, "-a", keys["read"])
    assert done.returncode != 0 and "NotAuthorized" in done.stderr  # a read key cannot write


def test_the_python_client_gets_ckans_exceptions(live_url: str, keys: dict[str, str]) -> None:
    anonymous, editor = RemoteCKAN(live_url), RemoteCKAN(live_url, apikey=keys["write"])
    assert anonymous.action.status_show()["site_url"] == live_url
    with pytest.raises(NotFound):
        anonymous.action.package_show(id="no-such-dataset")
    with pytest.raises(ValidationError) as invalid:
        anonymous.action.package_search(fq="author:someone")
    assert "fq" in invalid.value.error_dict
    with pytest.raises(NotAuthorized):
        anonymous.action.package_patch(id="enterprise-registration", title="改名")
    with pytest.raises(ValidationError) as invalid:
        editor.action.package_patch(id="enterprise-registration", share_type="none")
    assert "legal_basis" in invalid.value.error_dict
    patched = editor.action.package_patch(id="enterprise-registration", notes="更新后的摘要")
    assert patched["notes"] == "更新后的摘要" and patched["num_resources"] >= 1
