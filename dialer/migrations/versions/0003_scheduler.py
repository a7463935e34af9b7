"""scheduler and claims: callback ownership on leads, the claim index, job runs, node heartbeats

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("callback_exclusive_until", sa.DateTime(timezone=True), nullable=True))
    # The claim walks this index once per (list, status, time-zone set open now) in the claim's
    # order — due time (unset first), lead priority (highest first), id — and stops at the first
    # lead not yet due.  The zone set is in the key so that leads in closed zones are never read.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_leads_claim ON leads "
                   "(list_id, status, timezones, next_call_at NULLS FIRST, priority DESC, id)")
    else:  # SQLite sorts NULLs first in ascending order already
        op.execute("CREATE INDEX ix_leads_claim ON leads "
                   "(list_id, status, timezones, next_call_at, priority DESC, id)")
    op.create_table(
        "job_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_started", "job_runs", ["job", "started_at"])
    op.create_table(
        "node_heartbeats",
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_node_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("node_heartbeats")
    op.drop_index("ix_job_runs_job_started", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_index("ix_leads_claim", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("callback_exclusive_until")
        batch_op.drop_column("callback_owner")
