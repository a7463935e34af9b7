"""The daemon's Prometheus metrics (``GET /metrics``, served by :mod:`dialer.api.health`).

Two kinds, both labelled with the daemon's ``node``:

- **counters** fed by the engine as things happen: the session's commands (:meth:`observe`:
  calls placed, answered, connected, abandoned and ended by outcome, per campaign), pacing
  decisions and claims (:meth:`claimed`), database write batches (:meth:`db_written`), the
  event loop's lag (:meth:`watch_loop`);
- **gauges read at scrape time** from the engine's state (:class:`EngineCollector`): lines in
  use, agents by state, the abandon rate over the rolling hour, day and 30 days, the AMI link,
  the database write queue.

Each daemon has its own registry (several engines in one test process never share counters).
A call is counted answered and connected once, when it happens; a connected or answered call
the engine only learns of at its end (adopted after a restart, reconciled after a blind spell)
is counted then, so at any quiet moment the counters equal the report's figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dialer.pacing import AgentState
from dialer.session.commands import Emit, EndCall, Originate, WriteCallStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNKNOWN = "unknown"  # the campaign of a call whose campaign was never seen (label value)
LAG_INTERVAL = 0.5  # seconds between event-loop lag probes

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DaemonMetrics:
    """The metrics of one daemon (one engine); :meth:`render` is the ``/metrics`` body."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.registry = CollectorRegistry(auto_describe=True)
        r, by_campaign = self.registry, ["campaign", "node"]
        self.placed = Counter("dialer_calls_placed", "Calls placed (an Originate sent).", by_campaign, registry=r)
        self.answered = Counter("dialer_calls_answered", "Calls answered (by a person or a machine).",
                                by_campaign, registry=r)
        self.connected = Counter("dialer_calls_connected", "Calls connected to an agent.", by_campaign, registry=r)
        self.abandoned = Counter("dialer_calls_abandoned", "Calls answered by a person, no agent within 2 s.",
                                 by_campaign, registry=r)
        self.ended = Counter("dialer_calls_ended", "Calls ended, by outcome.", [*by_campaign, "outcome"], registry=r)
        self.decisions = Counter("dialer_pacing_decisions", "Pacing decisions that asked for calls.",
                                 by_campaign, registry=r)
        self.asked = Counter("dialer_pacing_calls_asked", "Calls the pacing decisions asked for.",
                             by_campaign, registry=r)
        self.claimed_leads = Counter("dialer_pacing_leads_claimed", "Leads claimed for those calls.",
                                     by_campaign, registry=r)
        self.claim_seconds = Histogram("dialer_claim_seconds", "Time to claim a batch of leads (one transaction).",
                                       ["node"], buckets=_LATENCY_BUCKETS, registry=r)
        self.write_seconds = Histogram("dialer_db_write_seconds", "Time to write one batch of queued writes.",
                                       ["node"], buckets=_LATENCY_BUCKETS, registry=r)
        self.writes = Counter("dialer_db_writes", "Queued database writes made.", ["node"], registry=r)
        self.loop_lag = Gauge("dialer_event_loop_lag_seconds", "How late the event loop ran the last probe.",
                              ["node"], registry=r)
        self.loop_lag_hist = Histogram("dialer_event_loop_lag_probe_seconds", "Event-loop lag per probe.", ["node"],
                                      buckets=_LATENCY_BUCKETS, registry=r)
        self._campaign: dict[int, str] = {}  # call id -> campaign name
        self._answered: set[int] = set()
        self._connected: set[int] = set()
        self._ending: dict[int, EndCall] = {}  # ended before its campaign was seen (counted at its Emit)

    # ------------------------------------------------------------------ fed by the engine

    def observe(self, cmd: Any) -> None:
        """One command of the session's, as the engine executes it."""
        if isinstance(cmd, Originate):
            name = cmd.variables.get("CAMPAIGN", UNKNOWN)
            self._campaign[cmd.call_id] = name
            self.placed.labels(name, self.node).inc()
        elif isinstance(cmd, WriteCallStatus):
            known = self._campaign.get(cmd.call_id)
            if known is not None:
                self._seen(cmd.call_id, known, cmd.answered_at is not None, cmd.connected_at is not None)
        elif isinstance(cmd, EndCall):
            if cmd.call_id in self._campaign:
                self._end(cmd, self._campaign[cmd.call_id])
            else:
                self._ending[cmd.call_id] = cmd
        elif isinstance(cmd, Emit) and cmd.kind == "call":
            call_id, campaign = cmd.data.get("call_id"), cmd.data.get("campaign")
            if isinstance(call_id, int) and isinstance(campaign, str):
                self._campaign.setdefault(call_id, campaign)
                if call_id in self._ending:
                    self._end(self._ending.pop(call_id), campaign)

    def _seen(self, call_id: int, name: str, answered: bool, connected: bool) -> None:
        if (answered or connected) and call_id not in self._answered:
            self._answered.add(call_id)
            self.answered.labels(name, self.node).inc()
        if connected and call_id not in self._connected:
            self._connected.add(call_id)
            self.connected.labels(name, self.node).inc()

    def _end(self, cmd: EndCall, name: str) -> None:
        values = cmd.values
        outcome = str(values.get("outcome") or UNKNOWN)
        connected = outcome == "CONNECTED" or values.get("connected_at") is not None
        self._seen(cmd.call_id, name, connected or values.get("answered_at") is not None
                   or outcome in ("ABANDONED", "MACHINE", "ANSWERED"), connected)
        if outcome == "ABANDONED":
            self.abandoned.labels(name, self.node).inc()
        self.ended.labels(name, self.node, outcome).inc()
        self._campaign.pop(cmd.call_id, None)
        self._answered.discard(cmd.call_id)
        self._connected.discard(cmd.call_id)

    def claimed(self, campaign: str, asked: int, got: int, seconds: float) -> None:
        """A pacing decision for ``asked`` calls, ``got`` leads claimed in ``seconds``."""
        self.decisions.labels(campaign, self.node).inc()
        self.asked.labels(campaign, self.node).inc(asked)
        self.claimed_leads.labels(campaign, self.node).inc(got)
        self.claim_seconds.labels(self.node).observe(seconds)

    def db_written(self, seconds: float, writes: int) -> None:
        """A batch of ``writes`` queued writes made in ``seconds``."""
        self.write_seconds.labels(self.node).observe(seconds)
        self.writes.labels(self.node).inc(writes)

    async def watch_loop(self, interval: float = LAG_INTERVAL) -> None:
        """Probe the event loop's lag until cancelled: how much later than asked a sleep wakes
        (real time: the loop's own clock, whatever the dialer's clock is)."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + interval
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - asked)
            self.loop_lag.labels(self.node).set(lag)
            self.loop_lag_hist.labels(self.node).observe(lag)

    # ------------------------------------------------------------------ out

    def watch(self, engine: Any) -> None:
        """Read ``engine``'s state at every scrape (see :class:`EngineCollector`)."""
        self.registry.register(EngineCollector(engine, self.node))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class EngineCollector(Collector):
    """Gauges read from the engine when scraped: lines, agents, abandon windows, link, writer."""

    def __init__(self, engine: Any, node: str) -> None:
        self.engine = engine
        self.node = node

    def describe(self) -> Iterable[Metric]:
        return []  # unchecked collector: nothing is read at registration

    def collect(self) -> Iterator[Metric]:
        node, engine = self.node, self.engine
        lines = GaugeMetricFamily("dialer_lines_in_use", "Calls in flight (lines busy).", labels=["campaign", "node"])
        agents = GaugeMetricFamily("dialer_agents", "Logged-in agents by state.", labels=["campaign", "node", "state"])
        rate = GaugeMetricFamily("dialer_abandon_rate", "Abandoned / (abandoned + connected) over a rolling window.",
                                 labels=["campaign", "node", "window"])
        now = engine.now()
        for camp in list(engine.campaigns.values()):
            snap = engine.session.snapshot(camp, now)
            lines.add_metric([camp.name, node], snap.lines_busy)
            for state in AgentState:
                agents.add_metric([camp.name, node, state.value], snap.count_agents(state))
            counts = camp.governor.ledger.counts(now)
            for window, c in (("1h", counts.hour), ("24h", counts.day), ("30d", counts.month)):
                rate.add_metric([camp.name, node, window], c.rate)
        yield from (lines, agents, rate)
        link = GaugeMetricFamily("dialer_ami_up", "1 while the AMI link is logged in.", labels=["node"])
        link.add_metric([node], 1.0 if ami_up(engine) else 0.0)
        synced = GaugeMetricFamily("dialer_ami_synced", "1 while the PBX's state is known (reconciled).",
                                   labels=["node"])
        synced.add_metric([node], 1.0 if engine.session.synced else 0.0)
        reconnects = CounterMetricFamily("dialer_ami_reconnects", "AMI reconnects since the daemon started.",
                                         labels=["node"])
        client = getattr(engine.link, "client", None)
        reconnects.add_metric([node], float(getattr(client, "reconnects", 0)))
        writer = engine.writer
        queue = GaugeMetricFamily("dialer_db_write_queue", "Database writes queued, not yet made.", labels=["node"])
        queue.add_metric([node], writer.backlog)
        db_up = GaugeMetricFamily("dialer_db_writable", "1 while queued writes are being made.", labels=["node"])
        db_up.add_metric([node], 1.0 if writer.healthy else 0.0)
        yield from (link, synced, reconnects, queue, db_up)


def ami_up(engine: Any) -> bool:
    """The AMI link is logged in (the client says so; the session agrees the link is up)."""
    client = getattr(engine.link, "client", None)
    logged_in = bool(getattr(client, "connected", True))
    return logged_in and bool(engine.session.link_up)
