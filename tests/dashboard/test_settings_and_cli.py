"""Settings from the environment and the CLI's one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.settings import Settings, SettingsError


def test_defaults_point_at_the_embedded_demo(tmp_path: Path) -> None:
    s = Settings.from_env({"SHIYU_INSTANCE_PATH": str(tmp_path)}, dotenv=tmp_path / "none")
    assert s.uses_embedded_demo
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'shiyu-demo.sqlite'}"
    assert s.port == 8050 and s.host == "127.0.0.1"


def test_one_url_setting_switches_the_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    s = Settings.from_env({"SHIYU_DATABASE_URL": url}, dotenv=tmp_path / "none")
    assert s.effective_database_url == url and not s.uses_embedded_demo


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SHIYU_PORT=9000\nSHIYU_TITLE='某市指挥中心'\n", encoding="utf-8")
    s = Settings.from_env({"SHIYU_PORT": "9100"}, dotenv=env_file)
    assert s.port == 9100
    assert s.title == "某市指挥中心"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SHIYU_PORT": "eighty"}, "SHIYU_PORT"),
        ({"SHIYU_DEBUG": "maybe"}, "SHIYU_DEBUG"),
        ({"SHIYU_TILES_CRS": "bd09"}, "SHIYU_TILES_CRS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], fragment: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env, dotenv=tmp_path / "none")


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_check_with_a_malformed_url_gives_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", "nosuchdb://x"]) == 2
    assert "invalid database URL" in _one_line_error(capsys)


def test_check_with_an_unreachable_server_gives_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"]) == 2
    assert "cannot connect" in _one_line_error(capsys)


def test_check_on_an_empty_database_gives_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert main(["check", "--db", f"sqlite:///{empty}"]) == 2
    assert "no Shiyu schema" in _one_line_error(capsys)


def test_check_on_a_missing_sqlite_file_does_not_create_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.sqlite"
    assert main(["check", "--db", f"sqlite:///{missing}"]) == 2
    assert "not found" in _one_line_error(capsys)
    assert not missing.exists()


def test_serve_on_an_empty_database_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "e.sqlite").touch()
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "serve", "--db", f"sqlite:///{tmp_path / 'e.sqlite'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no Shiyu schema" in proc.stderr and "Traceback" not in proc.stderr


def test_check_passes_on_the_tiny_demo(
    tiny_demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--db", tiny_demo_url]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out
