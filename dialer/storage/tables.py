"""The tables the daemon reads and writes, as objects (no lookup by name)."""

from __future__ import annotations

import dialer.schema  # noqa: F401  (every model registered, in order)
from campaigns.models import Campaign
from dialer.models import Agent, AgentStateLog, Call, PacingState
from lists.models import DncNumber, Lead, LeadList

calls = Call.__table__
agents = Agent.__table__
agent_log = AgentStateLog.__table__
pacing_state = PacingState.__table__
campaigns = Campaign.__table__
leads = Lead.__table__
lists_ = LeadList.__table__
dnc = DncNumber.__table__
