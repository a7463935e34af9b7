"""The tables the daemon reads and writes, under the names the storage layer uses (each is
exported as an object by the models module that owns it)."""

from __future__ import annotations

from campaigns.models import campaigns
from dialer.models import agent_state_log as agent_log
from dialer.models import agents, calls, pacing_state, webhook_outbox
from lists.models import dnc_numbers as dnc
from lists.models import import_runs, leads
from lists.models import lead_lists as lists_

__all__ = ["agent_log", "agents", "calls", "campaigns", "dnc", "import_runs", "leads", "lists_",
           "pacing_state", "webhook_outbox"]
