"""The content-addressed store, display names and previews."""

import io
from pathlib import Path

import pytest

from portal.files import FileStore, TooLarge, display_name, file_format, preview_rows


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


def test_preview_reads_the_first_rows_of_a_normalised_table(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes("名称,数量\r\n企业,1\r\n单位,2\r\n".encode())
    assert preview_rows(tmp_path / "t.csv", limit=1) == (["名称", "数量"], [["企业", "1"]])
    (tmp_path / "bad.csv").write_bytes(b'a\r\n"' + b"x" * 200_000)
    assert preview_rows(tmp_path / "bad.csv") == ([], [])
