"""What the audit log covers beyond tests/web/test_audit.py: the desktop's sign-ins (over HTTP,
without a browser), and the commands that change agents, DNC and consent, and an offline
disposition (no daemon) — each entry in the command's own transaction, never a secret."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from dialer.cli import main
from dialer.db import open_engine
from dialer.models import audit_log
from tests.api.conftest import Api

PASSWORD = "a-long-passphrase-42"


async def _entries(api: Api) -> list[dict]:
    async with api.engine.db.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(audit_log).order_by(audit_log.c.id))]


async def test_sign_in_and_failed_sign_in_are_audited_with_where_from(api: Api) -> None:
    client = api.client
    page = await client.get("/agent")  # the sign-in form: its CSRF token, also in a cookie
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf is not None
    form = {"name": "alice", "csrf": csrf.group(1), "target": "agent"}
    wrong = await client.post("/signin", data={**form, "secret": "not-hers"})
    assert wrong.status_code == 401
    expired = await client.post("/signin", data={**form, "secret": "tok-alice", "csrf": "forged"})
    assert expired.status_code == 403  # refused before any check: not a sign-in attempt, no entry
    ok = await client.post("/signin", data={**form, "secret": "tok-alice"})
    assert ok.status_code == 303 and ok.headers["location"] == "/agent"
    rows = await _entries(api)
    assert [(r["action"], r["actor"], r["source"], r["detail"]) for r in rows] == [
        ("sign_in_failed", "alice", "127.0.0.1", {"page": "agent"}),
        ("sign_in", "alice", "127.0.0.1", {"page": "agent"})]
    assert all(r["at"].tzinfo is not None for r in rows)
    assert "not-hers" not in json.dumps([r["detail"] for r in rows]) + "".join(str(r) for r in rows)


@pytest.fixture
def cli_env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from campaigns.definition import load_definition
    from dialer.services.campaigns import apply_definition
    from tests.e2e.conftest import write_campaign

    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIALER_HTTP_PORT", "9")  # no daemon there: commands go to the database
    db = open_engine(sqlite_url)
    apply_definition(db, load_definition(write_campaign(tmp_path, "progressive")))
    yield db
    db.dispose()


def _run(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _audit(db, since_id: int = 0) -> list[dict]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).where(audit_log.c.id > since_id)
                                                       .order_by(audit_log.c.id))]


def test_agent_commands_are_audited_without_secrets(cli_env) -> None:
    added = _run("agents", "add", "wendy", "--interface", "PJSIP/wendy")
    token = added.split("API token (shown once, give it to the agent's desktop): ")[1].strip()
    _run("agents", "add", "wendy", "--interface", "PJSIP/wendy2", "--rotate-token")
    _run("agents", "password", "wendy", "--password-stdin", "--role", "supervisor", stdin=PASSWORD + "\n")
    _run("agents", "assign", "wendy", "e2e")
    _run("agents", "assign", "wendy", "e2e")  # already assigned: nothing changed, no entry
    _run("agents", "assign", "wendy", "e2e", "--remove")
    rows = _audit(cli_env)
    assert [(r["action"], r["target"], r["source"]) for r in rows] == [
        ("agent_added", "wendy", "cli"), ("agent_updated", "wendy", "cli"), ("agent_password", "wendy", "cli"),
        ("agent_assigned", "wendy", "cli"), ("agent_assigned", "wendy", "cli")]
    assert all(r["actor"].startswith("cli") for r in rows)
    assert rows[0]["detail"] == {"interface": "PJSIP/wendy", "state_interface": None}
    assert rows[1]["detail"] == {"interface": "PJSIP/wendy2", "new_token": True}
    assert rows[2]["detail"] == {"role": "supervisor"}
    assert [r["detail"] for r in rows[3:]] == [{"campaign": "e2e", "removed": False},
                                               {"campaign": "e2e", "removed": True}]
    dumped = json.dumps([r["detail"] for r in rows], default=str)
    assert PASSWORD not in dumped and token not in dumped


def test_dnc_and_consent_commands_are_audited(cli_env, tmp_path: Path) -> None:
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("+12125550101\n+12125550102\nnot a number\n")
    _run("dnc", "import", str(numbers))
    _run("dnc", "remove", "+12125550101")
    _run("consent", "add", "+33612345678", "--how", "web", "--at", "2026-05-01")
    _run("consent", "revoke", "+33612345678", "--scope", "campaign:e2e", "--at", "2026-05-02")
    consents = tmp_path / "consents.csv"
    consents.write_text("phone\n+33612345679\n")
    _run("consent", "import", str(consents), "--at", "2026-05-03")
    rows = _audit(cli_env)
    assert [(r["action"], r["target"]) for r in rows] == [
        ("dnc_imported", str(numbers)), ("dnc_removed", "+12125550101"), ("consent_added", "+33612345678"),
        ("consent_revoked", "+33612345678"), ("consent_imported", str(consents))]
    assert rows[0]["detail"]["added"] == 2 and rows[0]["detail"]["rejected"] == 1
    assert rows[1]["detail"] == {"campaign": None}
    assert rows[2]["detail"]["scope"] == "*" and rows[2]["detail"]["channel"] == "web"
    assert rows[3]["detail"]["scope"] == "campaign:e2e" and rows[3]["detail"]["at"].startswith("2026-05-02")
    assert rows[4]["detail"]["given"] == 1
    bad = CliRunner().invoke(main, ["dnc", "remove", "+12125550199"])  # not listed: refused, no entry
    assert bad.exit_code != 0 and len(_audit(cli_env)) == len(rows)


def test_offline_disposition_is_audited_in_its_transaction(cli_env) -> None:
    from datetime import UTC, datetime

    from campaigns.models import campaigns
    from dialer.claim import calls, leads, lists_

    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with cli_env.begin() as conn:
        cid = conn.execute(select(campaigns.c.id)).scalar_one()
        list_id = conn.execute(insert(lists_).values(name="l", campaign_id=cid, active=True, priority=0)
                               .returning(lists_.c.id)).scalar_one()
        lead = conn.execute(insert(leads).values(list_id=list_id, phone="+12125550143", timezones="America/New_York",
                                                 status="dialing", attempts=1).returning(leads.c.id)).scalar_one()
        call = conn.execute(insert(calls).values(
            campaign_id=cid, lead_id=lead, phone="+12125550143", attempt=1, node="n", status="ended",
            outcome="CONNECTED", ring_timeout=15, placed_at=at, connected_at=at, ended_at=at, agent="alice",
            channel_id="c-1").returning(calls.c.id)).scalar_one()
    bad = CliRunner().invoke(main, ["calls", "dispose", str(call), "--code", "NOPE"])
    assert bad.exit_code != 0 and _audit(cli_env) == []  # refused: nothing recorded
    _run("calls", "dispose", str(call), "--code", "REFUSED", "--reason", "PRICE")
    [row] = _audit(cli_env)
    assert (row["action"], row["target"], row["source"]) == ("disposition", f"call {call}", "cli")
    assert row["detail"] == {"code": "REFUSED", "reason": "PRICE", "offline": True}
    with cli_env.connect() as conn:
        assert conn.execute(select(calls.c.disposition).where(calls.c.id == call)).scalar() == "REFUSED"


async def test_a_settings_reload_is_audited_with_the_keys_it_changed(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """There is no command or route that overrides the daemon's settings: they come from the
    settings file and DIALER_* variables, read again on SIGHUP. The reload is what is audited:
    which keys changed (names, never values), applied or waiting for a restart."""
    from dialer.errors import ConfigError
    from dialer.secrets import Secret
    from dialer.server import Server
    from dialer.settings import Settings

    running = Settings()
    fresh = Settings()
    fresh.scheduler.jobs = {"recycle": ""}
    fresh.ami.port = 5039
    fresh.ami.secret = Secret("a-new-secret")
    answers: list = [fresh, ConfigError("dialer.toml: not valid TOML")]

    def reload_settings() -> Settings:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr("dialer.server.setup_logging", lambda settings: None)  # the test run's logging stays
    server = Server(running, reload_settings=reload_settings, node="n9")
    server.engine = api.engine
    await server.reload()
    await server.reload()
    rows = [r for r in await _entries(api) if r["action"] == "settings_reloaded"]
    assert [(r["actor"], r["target"], r["source"]) for r in rows] == [("system", "node n9", "SIGHUP")] * 2
    assert rows[0]["detail"] == {"applied": ["scheduler.jobs"], "need_restart": ["ami.port"]}
    assert rows[1]["detail"] == {"kept": True, "error": "dialer.toml: not valid TOML"}
    assert running.scheduler.jobs == {"recycle": ""} and running.ami.port != 5039
    assert "a-new-secret" not in json.dumps([r["detail"] for r in rows])
