"""The content-addressed store, display names, encodings and previews."""

import io
from pathlib import Path

import pytest

from portal.files import FileStore, TooLarge, detect_encoding, display_name, file_format, preview_rows

from .support import ROOT


def test_save_is_content_addressed(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.save(io.BytesIO(b"a,b\n1,2\n"))
    again = store.save(io.BytesIO(b"a,b\n1,2\n"))
    assert first == again and first.size == 8
    assert store.path(first.sha256).read_bytes() == b"a,b\n1,2\n"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_too_large_leaves_nothing_behind(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(TooLarge) as caught:
        store.save(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert caught.value.status == 413
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [p for p in tmp_path.iterdir() if p.name != "tmp"] == []


def test_sweep_removes_old_temporaries(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.tmp.mkdir(parents=True)
    (store.tmp / "upload-crashed").write_bytes(b"half")
    assert store.sweep(older_than_seconds=3600) == 0
    assert store.sweep(older_than_seconds=-1) == 1


def test_path_refuses_anything_but_a_digest(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileStore(tmp_path).path("../../etc/passwd")


@pytest.mark.parametrize(
    "given, shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\空气质量.csv", "空气质量.csv"),
        ("report\u202egnp.exe", "reportgnp.exe"),
        ("a\x00b.csv", "ab.csv"),
        ("...", "file"),
        ("数" * 400 + ".csv", "数" * 296 + ".csv"),
    ],
)
def test_display_name(given: str, shown: str) -> None:
    assert display_name(given) == shown


def test_file_format() -> None:
    assert [file_format(n) for n in ("a.CSV", "b.tar.gz", "noext", "x.")] == ["csv", "gz", "bin", "bin"]


def test_encodings(tmp_path: Path) -> None:
    samples = {
        "utf8.csv": "名称,数量\n企业,1\n".encode(),
        "bom.csv": "\ufeff名称,数量\n企业,1\n".encode(),
        "gbk.csv": "名称,数量\n企业,1\n".encode("gbk"),
        "binary.bin": bytes(range(256)) * 4,
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
    assert detect_encoding(tmp_path / "utf8.csv") == "utf-8"
    assert detect_encoding(tmp_path / "bom.csv") == "utf-8-sig"
    assert detect_encoding(tmp_path / "gbk.csv") == "gb18030"
    assert detect_encoding(tmp_path / "binary.bin") is None
    for name in ("utf8.csv", "bom.csv", "gbk.csv"):
        assert preview_rows(tmp_path / name, format="csv", encoding=None) == (["名称", "数量"], [["企业", "1"]])
    assert preview_rows(tmp_path / "binary.bin", format="csv", encoding=None) == ([], [])


def test_preview_of_the_gbk_sample_package() -> None:
    folder = ROOT / "datasets" / "school-directory"
    csv_file = next(folder.glob("*.csv"))
    header, rows = preview_rows(csv_file, format="csv", encoding="gbk", limit=3)
    assert len(rows) == 3 and all("\ufffd" not in cell for row in rows for cell in row)
    assert any("学" in cell or "园" in cell for row in rows for cell in row)
