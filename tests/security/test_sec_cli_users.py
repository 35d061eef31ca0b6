"""``shiyu users …`` and ``shiyu audit``: passwords never echoed, scopes checked, changes audited;
and the production start refusing with one line."""

from __future__ import annotations

import io
import sys

import pytest
import sqlalchemy as sa
from sec_helpers import CITY, DISTRICT_A

from dashboard.cli import main
from data import audit, auth, schema


def _run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_secc001_add_list_disable_passwd(demo_url, demo_engine, capsys, monkeypatch) -> None:
    secret = "Linquan-Pass-1"
    code, out, err = _run(
        ["users", "--db", demo_url, "add", "linquan", "--role", "leader", "--scope", DISTRICT_A,
         "--name", "临泉区领导", "--password-stdin"],
        capsys, monkeypatch, stdin=secret + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "linquan" in out and secret not in out + err
    assert auth.authenticate(demo_engine, "linquan", secret).ok
    with demo_engine.connect() as conn:
        hashes = conn.execute(sa.select(schema.users.c.password_hash)).scalars().all()
    assert all(h.startswith("$scrypt$") and secret not in h for h in hashes)

    code, out, _ = _run(["users", "--db", demo_url, "list"], capsys, monkeypatch)
    assert code == 0 and "linquan" in out and DISTRICT_A in out and "$scrypt" not in out

    assert _run(["users", "--db", demo_url, "disable", "linquan"], capsys, monkeypatch)[0] == 0
    assert auth.authenticate(demo_engine, "linquan", secret).outcome == "disabled"
    assert _run(["users", "--db", demo_url, "enable", "linquan"], capsys, monkeypatch)[0] == 0

    code, out, err = _run(
        ["users", "--db", demo_url, "passwd", "linquan", "--password-stdin"],
        capsys, monkeypatch, stdin="Another-Pass-2\n",
    )  # fmt: skip
    assert code == 0 and "Another-Pass-2" not in out + err
    assert auth.authenticate(demo_engine, "linquan", "Another-Pass-2").ok

    changes = audit.entries(demo_engine, action="user_change")
    assert [d.split()[0] for d in changes.detail] == ["add", "disable", "enable", "passwd"]
    assert all(u.startswith("cli") for u in changes.username)


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (["add", "x", "--role", "leader", "--scope", "999999", "--password-stdin"], "Long-Pass-1\n",
         "unknown unit code"),
        (["add", "x", "--role", "leader", "--scope", CITY, "--password-stdin"], "short\n",
         "at least"),
        (["add", "demo", "--role", "leader", "--scope", CITY, "--password-stdin"], "Long-Pass-1\n",
         "already exists"),
        (["add", "x", "--role", "leader", "--scope", CITY], "", "--password-stdin"),
        (["disable", "nobody"], "", "no user"),
        (["token", "revoke", "99"], "", "no screen token"),
    ],
)  # fmt: skip
def test_secc002_mistakes_give_one_line(
    demo_url, capsys, monkeypatch, args: list[str], stdin: str, fragment: str
) -> None:
    code, _out, err = _run(["users", "--db", demo_url, *args], capsys, monkeypatch, stdin)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment in err


def test_secc003_tokens_printed_once_and_listed_without_secret(
    demo_url, demo_engine, capsys, monkeypatch
) -> None:
    code, out, _ = _run(
        ["users", "--db", demo_url, "token", "create", "--label", "指挥大厅", "--scope", CITY,
         "--days", "30"],
        capsys, monkeypatch,
    )  # fmt: skip
    assert code == 0
    secret = next(line for line in out.splitlines() if len(line) == 43)
    token = auth.resolve_token(demo_engine, secret)
    code, listing, _ = _run(["users", "--db", demo_url, "token", "list"], capsys, monkeypatch)
    assert code == 0 and "指挥大厅" in listing and secret not in listing and "有效" in listing
    code, _, _ = _run(
        ["users", "--db", demo_url, "token", "revoke", str(token.id)], capsys, monkeypatch
    )
    assert code == 0
    with pytest.raises(auth.TokenRefused):
        auth.resolve_token(demo_engine, secret)
    assert "已撤销" in _run(["users", "--db", demo_url, "token", "list"], capsys, monkeypatch)[1]
    details = audit.entries(demo_engine, action="token_change").detail.tolist()
    assert details[0].startswith("create token") and details[1].startswith("revoke token")
    assert all(secret not in d for d in details)


def test_secc004_audit_listing_filters(demo_url, demo_engine, capsys, monkeypatch) -> None:
    import datetime as dt

    audit.record(demo_engine, "login_ok", username="demo", now=dt.datetime(2026, 11, 2, 8, 30))
    audit.record(demo_engine, "refused", username="li", unit_code=CITY,
                 now=dt.datetime(2026, 11, 3, 9, 0), remote_addr="10.2.3.4")  # fmt: skip
    audit.record(demo_engine, "view", username="demo", now=dt.datetime(2026, 10, 20))
    code, out, _ = _run(["audit", "--db", demo_url, "--since", "2026-11-01"], capsys, monkeypatch)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3 and "2026-11-02 08:30:00" in lines[1] and "10.2.3.4" in lines[2]
    code, out, _ = _run(
        ["audit", "--db", demo_url, "--since", "2026-11-01", "--user", "li", "--action",
         "refused"],
        capsys, monkeypatch,
    )  # fmt: skip
    assert len(out.strip().splitlines()) == 2 and "li" in out
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error
        main(["audit", "--db", demo_url, "--since", "yesterday"])
    assert exit_info.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def _serve_refusal(monkeypatch, capsys, demo_url: str, tmp_path, env: dict[str, str]) -> str:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in ("SHIYU_SECRET_KEY", "SHIYU_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SHIYU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SHIYU_PRODUCTION", "true")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["serve", "--db", demo_url, "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_secc005_production_start_refuses_with_one_line(
    demo_url, demo_engine, capsys, monkeypatch, tmp_path
) -> None:
    err = _serve_refusal(monkeypatch, capsys, demo_url, tmp_path, {})
    assert "SHIYU_SECRET_KEY" in err
    secret = {"SHIYU_SECRET_KEY": "s" * 40}
    assert "demo account" in _serve_refusal(monkeypatch, capsys, demo_url, tmp_path, secret)
    with demo_engine.begin() as conn:
        conn.execute(sa.delete(schema.users))
    assert "no enabled user" in _serve_refusal(monkeypatch, capsys, demo_url, tmp_path, secret)
