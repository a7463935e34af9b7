"""The engine: the asyncio shell around the pure core.

It owns no decisions.  Every pacing interval it builds a :class:`~dialer.pacing.Snapshot` per
campaign, asks the campaign's policy how many calls to place, claims that many leads (a
``calls`` row is written for each before its Originate is sent), and places them.  PBX events
go to the call and agent trackers; what they report (answers, connections, outcomes, agent
state changes) is written to the database, fed to the pacing statistics, and turned into each
lead's next step by the campaign's rules.

Owned callbacks: a due callback still exclusive to the agent who booked it is claimed only while
that agent is ready (``claim_leads(ready_owners=...)``); the agent is then reserved for it —
paused in the queue with the code ``callback``, ``RESERVED`` for the pacing — and the Originate
carries ``DIALER_AGENT`` (the agent's interface), which the dialplan dials instead of the queue.
The reservation ends when the call reaches the agent (then wrap-up as usual) or fails.

Times: the trackers and the pacing policy work in float seconds of the injected clock
(``clock.now().timestamp()``), so statistics persisted across restarts stay meaningful; the
database gets aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.definition import CampaignDefinition, definition_from_data, render_script
from campaigns.dispositions import validate_disposition
from campaigns.models import campaigns as campaigns_t
from campaigns.rules import (
    AddToDnc,
    Callback,
    CallResult,
    Finish,
    LeadHistory,
    MoveToCampaign,
    NextAction,
    PastCall,
    Retry,
    evaluate,
)
from campaigns.windows import region_code
from dialer import pacing
from dialer.ami.events import AmiEvent, CoreShowChannel
from dialer.ami.ids import originate_ids
from dialer.claim import (
    ClaimedLead,
    calls,
    claim_leads,
    dnc,
    leads,
    lists_,
    open_zone_sets,
    zone_keys,
)
from dialer.clock import Clock
from dialer.errors import Conflict, DialerError, Forbidden, Invalid, NotFound
from dialer.models import agent_state_log as agent_log_t
from dialer.models import agents as agents_t
from dialer.models import pacing_state as pacing_t
from dialer.services.diagnostics import top_reason
from dialer.tracking.agents import AgentState, AgentTracker, AgentUpdate
from dialer.tracking.calls import CallRecord, CallState, CallTracker, CallUpdate, Outcome

log = logging.getLogger("dialer.engine")

#: Pause code the engine uses while an agent wraps up a call (the queue must not ring them).
WRAPUP_PAUSE = "wrapup"
#: Pause code of an agent reserved for an owned callback being placed (the queue must not ring them).
CALLBACK_PAUSE = "callback"
#: Longest wrap-up before the agent is made ready again without a disposition.
MAX_WRAPUP = 600.0
#: How often the distinct time-zone sets of a campaign's leads are re-read.
ZONE_REFRESH = 300.0


class PbxLink(Protocol):
    """What the engine needs from the AMI client (see :mod:`dialer.ami.client`)."""

    async def originate(
        self,
        attempt_id: str,
        *,
        channel: str,
        context: str,
        exten: str,
        priority: int,
        timeout: float,
        caller_id: str | None,
        variables: dict[str, str],
    ) -> None:
        """Send an async Originate; return when the PBX accepted it, raise when it refused."""

    async def queue_add(self, queue: str, interface: str, member_name: str, paused: bool = False) -> None: ...

    async def queue_remove(self, queue: str, interface: str) -> None: ...

    async def queue_pause(self, queue: str, interface: str, paused: bool, reason: str = "") -> None: ...

    async def core_show_channels(self) -> list[CoreShowChannel]: ...


class OriginateRefused(DialerError):
    """The PBX answered the Originate with an error: the attempt failed, nothing was dialled."""


class DispositionError(DialerError):
    """A disposition the campaign does not accept (unknown code, missing reason, ...)."""

    exit_code = 2


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
    status: str = "placing"  # as last written to the calls row
    owner: AgentRuntime | None = None  # an owned callback: the agent it is dialled to


@dataclass
class CampaignRuntime:
    id: int
    name: str
    definition: CampaignDefinition
    policy: pacing.Policy
    stats: pacing.PacingStats
    # (time, abandoned?) of live answers, for the rolling 24 h / 1 h abandon counts
    answers: deque[tuple[float, bool]] = field(default_factory=deque)
    zone_keys: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    zones_read_at: float = float("-inf")
    open_sets: set[str] | None = None
    open_minute: int = -1
    idle_reason: str = ""
    placed: int = 0
    exhausted_at: float | None = None

    @property
    def queue(self) -> str:
        return self.definition.dial.queue or self.name

    def abandon_counts(self, now: float, window: float) -> pacing.AbandonCounts:
        a = c = 0
        for t, abandoned in reversed(self.answers):
            if t < now - window:
                break
            if abandoned:
                a += 1
            else:
                c += 1
        return pacing.AbandonCounts(abandoned=a, connected=c)


@dataclass
class AgentRuntime:
    id: int
    name: str
    interface: str
    campaign: CampaignRuntime | None = None
    call: LiveCall | None = None  # the call being talked about or wrapped up
    call_id: int | None = None
    wrapup_started: float | None = None
    pending_pause: str | None = None  # pause asked for while on a call
    paused: str | None = None  # the pause code we last set on the PBX (None: unpaused)
    reserved: LiveCall | None = None  # the owned callback being placed to this agent


_PACING_AGENT = {
    AgentState.READY: pacing.AgentState.READY,
    AgentState.RESERVED: pacing.AgentState.RESERVED,
    AgentState.TALKING: pacing.AgentState.TALKING,
    AgentState.WRAP_UP: pacing.AgentState.WRAPUP,
    AgentState.PAUSED: pacing.AgentState.PAUSED,
    AgentState.UNAVAILABLE: pacing.AgentState.PAUSED,
}
_STORED_AGENT = {
    AgentState.LOGGED_OUT: "logged_out",
    AgentState.READY: "ready",
    AgentState.RESERVED: "reserved",
    AgentState.TALKING: "talking",
    AgentState.WRAP_UP: "wrapup",
    AgentState.PAUSED: "paused",
    AgentState.UNAVAILABLE: "unavailable",
}
_CALL_STATUS = {
    CallState.PLACED: "placing",
    CallState.ACCEPTED: "ringing",
    CallState.RINGING: "ringing",
    CallState.ANSWERED: "answered",
    CallState.QUEUED: "answered",
    CallState.CONNECTED: "connected",
    CallState.DROPPED: "answered",
    CallState.MACHINE: "answered",
    CallState.ENDED: "ended",
    CallState.UNKNOWN: "unknown",
}
_ANY_ANSWER = frozenset({CallState.ANSWERED, CallState.QUEUED, CallState.CONNECTED, CallState.DROPPED,
                         CallState.MACHINE})
_DECIDED_ANSWER = _ANY_ANSWER - {CallState.ANSWERED}
#: Tracker outcomes as stored and as the rules know them.
STORED_OUTCOME = {
    Outcome.CONNECTED: "CONNECTED",
    Outcome.ABANDONED: "ABANDONED",
    Outcome.MACHINE: "MACHINE",
    Outcome.ANSWERED: "ANSWERED",
    Outcome.NO_ANSWER: "NO_ANSWER",
    Outcome.BUSY: "BUSY",
    Outcome.CONGESTION: "CONGESTION",
    Outcome.INVALID_NUMBER: "INVALID_NUMBER",
    Outcome.FAILED: "FAILED",
    Outcome.UNKNOWN: "UNKNOWN",
}
# Outcomes the rules have no entry for are judged like their nearest neighbour.
_RULE_OUTCOME = {"ANSWERED": "NO_ANSWER", "UNKNOWN": "FAILED"}


class Engine:
    """Dials every active campaign.  ``start()``, then ``run()`` until ``stop()``."""

    def __init__(
        self,
        db: AsyncEngine,
        link: PbxLink,
        clock: Clock,
        *,
        node: str = "node1",
        pacing_interval: float = 1.0,
        drain_timeout: float = 60.0,
        context: str = "dialer-connect",
        seed: int | None = None,
    ) -> None:
        self.db = db
        self.link = link
        self.clock = clock
        self.node = node
        self.pacing_interval = pacing_interval
        self.drain_timeout = drain_timeout
        self.context = context
        self.rng = random.Random(seed)
        self.calls = CallTracker()
        self.agent_tracker = AgentTracker(wrap_up=MAX_WRAPUP)
        self.campaigns: dict[int, CampaignRuntime] = {}
        self.agents: dict[str, AgentRuntime] = {}  # by interface
        self.live: dict[str, LiveCall] = {}  # by attempt id
        self._writes: asyncio.Queue[Callable[[Any], Awaitable[None]] | None] = asyncio.Queue()
        self._db_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._place_tasks: set[asyncio.Task] = set()
        self.listeners: list[Callable[[str, dict], None]] = []  # (kind, data): dashboards, demo agents
        self.link_up = True
        self.counters = {"placed": 0, "answered": 0, "connected": 0, "abandoned": 0, "ended": 0}
        self._since: dict[str, float] = {}  # agent interface -> when its current state began

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        return self.clock.now().timestamp()

    @staticmethod
    def dt(t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, UTC)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load active campaigns and logged-in agents; adopt calls a previous run left in flight."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(campaigns_t).where(campaigns_t.c.status == "active"))).all()
            for row in rows:
                await self._load_campaign(conn, row)
            in_flight = (
                await conn.execute(
                    select(calls).where(calls.c.status != "ended", calls.c.node == self.node)
                )
            ).all()
            agent_rows = (await conn.execute(select(agents_t).where(agents_t.c.state != "logged_out"))).all()
            # Calls that reached an agent and still wait for the disposition (e.g. across a crash):
            # the agent's desktop shows them again.
            undisposed = dict((await conn.execute(
                select(calls.c.agent, func.max(calls.c.id)).where(
                    calls.c.disposition.is_(None), calls.c.agent.is_not(None),
                    calls.c.connected_at.is_not(None)).group_by(calls.c.agent)
            )).all())
        for row in in_flight:
            camp = self.campaigns.get(row.campaign_id)
            if camp is None:
                camp = await self._campaign_by_id(row.campaign_id)
            if camp is None:
                continue
            placed = _ts(row.placed_at)
            self.calls.place(row.channel_id, placed, lead_id=str(row.lead_id), campaign=camp.name, recovered=True)
            self.live[row.channel_id] = LiveCall(row.id, row.channel_id, camp, row.lead_id, row.phone,
                                                 row.attempt, placed)
        if in_flight:
            log.info("adopted calls left in flight by a previous run", extra={"calls": len(in_flight)})
            await self.reconcile()
        for row in agent_rows:
            camp = self.campaigns.get(row.campaign_id) if row.campaign_id else None
            agent = AgentRuntime(row.id, row.name, row.interface, camp, call_id=undisposed.get(row.name))
            self.agents[row.interface] = agent
            self.agent_tracker.set_wrap_up(row.interface, MAX_WRAPUP)
            if camp is not None:
                with contextlib.suppress(DialerError):  # already a member: the PBX kept it
                    await self.link.queue_add(camp.queue, row.interface, row.name, paused=row.state == "paused")
                if row.pause_code == CALLBACK_PAUSE:  # reserved by the previous run: not any more
                    await self._pause_member(agent, False, "")
        log.info("engine started", extra={"campaigns": len(self.campaigns), "node": self.node})

    async def _campaign_by_id(self, campaign_id: int) -> CampaignRuntime | None:
        """A campaign that is not being dialled (paused, stopped) but has a call to finish."""
        async with self.db.connect() as conn:
            row = (await conn.execute(select(campaigns_t).where(campaigns_t.c.id == campaign_id))).first()
            return await self._load_campaign(conn, row, dial=False) if row else None

    async def _load_campaign(self, conn, row, *, dial: bool = True) -> CampaignRuntime:  # noqa: ANN001
        definition = definition_from_data(row.definition, f"campaign {row.name}")
        stats = pacing.PacingStats(ring_timeout=definition.dial.ring_timeout)
        saved = (await conn.execute(select(pacing_t.c.data).where(pacing_t.c.campaign_id == row.id))).scalar()
        if saved:
            try:
                stats = pacing.PacingStats.from_dict(saved)
            except (KeyError, TypeError, ValueError):
                log.warning("pacing statistics unreadable; starting afresh", extra={"campaign": row.name})
        camp = CampaignRuntime(row.id, row.name, definition, _make_policy(definition), stats)
        # Rolling abandon counts survive restarts: read the last 24 h of live answers.
        since = self.clock.now() - timedelta(hours=24)
        for placed_at, outcome in await conn.execute(
            select(calls.c.placed_at, calls.c.outcome).where(
                calls.c.campaign_id == row.id, calls.c.placed_at >= since,
                calls.c.outcome.in_(("ABANDONED", "CONNECTED")),
            ).order_by(calls.c.placed_at)
        ):
            camp.answers.append((_ts(placed_at), outcome == "ABANDONED"))
        if dial:
            self.campaigns[row.id] = camp
        return camp

    async def reload_campaigns(self) -> None:
        """Pick up campaigns started, paused or changed since (``dialer campaigns start``)."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(campaigns_t))).all()
            for row in rows:
                camp = self.campaigns.get(row.id)
                if row.status == "active" and camp is None:
                    await self._load_campaign(conn, row)
                elif row.status == "active" and camp is not None:
                    definition = definition_from_data(row.definition, f"campaign {row.name}")
                    if definition != camp.definition:
                        camp.definition = definition
                        camp.policy = _make_policy(definition)
                        camp.stats.ring_timeout = definition.dial.ring_timeout
                elif row.status != "active" and camp is not None:
                    self.campaigns.pop(row.id)

    async def run(self) -> None:
        """Pacing, timers and database writes, until :meth:`stop`."""
        self._tasks = [
            asyncio.create_task(self._pacing_loop(), name="pacing"),
            asyncio.create_task(self._writer(), name="writer"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
        ]
        await self._stopping.wait()

    async def stop(self) -> None:
        """Graceful shutdown: stop placing calls, wait (bounded) for calls in flight, record all."""
        if self._stopping.is_set():
            return
        log.info("stopping: no new calls", extra={"in_flight": len(self.live)})
        self._stopping.set()
        for task in self._tasks:
            if task.get_name() == "pacing":
                task.cancel()
        if self._place_tasks:
            await asyncio.gather(*self._place_tasks, return_exceptions=True)
        deadline = self.clock.monotonic() + self.drain_timeout
        while self.live and self.clock.monotonic() < deadline:
            await self.clock.sleep(min(0.5, self.drain_timeout))
            self._tick()
        if self.live:
            log.warning("calls still in flight at shutdown; the next start reconciles them",
                        extra={"calls": len(self.live)})
        await self._save_stats()
        await self._writes.put(None)
        for task in self._tasks:
            if task.get_name() == "writer":
                await task
            else:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("stopped")

    # ------------------------------------------------------------------ loops

    async def _pacing_loop(self) -> None:
        while not self._stopping.is_set():
            started = self.clock.monotonic()
            try:
                await self.pace_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pacing pass failed")
            elapsed = self.clock.monotonic() - started
            await self.clock.sleep(max(0.0, self.pacing_interval - elapsed))

    async def _housekeeping(self) -> None:
        last_reload = last_save = self.clock.monotonic()
        while not self._stopping.is_set():
            await self.clock.sleep(0.5)
            self._tick()
            mono = self.clock.monotonic()
            if mono - last_reload >= 5.0:
                last_reload = mono
                try:
                    await self.reload_campaigns()
                except Exception:
                    log.exception("reloading campaigns failed")
            if mono - last_save >= 60.0:
                last_save = mono
                await self._save_stats()

    def _tick(self) -> None:
        now = self.now()
        self._on_call_updates(self.calls.tick(now))
        self._on_agent_updates(self.agent_tracker.tick(now))

    async def _writer(self) -> None:
        """Database writes from event handlers, in order, batched into few transactions."""
        while True:
            job = await self._writes.get()
            batch = [job]
            while not self._writes.empty() and len(batch) < 500:
                batch.append(self._writes.get_nowait())
            done = None in batch
            jobs = [j for j in batch if j is not None]
            if jobs:
                try:
                    async with self._db_lock, self.db.begin() as conn:
                        for j in jobs:
                            await j(conn)
                except Exception:
                    log.exception("database write failed; retrying one by one")
                    for j in jobs:
                        try:
                            async with self._db_lock, self.db.begin() as conn:
                                await j(conn)
                        except Exception:
                            log.exception("database write lost")
            if done:
                return

    def _write(self, job: Callable[[Any], Awaitable[None]]) -> None:
        self._writes.put_nowait(job)

    async def flush(self) -> None:
        """Wait until every queued database write is done (tests, reports)."""
        if not any(t.get_name() == "writer" and not t.done() for t in self._tasks):
            return  # not running: nothing will drain the queue
        while not self._writes.empty():
            await asyncio.sleep(0.01)
        async with self._db_lock:
            pass

    # ------------------------------------------------------------------ pacing

    def snapshot(self, camp: CampaignRuntime, now: float) -> pacing.Snapshot:
        agents = []
        for a in self.agent_tracker.agents(camp.queue):
            state = pacing.AgentState.WRAPUP if _in_wrapup(a.state, a.pause_code) else _PACING_AGENT.get(a.state)
            if state is not None:
                agents.append(pacing.AgentView(state, a.since))
        views = []
        lines = 0
        for call in self.live.values():
            if call.campaign is not camp:
                continue
            lines += 1
            if call.owner is not None:
                continue  # an owned callback is represented by its agent (RESERVED, then TALKING)
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
        dial = camp.definition.dial
        return pacing.Snapshot(
            now=now,
            agents=agents,
            calls=views,
            ring_timeout=float(dial.ring_timeout),
            max_lines=dial.max_lines,
            abandon_target=dial.abandon_target,
            day=camp.abandon_counts(now, 86400.0),
            hour=camp.abandon_counts(now, 3600.0),
            stats=camp.stats,
            lines_in_use=lines,
        )

    async def pace_once(self) -> None:
        """One pacing pass over every active campaign."""
        if not self.link_up:
            return
        now = self.now()
        for camp in list(self.campaigns.values()):
            snap = self.snapshot(camp, now)
            want = min(camp.policy.decide(snap), snap.free_lines)
            if camp.definition.dial.mode == "predictive":
                working = snap.count_agents(pacing.AgentState.READY, pacing.AgentState.RESERVED,
                                            pacing.AgentState.TALKING, pacing.AgentState.WRAPUP)
                cap = int(camp.definition.dial.max_lines_per_agent * working) - snap.lines_busy
                want = min(want, cap)
            elif camp.definition.dial.mode == "ratio" and _abandon_limit_reached(snap):
                # The abandon limit holds in every mode: a fixed ratio that has abandoned calls
                # falls back to progressive until one more abandon would stay under the target.
                want = min(want, _PROGRESSIVE.decide(snap))
            if want <= 0:
                if snap.ready and not snap.calls:
                    camp.idle_reason = camp.idle_reason or "no calls decided"
                continue
            claimed = await self._claim(camp, want, now)
            if len(claimed) < want and snap.ready > 0 and not snap.calls:
                if not camp.idle_reason.startswith("idle: no callable leads"):
                    reason = "idle: no callable leads"
                    try:
                        async with self.db.connect() as conn:
                            top = await conn.run_sync(top_reason, camp.id, self.clock.now())
                        reason += f" — top reason: {top}"
                    except Exception:  # a diagnosis must never stop the dialling
                        log.exception("diagnosing an idle campaign failed")
                    log.warning(reason, extra={"campaign": camp.name, "agents_ready": snap.ready})
                    camp.idle_reason = reason
                camp.exhausted_at = camp.exhausted_at or now
            elif claimed:
                camp.idle_reason = ""
                camp.exhausted_at = None
            for lead, owner in claimed:
                self._start_call(camp, lead, now, owner)

    async def _claim(
        self, camp: CampaignRuntime, n: int, now: float
    ) -> list[tuple[ClaimedLead, AgentRuntime | None]]:
        """Claim up to ``n`` leads; each with the agent it is reserved for (owned callbacks)."""
        at = self.clock.now()
        if now - camp.zones_read_at >= ZONE_REFRESH:
            async with self.db.connect() as conn:
                camp.zone_keys = await zone_keys(conn, camp.id)
            camp.zones_read_at = now
            camp.open_minute = -1
        minute = int(now // 60)
        if minute != camp.open_minute:
            camp.open_sets = open_zone_sets(camp.definition.window, camp.zone_keys, at)
            camp.open_minute = minute
        dial = camp.definition.dial
        async with self._db_lock, self.db.begin() as conn:
            claimed = await claim_leads(
                conn, campaign_id=camp.id, n=n, now=at, node=self.node,
                ring_timeout=dial.ring_timeout, open_sets=camp.open_sets, new_first=dial.new_first,
                ready_owners=self._ready_owners(camp),
            )
            # One owned callback per owner, and only while the owner is still ready (the claim
            # ran while events came in): the others go back, in the same transaction.
            _, back = self._owners_for(camp, claimed)
            if back:
                await _give_back(conn, back)
                claimed = [c for c in claimed if c not in back]
        if not claimed and camp.zone_keys and now - camp.zones_read_at >= 30:
            camp.zones_read_at = float("-inf")  # new leads may have arrived: re-read zones soon
        # Checked again after the commit's wait; reserving the owners happens with no wait after.
        kept, back = self._owners_for(camp, claimed)
        if back:
            async with self._db_lock, self.db.begin() as conn:
                await _give_back(conn, back)
        return kept

    def _ready_owners(self, camp: CampaignRuntime) -> set[str]:
        """Agents of ``camp`` an owned callback can go to now: ready (as the PBX last said), not
        paused or reserved by us, no pause pending."""
        out = set()
        for agent in self.agents.values():
            if (agent.campaign is not camp or agent.reserved is not None or agent.paused is not None
                    or agent.pending_pause is not None):
                continue
            snap = self.agent_tracker.get(agent.interface)
            if snap is not None and snap.state is AgentState.READY and camp.queue in snap.queues:
                out.add(agent.name)
        return out

    def _owners_for(
        self, camp: CampaignRuntime, claimed: list[ClaimedLead]
    ) -> tuple[list[tuple[ClaimedLead, AgentRuntime | None]], list[ClaimedLead]]:
        """Each claimed lead with the agent it is reserved for, and the leads to give back."""
        ready = self._ready_owners(camp)
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

    def _start_call(
        self, camp: CampaignRuntime, lead: ClaimedLead, now: float, owner: AgentRuntime | None = None
    ) -> None:
        live = LiveCall(lead.call_id, lead.channel_id, camp, lead.lead_id, lead.phone, lead.attempt, now,
                        owner=owner)
        self.live[lead.channel_id] = live
        self._on_call_updates(self.calls.place(
            lead.channel_id, now, lead_id=str(lead.lead_id), campaign=camp.name,
            agent=owner.name if owner else None, agent_interface=owner.interface if owner else None))
        if owner is not None:
            # Out of the queue's rotation until the call reaches them or fails.
            owner.reserved = live
            channel = originate_ids(lead.channel_id).channel_id
            self._on_agent_updates(self.agent_tracker.reserve(owner.interface, channel, now))
            self._spawn(self._pause_member(owner, True, CALLBACK_PAUSE))
            log.info("owned callback placed", extra={"call": lead.call_id, "agent": owner.name})
        camp.placed += 1
        self.counters["placed"] += 1
        task = asyncio.create_task(self._originate(live))
        self._place_tasks.add(task)
        task.add_done_callback(self._place_tasks.discard)

    async def _originate(self, call: LiveCall) -> None:
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
        try:
            await self.link.originate(
                call.attempt_id,
                channel=dial.trunk.format(number=call.phone, number_national=call.phone.lstrip("+")),
                context=self.context,
                exten=call.campaign.queue,
                priority=1,
                timeout=float(dial.ring_timeout),
                caller_id=dial.caller_id,
                variables=variables,
            )
        except OriginateRefused as exc:
            self._on_call_updates(self.calls.originate_failed(call.attempt_id, self.now(), str(exc)))
        except Exception as exc:  # timed out, or the link went down under us: reconcile will tell
            log.warning("originate not confirmed", extra={"call": call.call_id, "error": str(exc)})
            self._on_call_updates(self.calls.mark_unknown(call.attempt_id, self.now()))
        else:
            self._on_call_updates(self.calls.originate_accepted(call.attempt_id, self.now()))

    # ------------------------------------------------------------------ PBX events

    def handle_event(self, event: AmiEvent | None) -> None:
        """Feed one typed AMI event (called by the AMI client for every event)."""
        if event is None:
            return
        now = self.now()
        self._on_call_updates(self.calls.handle(event, now))
        self._on_agent_updates(self.agent_tracker.handle(event, now))

    def link_lost(self) -> None:
        """The AMI link dropped: calls in flight are unknown until reconciled."""
        self.link_up = False
        self._on_call_updates(self.calls.link_lost(self.now()))

    def reconciled(self, channels: Iterable[CoreShowChannel]) -> None:
        """Logged in again and ``CoreShowChannels`` taken: settle the calls that were in flight."""
        self._on_call_updates(self.calls.reconcile(list(channels), self.now()))
        self.link_up = True
        self._spawn(self._readd_members())

    async def _readd_members(self) -> None:
        """After a reconnect: a restarted PBX has forgotten dynamic queue members; add them back
        (an "already there" error just means it had not)."""
        for agent in list(self.agents.values()):
            if agent.campaign is None:
                continue
            snap = self.agent_tracker.get(agent.interface)
            if snap is not None and snap.state is AgentState.LOGGED_OUT:
                continue
            code = agent.paused
            try:
                await self.link.queue_add(agent.campaign.queue, agent.interface, agent.name, paused=code is not None)
            except Exception:
                # Still a member: make sure its pause state is what we last asked for (a pause or
                # unpause may have been lost with the link).
                await self._pause_member(agent, code is not None, code or "")

    async def reconcile(self) -> None:
        self.reconciled(await self.link.core_show_channels())

    def _emit(self, kind: str, data: dict) -> None:
        for listener in self.listeners:
            try:
                listener(kind, data)
            except Exception:
                log.exception("listener failed")

    def _on_call_updates(self, updates: list[CallUpdate]) -> None:
        for u in updates:
            live = self.live.get(u.attempt_id)
            if live is None:
                continue
            rec = u.record
            state = u.state
            if rec.agent_interface and not rec.agent and rec.agent_interface in self.agents:
                # Connected to an agent by a dial the tracker was not told about (a call adopted
                # after a restart): the agent's name from its interface.
                rec = dataclasses.replace(rec, agent=self.agents[rec.agent_interface].name)
            # With AMD on, an answer is reported once AMD has decided (queued: a person; MACHINE).
            answered_states = _DECIDED_ANSWER if live.campaign.definition.dial.amd else _ANY_ANSWER
            if state in answered_states and not live.answered_reported:
                live.answered_reported = True
                self.counters["answered"] += 1
                answered = rec.answered_at if rec.answered_at is not None else u.at
                live.campaign.stats.observe_attempt(
                    placed_at=live.placed, ring_seconds=max(0.0, answered - live.placed),
                    answered=True, live=state is not CallState.MACHINE, now=u.at,
                )
            if state is CallState.CONNECTED:
                self.counters["connected"] += 1
                agent = self.agents.get(rec.agent_interface)
                if agent is not None:
                    agent.call, agent.call_id = live, live.call_id
                owner = live.owner
                if owner is not None and owner.reserved is live:
                    owner.reserved = None  # reached the agent: wrap-up as after any call
                    if rec.agent_interface != owner.interface:  # the owner was busy: the queue's
                        self._on_agent_updates(self.agent_tracker.release(owner.interface, u.at))
                        self._spawn(self._end_reservation(owner))
            if state is CallState.ENDED:
                self._finish(live, rec, u.at)
            elif _CALL_STATUS[state] != live.status:  # one write per stored status, not per event
                live.status = _CALL_STATUS[state]
                self._write(_update_call_status(live.call_id, live.status, rec, self.dt))
            self._emit("call", {"call_id": live.call_id, "state": state.value, "campaign": live.campaign.name,
                                "agent": rec.agent or None})

    def _finish(self, live: LiveCall, rec: CallRecord, now: float) -> None:
        self.live.pop(live.attempt_id, None)
        camp = live.campaign
        outcome = STORED_OUTCOME[rec.outcome] if rec.outcome else "UNKNOWN"
        owner = live.owner
        if owner is not None and owner.reserved is live:  # the owned callback never reached them
            owner.reserved = None
            self._on_agent_updates(self.agent_tracker.release(owner.interface, now))
            self._spawn(self._end_reservation(owner))
        self.counters["ended"] += 1
        if not live.answered_reported:
            camp.stats.observe_attempt(placed_at=live.placed, ring_seconds=max(0.0, now - live.placed),
                                       answered=False, live=False, now=now)
        if outcome == "ABANDONED":
            self.counters["abandoned"] += 1
            camp.answers.append((now, True))
        elif outcome == "CONNECTED":
            camp.answers.append((now, False))
        while camp.answers and camp.answers[0][0] < now - 86400.0:
            camp.answers.popleft()
        values = {
            "status": "ended", "outcome": outcome, "hangup_cause": rec.hangup_cause,
            "detail": (rec.reason or "")[:200], "answered_at": self.dt(rec.answered_at),
            "connected_at": self.dt(rec.connected_at), "ended_at": self.dt(rec.ended_at or now),
            "agent": rec.agent or None,
        }
        log.info("call ended", extra={"call": live.call_id, "campaign": camp.name, "outcome": outcome,
                                      "phone": live.phone, "cause": rec.hangup_cause})
        if outcome == "CONNECTED":
            # The agent's disposition decides the lead's next step (see ``dispose``).
            self._write(_end_call(live.call_id, values, None))
            self._emit("disposition_due", {"call_id": live.call_id, "agent": rec.agent or None,
                                           "campaign": camp.name})
        else:
            result = CallResult(_RULE_OUTCOME.get(outcome, outcome), attempt=live.attempt,
                                placed_at=self.dt(live.placed))
            self._write(_end_call(live.call_id, values, (self, camp, live.lead_id, result)))

    # ------------------------------------------------------------------ agents

    def _on_agent_updates(self, updates: list[AgentUpdate]) -> None:
        for u in updates:
            snap = u.agent
            agent = self.agents.get(snap.interface)
            if agent is None:
                continue
            camp = agent.campaign
            # Keep the state history for reports: the span just ended.
            started = self._since.get(agent.interface, u.at)
            if u.previous is not AgentState.LOGGED_OUT and camp is not None:
                self._write(_log_state(agent.id, camp.id, _STORED_AGENT[u.previous], "",
                                       self.dt(started), self.dt(u.at)))
            self._since[agent.interface] = u.at
            code = snap.pause_code or (CALLBACK_PAUSE if agent.reserved is not None else None)
            self._write(_set_agent_state(agent.id, _stored_state(u.state, code), code, self.dt(u.at)))
            if u.previous is AgentState.TALKING and camp is not None:
                camp.stats.observe_talk(max(0.0, u.at - started), now=u.at)
            if u.state is AgentState.WRAP_UP and camp is not None:
                agent.wrapup_started = u.at
                self._spawn(self._pause_member(agent, True, WRAPUP_PAUSE))
            if (u.previous is AgentState.WRAP_UP and u.state is AgentState.PAUSED
                    and snap.pause_code == WRAPUP_PAUSE and agent.pending_pause is None
                    and agent.call_id is not None):
                # The wrap-up time limit passed without a disposition: back to work; the call
                # stays listed as undisposed (`dialer calls ls --undisposed`).
                log.warning("wrap-up limit reached; agent made ready", extra={"agent": agent.name,
                                                                              "call": agent.call_id})
                self._spawn(self._pause_member(agent, False, ""))
            # Wrap-up ends when the agent leaves both WRAP_UP and the pause the engine set for it
            # (the unpause after a disposition arrives a moment after the wrap-up ends).
            if agent.wrapup_started is not None and not _in_wrapup(u.state, snap.pause_code):
                if camp is not None:
                    camp.stats.observe_wrapup(u.at - agent.wrapup_started, ready=u.state is AgentState.READY,
                                              now=u.at)
                agent.wrapup_started = None
            self._emit("agent", {"agent": agent.name, "state": u.state.value, "previous": u.previous.value,
                                 "call_id": agent.call_id})

    async def _end_reservation(self, agent: AgentRuntime) -> None:
        """Back into the queue's rotation (or into the pause asked for meanwhile)."""
        snap = self.agent_tracker.get(agent.interface)
        if snap is None or snap.state is AgentState.LOGGED_OUT or agent.paused != CALLBACK_PAUSE:
            return
        pause, agent.pending_pause = agent.pending_pause, None
        await self._pause_member(agent, pause is not None, pause or "")

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._place_tasks.add(task)
        task.add_done_callback(self._place_tasks.discard)

    async def _pause_member(self, agent: AgentRuntime, paused: bool, reason: str) -> None:
        if agent.campaign is None:
            return
        agent.paused = reason if paused else None
        try:
            await self.link.queue_pause(agent.campaign.queue, agent.interface, paused, reason)
        except Exception as exc:
            log.warning("queue pause failed", extra={"agent": agent.name, "error": str(exc)})

    async def agent_login(self, name: str, campaign_name: str) -> None:
        row = await self._agent_row(name)
        camp = next((c for c in self.campaigns.values() if c.name == campaign_name), None)
        if camp is None:
            raise Conflict(f"campaign {campaign_name!r} is not running")
        agent = self.agents.get(row.interface)
        if agent is not None and agent.campaign is not None and agent.campaign is not camp:
            await self.agent_logout(name)
        agent = self.agents.setdefault(row.interface, AgentRuntime(row.id, row.name, row.interface))
        agent.campaign = camp
        agent.paused = None  # added unpaused below
        self.agent_tracker.set_wrap_up(row.interface, MAX_WRAPUP)
        async with self._db_lock, self.db.begin() as conn:
            await conn.execute(update(agents_t).where(agents_t.c.id == row.id).values(campaign_id=camp.id))
        await self.link.queue_add(camp.queue, row.interface, row.name)
        log.info("agent logged in", extra={"agent": name, "campaign": camp.name})

    async def agent_logout(self, name: str) -> None:
        row = await self._agent_row(name)
        agent = self.agents.get(row.interface)
        if agent is None or agent.campaign is None:
            raise Conflict(f"agent {name!r} is not logged in")
        await self.link.queue_remove(agent.campaign.queue, row.interface)
        log.info("agent logged out", extra={"agent": name})

    async def agent_pause(self, name: str, code: str) -> None:
        row = await self._agent_row(name)
        agent = self.agents.get(row.interface)
        if agent is None or agent.campaign is None:
            raise Conflict(f"agent {name!r} is not logged in")
        snap = self.agent_tracker.get(row.interface)
        if snap is not None and snap.state in (AgentState.WRAP_UP, AgentState.TALKING, AgentState.RESERVED):
            agent.pending_pause = code  # applied when the current call is disposed
            return
        await self._pause_member(agent, True, code)

    async def agent_ready(self, name: str) -> None:
        row = await self._agent_row(name)
        agent = self.agents.get(row.interface)
        if agent is None or agent.campaign is None:
            raise Conflict(f"agent {name!r} is not logged in")
        agent.pending_pause = None
        if agent.reserved is not None:
            return  # reserved for an owned callback: back in the queue when it ends
        snap = self.agent_tracker.get(row.interface)
        if snap is not None and snap.state is AgentState.WRAP_UP and agent.call_id is not None:
            raise Conflict(f"agent {name!r} must dispose call {agent.call_id} first")
        self._on_agent_updates(self.agent_tracker.end_wrap_up(row.interface, self.now()))
        await self._pause_member(agent, False, "")

    async def _agent_row(self, name: str):  # noqa: ANN202
        async with self.db.connect() as conn:
            row = (await conn.execute(select(agents_t).where(agents_t.c.name == name))).first()
        if row is None:
            raise NotFound(f"unknown agent {name!r}")
        return row

    def agent_by_name(self, name: str) -> AgentRuntime | None:
        return next((a for a in self.agents.values() if a.name == name), None)

    # ------------------------------------------------------------------ dispositions

    async def current_call(self, name: str) -> dict | None:
        """The agent's current (or last undisposed) call with the lead's data and the script."""
        agent = self.agent_by_name(name)
        if agent is None or agent.call_id is None:
            return None
        return await call_details(self.db, agent.call_id)

    async def dispose(
        self,
        call_id: int,
        *,
        code: str,
        reason: str | None = None,
        callback_at: datetime | None = None,
        order_form: dict | None = None,
        note: str | None = None,
        agent_name: str | None = None,
    ) -> dict:
        """Record the agent's disposition of a connected call and decide the lead's next step."""
        await self.flush()  # the call's own updates (agent, end) may still be queued
        async with self.db.connect() as conn:
            row = (await conn.execute(select(calls).where(calls.c.id == call_id))).first()
        if row is None:
            raise NotFound(f"unknown call {call_id}")
        if agent_name is not None and row.agent != agent_name:
            raise Forbidden(f"call {call_id} is not agent {agent_name!r}'s call")
        if row.disposition is not None:
            raise Conflict(f"call {call_id} is already disposed ({row.disposition})")
        if row.outcome not in (None, "CONNECTED") or row.connected_at is None and row.status != "connected":
            raise Conflict(f"call {call_id} did not reach an agent (outcome {row.outcome})")
        camp = self.campaigns.get(row.campaign_id) or await self._campaign_by_id(row.campaign_id)
        now = self.clock.now()
        errors = validate_disposition(camp.definition, code, reason=reason, callback_at=callback_at,
                                      fields=order_form or {}, now=now)
        if errors:
            raise Invalid("; ".join(errors))
        result = await dispose_call(
            self.db, self._db_lock, camp, row, code=code, reason=reason, callback_at=callback_at,
            order_form=order_form, note=note, now=now, rng=self.rng,
        )
        agent = next((a for a in self.agents.values() if a.call_id == call_id), None)
        if agent is not None:
            agent.call, agent.call_id = None, None
            pause = agent.pending_pause
            agent.pending_pause = None
            self._on_agent_updates(self.agent_tracker.end_wrap_up(agent.interface, self.now()))
            if pause:
                await self._pause_member(agent, True, pause)
            else:
                await self._pause_member(agent, False, "")
        return result

    # ------------------------------------------------------------------ persistence

    async def _save_stats(self) -> None:
        if not self.campaigns:
            return
        async with self._db_lock, self.db.begin() as conn:
            for camp in self.campaigns.values():
                data = camp.stats.to_dict()
                n = (await conn.execute(
                    update(pacing_t).where(pacing_t.c.campaign_id == camp.id).values(data=data, updated_at=self.clock.now())
                )).rowcount
                if not n:
                    await conn.execute(insert(pacing_t).values(campaign_id=camp.id, data=data, updated_at=self.clock.now()))

    def status(self) -> dict:
        """A summary for dashboards and ``/api/status``."""
        now = self.now()
        out = {"node": self.node, "link_up": self.link_up, "counters": dict(self.counters), "campaigns": []}
        for camp in self.campaigns.values():
            snap = self.snapshot(camp, now)
            day = snap.day
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
                "abandoned_24h": day.abandoned,
                "connected_24h": day.connected,
                "abandon_rate_24h": round(day.rate, 4),
                "idle_reason": camp.idle_reason,
                "stats": camp.stats.summary(),
            })
        return out


def _make_policy(definition: CampaignDefinition) -> pacing.Policy:
    dial = definition.dial
    if dial.mode == "ratio":
        return pacing.make_policy("ratio", ratio=dial.ratio)
    if dial.mode == "predictive":
        return pacing.make_policy("predictive")
    return pacing.make_policy("progressive")


_PROGRESSIVE = pacing.Progressive()


def _abandon_limit_reached(snap: pacing.Snapshot) -> bool:
    """True when one more abandoned call would put the rolling 24 h abandon rate over target."""
    day = snap.day
    return day.abandoned > 0 and (day.abandoned + 1) / (day.answered + 1) > snap.target


def _stored_state(state: AgentState, code: str | None) -> str:
    """The agent state as stored (``dialer agents ls``): reserved while an owned callback is
    being placed to them (paused in the queue with the code ``callback``)."""
    if state is AgentState.PAUSED and code == CALLBACK_PAUSE:
        return "reserved"
    return _STORED_AGENT[state]


def _in_wrapup(state: AgentState, pause_code: str) -> bool:
    return state is AgentState.WRAP_UP or (state is AgentState.PAUSED and pause_code == WRAPUP_PAUSE)


def field_key(name: str) -> str:
    """A column name as a script placeholder: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _ts(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# ---------------------------------------------------------------------- database jobs


def _update_call_status(call_id: int, status: str, rec: CallRecord, dt: Callable) -> Callable:
    async def job(conn) -> None:  # noqa: ANN001
        await conn.execute(
            update(calls).where(calls.c.id == call_id, calls.c.status != "ended").values(
                status=status, answered_at=dt(rec.answered_at), connected_at=dt(rec.connected_at),
                agent=rec.agent or None,
            )
        )

    return job


def _end_call(call_id: int, values: dict, decide: tuple | None) -> Callable:
    async def job(conn) -> None:  # noqa: ANN001
        await conn.execute(update(calls).where(calls.c.id == call_id).values(**values))
        if decide is not None:
            engine, camp, lead_id, result = decide
            await apply_rules(conn, camp, lead_id, result, call_id, engine.clock.now(), engine.rng,
                              last_outcome=values["outcome"])

    return job


def _log_state(agent_id: int, campaign_id: int, state: str, code: str, start, end) -> Callable:  # noqa: ANN001
    async def job(conn) -> None:  # noqa: ANN001
        if end > start:
            await conn.execute(insert(agent_log_t).values(
                agent_id=agent_id, campaign_id=campaign_id, state=state, pause_code=code or None,
                started_at=start, ended_at=end,
            ))

    return job


def _set_agent_state(agent_id: int, state: str, code: str | None, since: datetime | None) -> Callable:
    async def job(conn) -> None:  # noqa: ANN001
        await conn.execute(update(agents_t).where(agents_t.c.id == agent_id).values(
            state=state, pause_code=code, state_since=since))

    return job


async def _give_back(conn, claimed: Iterable[ClaimedLead]) -> None:  # noqa: ANN001
    """Undo the claim of leads whose call is not placed (an owned callback whose owner cannot
    take it now): no Originate was sent, so the ``calls`` row goes and the lead is a due
    callback again, its attempts and ``last_call_at`` (the latest call left) as before."""
    claimed = list(claimed)
    await conn.execute(delete(calls).where(calls.c.id.in_([c.call_id for c in claimed]),
                                           calls.c.status == "placing"))
    last_call = select(func.max(calls.c.placed_at)).where(calls.c.lead_id == leads.c.id).scalar_subquery()
    await conn.execute(update(leads).where(leads.c.id.in_([c.lead_id for c in claimed]),
                                           leads.c.status == "dialing")
                       .values(status="callback", attempts=leads.c.attempts - 1, last_call_at=last_call))


async def lead_history(conn, lead_id: int, phone: str, exclude_call: int) -> LeadHistory:  # noqa: ANN001
    rows = await conn.execute(
        select(calls.c.placed_at, calls.c.outcome, calls.c.refusal_reason, calls.c.lead_id)
        .where(calls.c.phone == phone, calls.c.id != exclude_call, calls.c.outcome.is_not(None))
    )
    return LeadHistory.from_calls(
        PastCall(at=_aware(r.placed_at), outcome=_RULE_OUTCOME.get(r.outcome, r.outcome),
                 refusal=r.refusal_reason is not None, same_lead=r.lead_id == lead_id)
        for r in rows
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def apply_rules(
    conn, camp: CampaignRuntime, lead_id: int, result: CallResult, call_id: int, now: datetime,  # noqa: ANN001
    rng: random.Random, *, last_outcome: str,
) -> NextAction:
    """Evaluate the campaign's rules for a finished call and move the lead on accordingly."""
    lead = (await conn.execute(select(leads).where(leads.c.id == lead_id))).first()
    history = await lead_history(conn, lead_id, lead.phone, call_id)
    fields = {"first_name": lead.first_name, "last_name": lead.last_name, "state": lead.state,
              "country": lead.country, "postal_code": lead.postal_code, **(lead.custom or {})}
    action = evaluate(camp.definition, history, result, now=now, rng=rng, lead=fields,
                      zones=lead.timezones.split(), region=region_code(lead.country, lead.state))
    values: dict[str, Any] = {"last_outcome": result.disposition or last_outcome, "last_call_at": now,
                              "callback_owner": None, "callback_exclusive_until": None}
    if isinstance(action, Retry):
        values.update(status="retry", next_call_at=action.at)
        summary = f"retry at {action.at.isoformat()} ({action.rule})"
    elif isinstance(action, Callback):
        values.update(status="callback", next_call_at=action.at, callback_owner=action.owner,
                      callback_exclusive_until=action.exclusive_until)
        summary = f"callback at {action.at.isoformat()}" + (f" for {action.owner}" if action.owner else "")
    elif isinstance(action, Finish):
        values.update(status="done", next_call_at=None)
        summary = f"finish: {action.reason}"
    elif isinstance(action, AddToDnc):
        values.update(status="dnc", next_call_at=None)
        scope = camp.id if getattr(action, "scope", "global") == "campaign" else 0
        exists_ = (await conn.execute(select(func.count()).select_from(dnc).where(
            dnc.c.phone == lead.phone, dnc.c.scope == scope))).scalar()
        if not exists_:
            await conn.execute(insert(dnc).values(phone=lead.phone, scope=scope, campaign_id=scope or None,
                                                  source=f"campaign {camp.name}", reason=action.reason))
        summary = f"dnc ({'campaign' if scope else 'global'}): {action.reason}"
    else:
        assert isinstance(action, MoveToCampaign)
        target_list = await _move_list(conn, action.campaign, camp.name)
        if target_list is None:
            values.update(status="done", next_call_at=None)
            summary = f"finish: campaign {action.campaign!r} to move to does not exist"
        else:
            values.update(status="retry", list_id=target_list, attempts=0, next_call_at=action.not_before)
            summary = f"moved to campaign {action.campaign} (from {action.not_before.isoformat()})"
    await conn.execute(update(leads).where(leads.c.id == lead_id).values(**values))
    await conn.execute(update(calls).where(calls.c.id == call_id).values(next_action=summary[:200]))
    return action


async def _move_list(conn, campaign: str, source: str) -> int | None:  # noqa: ANN001
    """The list in ``campaign`` that receives leads moved from ``source`` (created on first use)."""
    target = (await conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.name == campaign))).scalar()
    if target is None:
        return None
    name = f"{campaign}:from:{source}"
    list_id = (await conn.execute(select(lists_.c.id).where(lists_.c.name == name))).scalar()
    if list_id is None:
        list_id = (await conn.execute(insert(lists_).values(
            name=name, campaign_id=target, active=True, priority=0, source_file=None).returning(lists_.c.id))).scalar()
    return list_id


async def dispose_call(
    db: AsyncEngine, lock: asyncio.Lock, camp: CampaignRuntime, row, *, code: str, reason: str | None,  # noqa: ANN001
    callback_at: datetime | None, order_form: dict | None, note: str | None, now: datetime,
    rng: random.Random,
) -> dict:
    """Write a validated disposition and apply the campaign's rules to the lead."""
    result = CallResult("CONNECTED", attempt=row.attempt, placed_at=_aware(row.placed_at), disposition=code,
                        reason=reason, callback_at=callback_at, agent=row.agent)
    async with lock, db.begin() as conn:
        await conn.execute(update(calls).where(calls.c.id == row.id).values(
            disposition=code, refusal_reason=reason, callback_at=callback_at, order_form=order_form,
            note=note, disposed_at=now))
        action = await apply_rules(conn, camp, row.lead_id, result, row.id, now, rng, last_outcome="CONNECTED")
    out = {"call_id": row.id, "disposition": code, "next": type(action).__name__}
    if isinstance(action, Retry | Callback):
        out["next_call_at"] = action.at.isoformat()
        notes = getattr(action, "notes", ())
        if notes:
            out["notes"] = list(notes)
    return out


async def call_details(db: AsyncEngine, call_id: int) -> dict | None:
    """A call with its lead's data and the campaign's rendered script (the agent's screen pop)."""
    async with db.connect() as conn:
        row = (await conn.execute(
            select(calls, leads.c.first_name, leads.c.last_name, leads.c.state, leads.c.country,
                   leads.c.postal_code, leads.c.external_id, leads.c.custom, leads.c.timezones,
                   campaigns_t.c.name.label("campaign_name"), campaigns_t.c.definition)
            .select_from(calls.join(leads, leads.c.id == calls.c.lead_id).join(
                campaigns_t, campaigns_t.c.id == calls.c.campaign_id))
            .where(calls.c.id == call_id)
        )).first()
        # A callback the customer asked for was booked by the lead's previous call.
        booked = None if row is None else (await conn.execute(
            select(calls.c.callback_at, calls.c.note, calls.c.agent)
            .where(calls.c.lead_id == row.lead_id, calls.c.id < row.id)
            .order_by(calls.c.id.desc()).limit(1)
        )).first()
    if row is None:
        return None
    callback = booked is not None and booked.callback_at is not None
    definition = definition_from_data(row.definition, f"campaign {row.campaign_name}")
    custom = row.custom or {}
    fields = {"first_name": row.first_name, "last_name": row.last_name, "phone": row.phone,
              "state": row.state, "country": row.country, "postal_code": row.postal_code,
              "external_id": row.external_id, **custom,
              # custom columns also by a placeholder-friendly name: "Current Plan" -> current_plan
              **{field_key(k): v for k, v in custom.items()}}
    return {
        "call_id": row.id,
        "campaign": row.campaign_name,
        "status": row.status,
        "outcome": row.outcome,
        "lead": {"id": row.lead_id, **fields, "timezones": row.timezones.split()},
        "script": render_script(definition.script, fields),
        "dispositions": [
            {"code": d.code, "label": d.label, "flags": sorted(d.flags)} for d in definition.dispositions
        ],
        "refusal_reasons": [{"code": r.code, "label": r.label} for r in definition.refusal_reasons],
        "order_form": [{"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                        "choices": list(f.choices)} for f in definition.order_form],
        "connected_at": row.connected_at.isoformat() if row.connected_at else None,
        "disposition": row.disposition,
        # A callback: when the customer asked to be called, the note and who booked it.
        "callback": callback,
        "callback_at": _aware(booked.callback_at).isoformat() if callback else None,
        "callback_note": booked.note if callback else None,
        "callback_booked_by": booked.agent if callback else None,
    }

