"""scale-out: the campaign-wide abandon ledger (per campaign, node and minute) and what each
node says of itself (its PBX and version) beside its heartbeat

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "abandon_minutes",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("connected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_abandon_minutes_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "node", "minute", name=op.f("pk_abandon_minutes")),
    )
    op.create_index("ix_abandon_minutes_campaign_minute", "abandon_minutes", ["campaign_id", "minute"])
    with op.batch_alter_table("node_heartbeats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pbx", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("version", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_heartbeats", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("pbx")
    op.drop_index("ix_abandon_minutes_campaign_minute", table_name="abandon_minutes")
    op.drop_table("abandon_minutes")
