"""The audit log: append-only storage, what the API and the CLI write, ``dialer audit ls``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from dialer.cli import main
from dialer.db import open_engine
from dialer.models import audit_log
from dialer.storage.audit import entries, record
from dialer.vocabulary import AuditAction
from tests.api.conftest import ALICE, Api

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("which", ["sqlite", "postgres"])
def test_entries_are_append_only_and_hold_no_secrets(which: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if which == "sqlite" else "postgres_url")
    db = open_engine(url)
    with db.begin() as conn:
        record(conn, AuditAction.SIGN_IN, "wendy", source="10.0.0.7", detail={"page": "agent", "secret": "s3cret"},
               at=AT)
        record(conn, AuditAction.PAUSE, "wendy", target="wendy", detail={"code": "LUNCH"}, at=AT + timedelta(1))
    with db.connect() as conn:
        rows = entries(conn, since=AT)
        assert [(r["action"], r["actor"], r["at"]) for r in rows] == [
            ("sign_in", "wendy", AT), ("pause", "wendy", AT + timedelta(1))]
        assert rows[0]["detail"] == {"page": "agent"} and rows[0]["source"] == "10.0.0.7"
        assert [r["action"] for r in entries(conn, since=AT + timedelta(hours=1))] == ["pause"]
        assert [r["action"] for r in entries(conn, until=AT + timedelta(hours=1))] == ["sign_in"]
    for stmt in (update(audit_log).values(actor="mallory"), delete(audit_log)):
        with pytest.raises(DatabaseError, match="append-only"), db.begin() as conn:
            conn.execute(stmt)
    with db.connect() as conn:
        assert conn.execute(select(audit_log.c.actor)).scalars().all() == ["wendy", "wendy"]
    db.dispose()


async def test_the_api_writes_who_what_and_from_where(api: Api) -> None:
    post = api.client.post
    assert (await post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=ALICE)).status_code == 200
    assert (await post("/api/agents/alice/pause", json={"code": "BREAK"}, headers=ALICE)).status_code == 200
    assert (await post("/api/agents/alice/ready", headers=ALICE)).status_code == 200
    r = await post("/api/calls/7/disposition", json={"code": "REFUSED", "reason": "PRICE"}, headers=ALICE)
    assert r.status_code == 200, r.text
    refused = await post("/api/agents/bob/pause", json={"code": "BREAK"}, headers=ALICE)
    assert refused.status_code == 403  # refused requests write nothing
    async with api.engine.db.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(audit_log).order_by(audit_log.c.id))]
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
        ("alice", "login", "alice"), ("alice", "pause", "alice"), ("alice", "ready", "alice"),
        ("alice", "disposition", "call 7")]
    assert rows[1]["detail"] == {"code": "BREAK"} and rows[3]["detail"] == {"code": "REFUSED", "reason": "PRICE"}
    assert {r["source"] for r in rows} == {"127.0.0.1"}
    assert all(r["at"].tzinfo is not None for r in rows)


def test_cli_writes_campaign_and_dnc_entries_and_lists_them(sqlite_url: str, tmp_path, monkeypatch) -> None:
    from campaigns.definition import load_definition
    from dialer.services.campaigns import apply_definition
    from tests.e2e.conftest import write_campaign

    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    db = open_engine(sqlite_url)
    apply_definition(db, load_definition(write_campaign(tmp_path, "progressive")))
    db.dispose()

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("campaigns", "start", "e2e")
    run("campaigns", "pause", "e2e")
    run("dnc", "add", "+12125550143", "--reason", "asked")
    out = json.loads(run("audit", "ls", "--json"))
    assert [(e["action"], e["target"], e["source"]) for e in out] == [
        ("campaign_started", "e2e", "cli"), ("campaign_paused", "e2e", "cli"), ("dnc_added", "+12125550143", "cli")]
    assert all(e["actor"].startswith("cli") and datetime.fromisoformat(e["at"]).tzinfo for e in out)
    assert json.loads(run("audit", "ls", "--json", "--action", "dnc_added"))[0]["detail"]["reason"] == "asked"
    assert json.loads(run("audit", "ls", "--json", "--since", "2999-01-01")) == []
    assert "campaign_started" in run("audit", "ls")
    leads = tmp_path / "leads.csv"
    leads.write_text("first_name,phone\nAnn,+12125550101\nBen,+12125550102\n")
    run("lists", "import", str(leads), "--list", "spring", "--region", "US")
    run("lists", "delete", "spring", "--yes")
    listed = json.loads(run("audit", "ls", "--json", "--since", out[0]["at"]))[3:]
    assert [(e["action"], e["target"]) for e in listed] == [("list_imported", "spring"), ("list_deleted", "spring")]
    assert listed[0]["detail"]["imported"] == 2 and listed[0]["detail"]["file"] == "leads.csv"
    assert "Ann" not in json.dumps(listed)  # counts, never lead data
    bad = CliRunner().invoke(main, ["audit", "ls", "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since 'yesterday': not an ISO 8601" in bad.output
    # applying a campaign that sets a rule of its pack aside: who, and which rule and why
    strict = tmp_path / "strict.toml"
    strict.write_text(write_campaign(tmp_path, "progressive").read_text().replace(
        'name = "e2e"', 'name = "e2e"\njurisdiction = "US"', 1)
        + '\n[[compliance.override]]\nrule = "window"\nreason = "B2B list, counsel 2026-10-02"\n')
    run("campaigns", "apply", str(strict))
    [applied] = json.loads(run("audit", "ls", "--json", "--action", "campaign_applied"))
    assert applied["target"] == "e2e" and applied["detail"]["jurisdiction"] == "US"
    assert applied["detail"]["overrides"] == [{"rule": "window", "reason": "B2B list, counsel 2026-10-02"}]
