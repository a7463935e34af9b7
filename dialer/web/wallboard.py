"""The supervisor wallboard's data: a pure function of the engine's status and its agents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dialer.web.masking import mask_phone

#: The states the wallboard counts agents by, in the order it shows them.
STATES = ("ready", "reserved", "talking", "wrap_up", "paused", "unavailable")


@dataclass(frozen=True)
class AgentView:
    """One agent as the wallboard shows it (built from the session's runtime and tracker)."""

    name: str
    campaign: str | None
    state: str  # a dialer.tracking.agents.AgentState value
    since: float  # when the state began, the engine's clock (seconds)
    pause_code: str | None
    call_id: int | None
    lead: str | None = None  # the current call's lead: its id and masked number
    connected: float | None = None  # when the current call reached the agent (the engine's clock)


def board(status: dict[str, Any], agents: Iterable[AgentView], now: float) -> dict[str, Any]:
    """Per campaign: agents by state, each agent with time in state, calls and the abandon rate."""
    rows = sorted(agents, key=lambda a: a.name)
    campaigns = []
    for camp in status.get("campaigns", []):
        mine = [a for a in rows if a.campaign == camp["name"]]
        campaigns.append({
            "name": camp["name"],
            "mode": camp.get("mode"),
            "by_state": {s: sum(1 for a in mine if a.state == s) for s in STATES},
            "agents": [_agent(a, now) for a in mine],
            "calls": {"ringing": camp.get("ringing", 0), "waiting": camp.get("waiting", 0),
                      "lines": camp.get("lines", 0), "placed": camp.get("placed", 0),
                      "answered": camp.get("answered", 0),
                      "connected_24h": camp.get("connected_24h", 0), "abandoned_24h": camp.get("abandoned_24h", 0)},
            "abandon_rate_24h": camp.get("abandon_rate_24h", 0.0),
            "abandon": {k: camp.get(k) for k in ("abandon_rate_24h", "abandon_rate_30d", "abandoned_30d",
                                                  "connected_30d", "abandon_target", "abandon_budget_24h",
                                                  "abandon_budget_30d")},
            "pacing": camp.get("pacing"),
            "stats": camp.get("stats", {}),
            "idle_reason": camp.get("idle_reason"),
        })
    return {
        "link_up": status.get("link_up", True),
        "counters": status.get("counters", {}),
        "campaigns": campaigns,
        "unassigned": [_agent(a, now) for a in rows if a.campaign is None],
    }


def _agent(a: AgentView, now: float) -> dict[str, Any]:
    return {"name": a.name, "state": a.state, "pause_code": a.pause_code or None,
            "seconds_in_state": max(0, round(now - a.since)), "call_id": a.call_id, "lead": a.lead,
            "call_seconds": max(0, round(now - a.connected)) if a.connected is not None else None}


def agent_views(engine: Any) -> list[AgentView]:
    """The engine's logged-in agents with their tracked state."""
    out = []
    for runtime in engine.agents.values():
        snap = engine.agent_tracker.get(runtime.interface)
        if snap is None or snap.state.value == "logged_out":
            continue
        call = runtime.call
        rec = engine.session.calls.get(call.attempt_id) if call is not None and hasattr(engine, "session") else None
        out.append(AgentView(
            name=runtime.name, campaign=runtime.campaign.name if runtime.campaign is not None else None,
            state=snap.state.value, since=snap.since, pause_code=snap.pause_code, call_id=runtime.call_id,
            lead=f"lead {call.lead_id} {mask_phone(call.phone, 'last4')}" if call is not None else None,
            connected=getattr(rec, "connected_at", None) or (call.known_connected if call is not None else None)))
    return out
