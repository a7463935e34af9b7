"""the consent ledger: consent given and revoked per number and scope (issue 17)

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False, server_default=sa.text("'*'")),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_consents_phone_at", "consents", ["phone", "at"])

def downgrade() -> None:
    op.drop_index("ix_consents_phone_at", table_name="consents")
    op.drop_table("consents")
