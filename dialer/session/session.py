"""The dialling session: every decision of the daemon, as a pure synchronous state machine.

Like h11's ``Connection``: inputs in (AMI events, ticks, leads claimed, Originate results, a
disposition recorded, the link lost and reconciled, agents' requests), :mod:`commands
<dialer.session.commands>` out, for the engine to execute in order.  The session reads no
clock (``now`` is given: float seconds of the engine's clock, ``clock.now().timestamp()``),
does no I/O and awaits nothing.

It holds the runtime state of campaigns (definition, pacing governor and statistics, zone
cache, idle reason), agents (campaign, call, wrap-up, pending pause, the pause code last set,
an owned callback's reservation) and live calls, with the call and agent trackers.

Owned callbacks: a due callback still exclusive to the agent who booked it is claimed only
while that agent is ready (:meth:`Session.ready_owners`); the agent is then reserved for it —
paused in the queue with the code ``callback``, ``RESERVED`` for the pacing — and the
Originate carries ``DIALER_AGENT`` (the agent's interface), which the dialplan dials instead of
the queue.  The reservation ends when the call reaches the agent (then wrap-up as usual) or
fails; a pause asked for meanwhile is applied then.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from campaigns.rules import CallResult
from dialer import pacing
from dialer.ami.events import AmiEvent, CoreShowChannel, QueueMemberEvent, Shutdown, live_ids
from dialer.ami.ids import originate_ids
from dialer.claim import ClaimedLead, open_zone_sets
from dialer.errors import Conflict
from dialer.pacing.governor import abandon_budget
from dialer.session.commands import (
    Command,
    CountAnswer,
    Diagnose,
    Emit,
    EndCall,
    ExpireDisposition,
    GiveBack,
    LogAgentState,
    Originate,
    QueueAdd,
    QueuePause,
    QueueRemove,
    RecordOptOut,
    RulesDue,
    SetAgentCampaign,
    SetAgentState,
    WriteCallStatus,
)
from dialer.session.runtime import (
    ANY_ANSWER,
    CALL_STATUS,
    DECIDED_ANSWER,
    MAX_WRAPUP,
    PACING_AGENT,
    STORED_AGENT,
    ZONE_REFRESH,
    AgentRef,
    AgentRuntime,
    CampaignRuntime,
    LiveCall,
    in_wrapup,
    rule_outcome,
    stored_outcome,
    stored_state,
    wrapup_limit,
)
from dialer.tracking.agents import AgentState, AgentTracker, AgentUpdate
from dialer.tracking.calls import (
    CallRecord,
    CallState,
    CallTracker,
    CallUpdate,
    interface_of,
    is_shutting_down,
)
from dialer.vocabulary import CALLBACK_PAUSE, WRAPUP_PAUSE, AgentStatus, CallStatus, Outcome

log = logging.getLogger("dialer.engine")

IDLE_NO_LEADS = "idle: no callable leads"


def dt(t: float | None) -> datetime | None:
    """Clock seconds as an aware UTC datetime (the database's times)."""
    return None if t is None else datetime.fromtimestamp(t, UTC)


def minute_of(t: float) -> datetime:
    """The ledger's minute bucket (aware UTC) of clock seconds ``t``."""
    return datetime.fromtimestamp(t - t % 60, UTC)


def ts(at: datetime | None) -> float | None:
    """A database time as clock seconds."""
    return None if at is None else at.timestamp()


#: Outcomes this run's tracker can tell after a restart without having seen the call begin.
#: The dialplan's AstDB note of a call it dropped (config/asterisk/extensions-dialer.conf).
ABANDONED_NOTE = "abandoned"

_SEEN_ANSWER = frozenset({Outcome.CONNECTED, Outcome.ABANDONED, Outcome.MACHINE})


def _first(*times: float | None) -> float | None:
    return next((t for t in times if t is not None), None)


def adopted_outcome(live: LiveCall, rec: CallRecord) -> Outcome:
    """The outcome of a call adopted after a restart, from what this run saw (``rec``) and what
    its row already held: a call that reached an agent (stored, or an agent event seen since)
    is CONNECTED (its disposition is owed); an answered call this run cannot place is UNKNOWN
    (never a failure)."""
    outcome = stored_outcome(rec.outcome)
    if live.known_connected is not None or live.known_agent or live.reached_agent or rec.agent:
        return Outcome.CONNECTED
    if live.noted_abandoned:
        return Outcome.ABANDONED
    if live.known_answered is not None and outcome not in _SEEN_ANSWER:
        return Outcome.UNKNOWN
    return outcome


@dataclass(frozen=True)
class ClaimPlan:
    """How many leads to claim for a campaign now, and what a short claim means."""

    campaign_id: int
    n: int
    ready: int  # agents ready at the decision
    idle_if_short: bool  # agents ready and no call in flight: a short claim leaves them idle


@dataclass(frozen=True)
class PriorLogin:
    """An agent as it was before a login: in memory (``known``: at all) and its row."""

    known: bool
    campaign: CampaignRuntime | None
    state_interface: str | None
    paused: str | None
    campaign_id: int | None  # the row's
    node: str | None  # the row's


class Session:
    """Runtime state and decisions of one daemon's dialling (see the module's docstring)."""

    def __init__(self, *, node: str = "node1", context: str = "dialer-connect") -> None:
        self.node = node
        self.context = context
        self.calls = CallTracker()
        self.agent_tracker = AgentTracker(wrap_up=MAX_WRAPUP)
        self.campaigns: dict[int, CampaignRuntime] = {}
        self.agents: dict[str, AgentRuntime] = {}  # by interface
        self.live: dict[str, LiveCall] = {}  # by attempt id
        self.link_up = True
        # The PBX's state is known (False after a re-login or a start with calls adopted, until
        # a reconciliation): no calls are placed meanwhile, though the link is up.
        self.synced = True
        self.reconciling: dict[str, Any] | None = None  # the last failed reconciliation, for status
        self.pbx_stopping = False  # the PBX said it is shutting down: no Originates until it is back
        self.owed_since: dict[int, tuple[str, float]] = {}  # call id -> (agent, since): dispositions owed
        self.counters = {"placed": 0, "answered": 0, "connected": 0, "abandoned": 0, "ended": 0}
        self._since: dict[str, float] = {}  # agent interface -> when its current state began
        self._span_code: dict[str, str | None] = {}  # agent interface -> its current pause code
        self._pacing_now = 0.0

    # ------------------------------------------------------------------ campaigns and restarts

    def add_campaign(self, camp: CampaignRuntime, answers: Iterable[tuple[float, bool]] = ()) -> None:
        """Dial ``camp``; ``answers``: its live answers read back from storage, oldest first."""
        camp.governor.ledger.extend(answers)
        self.campaigns[camp.id] = camp
        for agent in self.agents.values():  # resumed after a pause: its agents stayed logged in
            if agent.campaign is not None and agent.campaign.id == camp.id:
                agent.campaign = camp

    def peers_read(self, counts: Mapping[int, pacing.LedgerCounts], now: float) -> list[str]:
        """The other nodes' rolling counts per campaign id, read at ``now`` (a campaign not in
        ``counts`` has none); the names of the campaigns whose ledger was failing until now."""
        back = [c.name for c in self.campaigns.values() if c.governor.peers.failing_since is not None]
        for camp in self.campaigns.values():
            camp.governor.peers.read(counts.get(camp.id, pacing.LedgerCounts()), now)
        return back

    def peers_failed(self, now: float) -> list[str]:
        """The peers' counts could not be read at ``now``: the campaigns that just fell back to
        progressive (see :mod:`dialer.pacing.shared`)."""
        fresh = [c.name for c in self.campaigns.values() if c.governor.peers.failing_since is None]
        for camp in self.campaigns.values():
            camp.governor.peers.failed(now)
        return fresh

    def drop_campaign(self, campaign_id: int) -> None:
        """No more dialling for the campaign (paused, stopped); its calls in flight finish."""
        self.campaigns.pop(campaign_id, None)

    def adopt_call(self, camp: CampaignRuntime, call_id: int, attempt_id: str, lead_id: int, phone: str,
                   attempt: int, placed: float, *, answered: float | None = None, connected: float | None = None,
                   agent: str | None = None) -> None:
        """A call a previous run left in flight: unknown until reconciled; ``answered``,
        ``connected`` and ``agent``: the facts its row already holds (kept, never unlearnt)."""
        self.calls.place(attempt_id, placed, lead_id=str(lead_id), campaign=camp.name, recovered=True)
        self.live[attempt_id] = LiveCall(call_id, attempt_id, camp, lead_id, phone, attempt, placed, adopted=True,
                                         status=CallStatus.UNKNOWN, known_answered=answered,
                                         known_connected=connected, known_agent=agent)

    def restore_agent(self, row: Any, owed: Iterable[int], member: QueueMemberEvent | None,
                      now: float) -> list[Command]:
        """An agent logged in when the previous run stopped (``row`` as stored: id, name,
        interface, campaign_id, state, pause_code, node), ``owed`` the calls still waiting for
        its disposition, ``member`` the PBX's ``QueueMember`` for it in the campaign's queue
        (None: not a member there).

        A member is adopted as the PBX says (paused or not, with its pause code); an agent of
        this node the PBX lost is added back; an agent of no node is adopted only when the PBX
        lists it (it is then this node's); an agent owing a disposition is kept paused."""
        camp = self.campaigns.get(row.campaign_id) if row.campaign_id else None
        if camp is None or (member is None and row.node != self.node):
            return []
        agent = AgentRuntime(row.id, row.name, row.interface, camp, owed=list(owed),
                             state_interface=getattr(row, "state_interface", None))
        self.agents[row.interface] = agent
        self.agent_tracker.set_wrap_up(row.interface, wrapup_limit(camp))
        # Its state is the campaign queue's (a member of other queues too is not "ready" here
        # while paused in this one).
        home = self._agent_updates(self.agent_tracker.set_queue(row.interface, camp.queue, now))
        talking = {c.call_id for c in self.live.values()}  # owed from when they end
        for call_id in agent.owed:
            if call_id not in talking:
                self.owed_since.setdefault(call_id, (agent.name, now))
        cmds: list[Command] = [SetAgentCampaign(row.id, camp.id, self.node)] if row.node != self.node else []
        cmds += home
        if member is None:
            code = WRAPUP_PAUSE if agent.owed else row.pause_code if row.state == AgentStatus.PAUSED else None
            agent.paused = None if code is None or code == CALLBACK_PAUSE else code
            return [*cmds, QueueAdd(camp.queue, row.interface, row.name, paused=agent.paused is not None,
                                    state_interface=agent.state_interface,
                                    reason=agent.paused or "", on_error="resync")]
        cmds += self.event(member, now)
        agent.paused = (member.paused_reason or "") if member.paused else None
        if agent.owed and agent.paused in (None, CALLBACK_PAUSE):
            cmds += self._pause(agent, True, WRAPUP_PAUSE)  # no new call before the disposition
        elif agent.paused == CALLBACK_PAUSE:  # reserved by the previous run: not any more
            cmds += self._pause(agent, False, "")
        return cmds

    def owe(self, owed: Mapping[str, Iterable[int]], now: float) -> None:
        """Calls that reached an agent not logged in here (by agent name) wait for their
        disposition: the wrap-up limit lets the rules decide for them if none comes."""
        for agent, call_ids in owed.items():
            for call_id in call_ids:
                self.owed_since.setdefault(call_id, (agent, now))

    # ------------------------------------------------------------------ the PBX and time

    def event(self, event: AmiEvent | None, now: float) -> list[Command]:
        """One typed AMI event."""
        if event is None:
            return []
        if isinstance(event, Shutdown):
            self._stopping("Shutdown event", shutdown=event.shutdown, restart=event.restart)
        return self._call_updates(self.calls.handle(event, now)) + self._agent_updates(
            self.agent_tracker.handle(event, now))

    def tick(self, now: float) -> list[Command]:
        """Timers: ring and settle timeouts, the wrap-up limit."""
        return (self._call_updates(self.calls.tick(now)) + self._agent_updates(self.agent_tracker.tick(now))
                + self._expire_owed(now))

    def link_lost(self, now: float) -> list[Command]:
        """The AMI link dropped: calls in flight are unknown until reconciled; no pacing meanwhile."""
        self.link_up = False
        self.synced = False
        return self._call_updates(self.calls.link_lost(now))

    def link_restored(self) -> None:
        """Logged in again: the link is up (a PBX that was shutting down is back: it takes
        logins again); the PBX's state is known once reconciled."""
        self.link_up = True
        self.synced = False
        if self.pbx_stopping:
            log.info("PBX back after its shutdown: dialling resumes once reconciled")
        self.pbx_stopping = False

    def pbx_shutting_down(self, now: float, reason: str = "Asterisk is shutting down") -> list[Command]:
        """The PBX answered an action "Asterisk is shutting down": no Originates until the link
        is back; calls in flight that end unanswered are the PBX's doing (``PBX_DOWN``)."""
        self._stopping(reason)
        return self._call_updates(self.calls.pbx_shutting_down(now))

    def pbx_resumed(self) -> None:
        """The PBX answers actions again without a new login (its shutdown was aborted)."""
        if self.pbx_stopping:
            log.info("PBX no longer shutting down: dialling resumes")
        self.pbx_stopping = False

    def _stopping(self, reason: str, **extra: Any) -> None:
        if not self.pbx_stopping:
            log.warning("PBX shutting down: no new calls until it is back", extra={"reason": reason, **extra})
        self.pbx_stopping = True

    def reconcile_pending(self) -> None:
        """Calls were adopted at start: no new calls until the PBX's channels are known."""
        self.synced = False

    def reconcile_failed(self, reason: str, attempt: int, retry_in: float) -> None:
        """A reconciliation failed while the link stayed up (the client retries by itself)."""
        self.reconciling = {"reason": reason, "attempt": attempt, "retry_in": round(retry_in, 3)}
        log.warning("link up, reconciling", extra=self.reconciling)

    def reconciled(self, channels: Iterable[CoreShowChannel], now: float) -> list[Command]:
        """Logged in again, ``CoreShowChannels`` taken: settle the calls that were in flight, and
        add the agents back to their queues (a restarted PBX forgot its dynamic members)."""
        channels = list(channels)
        self._bridged_to_agents(channels, now)
        cmds = self._call_updates(self.calls.reconcile(channels, now))
        self.link_up = True
        self.synced = True
        self.reconciling = None
        for agent in list(self.agents.values()):
            if agent.campaign is None:
                continue
            snap = self.agent_tracker.get(agent.interface)
            if snap is not None and snap.state is AgentState.LOGGED_OUT:
                continue
            code = agent.paused
            cmds.append(QueueAdd(agent.campaign.queue, agent.interface, agent.name, paused=code is not None,
                                 state_interface=agent.state_interface,
                                 reason=code or "", on_error="resync"))
        return cmds

    def vanished(self, channels: Iterable[CoreShowChannel]) -> list[int]:
        """Calls whose fate is unknown (lost with the link, or adopted) and that ``channels``
        (a ``CoreShowChannels`` result) no longer show: they ended while no one watched."""
        alive = live_ids(channels)
        out = []
        for live in self.live.values():
            rec = self.calls.get(live.attempt_id)
            if rec is not None and rec.lost and not alive & {rec.channel_id, rec.other_channel_id}:
                out.append(live.call_id)
        return out

    def noted_while_blind(self, noted: Mapping[int, str], now: float) -> list[Command]:
        """What the dialplan noted in AstDB of calls that ended while no one watched (read for
        :meth:`vanished` calls before :meth:`reconciled`): ``abandoned`` — the call was dropped
        (ABANDONED, counted in the abandon rate); else the agent interface it reached — that
        agent owes the disposition and is kept paused until it comes.  Learnt, never unlearnt."""
        by_id = {c.call_id: c for c in self.live.values()}
        cmds: list[Command] = []
        for call_id, note in noted.items():
            live = by_id.get(call_id)
            if live is None or live.reached_agent or live.noted_abandoned:
                continue
            if note == ABANDONED_NOTE:
                live.noted_abandoned = True
                continue
            live.reached_agent = True
            agent = self.agents.get(note)
            if agent is None:
                continue  # another node's agent, or gone: the wrap-up limit decides (owed_since)
            live.known_agent = live.known_agent or agent.name
            if call_id not in agent.owed:
                agent.owed.append(call_id)
            if agent.paused in (None, CALLBACK_PAUSE):
                cmds += self._pause(agent, True, WRAPUP_PAUSE)  # no new call before the disposition
        return cmds

    def _bridged_to_agents(self, channels: list[CoreShowChannel], now: float) -> None:
        """Adopted calls the PBX shows bridged to one of our agents (an agent's channel linked
        to the call's) reached that agent, maybe while no daemon ran: learn it, never unlearn."""
        adopted = {originate_ids(c.attempt_id).channel_id: c for c in self.live.values() if c.adopted}
        for chan in channels:
            live = adopted.get(chan.linkedid or "")
            agent = self.agents.get(interface_of(chan.channel))
            if live is None or agent is None or live.known_agent:
                continue
            live.known_agent, live.known_connected = agent.name, live.known_connected or now
            agent.call = live
            if live.call_id not in agent.owed:
                agent.owed.append(live.call_id)

    def originate_accepted(self, attempt_id: str, now: float) -> list[Command]:
        return self._call_updates(self.calls.originate_accepted(attempt_id, now))

    def originate_refused(self, attempt_id: str, now: float, message: str) -> list[Command]:
        cmds = self.pbx_shutting_down(now, message) if is_shutting_down(message) else []
        return cmds + self._call_updates(self.calls.originate_failed(attempt_id, now, message))

    def originate_unknown(self, attempt_id: str, now: float) -> list[Command]:
        """The Originate timed out or the link went down under it: reconciling will tell."""
        return self._call_updates(self.calls.mark_unknown(attempt_id, now))

    # ------------------------------------------------------------------ pacing

    def snapshot(self, camp: CampaignRuntime, now: float) -> pacing.Snapshot:
        self._pacing_now = now
        agents = []
        for a in self.agent_tracker.agents(camp.queue):
            state = pacing.AgentState.WRAPUP if in_wrapup(a.state, a.pause_code) else PACING_AGENT.get(a.state)
            if state is not None:
                agents.append(pacing.AgentView(state, a.since))
        views, lines = self._call_views(camp)
        dial = camp.definition.dial
        counts = camp.governor.counts(now)  # the campaign's: this node's and its peers'
        return pacing.Snapshot(
            now=now, agents=agents, calls=views, ring_timeout=float(dial.ring_timeout), max_lines=dial.max_lines,
            abandon_target=dial.abandon_target, day=counts.day, hour=counts.hour, month=counts.month,
            stats=camp.stats, lines_in_use=lines,
        )

    def _call_views(self, camp: CampaignRuntime) -> tuple[list[pacing.CallView], int]:
        """The campaign's calls not yet with an agent, and the lines its calls hold."""
        views = []
        lines = 0
        for call in self.live.values():
            if call.campaign is not camp:
                continue
            lines += 1
            if call.owner is not None:
                continue  # an owned callback is represented by its agent (RESERVED, then TALKING)
            if call.adopted and (call.known_agent or self.now_after_ring(call)):
                continue  # adopted after a restart: with an agent (or past ringing), not a line to plan for
            rec = self.calls.get(call.attempt_id)
            if rec is None:
                continue
            state = rec.state
            if state in (CallState.PLACED, CallState.ACCEPTED, CallState.RINGING, CallState.UNKNOWN):
                views.append(pacing.CallView(pacing.CallState.RINGING, call.placed))
            elif state is CallState.ANSWERED:
                kind = pacing.CallState.ANALYSING if camp.definition.dial.amd else pacing.CallState.WAITING
                views.append(pacing.CallView(kind, call.placed, rec.answered_at))
            elif state is CallState.QUEUED:
                views.append(pacing.CallView(pacing.CallState.WAITING, call.placed, rec.answered_at))
        return views, lines

    def now_after_ring(self, call: LiveCall) -> bool:
        """The call was placed longer ago than its ring timeout (as of the last pacing pass)."""
        return self._pacing_now - call.placed > call.campaign.definition.dial.ring_timeout

    def plan_claim(self, campaign_id: int, now: float) -> ClaimPlan | None:
        """How many leads the campaign's governor wants dialled now (None: none)."""
        camp = self.campaigns.get(campaign_id)
        if camp is None or not self.link_up or not self.synced or self.pbx_stopping:
            return None
        snap = self.snapshot(camp, now)
        want = camp.governor.decide(snap)
        if want <= 0:
            if snap.ready and not snap.calls:
                camp.idle_reason = camp.idle_reason or "no calls decided"
            return None
        return ClaimPlan(campaign_id, want, snap.ready, snap.ready > 0 and not snap.calls)

    def zones_stale(self, campaign_id: int, now: float) -> bool:
        """The campaign's zone keys are to be read again (:meth:`zones_read`)."""
        return now - self.campaigns[campaign_id].zones_read_at >= ZONE_REFRESH

    def leads_changed(self) -> None:
        """Leads were imported (or lists changed): every campaign re-reads its zone sets at
        its next claim instead of up to ``ZONE_REFRESH`` later."""
        for camp in self.campaigns.values():
            camp.zones_read_at = float("-inf")

    def zones_read(self, campaign_id: int, keys: list[tuple[str, str | None, str | None]], now: float) -> None:
        camp = self.campaigns[campaign_id]
        camp.zone_keys, camp.zones_read_at, camp.open_minute = keys, now, -1

    def open_sets(self, campaign_id: int, at: datetime) -> set[str] | None:
        """The zone sets open at ``at`` (recomputed once a minute)."""
        camp = self.campaigns[campaign_id]
        minute = int(at.timestamp() // 60)
        if minute != camp.open_minute:
            camp.open_sets = open_zone_sets(camp.definition.window, camp.zone_keys, at)
            camp.open_minute = minute
        return camp.open_sets

    def ready_owners(self, camp: CampaignRuntime) -> set[str]:
        """Agents of ``camp`` an owned callback can go to now: ready (as the PBX last said), not
        paused or reserved by us, no pause pending."""
        out = set()
        for agent in self.agents.values():
            if (agent.campaign is not camp or agent.reserved is not None or agent.paused is not None
                    or agent.pending_pause is not None):
                continue
            snap = self.agent_tracker.get(agent.interface, camp.queue)
            if snap is not None and snap.state is AgentState.READY and camp.queue in snap.queues:
                out.add(agent.name)
        return out

    def split_owned(
        self, campaign_id: int, claimed: list[ClaimedLead]
    ) -> tuple[list[tuple[ClaimedLead, AgentRuntime | None]], list[ClaimedLead]]:
        """Each claimed lead with the agent it is reserved for, and the leads to give back: one
        owned callback per owner, and only while the owner is ready."""
        ready = self.ready_owners(self.campaigns[campaign_id])
        kept: list[tuple[ClaimedLead, AgentRuntime | None]] = []
        back: list[ClaimedLead] = []
        for lead in claimed:
            if lead.callback_owner is None:
                kept.append((lead, None))
            elif lead.callback_owner in ready:
                ready.discard(lead.callback_owner)
                kept.append((lead, self.agent_by_name(lead.callback_owner)))
            else:
                back.append(lead)
        return kept, back

    def leads_claimed(self, plan: ClaimPlan, claimed: list[ClaimedLead], now: float) -> list[Command]:
        """The leads claimed for ``plan``: owners checked again (the claim's commit waited), the
        rest given back, the calls placed; a short claim with agents idle is diagnosed."""
        camp = self.campaigns.get(plan.campaign_id)
        if camp is None:
            return [GiveBack(tuple(claimed))] if claimed else []
        if not claimed and now - camp.zones_read_at >= 30:
            # new leads may have arrived (a campaign that ran dry has no zone keys at all)
            camp.zones_read_at = float("-inf")
        kept, back = self.split_owned(camp.id, claimed)
        cmds: list[Command] = [GiveBack(tuple(back))] if back else []
        if len(kept) < plan.n and plan.idle_if_short:
            if not camp.idle_reason.startswith(IDLE_NO_LEADS):
                camp.idle_reason = IDLE_NO_LEADS
                cmds.append(Diagnose(camp.id, camp.name, IDLE_NO_LEADS, plan.ready))
            camp.exhausted_at = camp.exhausted_at or now
        elif kept:
            camp.idle_reason = ""
            camp.exhausted_at = None
        for lead, owner in kept:
            cmds += self._start_call(camp, lead, now, owner)
        return cmds

    def idle_diagnosed(self, campaign_id: int, reason: str) -> None:
        camp = self.campaigns.get(campaign_id)
        if camp is not None:
            camp.idle_reason = reason

    def _start_call(self, camp: CampaignRuntime, lead: ClaimedLead, now: float,
                    owner: AgentRuntime | None) -> list[Command]:
        live = LiveCall(lead.call_id, lead.channel_id, camp, lead.lead_id, lead.phone, lead.attempt, now,
                        owner=owner)
        self.live[lead.channel_id] = live
        cmds = self._call_updates(self.calls.place(
            lead.channel_id, now, lead_id=str(lead.lead_id), campaign=camp.name,
            agent=owner.name if owner else None, agent_interface=owner.interface if owner else None,
            ring_timeout=float(camp.definition.dial.ring_timeout)))
        if owner is not None:
            # Out of the queue's rotation until the call reaches them or fails.
            owner.reserved = live
            channel = originate_ids(lead.channel_id).channel_id
            cmds += self._agent_updates(self.agent_tracker.reserve(owner.interface, channel, now))
            cmds += self._pause(owner, True, CALLBACK_PAUSE)
            log.info("owned callback placed", extra={"call": lead.call_id, "agent": owner.name})
        camp.placed += 1
        self.counters["placed"] += 1
        cmds.append(self._originate(live))
        return cmds

    def _originate(self, call: LiveCall) -> Originate:
        dial = call.campaign.definition.dial
        variables = {
            "LEAD_ID": str(call.lead_id),
            "CAMPAIGN": call.campaign.name,
            "ATTEMPT": str(call.attempt),
            "DIALER_CALL_ID": str(call.call_id),
            "DIALER_QUEUE": call.campaign.queue,
            "DIALER_AMD": "1" if dial.amd else "0",
        }
        if call.owner is not None:
            variables["DIALER_AGENT"] = call.owner.interface
        recording = call.campaign.definition.recording
        if recording.enabled:  # the dialplan records the call once an agent takes it (MixMonitor)
            variables["DIALER_RECORDING"] = recording.base(call.call_id)
        return Originate(
            call.call_id, call.attempt_id,
            channel=dial.dial_string(call.phone),
            context=self.context, exten=call.campaign.queue, timeout=float(dial.ring_timeout),
            caller_id=dial.caller_id, variables=variables,
        )

    # ------------------------------------------------------------------ calls

    def _call_updates(self, updates: list[CallUpdate]) -> list[Command]:
        cmds: list[Command] = []
        for u in updates:
            live = self.live.get(u.attempt_id)
            if live is not None:
                cmds += self._call_update(live, u)
        return cmds

    def _call_update(self, live: LiveCall, u: CallUpdate) -> list[Command]:
        rec, state = u.record, u.state
        if rec.agent_interface and not rec.agent and rec.agent_interface in self.agents:
            # Connected to an agent by a dial the tracker was not told about (a call adopted
            # after a restart): the agent's name from its interface.
            rec = dataclasses.replace(rec, agent=self.agents[rec.agent_interface].name)
        self._observe_answer(live, rec, u)
        cmds: list[Command] = []
        if rec.opted_out and not live.opted_out:
            live.opted_out = True
            log.info("opt-out keypress", extra={"call": live.call_id, "campaign": live.campaign.name})
            cmds.append(RecordOptOut(live.call_id, live.phone, live.campaign.name, dt(u.at)))  # type: ignore[arg-type]
        if state is CallState.CONNECTED:
            cmds += self._connected(live, rec, u.at)
        if state is CallState.ENDED:
            cmds += self._finish(live, rec, u.at)
        elif CALL_STATUS[state] != live.status:  # one write per stored status, not per event
            live.status = CALL_STATUS[state]
            cmds.append(WriteCallStatus(live.call_id, live.status, dt(rec.answered_at), dt(rec.connected_at),
                                        rec.agent or None))
        cmds.append(Emit("call", {"call_id": live.call_id, "state": state.value, "campaign": live.campaign.name,
                                  "agent": rec.agent or None}))
        return cmds

    def _observe_answer(self, live: LiveCall, rec: CallRecord, u: CallUpdate) -> None:
        """The first answer of a call, for the pacing statistics (with AMD on: once AMD decided)."""
        answered_states = DECIDED_ANSWER if live.campaign.definition.dial.amd else ANY_ANSWER
        if u.state not in answered_states or live.answered_reported:
            return
        live.answered_reported = True
        self.counters["answered"] += 1
        live.campaign.answered += 1
        answered = rec.answered_at if rec.answered_at is not None else u.at
        live.campaign.stats.observe_attempt(
            placed_at=live.placed, ring_seconds=max(0.0, answered - live.placed), answered=True,
            live=u.state is not CallState.MACHINE, now=u.at,
        )

    def _connected(self, live: LiveCall, rec: CallRecord, now: float) -> list[Command]:
        self.counters["connected"] += 1
        agent = self.agents.get(rec.agent_interface)
        if agent is not None:
            if agent.owed and live.call_id not in agent.owed:
                # The PBX gave a call before our wrap-up pause took effect: both calls are owed.
                log.warning("agent took a call while owing a disposition",
                            extra={"agent": agent.name, "owed": list(agent.owed), "call": live.call_id})
            agent.call = live
            if live.call_id not in agent.owed:
                agent.owed.append(live.call_id)
            self.owed_since.pop(live.call_id, None)  # the wrap-up limit counts from the call's end
        owner = live.owner
        if owner is None or owner.reserved is not live:
            return []
        owner.reserved = None  # reached the agent: wrap-up as after any call
        if rec.agent_interface == owner.interface:
            return []
        # The owner was busy: the queue gave the call to someone else; the owner is released.
        return self._agent_updates(self.agent_tracker.release(owner.interface, now)) + self._end_reservation(owner)

    def _finish(self, live: LiveCall, rec: CallRecord, now: float) -> list[Command]:
        self.live.pop(live.attempt_id, None)
        camp = live.campaign
        noted = live.reached_agent or live.noted_abandoned
        outcome = adopted_outcome(live, rec) if live.adopted or noted else stored_outcome(rec.outcome)
        agent_name = rec.agent or live.known_agent
        connected = _first(rec.connected_at, live.known_connected,
                           rec.ended_at if outcome is Outcome.CONNECTED else None)
        cmds: list[Command] = []
        owner = live.owner
        if owner is not None and owner.reserved is live:  # the owned callback never reached them
            owner.reserved = None
            cmds += self._agent_updates(self.agent_tracker.release(owner.interface, now))
            cmds += self._end_reservation(owner)
        self.counters["ended"] += 1
        if not live.answered_reported and outcome is not Outcome.PBX_DOWN:  # not a sample of the answer rate
            camp.stats.observe_attempt(placed_at=live.placed, ring_seconds=max(0.0, now - live.placed),
                                       answered=False, live=False, now=now)
        if outcome in (Outcome.ABANDONED, Outcome.CONNECTED):
            if outcome is Outcome.ABANDONED:
                self.counters["abandoned"] += 1
            camp.governor.record_answer(now, outcome is Outcome.ABANDONED)
            cmds.append(CountAnswer(camp.id, self.node, minute_of(now), outcome is Outcome.ABANDONED))
        elif outcome is Outcome.MACHINE:  # a pack may count a share of them as abandoned (UK)
            for _ in range(camp.amd.machine_verdict()):
                camp.governor.record_answer(now, True)
                cmds.append(CountAnswer(camp.id, self.node, minute_of(now), True))
        ended = dt(rec.ended_at if rec.ended_at is not None else now)
        values = {  # a fact unknown here (None) leaves the stored one (dialer.storage.calls.FACTS)
            "status": CallStatus.ENDED, "outcome": outcome, "hangup_cause": rec.hangup_cause,
            "detail": (rec.reason or "")[:200], "answered_at": dt(_first(rec.answered_at, live.known_answered)),
            "connected_at": dt(connected), "ended_at": ended,
            "agent": agent_name or None,
        }
        log.info("call ended", extra={"call": live.call_id, "campaign": camp.name, "outcome": outcome.value,
                                      "phone": live.phone, "cause": rec.hangup_cause})
        if outcome is Outcome.CONNECTED and camp.definition.recording.enabled:
            values["recording_path"] = camp.definition.recording.path(live.call_id)
        if outcome is Outcome.CONNECTED:
            # The agent's disposition decides the lead's next step (or the wrap-up limit's rule).
            self.owed_since[live.call_id] = (agent_name or "", now)  # no agent known: the limit decides
            return [*cmds, EndCall(live.call_id, values), Emit("disposition_due", {
                "call_id": live.call_id, "agent": agent_name or None, "campaign": camp.name})]
        result = CallResult(rule_outcome(outcome), attempt=live.attempt, placed_at=dt(live.placed))
        rules = RulesDue(camp.ref, live.lead_id, result, at=ended, last_outcome=outcome)  # type: ignore[arg-type]
        return [*cmds, EndCall(live.call_id, values, rules)]

    # ------------------------------------------------------------------ agents

    def _agent_updates(self, updates: list[AgentUpdate]) -> list[Command]:
        cmds: list[Command] = []
        for u in updates:
            agent = self.agents.get(u.agent.interface)
            if agent is not None:
                cmds += self._agent_update(agent, u)
        return cmds

    def _agent_update(self, agent: AgentRuntime, u: AgentUpdate) -> list[Command]:
        camp = agent.campaign
        snap = u.agent
        cmds: list[Command] = []
        # Keep the state history for reports: the span just ended.
        started = self._since.get(agent.interface, u.at)
        if u.previous is not AgentState.LOGGED_OUT and camp is not None and u.at > started:
            cmds.append(LogAgentState(agent.id, camp.id, STORED_AGENT[u.previous], dt(started), dt(u.at),  # type: ignore[arg-type]
                                      self._span_code.get(agent.interface)))
        self._since[agent.interface] = u.at
        # A ready or talking agent has no pause code (the tracker keeps the last reason the PBX
        # gave, which would otherwise show as stale: ready "wrapup").
        code = (None if u.state in (AgentState.READY, AgentState.TALKING)
                else snap.pause_code or (CALLBACK_PAUSE if agent.reserved is not None else None))
        self._span_code[agent.interface] = code
        cmds.append(SetAgentState(agent.id, stored_state(u.state, code), code, dt(u.at)))  # type: ignore[arg-type]
        if u.previous is AgentState.TALKING and camp is not None:
            camp.stats.observe_talk(max(0.0, u.at - started), now=u.at)
        early = u.state is AgentState.WRAP_UP and camp is not None and not agent.owed
        cmds += self._wrapup(agent, u)
        cmds.append(Emit("agent", {"agent": agent.name, "state": u.state.value, "previous": u.previous.value,
                                   "call_id": agent.call_id}))
        if early:
            # Disposed before the hang-up: nothing is owed, so the wrap-up ends at once; the
            # queue pause is the one the disposition set (none, or the pause asked for).
            cmds += self._agent_updates(self.agent_tracker.end_wrap_up(agent.interface, u.at))
        return cmds

    def _wrapup(self, agent: AgentRuntime, u: AgentUpdate) -> list[Command]:
        """Wrap-up: paused in the queue while it lasts; made ready when its time limit passes
        without a disposition; its length observed when it ends."""
        camp = agent.campaign
        snap = u.agent
        cmds: list[Command] = []
        if u.state is AgentState.WRAP_UP and camp is not None:
            agent.wrapup_started = u.at
            if agent.owed:  # else disposed before the hang-up: no wrap-up (see _agent_update)
                cmds += self._pause(agent, True, WRAPUP_PAUSE)
        if (u.previous is AgentState.WRAP_UP and u.state is AgentState.PAUSED and snap.pause_code == WRAPUP_PAUSE
                and agent.owed):
            # The wrap-up time limit passed without a disposition: the rules decide for the
            # calls owed, and the agent goes back to work (or into the pause asked for).
            cmds += self._expire(agent.owed, u.at)
        # Wrap-up ends when the agent leaves both WRAP_UP and the pause set for it (the unpause
        # after a disposition arrives a moment after the wrap-up ends).
        if agent.wrapup_started is not None and not in_wrapup(u.state, snap.pause_code):
            if camp is not None:
                camp.stats.observe_wrapup(u.at - agent.wrapup_started, ready=u.state is AgentState.READY, now=u.at)
            agent.wrapup_started = None
        return cmds

    def _expire_owed(self, now: float) -> list[Command]:
        """Dispositions owed longer than the wrap-up limit: the rules decide."""
        due = [cid for cid, (who, since) in self.owed_since.items()
               if now - since >= wrapup_limit(getattr(self.agent_by_name(who), "campaign", None))]
        return self._expire(due, now) if due else []

    def _expire(self, call_ids: Iterable[int], now: float) -> list[Command]:
        cmds: list[Command] = []
        for call_id in list(call_ids):
            who, _ = self.owed_since.pop(call_id, ("", now))
            agent = next((a for a in self.agents.values() if call_id in a.owed), None)
            name = agent.name if agent is not None else who
            log.warning("wrap-up limit reached without a disposition; the rules decide",
                        extra={"agent": name, "call": call_id})
            cmds.append(ExpireDisposition(call_id, name, dt(now)))  # type: ignore[arg-type]
            if agent is not None:
                cmds += self._disposed(agent, call_id, now)
        return cmds

    def _end_reservation(self, agent: AgentRuntime) -> list[Command]:
        """Back into the queue's rotation (or into the pause asked for meanwhile)."""
        snap = self.agent_tracker.get(agent.interface)
        if snap is None or snap.state is AgentState.LOGGED_OUT or agent.paused != CALLBACK_PAUSE:
            return []
        pause, agent.pending_pause = agent.pending_pause, None
        return self._pause(agent, pause is not None, pause or "")

    def _pause(self, agent: AgentRuntime, paused: bool, reason: str) -> list[Command]:
        if agent.campaign is None:
            return []
        agent.paused = reason if paused else None
        return [QueuePause(agent.name, agent.campaign.queue, agent.interface, paused, reason)]

    def agent_by_name(self, name: str) -> AgentRuntime | None:
        return next((a for a in self.agents.values() if a.name == name), None)

    def _logged_in(self, who: AgentRef) -> AgentRuntime:
        agent = self.agents.get(who.interface)
        if agent is None or agent.campaign is None:
            raise Conflict(f"agent {who.name!r} is not logged in")
        return agent

    def login(self, who: AgentRef, campaign: str, now: float | None = None) -> list[Command]:
        """The agent logs in to a running campaign (out of the one they were in); from ``now``
        on its state is the one it has in that campaign's queue."""
        camp = next((c for c in self.campaigns.values() if c.name == campaign), None)
        if camp is None:
            raise Conflict(f"campaign {campaign!r} is not running")
        cmds: list[Command] = []
        agent = self.agents.get(who.interface)
        if agent is not None and agent.campaign is not None and agent.campaign is not camp:
            cmds += self.logout(who)
        agent = self.agents.setdefault(who.interface, AgentRuntime(who.id, who.name, who.interface))
        agent.campaign = camp
        agent.state_interface = getattr(who, "state_interface", None)
        self.agent_tracker.set_wrap_up(who.interface, wrapup_limit(camp))
        if now is not None:
            cmds += self._agent_updates(self.agent_tracker.set_queue(who.interface, camp.queue, now))
        # Already a member (e.g. adopted after a restart): the engine takes it as done and sets
        # the pause state asked for here.  An agent owing a disposition stays paused.
        paused = bool(agent.owed)
        agent.paused = WRAPUP_PAUSE if paused else None
        return [*cmds, SetAgentCampaign(who.id, camp.id, self.node),
                QueueAdd(camp.queue, who.interface, who.name, paused=paused, reason=agent.paused or "",
                         state_interface=agent.state_interface)]

    def before_login(self, who: AgentRef) -> PriorLogin:
        """What :meth:`login` changes, as it is now (for :meth:`login_refused`); ``who`` as
        stored (its row's campaign and node)."""
        agent = self.agents.get(who.interface)
        stored = (getattr(who, "campaign_id", None), getattr(who, "node", None))
        if agent is None:
            return PriorLogin(False, None, None, None, *stored)
        return PriorLogin(True, agent.campaign, agent.state_interface, agent.paused, *stored)

    def login_refused(self, who: AgentRef, before: PriorLogin, now: float) -> list[Command]:
        """The PBX refused the login (or did not answer): the agent is as it was ``before``, in
        memory and in its row (campaign and node); not logged in here if it was not."""
        agent = self.agents.get(who.interface)
        if agent is None:
            return []
        if before.known:
            agent.campaign, agent.state_interface, agent.paused = before.campaign, before.state_interface, before.paused
        else:
            del self.agents[who.interface]
        self.agent_tracker.set_wrap_up(who.interface, wrapup_limit(before.campaign) if before.campaign else None)
        home = before.campaign.queue if before.campaign is not None else None
        cmds = self._agent_updates(self.agent_tracker.set_queue(who.interface, home, now))
        return [*cmds, SetAgentCampaign(who.id, before.campaign_id, before.node, exact=True)]

    def logout(self, who: AgentRef) -> list[Command]:
        agent = self._logged_in(who)
        return [QueueRemove(agent.campaign.queue, who.interface)]  # type: ignore[union-attr]

    def pause(self, who: AgentRef, code: str) -> list[Command]:
        """A pause asked for on a call (talking, wrap-up, reserved) waits until after it."""
        agent = self._logged_in(who)
        snap = self.agent_tracker.get(who.interface)
        if agent.owed or snap is not None and snap.state in (AgentState.WRAP_UP, AgentState.TALKING,
                                                              AgentState.RESERVED):
            agent.pending_pause = code  # applied when the current call is disposed
            return []
        return self._pause(agent, True, code)

    def ready(self, who: AgentRef, now: float) -> list[Command]:
        agent = self._logged_in(who)
        agent.pending_pause = None
        if agent.reserved is not None:
            return []  # reserved for an owned callback: back in the queue when it ends
        if agent.owed:
            raise Conflict(f"agent {who.name!r} must dispose call {agent.call_id} first")
        return self._agent_updates(self.agent_tracker.end_wrap_up(who.interface, now)) + self._pause(agent, False, "")

    def disposed(self, call_id: int, now: float, machine: bool = False) -> list[Command]:
        """The call's disposition is recorded: its agent's wrap-up ends (into the pending pause).
        ``machine``: the agent found an answering machine, so the answer leaves the governor's
        ledger of the agent's campaign (storage took it out of the campaign-wide one)."""
        _, ended = self.owed_since.pop(call_id, ("", now))
        agent = next((a for a in self.agents.values() if call_id in a.owed), None)
        if machine and agent is not None and agent.campaign is not None:
            agent.campaign.governor.retract_answer(ended)
        return [] if agent is None else self._disposed(agent, call_id, now)

    def _disposed(self, agent: AgentRuntime, call_id: int, now: float) -> list[Command]:
        """``call_id`` no longer owed by ``agent``: once none is, its wrap-up ends (into the
        pending pause)."""
        agent.owed.remove(call_id)
        if agent.call is not None and agent.call.call_id == call_id:
            agent.call = None
        if agent.owed:
            return []
        pause, agent.pending_pause = agent.pending_pause, None
        cmds = self._agent_updates(self.agent_tracker.end_wrap_up(agent.interface, now))
        return cmds + self._pause(agent, bool(pause), pause or "")

    # ------------------------------------------------------------------ status

    def status(self, now: float) -> dict:
        """A summary for dashboards and ``/api/status``."""
        out: dict[str, Any] = {"node": self.node, "link_up": self.link_up, "synced": self.synced,
                               "counters": dict(self.counters), "campaigns": []}
        if self.pbx_stopping:
            out["link"] = "PBX shutting down: no new calls until it is back"
        elif self.link_up and not self.synced:
            out["link"] = "reconciling" + (
                f" (attempt {self.reconciling['attempt']}: {self.reconciling['reason']}; retry in "
                f"{self.reconciling['retry_in']} s)" if self.reconciling else "")
        for camp in self.campaigns.values():
            snap = self.snapshot(camp, now)
            day = snap.day  # the campaign's, every node's
            month = camp.governor.counts(now).month
            own_day = camp.governor.ledger.day(now)
            out["campaigns"].append({
                "name": camp.name,
                "mode": camp.definition.dial.mode,
                "agents": {s.value: snap.count_agents(s) for s in pacing.AgentState},
                "ringing": sum(1 for c in snap.calls if c.state == pacing.CallState.RINGING),
                "waiting": sum(1 for c in snap.calls if c.state != pacing.CallState.RINGING),
                # owned callbacks on their way to the owner (counted by their agent, not above)
                "callbacks": sum(1 for c in self.live.values()
                                 if c.campaign is camp and c.owner is not None and c.owner.reserved is c),
                "lines": snap.lines_busy,
                "placed": camp.placed,
                "answered": camp.answered,
                "abandoned_24h": day.abandoned,
                "connected_24h": day.connected,
                "abandon_rate_24h": round(day.rate, 4),
                "abandoned_30d": month.abandoned,
                "connected_30d": month.connected,
                "abandon_rate_30d": round(month.rate, 4),
                "abandon_target": snap.target,
                # more abandoned calls each window can take before its rate passes the target
                "abandon_budget_24h": abandon_budget(day, snap.target),
                "abandon_budget_30d": abandon_budget(month, snap.target),
                # the governor's last decision: lines wanted and why
                "pacing": camp.governor.last.as_dict() if camp.governor.last is not None else None,
                "node_24h": {"abandoned": own_day.abandoned, "connected": own_day.connected},
                "ledger": camp.governor.health(now).value,
                "idle_reason": camp.idle_reason,
                "stats": camp.stats.summary(),
            })
        return out
