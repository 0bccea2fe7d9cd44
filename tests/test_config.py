"""Settings: every one documented in the README, parsed from PORTAL_* variables."""

from pathlib import Path

from portal.config import SETTINGS, load_settings, secret_key

from .support import ROOT


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`PORTAL_{s.name}`" not in readme]
    assert missing == []


def test_environment_overrides_defaults(tmp_path: Path) -> None:
    values = load_settings(
        {"PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_MAX_UPLOAD_MB": "5", "PORTAL_SECURE_COOKIES": "true"}
    )
    assert values["INSTANCE_PATH"] == tmp_path.resolve()
    assert values["MAX_UPLOAD_MB"] == 5 and values["SECURE_COOKIES"] is True
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'portal.sqlite3'}"
    assert values["FILES_PATH"] == tmp_path.resolve() / "files"


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = secret_key(tmp_path)
    assert secret_key(tmp_path) == first and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
