"""The engine: the asyncio shell around the pure dialling session (:class:`~dialer.session.Session`).

It owns no decisions.  It runs the loops (pacing, timers, the database writer), feeds the
session its inputs — AMI events, ticks, leads claimed, Originate results, dispositions, agents'
requests — with the clock's time (float seconds, ``clock.now().timestamp()``), and executes the
commands it returns: AMI actions through the :class:`PbxLink`, database writes through
:mod:`dialer.storage` (in order, batched), events to the listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from campaigns.definition import definition_from_data
from dialer.ami.events import AmiEvent, CoreShowChannel
from dialer.claim import ClaimedLead, claim_leads, revoked_among
from dialer.clock import Clock, wait_for
from dialer.errors import DialerError, PbxError
from dialer.metrics import DaemonMetrics
from dialer.pbx import OriginateRefused, PbxLink, perform, queue_members
from dialer.services.diagnostics import top_reason
from dialer.session import (
    MAX_WRAPUP,
    CampaignRuntime,
    ClaimPlan,
    Command,
    DispositionError,
    Session,
    commands,
    ts,
)
from dialer.storage import agents as agents_db
from dialer.storage import calls as calls_db
from dialer.storage import campaigns as campaigns_db
from dialer.storage import dispositions
from dialer.storage import leads as leads_db
from dialer.storage import ledger as ledger_db
from dialer.storage.details import call_details
from dialer.storage.writer import Writer
from dialer.vocabulary import CampaignStatus, Outcome
from lists.models import campaign_scopes, consents

__all__ = ["DispositionError", "Engine", "OriginateRefused", "PbxLink"]

log = logging.getLogger("dialer.engine")

#: How far back the abandon ledger is read on start (the longest rolling window, 30 days).
LEDGER_DAYS = 30
PACING_GRACE = 10.0  # seconds a shutdown waits for the pacing pass in progress


class Engine:
    """Dials every active campaign.  ``start()``, then ``run()`` until ``stop()``."""

    def __init__(self, db: AsyncEngine, link: PbxLink, clock: Clock, *, node: str = "node1",
                 pacing_interval: float = 1.0, drain_timeout: float = 60.0, context: str = "dialer-connect",
                 seed: int | None = None, ledger_interval: float = 5.0) -> None:
        self.db = db
        self.ledger_interval = ledger_interval  # clock seconds between reads of the peers' abandons
        self._peers_at = float("-inf")
        self.link = link
        self.clock = clock
        self.node = node
        self.pacing_interval = pacing_interval
        self.drain_timeout = drain_timeout
        self.rng = random.Random(seed)
        self.session = Session(node=node, context=context)
        self._db_lock = asyncio.Lock()
        self.metrics = DaemonMetrics(node)  # GET /metrics (dialer/api/health.py)
        self.writer = Writer(db, self._db_lock, self.rng, clock, on_batch=self.metrics.db_written)
        self.metrics.watch(self)
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()  # the stop in progress has ended (or was cancelled)
        self._pace_now = asyncio.Event()  # the PBX's state just became known: pace without waiting
        self._latest_import: int | None = None  # the newest lead import seen (reload_campaigns)
        self._tasks: list[asyncio.Task] = []
        self._place_tasks: set[asyncio.Task] = set()
        self.listeners: list[Any] = []  # callables (kind, data): dashboards, demo agents

    # the session's state, as the rest of the code reads it
    campaigns = property(lambda self: self.session.campaigns)
    agents = property(lambda self: self.session.agents)
    live = property(lambda self: self.session.live)
    counters = property(lambda self: self.session.counters)
    agent_tracker = property(lambda self: self.session.agent_tracker)
    link_up = property(lambda self: self.session.link_up)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def agent_by_name(self, name: str) -> Any:
        return self.session.agent_by_name(name)

    def status(self) -> dict:
        """A summary for dashboards and ``/api/status``."""
        return self.session.status(self.now())

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Rebuild from the database and the PBX: active campaigns; calls this node left in
        flight, adopted with the facts stored (reconciled in the background: no calls placed
        until the PBX's channels are known); this node's agents, as the PBX's queue members say
        (QueueStatus), with the calls they still owe a disposition for."""
        async with self.db.connect() as conn:
            for row in await campaigns_db.rows(conn, active=True):
                await self._load_campaign(conn, row)
            in_flight = await calls_db.in_flight(conn, self.node)
            agent_rows = await agents_db.logged_in(conn, self.node)
            undisposed = await calls_db.undisposed(conn, self.node)
        for row in in_flight:
            camp = self.campaigns.get(row.campaign_id) or await self._campaign_by_id(row.campaign_id)
            if camp is not None:
                self.session.adopt_call(camp, row.id, row.channel_id, row.lead_id, row.phone, row.attempt,
                                        row.placed_at.timestamp(), answered=ts(row.answered_at),
                                        connected=ts(row.connected_at), agent=row.agent)
        if in_flight:
            log.info("adopted calls left in flight by a previous run", extra={"calls": len(in_flight)})
            self.session.reconcile_pending()
            self.link.reconcile_soon()
        members = await queue_members(self.link, {c.queue for c in self.campaigns.values()})
        for row in agent_rows:
            camp = self.campaigns.get(row.campaign_id)
            member = members.get((camp.queue, row.interface)) if camp is not None else None
            owed = undisposed.pop(row.name, [])
            await self._execute(self.session.restore_agent(row, owed, member, self.now()), report=False)
            undisposed.update({} if row.interface in self.agents else {row.name: owed})
        self.session.owe(undisposed, self.now())  # agents gone: the wrap-up limit still applies
        log.info("engine started", extra={"node": self.node, "agents": len(self.agents), "calls": len(in_flight)})

    async def _campaign_by_id(self, campaign_id: int) -> CampaignRuntime | None:
        """A campaign that is not being dialled (paused, stopped) but has a call to finish."""
        async with self.db.connect() as conn:
            row = await campaigns_db.by_id(conn, campaign_id)
            return await self._load_campaign(conn, row, dial=False) if row else None

    async def _load_campaign(self, conn: AsyncConnection, row: Any, *, dial: bool = True) -> CampaignRuntime:
        definition = definition_from_data(row.definition, f"campaign {row.name}")
        camp = CampaignRuntime.create(row.id, row.name, definition, await campaigns_db.pacing_data(conn, row.id))
        if dial:
            # Rolling abandon counts survive restarts: the live answers of the last 30 days.
            since = self.clock.now() - timedelta(days=LEDGER_DAYS)
            self.session.add_campaign(camp, await calls_db.live_answers(conn, row.id, since, self.node, camp.amd))
        return camp

    async def reload_campaigns(self) -> None:
        """Pick up campaigns started, paused or changed since (``dialer campaigns start``)."""
        async with self.db.connect() as conn:
            latest = await campaigns_db.latest_import(conn)
            if latest != self._latest_import:  # new leads: claim them now, not at the zone refresh
                self._latest_import = latest
                self.session.leads_changed()
            for row in await campaigns_db.rows(conn, active=False):
                camp = self.campaigns.get(row.id)
                active = row.status == CampaignStatus.ACTIVE
                if active and camp is None:
                    await self._load_campaign(conn, row)
                elif active:
                    definition = definition_from_data(row.definition, f"campaign {row.name}")
                    if definition != camp.definition:
                        camp.redefine(definition)
                elif camp is not None:
                    self.session.drop_campaign(row.id)

    async def run(self) -> None:
        """Pacing, timers and database writes, until :meth:`stop`."""
        self._tasks = [
            asyncio.create_task(self._pacing_loop(), name="pacing"),
            self.writer.start(),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self.metrics.watch_loop(), name="loop-lag"),
        ]
        await self._stopping.wait()

    async def stop(self) -> None:
        """Graceful shutdown: stop placing calls, wait (bounded) for calls in flight, record all.
        A second call waits for the stop in progress (whoever asked first, the link and the
        database stay open until it has drained)."""
        if self._stopping.is_set():
            await self._stopped.wait()
            return
        log.info("stopping: no new calls", extra={"in_flight": len(self.live)})
        self._stopping.set()
        try:
            await self._stop()
        finally:
            self._stopped.set()

    async def _stop(self) -> None:
        await self._end_pacing()
        if self._place_tasks:
            await asyncio.gather(*self._place_tasks, return_exceptions=True)
        deadline = self.clock.monotonic() + self.drain_timeout
        while self.live and self.clock.monotonic() < deadline:
            await self.clock.sleep(min(0.5, self.drain_timeout))
            self._run(self.session.tick(self.now()))
        if self.live:
            log.warning("calls still in flight at shutdown; the next start reconciles them",
                        extra={"calls": len(self.live)})
        await self._save_stats()
        await self.writer.close()  # the writer ends once everything queued is written
        for task in self._tasks:
            if task.get_name() != "writer":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("stopped")

    async def _end_pacing(self) -> None:
        """Let the pacing pass in progress finish (its claimed leads are given back, not dialled):
        cancelled mid-pass, a claim would stay ``placing`` with its lead ``dialing`` until the
        next start.  Bounded: a pass stuck on the database is cancelled, as a crash would leave it."""
        self._pace_now.set()
        for task in self._tasks:
            if task.get_name() == "pacing":
                try:
                    await wait_for(self.clock, asyncio.shield(task), PACING_GRACE)
                except TimeoutError:
                    task.cancel()
                except Exception:
                    log.exception("pacing pass failed at shutdown")

    # ------------------------------------------------------------------ loops

    async def _pacing_loop(self) -> None:
        while not self._stopping.is_set():
            started = self.clock.monotonic()
            try:
                await self.pace_once()
            except Exception:
                log.exception("pacing pass failed")
            rest = max(0.0, self.pacing_interval - (self.clock.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await wait_for(self.clock, self._pace_now.wait(), rest)
            self._pace_now.clear()

    async def _housekeeping(self) -> None:
        last_reload = last_save = self.clock.monotonic()
        while not self._stopping.is_set():
            await self.clock.sleep(0.5)
            self._run(self.session.tick(self.now()))
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
                await self.expire_orphans()

    async def flush(self) -> None:
        """Wait until every queued database write is done (tests, reports)."""
        await self.writer.flush()

    # ------------------------------------------------------------------ executing commands

    def _run(self, cmds: Iterable[Command]) -> None:
        """Execute commands without waiting: writes queued, PBX actions and Originates in tasks."""
        for cmd in cmds:
            self.metrics.observe(cmd)
            if isinstance(cmd, commands.Emit):
                self._emit(cmd.kind, dict(cmd.data))
            elif isinstance(cmd, commands.Originate):
                self._spawn(self._originate(cmd))
            elif isinstance(cmd, commands.PbxAction | commands.Diagnose):
                self._spawn(self._act(cmd, report=False))
            elif isinstance(cmd, commands.ExpireDisposition | commands.SetAgentCampaign):
                self._spawn(self._write_now(cmd))
            else:
                self.writer.put(cmd)

    async def _execute(self, cmds: Iterable[Command], *, report: bool = True) -> None:
        """Execute commands in order, waiting for each PBX action (a request's own actions: the
        caller is told of a failure, with the PBX's reason); the agent's campaign is written at once."""
        for cmd in cmds:
            if isinstance(cmd, commands.PbxAction | commands.Diagnose):
                await self._act(cmd, report=report)
            elif isinstance(cmd, commands.SetAgentCampaign):
                await self._write_now(cmd)
            else:
                self._run([cmd])

    async def _act(self, cmd: commands.PbxAction | commands.Diagnose, *, report: bool) -> None:
        """One PBX action; a failure raises (``report``: a request's own action) or is logged."""
        try:
            await (self._diagnose(cmd) if isinstance(cmd, commands.Diagnose) else perform(self.link, cmd))
        except Exception as exc:
            if report and (not isinstance(cmd, commands.QueueAdd) or cmd.on_error == "raise"):
                raise exc if isinstance(exc, DialerError) else PbxError(f"PBX action failed: {exc}") from exc
            log.warning("PBX action failed", extra={"action": type(cmd).__name__, "error": str(exc)})

    async def _write_now(self, cmd: commands.ExpireDisposition | commands.SetAgentCampaign) -> None:
        """A write the engine does itself, in its own transaction after the queued ones."""
        await self.flush()
        async with self._db_lock, self.db.begin() as conn:
            if isinstance(cmd, commands.SetAgentCampaign):
                await conn.execute(agents_db.campaign_stmt(cmd.agent_id, cmd.campaign_id, cmd.node, exact=cmd.exact))
            else:
                await calls_db.expire_disposition(conn, cmd.call_id, cmd.at, self.rng, self._campaign_ref)

    async def expire_orphans(self, node_timeout: float = 90.0, wrapup: float = MAX_WRAPUP) -> int:
        """Apply the wrap-up limit's rule to the undisposed calls of nodes that are gone (their
        leads would wait for a disposition no one will give); how many."""
        try:
            at = self.clock.now()
            async with self.db.connect() as conn:
                ids = (await conn.execute(calls_db.orphaned_stmt(
                    self.node, at, timedelta(seconds=node_timeout), timedelta(seconds=wrapup)))).scalars().all()
            for call_id in ids:
                await self._write_now(commands.ExpireDisposition(call_id, "", at))
        except Exception:
            log.exception("expiring a gone node's dispositions failed")
            return 0
        return len(ids)

    def _campaign_ref(self, campaign_id: int) -> Any:
        return self.campaigns[campaign_id].ref if campaign_id in self.campaigns else None

    async def _originate(self, cmd: commands.Originate) -> None:
        try:
            await self.link.originate(cmd.attempt_id, channel=cmd.channel, context=cmd.context, exten=cmd.exten,
                                      priority=cmd.priority, timeout=cmd.timeout, caller_id=cmd.caller_id,
                                      variables=dict(cmd.variables))
        except OriginateRefused as exc:
            self._run(self.session.originate_refused(cmd.attempt_id, self.now(), str(exc)))
        except Exception as exc:  # timed out, or the link went down under us: reconcile will tell
            log.warning("originate not confirmed", extra={"call": cmd.call_id, "error": str(exc)})
            self._run(self.session.originate_unknown(cmd.attempt_id, self.now()))
        else:
            self._run(self.session.originate_accepted(cmd.attempt_id, self.now()))

    async def _diagnose(self, cmd: commands.Diagnose) -> None:
        reason = cmd.reason
        try:
            async with self.db.connect() as conn:
                reason += f" — top reason: {await conn.run_sync(top_reason, cmd.campaign_id, self.clock.now())}"
        except Exception:  # a diagnosis must never stop the dialling
            log.exception("diagnosing an idle campaign failed")
        log.warning(reason, extra={"campaign": cmd.campaign, "agents_ready": cmd.agents_ready})
        self.session.idle_diagnosed(cmd.campaign_id, reason)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._place_tasks.add(task)
        task.add_done_callback(self._place_tasks.discard)

    def _emit(self, kind: str, data: dict) -> None:
        for listener in self.listeners:
            try:
                listener(kind, data)
            except Exception:
                log.exception("listener failed")

    # ------------------------------------------------------------------ pacing

    async def pace_once(self) -> None:
        """One pacing pass over every active campaign."""
        now = self.now()
        if now - self._peers_at >= self.ledger_interval:
            await self.sync_peers(now)
        for camp_id in list(self.campaigns) if self.writer.healthy else ():  # none while the database is away
            plan = self.session.plan_claim(camp_id, now)
            if plan is not None:
                name, started = self.campaigns[camp_id].name, time.perf_counter()
                claimed = await self._claim(plan, now)
                if self._stopping.is_set():  # shutting down: nothing new is dialled
                    if claimed:
                        async with self._db_lock, self.db.begin() as conn:
                            await calls_db.give_back(conn, claimed)
                    return
                self.metrics.claimed(name, plan.n, len(claimed), time.perf_counter() - started)
                self._run(self.session.leads_claimed(plan, claimed, now))

    async def sync_peers(self, now: float) -> None:
        """Read the other nodes' abandon counts (the campaign-wide ledger, docs/scaling.md); a
        failed read puts the campaigns on progressive, then stops them (dialer.pacing.shared)."""
        self._peers_at = now
        try:
            async with self.db.connect() as conn:
                counts = await ledger_db.peer_counts(conn, self.node, self.clock.now())
        except Exception as exc:
            if fell := self.session.peers_failed(now):
                log.warning("campaign abandon ledger unreadable: progressive only, then no calls",
                            extra={"campaigns": fell, "error": type(exc).__name__})
            return
        if back := self.session.peers_read(counts, now):
            log.info("campaign abandon ledger readable again", extra={"campaigns": back})

    async def _claim(self, plan: ClaimPlan, now: float) -> list[ClaimedLead]:
        """Claim the plan's leads (a ``calls`` row each); owned callbacks whose owner cannot take
        them now go back in the same transaction."""
        camp = self.campaigns[plan.campaign_id]
        at = self.clock.now()
        if self.session.zones_stale(camp.id, now):
            async with self.db.connect() as conn:
                self.session.zones_read(camp.id, await leads_db.zone_keys(conn, camp.id), now)
        open_sets = self.session.open_sets(camp.id, at)
        dial = camp.definition.dial
        async with self._db_lock, self.db.begin() as conn:
            claimed = await claim_leads(conn, campaign_id=camp.id, n=plan.n, now=at, node=self.node,
                                        ring_timeout=dial.ring_timeout, open_sets=open_sets,
                                        new_first=dial.new_first, ready_owners=self.session.ready_owners(camp))
            _, back = self.session.split_owned(camp.id, claimed)
            if back:
                await calls_db.give_back(conn, back)
        claimed = [c for c in claimed if c not in back]
        # A revocation recorded while the claim ran holds the number: checked again before the
        # Originate (the claim's own check saw the ledger as its statement began).
        scopes = campaign_scopes(camp.name, camp.definition.compliance.seller)
        async with self.db.connect() as conn:
            revoked = await revoked_among(conn, [c.phone for c in claimed], scopes)
        if revoked:
            held = [c for c in claimed if c.phone in revoked]
            log.warning("consent revoked since the claim: not dialled", extra={
                "campaign": camp.name, "calls": [c.call_id for c in held]})
            async with self._db_lock, self.db.begin() as conn:
                await calls_db.give_back(conn, held)
            claimed = [c for c in claimed if c.phone not in revoked]
        return claimed

    # ------------------------------------------------------------------ PBX events

    def handle_event(self, event: AmiEvent | None) -> None:
        """Feed one typed AMI event (called by the AMI client for every event)."""
        self._run(self.session.event(event, self.now()))

    def link_lost(self) -> None:
        """The AMI link dropped: calls in flight are unknown until reconciled."""
        self._run(self.session.link_lost(self.now()))

    def pbx_stopping(self, stopping: bool, reason: str = "") -> None:
        """The PBX says it is shutting down (no Originates until it is back), or no longer."""
        if stopping:
            self._run(self.session.pbx_shutting_down(self.now(), reason or "Asterisk is shutting down"))
        else:
            self.session.pbx_resumed()

    def reconciled(self, channels: Iterable[CoreShowChannel]) -> None:
        """Logged in again and ``CoreShowChannels`` taken: settle the calls that were in flight."""
        self._spawn(self._reconcile(list(channels)))

    async def _reconcile(self, channels: list[CoreShowChannel]) -> None:
        """Calls that ended while no one watched: first what the dialplan noted of them (the
        agent they reached), then settled from the channels; the notes are cleared after."""
        try:
            vanished = self.session.vanished(channels)
            if vanished:
                noted = await self.link.call_notes(vanished)
                if noted:
                    log.info("calls reached an agent while no one watched", extra={"calls": sorted(noted)})
                await self._execute(self.session.noted_while_blind(noted, self.now()), report=False)
            self._run(self.session.reconciled(channels, self.now()))
        except Exception:
            log.exception("settling the calls after a reconnect failed")
            raise
        self._pace_now.set()
        await self.link.forget_notes()

    # ------------------------------------------------------------------ agents

    async def _agent_request(self, name: str, request: Any, *args: Any) -> None:
        """The session's ``request(agent, *args)``, its commands awaited (NotFound: no such agent)."""
        async with self.db.connect() as conn:
            row = await agents_db.by_name(conn, name)
        await self._execute(request(row, *args))

    async def agent_login(self, name: str, campaign_name: str) -> None:
        """Log the agent in; a login the PBX refuses (or does not answer) is undone, in memory
        and in the agent's row, and raised (502 with the PBX's reason)."""
        async with self.db.connect() as conn:
            row = await agents_db.by_name(conn, name)
        before = self.session.before_login(row)
        cmds = self.session.login(row, campaign_name, self.now())
        try:
            await self._execute(cmds)
        except Exception:
            await self._execute(self.session.login_refused(row, before, self.now()), report=False)
            raise
        log.info("agent logged in", extra={"agent": name, "campaign": campaign_name})

    async def agent_logout(self, name: str) -> None:
        await self._agent_request(name, self.session.logout)
        log.info("agent logged out", extra={"agent": name})

    async def agent_pause(self, name: str, code: str) -> None:
        await self._agent_request(name, self.session.pause, code)

    async def agent_ready(self, name: str) -> None:
        await self._agent_request(name, self.session.ready, self.now())

    async def current_call(self, name: str) -> dict | None:
        """The agent's current (or last undisposed) call with the lead's data and the script."""
        agent = self.agent_by_name(name)
        if agent is None or agent.call_id is None:
            return None
        return await call_details(self.db, agent.call_id)

    async def revoke_consent(self, phone: str, *, scope: str = "*", channel: str = "api",
                             evidence: str | None = None) -> dict:
        """Record a revocation of consent for ``phone`` (E.164) now: the next claim of every
        campaign reading ``scope`` holds the number, and so does the check before an Originate."""
        at = self.clock.now()
        async with self._db_lock, self.db.begin() as conn:
            entry = (await conn.execute(insert(consents).values(
                phone=phone, kind="revoked", scope=scope, at=at, channel=channel, evidence=evidence,
                source="api").returning(consents.c.id))).scalar_one()
        log.info("consent revoked", extra={"entry": entry, "scope": scope, "channel": channel})
        return {"id": entry, "number": phone, "scope": scope, "at": at.isoformat(), "channel": channel}

    async def dispose(self, call_id: int, *, code: str, reason: str | None = None,
                      callback_at: datetime | None = None, order_form: dict | None = None, note: str | None = None,
                      agent_name: str | None = None, owned: bool = True) -> dict:
        """Record the agent's disposition of a connected call and decide the lead's next step."""
        await self.flush()  # the call's own updates (agent, end) may still be queued
        result = await dispositions.dispose(
            self.db, call_id, code=code, reason=reason, callback_at=callback_at, order_form=order_form, note=note,
            agent_name=agent_name, now=self.clock.now(), rng=self.rng, lock=self._db_lock,
            campaign=self._campaign_ref, owned=owned)
        machine = result.get("outcome") == Outcome.MACHINE
        await self._execute(self.session.disposed(call_id, self.now(), machine))
        return result

    async def _save_stats(self) -> None:
        stats = {camp.id: camp.stats.to_dict() for camp in self.campaigns.values()}
        await self.writer.try_now(lambda conn: campaigns_db.save_pacing(conn, stats, self.clock.now()), "pacing statistics")


