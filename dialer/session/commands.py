"""What the session asks its shell to do: frozen dataclasses, executed in the order given.

PBX actions (:class:`Originate`, :class:`QueueAdd`, :class:`QueuePause`, :class:`QueueRemove`)
go to the AMI link; database writes (:class:`WriteCallStatus`, :class:`EndCall`, :class:`CountAnswer`,
:class:`LogAgentState`, :class:`SetAgentState`, :class:`SetAgentCampaign`, :class:`GiveBack`,
:class:`RecordOptOut`)
to the storage layer, in order; :class:`Emit` to the listeners (dashboards, simulated agents);
:class:`Diagnose` asks why a campaign has nothing to call; :class:`ExpireDisposition` lets the
rules decide for a call whose disposition the wrap-up limit gave up on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from campaigns.definition import CampaignDefinition
from campaigns.rules import CallResult
from dialer.claim import ClaimedLead
from dialer.vocabulary import AgentStatus, CallStatus


@dataclass(frozen=True)
class CampaignRef:
    """A campaign as the rules need it (id, name, definition) at the time of the decision."""

    id: int
    name: str
    definition: CampaignDefinition


@dataclass(frozen=True)
class Originate:
    """Place a call: an async Originate; its result goes back to the session
    (``originate_accepted`` / ``originate_refused`` / ``originate_unknown``)."""

    call_id: int
    attempt_id: str
    channel: str
    context: str
    exten: str
    timeout: float
    caller_id: str | None
    variables: Mapping[str, str]
    priority: int = 1


@dataclass(frozen=True)
class QueueAdd:
    """Add an agent to the campaign's queue.

    ``on_error``: ``raise`` (a login: the caller is told), ``ignore`` (already a member),
    ``resync`` (after a reconnect: still a member, so set the pause state we last asked for).
    """

    queue: str
    interface: str
    member_name: str
    paused: bool = False
    reason: str = ""
    on_error: Literal["raise", "ignore", "resync"] = "raise"
    state_interface: str | None = None  # the device whose state stands for the member's


@dataclass(frozen=True)
class QueueRemove:
    queue: str
    interface: str


@dataclass(frozen=True)
class QueuePause:
    """Pause (with ``reason``, the pause code) or unpause a member; a failure is only logged."""

    agent: str
    queue: str
    interface: str
    paused: bool
    reason: str = ""


@dataclass(frozen=True)
class WriteCallStatus:
    """A live call's stored status changed (one write per stored status, not per event)."""

    call_id: int
    status: CallStatus
    answered_at: datetime | None
    connected_at: datetime | None
    agent: str | None


@dataclass(frozen=True)
class RulesDue:
    """The rules to apply to a lead after its call, as of ``at`` (when the call ended)."""

    campaign: CampaignRef
    lead_id: int
    result: CallResult
    at: datetime
    last_outcome: str


@dataclass(frozen=True)
class EndCall:
    """A call ended: its row's final values; ``rules`` unless an agent's disposition decides."""

    call_id: int
    values: Mapping[str, Any]
    rules: RulesDue | None = None


@dataclass(frozen=True)
class CountAnswer:
    """A live answer into the campaign-wide abandon ledger: one more in this node's minute."""

    campaign_id: int
    node: str
    minute: datetime
    abandoned: bool


@dataclass(frozen=True)
class LogAgentState:
    """A span of time an agent spent in one state (the state log)."""

    agent_id: int
    campaign_id: int
    state: AgentStatus
    started: datetime
    ended: datetime
    pause_code: str | None = None  # the span's pause code (pause time by code in reports)


@dataclass(frozen=True)
class SetAgentState:
    agent_id: int
    state: AgentStatus
    pause_code: str | None
    since: datetime


@dataclass(frozen=True)
class SetAgentCampaign:
    """The campaign an agent is logged in to, through ``node`` (None: the node is left as stored,
    unless ``exact``: a refused login puts the row back as it was, a node of None included)."""

    agent_id: int
    campaign_id: int | None
    node: str | None = None
    exact: bool = False


@dataclass(frozen=True)
class GiveBack:
    """Undo the claim of leads whose call is not placed (an owned callback whose owner cannot
    take it now): no Originate was sent."""

    leads: tuple[ClaimedLead, ...]


@dataclass(frozen=True)
class RecordOptOut:
    """The called party pressed the opt-out key of the safe-harbour message: the number goes on
    the global do-not-call list and the consent ledger records the revocation (channel
    ``keypress``), effective at once in every campaign."""

    call_id: int
    phone: str
    campaign: str
    at: datetime


@dataclass(frozen=True)
class ExpireDisposition:
    """A call that reached ``agent`` waited longer than the wrap-up limit for its disposition:
    the campaign's rules decide the lead's next step as for a connected call without one (unless
    a disposition was recorded meanwhile).  Executed by the engine itself, not the writer."""

    call_id: int
    agent: str
    at: datetime


@dataclass(frozen=True)
class Diagnose:
    """A campaign with ready agents has nothing to call: find the top reason and report it
    with :meth:`~dialer.session.Session.idle_diagnosed`."""

    campaign_id: int
    campaign: str
    reason: str
    agents_ready: int


@dataclass(frozen=True)
class Emit:
    """Tell the listeners: ``call``, ``agent`` or ``disposition_due`` with its data."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


Command = (Originate | QueueAdd | QueueRemove | QueuePause | WriteCallStatus | EndCall | CountAnswer | LogAgentState
           | SetAgentState | SetAgentCampaign | GiveBack | RecordOptOut | ExpireDisposition | Diagnose | Emit)
#: Commands that are PBX actions other than an Originate.
PbxAction = QueueAdd | QueuePause | QueueRemove
#: Commands that are database writes (executed in order by the engine's writer).
WRITES = (WriteCallStatus, EndCall, CountAnswer, LogAgentState, SetAgentState, SetAgentCampaign, GiveBack,
          RecordOptOut)
