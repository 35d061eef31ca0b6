"""``shiyu import``: argument parsing, exit codes and the printed report."""

from __future__ import annotations

import argparse

from _importer_support import UNITS, write_csv

from dashboard import cli_import


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="shiyu")
    cli_import.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["import", *argv])


def test_units_then_cases_through_the_cli(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    units = write_csv(tmp_path / "units.csv", UNITS)
    assert cli_import.run(_parse("units", str(units), "--vintage", "2025"), url) == 0
    out = capsys.readouterr().out
    assert "inserted 10" in out and "committed" in out

    cases = write_csv(
        tmp_path / "cases.csv",
        [
            ["单位代码", "日期", "类型", "受理数"],
            ["359802", "2025-10-01", "邻里", "3"],
            ["359802", "2025-10-02", "邻里", "-3"],
        ],
        encoding="gbk",
    )
    assert cli_import.run(_parse("cases", str(cases), "--stream", "dispute"), url) == 1
    err = capsys.readouterr().err
    assert (
        "负数" in err
        and "negative count" in err
        and "第3行 / row 3" in err
        and "nothing was written" in err
    )

    rejects = tmp_path / "rej.csv"
    argv = ("cases", str(cases), "--stream", "dispute", "--skip-bad", "--rejects", str(rejects))
    assert cli_import.run(_parse(*argv), url) == 0
    assert "inserted 1" in capsys.readouterr().out and rejects.exists()


def test_missing_database_file_is_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    code = cli_import.run(_parse("cases", str(tmp_path / "x.csv")), url)
    assert code == 2 and "shiyu:" in capsys.readouterr().err


def test_unreadable_file_exit_code(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db.db'}"
    cli_import.run(
        _parse("units", str(write_csv(tmp_path / "u.csv", UNITS)), "--vintage", "2025"), url
    )
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert cli_import.run(_parse("cases", str(bad), "--stream", "petition"), url) == 2
    assert "damaged" in capsys.readouterr().err


def test_dry_run_into_a_new_sqlite_file_creates_nothing(tmp_path, capsys):
    target = tmp_path / "fresh.db"
    units = write_csv(tmp_path / "units.csv", UNITS)
    assert cli_import.run(_parse("units", str(units), "--dry-run"), f"sqlite:///{target}") == 0
    assert "inserted 10" in capsys.readouterr().out
    assert not target.exists()


def test_an_import_warms_the_shared_cache_and_a_dry_run_does_not(tmp_path, capsys, monkeypatch):
    import pytest

    from dashboard.cli import main
    from data.cache import RedisStore, make_store

    redis_url = "redis://127.0.0.1:6379/15"
    if not isinstance(make_store(redis_url), RedisStore):
        pytest.skip(f"Redis not reachable at {redis_url}")
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("SHIYU_CACHE_URL", redis_url)
    monkeypatch.setenv("SHIYU_DATABASE_URL", f"sqlite:///{tmp_path / 'city.db'}")
    units = write_csv(tmp_path / "units.csv", UNITS)

    assert main(["import", "units", str(units), "--vintage", "2025", "--dry-run"]) == 0
    assert "warmed" not in capsys.readouterr().out
    assert main(["import", "units", str(units), "--vintage", "2025"]) == 0
    captured = capsys.readouterr()
    assert "committed" in captured.out and "warmed" in captured.out, captured.err
