"""``dialer agents assign`` and ``dialer agents password``: what they store, and their errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from dialer.cli import main
from dialer.db import open_engine
from dialer.models import agent_campaigns, agents, web_sessions
from dialer.web.passwords import verify_password
from tests.e2e.conftest import write_campaign


@pytest.fixture
def run(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A database with campaign e2e and agents alice and bob (through the CLI itself)."""
    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    for args in (["campaigns", "apply", str(write_campaign(tmp_path, "progressive"))],
                 ["agents", "add", "alice", "--interface", "PJSIP/alice"],
                 ["agents", "add", "bob", "--interface", "PJSIP/bob"]):
        out = runner.invoke(main, args)
        assert out.exit_code == 0, out.output
    return runner


def rows(url: str, query) -> list[tuple]:  # type: ignore[no-untyped-def]
    db = open_engine(url)
    try:
        with db.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]
    finally:
        db.dispose()


def assigned(url: str) -> list[tuple]:
    return rows(url, select(agents.c.name).join(agent_campaigns, agent_campaigns.c.agent_id == agents.c.id)
                .order_by(agents.c.name))


def test_assign_adds_once_and_remove_takes_it_away(run: CliRunner, sqlite_url: str) -> None:
    out = run.invoke(main, ["agents", "assign", "alice", "e2e"])
    assert out.exit_code == 0 and out.output == "agent 'alice' assigned to 'e2e'\n"
    assert run.invoke(main, ["agents", "assign", "alice", "e2e"]).exit_code == 0  # again: still one row
    assert run.invoke(main, ["agents", "assign", "bob", "e2e"]).exit_code == 0
    assert assigned(sqlite_url) == [("alice",), ("bob",)]
    out = run.invoke(main, ["agents", "assign", "alice", "e2e", "--remove"])
    assert out.exit_code == 0 and out.output == "agent 'alice' no longer assigned to 'e2e'\n"
    assert assigned(sqlite_url) == [("bob",)]
    assert run.invoke(main, ["agents", "assign", "alice", "e2e", "--remove"]).exit_code == 0  # nothing to remove


@pytest.mark.parametrize(("args", "message"), [
    (["nobody", "e2e"], "unknown agent 'nobody' (create it with: dialer agents add nobody --interface ...)"),
    (["alice", "nope"], "unknown campaign 'nope' (see: dialer campaigns ls)"),
    (["alice", "nope", "--remove"], "unknown campaign 'nope'"),
])
def test_assign_errors_name_what_is_unknown(run: CliRunner, sqlite_url: str, args: list[str], message: str) -> None:
    out = run.invoke(main, ["agents", "assign", *args])
    assert out.exit_code != 0 and message in out.output
    assert assigned(sqlite_url) == []


def test_password_from_stdin_sets_the_hash_and_role_and_ends_sessions(run: CliRunner, sqlite_url: str) -> None:
    db = open_engine(sqlite_url)
    now = datetime.now(UTC)
    with db.begin() as conn:  # alice is signed in somewhere
        alice = conn.execute(select(agents.c.id).where(agents.c.name == "alice")).scalar_one()
        conn.execute(insert(web_sessions).values(token_hash="t" * 64, agent_id=alice, csrf="c",
                                                 created_at=now, expires_at=now + timedelta(hours=8)))
    db.dispose()
    out = run.invoke(main, ["agents", "password", "alice", "--password-stdin", "--role", "supervisor"],
                     input="correct horse 1\n")
    assert out.exit_code == 0 and out.output == "password set for agent 'alice' (role supervisor)\n"
    [(stored, role)] = rows(sqlite_url, select(agents.c.password_hash, agents.c.role).where(agents.c.name == "alice"))
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse 1", stored) and not verify_password("correct horse 2", stored)
    assert role == "supervisor"
    assert rows(sqlite_url, select(web_sessions.c.token_hash)) == []  # the old sessions are gone
    [(bob,)] = rows(sqlite_url, select(agents.c.password_hash).where(agents.c.name == "bob"))
    assert bob is None


def test_password_is_asked_twice_without_stdin(run: CliRunner, sqlite_url: str) -> None:
    out = run.invoke(main, ["agents", "password", "bob"], input="first-try-1\nother-one-2\nsecret-99\nsecret-99\n")
    assert out.exit_code == 0, out.output
    assert "do not match" in out.output and "secret-99" not in out.output  # not echoed
    [(stored, role)] = rows(sqlite_url, select(agents.c.password_hash, agents.c.role).where(agents.c.name == "bob"))
    assert verify_password("secret-99", stored) and role == "agent"  # the role is left as it was


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["alice", "--password-stdin"], "short\n", "a password has 8 to 256 characters"),
    (["alice", "--password-stdin"], "x" * 257 + "\n", "a password has 8 to 256 characters"),
    (["nobody", "--password-stdin"], "long enough 1\n", "unknown agent 'nobody'"),
    (["alice", "--password-stdin", "--role", "root"], "long enough 1\n", "'root' is not one of"),
])
def test_password_errors(run: CliRunner, sqlite_url: str, args: list[str], stdin: str, message: str) -> None:
    out = run.invoke(main, ["agents", "password", *args], input=stdin)
    assert out.exit_code != 0 and message in out.output
    assert rows(sqlite_url, select(agents.c.password_hash).where(agents.c.password_hash.is_not(None))) == []
