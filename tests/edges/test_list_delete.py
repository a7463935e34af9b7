"""``dialer lists delete`` keeps call history (issue 14).

Before: the list, its leads and (by cascade) their calls were deleted, even while an active
campaign dialled the list; ``report`` then showed 0 calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from dialer.cli import main
from dialer.db import open_engine
from dialer.models import calls
from lists.models import leads


@pytest.fixture
def run(tmp_path: Path):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


@pytest.fixture
def called_list(run, tmp_path: Path) -> Path:
    """A campaign ``c`` (paused) with list ``l`` of 3 leads, the first called once."""
    camp = tmp_path / "c.toml"
    camp.write_text('name = "c"\n[[lists]]\nname = "l"\n[dial]\ntrunk = "PJSIP/{number}@t"\nqueue = "q"\n'
                    '[[dispositions]]\ncode = "SALE"\nlabel = "Sale"\nflags = ["contact", "success", "final"]\n')
    assert run("campaigns", "apply", str(camp)).exit_code == 0
    data = tmp_path / "l.csv"
    data.write_text("phone\n+12125550101\n+12125550102\n+12125550103\n", encoding="utf-8")
    r = run("lists", "import", str(data), "--list", "l", "--campaign", "c")
    assert r.exit_code == 0, r.output
    engine = open_engine(f"sqlite:///{tmp_path / 'data' / 'dialer.db'}")
    with engine.begin() as conn:
        lead = conn.execute(select(leads.c.id, leads.c.phone).order_by(leads.c.id)).first()
        conn.execute(calls.insert().values(campaign_id=1, lead_id=lead.id, phone=lead.phone, attempt=1,
                                           ring_timeout=20, placed_at=datetime.now(UTC), status="ended",
                                           outcome="CONNECTED", disposition="SALE", order_form={"plan": "x"}))
        conn.execute(leads.update().where(leads.c.id == lead.id).values(attempts=1, status="done"))
    engine.dispose()
    return tmp_path / "data" / "dialer.db"


def _count(db: Path, table) -> int:
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return n


def test_a_list_with_calls_is_refused_without_archive_or_force(run, called_list: Path) -> None:
    r = run("lists", "delete", "l", "--yes")
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "1 leads with call history (1 calls)" in r.output and "--archive" in r.output and "--force" in r.output
    assert _count(called_list, calls) == 1 and _count(called_list, leads) == 3


def test_archive_keeps_every_lead_and_hides_the_list(run, called_list: Path) -> None:
    r = run("lists", "delete", "l", "--yes", "--archive", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"list": "l", "deleted_leads": 0, "kept_leads": 3, "archived": True}
    assert _count(called_list, calls) == 1 and _count(called_list, leads) == 3
    assert json.loads(run("lists", "ls", "--json").output) == []
    [row] = json.loads(run("lists", "ls", "--all", "--json").output)
    assert row["name"] == "l" and row["active"] is False and row["archived_at"]
    assert "archived" in run("lists", "ls", "--all").output
    r = run("lists", "import", str(called_list.parent.parent / "l.csv"), "--list", "l")
    assert r.exit_code == 2 and "archived" in r.output


def test_force_deletes_only_leads_never_called(run, called_list: Path) -> None:
    r = run("lists", "delete", "l", "--yes", "--force")
    assert r.exit_code == 0, r.output
    assert "kept 1 leads" in r.output and "deleted 2 never called" in r.output
    assert _count(called_list, calls) == 1 and _count(called_list, leads) == 1


def test_never_while_an_active_campaign_dials_the_list(run, called_list: Path) -> None:
    assert run("campaigns", "start", "c").exit_code == 0
    for extra in ((), ("--archive",), ("--force",)):
        r = run("lists", "delete", "l", "--yes", *extra)
        assert r.exit_code != 0 and "campaign 'c' (active)" in r.output, r.output
    assert _count(called_list, leads) == 3


def test_a_list_never_called_is_deleted(run, tmp_path: Path) -> None:
    data = tmp_path / "n.csv"
    data.write_text("phone\n+12125550101\n", encoding="utf-8")
    assert run("lists", "import", str(data), "--list", "n").exit_code == 0
    r = run("lists", "delete", "n", "--yes")
    assert r.exit_code == 0 and "deleted list n (1 leads)" in r.output
    assert json.loads(run("lists", "ls", "--all", "--json").output) == []
