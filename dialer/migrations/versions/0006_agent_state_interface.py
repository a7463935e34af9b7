"""agents.state_interface: the device whose state stands for a queue member's

A ``Local/...`` agent interface that rings a phone (``Local/9001@agents`` → ``PJSIP/agent1``)
reports its own, Local channel's state, not the phone's: QueueAdd's ``StateInterface`` names
the device (``PJSIP/agent1``) whose state the queue should follow (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_interface", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("state_interface")
