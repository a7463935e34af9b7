"""A session with one campaign and its agents, AMI frames, and command filters, for the tests
that drive :class:`dialer.session.Session` without sockets or a database."""

from __future__ import annotations

import tomllib
from typing import Any

from campaigns.definition import parse_definition
from dialer.ami.events import parse_event
from dialer.ami.ids import originate_ids
from dialer.claim import ClaimedLead
from dialer.session import AgentRef, CampaignRuntime, ClaimPlan, Command, Session
from tests.e2e.conftest import E2E_CAMPAIGN

T0 = 1_795_000_000.0  # clock seconds (2026-11-18)
QUEUE = "e2e"


def campaign(mode: str = "progressive", campaign_id: int = 1) -> CampaignRuntime:
    definition = parse_definition(tomllib.loads(E2E_CAMPAIGN.replace("MODE", mode)), "test")
    return CampaignRuntime.create(campaign_id, "e2e", definition)


def session(mode: str = "progressive", *agents: str, answers: list[tuple[float, bool]] = ()) -> Session:  # type: ignore[assignment]
    """A session dialling one campaign, ``agents`` logged in and ready in its queue."""
    s = Session(node="t")
    s.add_campaign(campaign(mode), answers)
    for i, name in enumerate(agents, start=1):
        login(s, name, agent_id=i)
    return s


def who(name: str, agent_id: int = 1) -> AgentRef:
    return AgentRef(agent_id, name, f"PJSIP/{name}")


def login(s: Session, name: str, agent_id: int = 1, now: float = T0) -> list[Command]:
    cmds = s.login(who(name, agent_id), "e2e")
    return cmds + feed(s, member("QueueMemberAdded", name), now)


def feed(s: Session, frame: dict[str, str], now: float = T0) -> list[Command]:
    return s.event(parse_event(frame), now)


def member(event: str, name: str, status: int = 1, paused: bool = False, reason: str = "") -> dict[str, str]:
    return {"Event": event, "Queue": QUEUE, "Interface": f"PJSIP/{name}", "MemberName": name,
            "Status": str(status), "Paused": "1" if paused else "0", "PausedReason": reason}


def lead(call_id: int, owner: str | None = None, lead_id: int | None = None) -> ClaimedLead:
    return ClaimedLead(call_id, f"dlr-{call_id}", lead_id or call_id, f"+1212555{call_id:04d}", 1,
                       "America/New_York", "Mary", None, owner)


def place(s: Session, *leads: ClaimedLead, now: float = T0, n: int | None = None) -> list[Command]:
    """The engine claimed ``leads`` for the campaign."""
    plan = ClaimPlan(1, n if n is not None else len(leads), 0, False)
    return s.leads_claimed(plan, list(leads), now)


def channel(attempt: str) -> dict[str, str]:
    chan = originate_ids(attempt).channel_id
    return {"Channel": "PJSIP/carrier-00000001", "Uniqueid": chan, "Linkedid": chan}


def answered(s: Session, attempt: str, now: float) -> list[Command]:
    return (feed(s, {"Event": "Newchannel", **channel(attempt)}, now)
            + feed(s, {"Event": "Newstate", "ChannelState": "6", **channel(attempt)}, now))


def queued(s: Session, attempt: str, now: float) -> list[Command]:
    return answered(s, attempt, now) + feed(
        s, {"Event": "QueueCallerJoin", "Queue": QUEUE, "Position": "1", "Count": "1", **channel(attempt)}, now)


def connect(s: Session, attempt: str, agent: str, now: float) -> list[Command]:
    return queued(s, attempt, now) + feed(s, {
        "Event": "AgentConnect", "Queue": QUEUE, "MemberName": agent, "Interface": f"PJSIP/{agent}",
        "HoldTime": "1", "RingTime": "0", **channel(attempt), "DestChannel": f"PJSIP/{agent}-00000002",
        "DestUniqueid": f"{agent}-1"}, now)


def hangup(s: Session, attempt: str, now: float) -> list[Command]:
    return feed(s, {"Event": "Hangup", "Cause": "16", "Cause-txt": "Normal Clearing", **channel(attempt)}, now)


def refused(s: Session, attempt: str, reason: int, now: float) -> list[Command]:
    """The Originate failed (OriginateResponse with ``reason``: 5 busy, 3 no answer)."""
    return feed(s, {"Event": "OriginateResponse", "ActionID": originate_ids(attempt).action_id,
                    "Response": "Failure", "Reason": str(reason), "Uniqueid": "<unknown>"}, now)


def of(cmds: list[Command], type_: type, **match: Any) -> list[Any]:
    """The commands of ``type_`` whose fields equal ``match``."""
    return [c for c in cmds if isinstance(c, type_) and all(getattr(c, k) == v for k, v in match.items())]
