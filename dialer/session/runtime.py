"""The session's runtime state (campaigns, agents, live calls) and its translation tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from campaigns.definition import CampaignDefinition
from dialer import pacing
from dialer.pacing.governor import AbandonLedger, PacingGovernor
from dialer.session.amd import AmdEstimate
from dialer.session.commands import CampaignRef
from dialer.tracking.agents import AgentState
from dialer.tracking.calls import CallState
from dialer.tracking.calls import Outcome as TrackerOutcome
from dialer.vocabulary import CALLBACK_PAUSE, WRAPUP_PAUSE, AgentStatus, CallStatus, Outcome

log = logging.getLogger("dialer.engine")

#: Longest wrap-up before the agent is made ready again without a disposition.
MAX_WRAPUP = 600.0


def wrapup_limit(camp: CampaignRuntime | None) -> float:
    """Seconds an agent of ``camp`` may wrap up before the rules decide (``[dial] wrapup_limit``;
    :data:`MAX_WRAPUP` without a campaign)."""
    limit = getattr(camp.definition.dial, "wrapup_limit", None) if camp is not None else None
    return float(limit) if limit else MAX_WRAPUP
#: How often the distinct time-zone sets of a campaign's leads are re-read.
ZONE_REFRESH = 300.0


def make_governor(definition: CampaignDefinition, ledger: AbandonLedger | None = None) -> PacingGovernor:
    dial = definition.dial
    return PacingGovernor.for_mode(dial.mode, ratio=dial.ratio, max_lines_per_agent=dial.max_lines_per_agent,
                                   ledger=ledger, warmup=dial.warmup, hour_cap=dial.hour_cap)


@dataclass
class CampaignRuntime:
    id: int
    name: str
    definition: CampaignDefinition
    governor: PacingGovernor
    stats: pacing.PacingStats
    zone_keys: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    zones_read_at: float = float("-inf")
    open_sets: set[str] | None = None
    open_minute: int = -1
    idle_reason: str = ""
    placed: int = 0
    answered: int = 0  # live or machine answers of its calls since the daemon started
    exhausted_at: float | None = None
    amd: AmdEstimate = field(default_factory=lambda: AmdEstimate(0.0))  # set by create

    @classmethod
    def create(cls, id: int, name: str, definition: CampaignDefinition,
               saved_stats: dict | None = None) -> CampaignRuntime:
        """A campaign's runtime; ``saved_stats``: its pacing statistics as last stored."""
        stats = pacing.PacingStats(ring_timeout=definition.dial.ring_timeout)
        if saved_stats:
            try:
                stats = pacing.PacingStats.from_dict(saved_stats)
            except (KeyError, TypeError, ValueError):
                log.warning("pacing statistics unreadable; starting afresh", extra={"campaign": name})
        return cls(id, name, definition, make_governor(definition), stats, amd=AmdEstimate.of(definition))

    @property
    def queue(self) -> str:
        return self.definition.dial.queue or self.name

    @property
    def policy(self) -> pacing.Policy:
        return self.governor.policy

    @property
    def ref(self) -> CampaignRef:
        return CampaignRef(self.id, self.name, self.definition)

    def redefine(self, definition: CampaignDefinition) -> None:
        """A changed definition: a new governor on the same abandon ledger."""
        self.definition = definition
        peers = self.governor.peers
        self.governor = make_governor(definition, self.governor.ledger)
        self.governor.peers = peers
        self.stats.ring_timeout = definition.dial.ring_timeout
        self.zones_read_at = float("-inf")  # its window or lists may have changed: re-read
        self.open_minute = -1  # ... and the open zone sets recomputed with the new window
        self.amd.share = AmdEstimate.of(definition).share


@dataclass
class LiveCall:
    call_id: int
    attempt_id: str
    campaign: CampaignRuntime
    lead_id: int
    phone: str
    attempt: int
    placed: float
    answered_reported: bool = False
    status: CallStatus = CallStatus.PLACING  # as last written to the calls row
    owner: AgentRuntime | None = None  # an owned callback: the agent it is dialled to
    # A call adopted after a restart, with the facts its row already held (never overwritten
    # with "unknown": the tracker of this run did not see them happen).
    adopted: bool = False
    known_answered: float | None = None
    known_connected: float | None = None
    known_agent: str | None = None
    reached_agent: bool = False  # the dialplan noted it connected (agent maybe not of this node)
    noted_abandoned: bool = False  # the dialplan noted it dropped (no agent in time)
    opted_out: bool = False  # the opt-out keypress was recorded


@dataclass(frozen=True)
class AgentRef:
    """Who asks (an agent's request): as stored in the ``agents`` row."""

    id: int
    name: str
    interface: str
    state_interface: str | None = None  # the device whose state the queue follows (QueueAdd)


@dataclass
class AgentRuntime:
    id: int
    name: str
    interface: str
    campaign: CampaignRuntime | None = None
    call: LiveCall | None = None  # the call being talked about or wrapped up
    owed: list[int] = field(default_factory=list)  # calls that reached them, not yet disposed, oldest first
    wrapup_started: float | None = None
    pending_pause: str | None = None  # pause asked for while on a call
    paused: str | None = None  # the pause code we last set on the PBX (None: unpaused)
    reserved: LiveCall | None = None  # the owned callback being placed to this agent
    state_interface: str | None = None  # the device whose state the queue follows (QueueAdd)

    @property
    def call_id(self) -> int | None:
        """The call the agent's screen shows: the oldest one still owing a disposition."""
        return self.owed[0] if self.owed else None

    @call_id.setter
    def call_id(self, value: int | None) -> None:
        self.owed = [] if value is None else [value]


PACING_AGENT = {
    AgentState.READY: pacing.AgentState.READY,
    AgentState.RESERVED: pacing.AgentState.RESERVED,
    AgentState.TALKING: pacing.AgentState.TALKING,
    AgentState.WRAP_UP: pacing.AgentState.WRAPUP,
    AgentState.PAUSED: pacing.AgentState.PAUSED,
    AgentState.UNAVAILABLE: pacing.AgentState.PAUSED,
}
STORED_AGENT = {
    AgentState.LOGGED_OUT: AgentStatus.LOGGED_OUT,
    AgentState.READY: AgentStatus.READY,
    AgentState.RESERVED: AgentStatus.RESERVED,
    AgentState.TALKING: AgentStatus.TALKING,
    AgentState.WRAP_UP: AgentStatus.WRAPUP,
    AgentState.PAUSED: AgentStatus.PAUSED,
    AgentState.UNAVAILABLE: AgentStatus.UNAVAILABLE,
}
CALL_STATUS = {
    CallState.PLACED: CallStatus.PLACING,
    CallState.ACCEPTED: CallStatus.RINGING,
    CallState.RINGING: CallStatus.RINGING,
    CallState.ANSWERED: CallStatus.ANSWERED,
    CallState.QUEUED: CallStatus.ANSWERED,
    CallState.CONNECTED: CallStatus.CONNECTED,
    CallState.DROPPED: CallStatus.ANSWERED,
    CallState.MACHINE: CallStatus.ANSWERED,
    CallState.ENDED: CallStatus.ENDED,
    CallState.UNKNOWN: CallStatus.UNKNOWN,
}
ANY_ANSWER = frozenset({CallState.ANSWERED, CallState.QUEUED, CallState.CONNECTED, CallState.DROPPED,
                        CallState.MACHINE})
DECIDED_ANSWER = ANY_ANSWER - {CallState.ANSWERED}
#: Tracker outcomes as stored (and, through :func:`rule_outcome`, as the rules know them).
STORED_OUTCOME = {o: Outcome[o.name] for o in TrackerOutcome}
#: Stored outcomes the rules have no entry for, judged like their nearest neighbour.  UNKNOWN is
#: not a failure: it has its own path (:mod:`dialer.session.unknown`).
RULE_OUTCOME = {Outcome.ANSWERED: Outcome.NO_ANSWER}


def rule_outcome(outcome: str) -> str:
    """A stored outcome as the rules know it."""
    return RULE_OUTCOME.get(outcome, outcome)  # type: ignore[call-overload]


def stored_outcome(outcome: TrackerOutcome | None) -> Outcome:
    return STORED_OUTCOME[outcome] if outcome is not None else Outcome.UNKNOWN


def stored_state(state: AgentState, code: str | None) -> AgentStatus:
    """The agent state as stored (``dialer agents ls``): reserved while an owned callback is
    being placed to them (paused in the queue with the code ``callback``)."""
    if state is AgentState.PAUSED and code == CALLBACK_PAUSE:
        return AgentStatus.RESERVED
    return STORED_AGENT[state]


def in_wrapup(state: AgentState, pause_code: str) -> bool:
    return state is AgentState.WRAP_UP or (state is AgentState.PAUSED and pause_code == WRAPUP_PAUSE)
