"""The first migration creates the lists schema on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from dialer.db import open_engine
from lists.models import DncNumber, Lead, LeadList


def test_migration_creates_tables(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert {"campaigns", "lead_lists", "leads", "dnc_numbers", "import_runs"} <= names
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("leads")}
        assert {"ix_leads_status_next_call_at", "ix_leads_list_id", "ix_leads_phone"} <= indexes
        with engine.begin() as conn:
            conn.execute(LeadList.__table__.insert().values(name="a"))
            conn.execute(Lead.__table__.insert().values(list_id=1, phone="+12125550143", alt_phones=[], custom={}))
            row = conn.execute(text("SELECT status, attempts, priority, timezones FROM leads")).one()
            assert tuple(row) == ("new", 0, 0, "")
            # global scope: unique per phone even though campaign_id is NULL
            conn.execute(DncNumber.__table__.insert().values(phone="+12125550143"))
        with engine.begin() as conn:
            try:
                conn.execute(DncNumber.__table__.insert().values(phone="+12125550143"))
            except Exception as exc:  # IntegrityError on both backends
                assert "unique" in str(exc).lower() or "UNIQUE" in str(exc)
            else:
                raise AssertionError("duplicate global DNC number accepted")
    finally:
        engine.dispose()


def test_models_match_migration(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        from dialer.db import Base

        mine = {"campaigns", "lead_lists", "leads", "dnc_numbers", "import_runs"}
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        def table_of(d):
            op = d[0] if isinstance(d, list) else d
            for item in op[1:]:
                name = getattr(item, "name", None) if not isinstance(item, str) else None
                table = getattr(item, "table", None)
                if table is not None:
                    return table.name
                if name in mine:
                    return name
            return None
        relevant = [d for d in diff if table_of(d) in mine]
        assert relevant == []
    finally:
        engine.dispose()
