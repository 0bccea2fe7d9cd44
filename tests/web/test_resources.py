"""Resource files over HTTP: upload, the resource page, masking and clearance, downloads in every
format with ETag and Range, the data package, and who may see what."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from frictionless import Package
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalog import ItemFields, create_entry
from portal.models import DownloadCount, Entry, EntryFile
from portal.vocab import DataType, EntryStatus, OpenType, ShareType

from ..support import NOW, World, csrf_token, entry_fields, login, reviewed

DATA = "station,aqi,remark\r\n明珠广场,64,=HYPERLINK(\"http://x\")\r\n管委会,80,-4.4\r\n"


@pytest.fixture
def entry(session: Session, world: World) -> Entry:
    items = [
        ItemFields("监测站点", "station", DataType.C, 50),
        ItemFields("空气质量指数", "aqi", DataType.I),
        ItemFields("备注", "remark", DataType.C, open_type=OpenType.CLOSED),
    ]
    made = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(items=items), actor=None, now=NOW, status=EntryStatus.PUBLISHED))
    session.commit()
    return made


def _get(client: FlaskClient, url: str, **kwargs: object):  # type: ignore[no-untyped-def]
    """GET `url` and read the whole body, closing the file a download streams from."""
    with client.get(url, **kwargs) as response:  # type: ignore[arg-type]
        response.get_data()
    return response


def _upload(client: FlaskClient, slug: str, data: bytes, name: str, **form: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/catalog/{slug}")
    return client.post(
        f"/catalog/{slug}/files",
        data={"csrf_token": token, "file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def _uploaded(client: FlaskClient, entry: Entry, data: str | bytes = DATA, name: str = "空气质量.csv") -> int:
    login(client, "provider_a")
    response = _upload(client, entry.slug, data.encode("utf-8") if isinstance(data, str) else data, name)
    assert response.status_code == 302, response.get_data(as_text=True)
    file_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    return file_id


def test_upload_shows_the_resource_page_with_schema_and_report(client: FlaskClient, entry: Entry) -> None:
    login(client, "provider_a")
    response = _upload(client, entry.slug, DATA.encode("gbk", errors="ignore"), "../../空气\u202e质量.csv")
    assert response.status_code == 302
    page = _get(client, response.headers["Location"]).get_data(as_text=True)
    assert "空气质量.csv" in page and "\u202e" not in page and "../" not in page
    assert "校验通过" in page and "表结构" in page and "GB18030" in page
    assert "未发现个人信息" in page


def test_a_refused_upload_explains_itself_in_chinese(client: FlaskClient, entry: Entry, app: Flask) -> None:
    login(client, "provider_a")
    response = _upload(client, entry.slug, b"<html><body>not data</body></html>", "export.csv")
    page = _get(client, response.headers["Location"]).get_data(as_text=True)
    assert "文件未上传" in page and "网页" in page
    assert not any(p.is_file() for p in Path(app.config["FILES_PATH"]).rglob("*") if "tmp" not in p.parts)


# Werkzeug leaves its own spooled temporary of the cut-off part to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_upload_cut_off_half_way_stores_nothing(client: FlaskClient, entry: Entry, app: Flask, session: Session) -> None:
    login(client, "provider_a")
    token = csrf_token(client, f"/catalog/{entry.slug}")
    boundary = "cut"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        "station,aqi\r\n" + "站,1\r\n" * 1000
    ).encode("utf-8")
    response = client.post(
        f"/catalog/{entry.slug}/files", input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}", content_length=len(body) + 5000,
    )
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    assert session.scalars(select(EntryFile)).all() == []
    assert not any(p.is_file() for p in Path(app.config["FILES_PATH"]).rglob("*") if "tmp" not in p.parts)


def test_downloads_in_every_format_without_closed_columns(client: FlaskClient, entry: Entry) -> None:
    file_id = _uploaded(client, entry)
    base = f"/catalog/{entry.slug}/data/{file_id}"
    plain = _get(client, f"{base}/csv")
    assert plain.status_code == 200 and plain.data.decode("utf-8") == "station,aqi\r\n明珠广场,64\r\n管委会,80\r\n"
    disposition = plain.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%E7%A9%BA%E6%B0%94%E8%B4%A8%E9%87%8F.csv" in disposition
    excel = _get(client, f"{base}/excel-csv")
    assert excel.data.startswith(b"\xef\xbb\xbf")
    assert json.loads(_get(client, f"{base}/json").data) == [{"station": "明珠广场", "aqi": 64}, {"station": "管委会", "aqi": 80}]
    sheet = load_workbook(io.BytesIO(_get(client, f"{base}/xlsx").data)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["station", "aqi"], ["明珠广场", 64], ["管委会", 80]]
    assert _get(client, f"/catalog/{entry.slug}/files/{file_id}/空气质量.csv").status_code == 403  # the original has the closed column
    assert _get(client, f"{base}/parquet").status_code == 404


def test_the_owner_gets_every_column_and_excel_csv_is_neutralised(client: FlaskClient, entry: Entry) -> None:
    file_id = _uploaded(client, entry)
    login(client, "admin_a")
    rows = list(csv.reader(io.StringIO(_get(client, f"/catalog/{entry.slug}/data/{file_id}/excel-csv").data.decode("utf-8-sig"))))
    assert rows[1][2] == "'=HYPERLINK(\"http://x\")" and rows[2][2] == "-4.4"
    original = _get(client, f"/catalog/{entry.slug}/files/{file_id}/空气质量.csv")
    assert original.status_code == 200 and original.data == DATA.encode("utf-8")


def test_etag_and_range_make_downloads_resumable(client: FlaskClient, entry: Entry, session: Session) -> None:
    file_id = _uploaded(client, entry)
    url = f"/catalog/{entry.slug}/data/{file_id}/csv"
    full = _get(client, url)
    assert full.headers["Content-Length"] == str(len(full.data)) and full.headers["Accept-Ranges"] == "bytes"
    assert _get(client, url, headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    part = _get(client, url, headers={"Range": "bytes=5-"})
    assert part.status_code == 206 and part.data == full.data[5:]
    assert part.headers["Content-Range"] == f"bytes 5-{len(full.data) - 1}/{len(full.data)}"
    _get(client, f"/catalog/{entry.slug}/data/{file_id}/json")
    counts = {c.format: c.count for c in session.scalars(select(DownloadCount))}
    assert counts == {"csv": 1, "json": 1}  # the 304 and the resumed range are not new downloads
    session.refresh(entry)
    assert entry.downloads == 2


def test_the_data_package_is_valid_frictionless(client: FlaskClient, entry: Entry, tmp_path: Path) -> None:
    file_id = _uploaded(client, entry)
    descriptor = _get(client, f"/catalog/{entry.slug}/datapackage.json").get_json()
    assert descriptor["name"] == entry.slug and descriptor["catalog"]["resource_code"] == entry.resource_code
    assert descriptor["resources"][0]["path"].endswith(f"/data/{file_id}/csv")
    assert [f["name"] for f in descriptor["resources"][0]["schema"]["fields"]] == ["station", "aqi"]
    archive = _get(client, f"/catalog/{entry.slug}/package.zip")
    assert archive.status_code == 200
    assert _get(client, f"/catalog/{entry.slug}/package.zip").data == archive.data  # reproducible
    zipfile.ZipFile(io.BytesIO(archive.data)).extractall(tmp_path)
    package = Package(str(tmp_path / "datapackage.json"))
    report = package.validate()
    assert report.valid, report.flatten(["type", "note"])
    assert package.resources[0].read_rows()[0]["aqi"] == 64


PERSONAL = "name,phone\r\n张三丰,13812345678\r\n李四,13398053857\r\n"


def test_personal_information_is_withheld_until_masked(client: FlaskClient, session: Session, world: World) -> None:
    entry = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(items=[]), actor=None, now=NOW, status=EntryStatus.PUBLISHED))
    session.commit()
    file_id = _uploaded(client, entry, PERSONAL, "名单.csv")
    assert _get(client, f"/catalog/{entry.slug}/files/{file_id}").status_code == 404
    assert _get(client, f"/catalog/{entry.slug}/data/{file_id}/csv").status_code == 404
    assert "名单.csv" not in _get(client, f"/catalog/{entry.slug}").get_data(as_text=True)

    login(client, "editor_a")
    token = csrf_token(client, f"/catalog/{entry.slug}/files/{file_id}")
    assert client.post(f"/catalog/{entry.slug}/files/{file_id}/mask", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login(client, "provider_a")
    page = _get(client, f"/catalog/{entry.slug}/files/{file_id}").get_data(as_text=True)
    assert "手机号码" in page and "138****5678" in page and "13812345678" not in page
    token = csrf_token(client, f"/catalog/{entry.slug}/files/{file_id}")
    response = client.post(f"/catalog/{entry.slug}/files/{file_id}/mask", data={"csrf_token": token})
    masked_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    text = _get(client, f"/catalog/{entry.slug}/data/{masked_id}/csv").data.decode("utf-8")
    assert text == "name,phone\r\n张**,138****5678\r\n李*,133****3857\r\n"


def test_clearance_by_public_interest_through_the_page(client: FlaskClient, session: Session, world: World) -> None:
    entry = reviewed(session, create_entry(session, department=world.dept_a, fields=entry_fields(items=[]), actor=None, now=NOW, status=EntryStatus.PUBLISHED))
    session.commit()
    file_id = _uploaded(client, entry, PERSONAL, "名单.csv")
    login(client, "admin_a")
    url = f"/catalog/{entry.slug}/files/{file_id}"
    response = client.post(f"{url}/clearance", data={"csrf_token": csrf_token(client, url), "basis": "public_interest", "note": ""}, follow_redirects=True)
    assert "请写明" in response.get_data(as_text=True)
    client.post(f"{url}/clearance", data={"csrf_token": csrf_token(client, url), "basis": "public_interest", "note": "管委会〔2026〕3号决定"})
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert _get(client, f"/catalog/{entry.slug}/data/{file_id}/csv").status_code == 200


def test_revisions_are_listed_for_the_department(client: FlaskClient, entry: Entry) -> None:
    first = _uploaded(client, entry)
    second = _uploaded(client, entry, DATA + "滨湖,70,\r\n")
    login(client, "provider_a")
    page = _get(client, f"/catalog/{entry.slug}/files/{second}").get_data(as_text=True)
    assert "历史版本" in page and f"/files/{first}" in page
    assert "被新版本替换" in _get(client, f"/catalog/{entry.slug}/files/{first}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert _get(client, f"/catalog/{entry.slug}/files/{first}").status_code == 404  # old revisions stay with the department


def test_the_sample_catalog_is_downloadable(client: FlaskClient, sample_catalog: None) -> None:
    page = _get(client, "/catalog/school-directory").get_data(as_text=True)
    assert "校验通过" in page
    link = page.split('/catalog/school-directory/data/', 1)[1].split('"', 1)[0]
    text = _get(client, f"/catalog/school-directory/data/{link}").data.decode("utf-8")
    assert "幼儿园" in text


def test_provider_uploads_and_the_file_downloads_unchanged(app: Flask, client: FlaskClient, world: World, session: Session) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    content = "station,aqi\n明珠广场,42\n".encode("gbk")
    login(client, "provider_a")
    response = client.post(
        f"/catalog/{entry.slug}/files",
        data={"csrf_token": csrf_token(client, f"/catalog/{entry.slug}"), "file": (io.BytesIO(content), "../空气\u202e质量.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    session.expire_all()
    record = session.get(Entry, entry.id).files[0]  # type: ignore[union-attr]
    assert record.name == "空气质量.csv" and record.size == len(content) and record.encoding == "gb18030"
    page = client.get(f"/catalog/{entry.slug}").get_data(as_text=True)
    assert "明珠广场" in page  # the GBK preview is decoded
    with client.get(f"/catalog/{entry.slug}/files/{record.id}/{record.name}") as download:
        assert download.data == content


def test_others_cannot_upload(client: FlaskClient, world: World) -> None:
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    login(client, "provider_b")
    response = client.post(
        f"/catalog/{entry.slug}/files",
        data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(b"a,b\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_an_upload_over_the_cap_is_refused_and_stores_nothing(app: Flask, client: FlaskClient, world: World) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    entry = world.entry(ShareType.UNCONDITIONAL, OpenType.OPEN, EntryStatus.PUBLISHED)
    login(client, "editor_a")
    response = client.post(
        f"/catalog/{entry.slug}/files",
        data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(b"x" * 200 * 1024), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "超过大小上限" in response.get_data(as_text=True)
    files = app.extensions["portal.files"].root
    assert not files.exists() or [p for p in files.rglob("*") if p.is_file()] == []
