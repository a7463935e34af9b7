"""call recordings (calls.recording_path) and the webhook outbox

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_path", sa.String(length=500), nullable=True))
    op.create_table(
        "webhook_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", _ID, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_webhook_outbox_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_outbox_event_id")),
    )
    op.create_index("ix_webhook_outbox_status_next", "webhook_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_outbox_lead", "webhook_outbox", ["lead_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_outbox_lead", table_name="webhook_outbox")
    op.drop_index("ix_webhook_outbox_status_next", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("recording_path")
