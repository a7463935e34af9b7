"""do-not-call requests: when taken and until when they must be honoured (issue 17)

Entries the dialer made before (source ``campaign NAME``: a DNC disposition, rule or opt-out
keypress; ``agent NAME``: the DNC button) become requests taken when they were created,
honoured for ever (their campaign's packs are not known here: the safe side).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dnc_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("honour_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE dnc_numbers SET requested_at = created_at WHERE requested_at IS NULL "
               "AND (source LIKE 'campaign %' OR source LIKE 'agent %')")


def downgrade() -> None:
    with op.batch_alter_table("dnc_numbers", schema=None) as batch_op:
        batch_op.drop_column("honour_until")
        batch_op.drop_column("requested_at")
