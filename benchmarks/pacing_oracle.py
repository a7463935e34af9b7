"""Oracle pacing policies: a benchmark-only bound on what pacing can reach. NOT SHIPPED.

Two cheats, each a subclass of the shipped simulator that lets a policy peek at its hidden
state (the daemon can never know these; nothing in ``dialer/`` imports this file, and
``dialer bench pacing`` does not list these policies):

- ``agent-oracle`` — knows every logged-in agent's exact next-free moment: the end of the
  running talk and of the wrap-up that follows (talk and wrap-up lengths are drawn when the
  call is assigned), breaks and logouts included, and future logins. It does *not* know
  what a dial will do: the answer curves are learned online, as in the shipped policy.
  Apart from the supply (a deterministic count instead of a sum of Bernoulli terms) it is
  the shipped forecast, with the shipped abandon-budget feedback, or a fixed per-call risk
  ``alpha`` (to trace its frontier and tune it per scenario).
- ``clairvoyant`` — also knows each lead's outcome and ring time before dialling it (the
  leads are drawn in advance, in order). It dials unanswered leads at once and holds every
  answered lead (person or machine) until ``now + ring`` falls within the drop timeout
  before an unclaimed agent's free moment, so answers arrive just before agents free up.
  Only the connect delay, the tick grid and machine handling (without AMD every machine
  answer occupies an agent) stand between it and the ceiling. Scenarios with AMD are not
  supported.

Usage (from the repository root)::

    .venv/bin/python benchmarks/pacing_oracle.py --scenario medium --seeds 3
    .venv/bin/python benchmarks/pacing_oracle.py --scenario medium --oracle agent --alpha 0.02 0.04
"""

from __future__ import annotations

import argparse
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dialer.pacing.forecast import prob_nonnegative
from dialer.pacing.predictive import Predictive, answer_grid, in_flight_demand
from dialer.pacing.sim.engine import HOUR, Simulation, _Agent, _Call, draw_fate
from dialer.pacing.sim.metrics import RunMetrics, run_metrics
from dialer.pacing.sim.scenario import Scenario, ceiling, load_scenario
from dialer.pacing.snapshot import AgentState, CallState, CallView, Snapshot

INF = math.inf


@dataclass(frozen=True, slots=True)
class Lead:
    """A dial's fate, drawn before it is dialled: outcome index and ring seconds."""

    outcome: int  # 0 human, 1 machine, 2 busy, 3 no answer, 4 invalid
    ring: float
    answered: bool


class OracleSimulation(Simulation):
    """The shipped simulator with its hidden state exposed to an oracle policy.

    Talk and wrap-up lengths are drawn when a call is assigned (not at connect), breaks,
    logins and logouts are remembered per agent, and dial outcomes come from a stream of
    leads drawn in advance, so :meth:`next_free` and :meth:`peek` can answer exactly.

    The oracles are bounds on pacing itself, so by default the governor holds them to the
    free lines only (``mode="progressive"``), not to a campaign's per-agent line cap.
    """

    def __init__(self, scenario: Scenario, seed: int, *, hours: float | None = None,
                 mode: str = "progressive") -> None:
        super().__init__(scenario, lambda: Progressive0(), seed, hours=hours, mode=mode)
        self.leads: deque[Lead] = deque()
        self.breaks: dict[int, list[tuple[float, float]]] = {}
        self.login_at: dict[int, float] = {}
        self.logout_at: dict[int, float] = {}
        self.pause_end: dict[int, float] = {}
        self.by_id: dict[int, _Call] = {}

    # -- bookkeeping of the hidden schedule -------------------------------------------
    def at(self, t: float, kind: int, obj: object = None) -> None:
        from dialer.pacing.sim.engine import BREAK, LOGIN, LOGOUT

        if kind == LOGIN:
            self.login_at[obj.idx] = t  # type: ignore[attr-defined]
        elif kind == LOGOUT:
            self.logout_at[obj.idx] = t  # type: ignore[attr-defined]
        elif kind == BREAK:
            a, secs = obj  # type: ignore[misc]
            self.breaks.setdefault(a.idx, []).append((t, secs))
        super().at(t, kind, obj)

    def _run_day(self, day: int) -> None:
        self.breaks.clear()
        self.login_at.clear()
        self.logout_at.clear()
        self.pause_end.clear()
        self.by_id.clear()
        super()._run_day(day)

    def _pause(self, a: _Agent, seconds: float) -> None:
        self.pause_end[a.idx] = self.now + seconds
        super()._pause(a, seconds)

    def _assign(self, call: _Call, a: _Agent) -> None:
        kind = "human" if call.human else "machine"
        a.talk_len = self.sc.talk[kind].sample(self.rng_work)
        a.wrap_len = self.sc.wrapup[kind].sample(self.rng_work)
        super()._assign(call, a)

    def _connect(self, a: _Agent) -> None:
        from dialer.pacing.sim.engine import TALK_END

        call = a.call
        assert call is not None
        self._set(a, AgentState.TALKING)
        a.human_call = call.human
        self.at(self.now + a.talk_len, TALK_END, a)

    # -- the lead stream ----------------------------------------------------------------
    def _draw(self) -> Lead:
        return Lead(*draw_fate(self.sc, self.rng_calls, (self.now - self.day_start) / HOUR))

    def peek(self, k: int) -> Lead:
        """The fate of the k-th next lead (0: the next one dialled)."""
        while len(self.leads) <= k:
            self.leads.append(self._draw())
        return self.leads[k]

    def _place(self) -> None:
        lead = self.peek(0)
        self.leads.popleft()
        now = self.now
        self.next_call += 1
        call = _Call(self.next_call, now)
        self.by_id[call.id] = call
        self.lines += 1
        self.rec.dials += 1
        call.ring = lead.ring
        if lead.answered:
            call.human = lead.outcome == 0
            call.answer_at = lead.ring
            call.live = True
        view = CallView(CallState.RINGING, now)
        call.view = view
        self.call_views[call.id] = view
        from dialer.pacing.sim.engine import RESOLVE

        self.at(now + lead.ring, RESOLVE, call)

    # -- what the oracle knows ----------------------------------------------------------
    def next_free(self, a: _Agent) -> float:
        """The exact moment ``a`` next goes ready (``inf``: not again today)."""
        now = self.now
        st = a.state
        if st is None:
            t = self.login_at.get(a.idx, INF)
            return t if t > now else INF
        if st is AgentState.READY:
            return now
        if st is AgentState.PAUSED:
            t = self.pause_end.get(a.idx, INF)
        elif st is AgentState.RESERVED:
            t = a.since + self.sc.connect_delay + a.talk_len + a.wrap_len
        elif st is AgentState.TALKING:
            t = a.since + a.talk_len + a.wrap_len
        else:  # WRAPUP
            t = a.since + a.wrap_len
        if st is not AgentState.PAUSED:
            # a logout or a break falling before the end of the work makes the agent leave
            if a.logout_due or self.logout_at.get(a.idx, INF) <= t:
                return INF
            due = a.break_due
            if not due:
                due = sum(s for tb, s in self.breaks.get(a.idx, ()) if now < tb <= t)
            if due:
                t += due
        else:
            if a.logout_due or self.logout_at.get(a.idx, INF) <= t:
                return INF
        return t if self.logout_at.get(a.idx, INF) > t else INF

    def free_times(self) -> np.ndarray:
        """Next-free moments of all agents, relative to now (sorted, ``inf`` dropped)."""
        ts = [self.next_free(a) - self.now for a in self.agents]
        return np.sort(np.asarray([t for t in ts if t < INF], dtype=float))


class Progressive0:
    """Placeholder policy until the oracle is attached."""

    name = "none"
    tick = 1.0

    def decide(self, s: Snapshot) -> int:
        return 0


class AgentOracle(Predictive):
    """The shipped forecast with the agent supply replaced by the exact free moments."""

    name = "agent-oracle"

    def __init__(
        self,
        sim: OracleSimulation,
        *,
        fixed_alpha: float | None = None,
        future: float = 0.0,
        **kw: float,
    ) -> None:
        super().__init__(**kw)
        self.sim = sim
        self.fixed_alpha = fixed_alpha
        self.future = future

    def alpha(self, s: Snapshot) -> float:
        if self.fixed_alpha is not None:
            return self.fixed_alpha
        return super().alpha(s)

    def marginal_risk(self, s: Snapshot) -> np.ndarray | None:
        stats = s.stats
        if stats is None:
            return None
        now = s.now
        stats.advance(now)
        curves = stats.answers.curves()
        free = self.sim.free_times()
        grid = answer_grid(s.ring_timeout, self.step, curves)
        if grid is None:
            return None
        t, g, p_new = grid
        sup = np.searchsorted(free, t + s.drop_timeout, side="right").astype(float)
        dem_mu, dem_var, dem_m3, _ = in_flight_demand(s, curves, t)
        if self.future > 0:
            # calls later decisions will place while this one rings (one per agent freed over
            # the ring time, per live answer), spread evenly; those answered by t come first
            horizon = float(t[-1] + 0.5 * self.step)  # the ring timeout, in whole steps
            rate = self.future * float(sup[-1] - sup[0]) / horizon / max(curves.p_live, 1e-3)
            v = np.arange(0.0, horizon + 1.0, 1.0)
            qf = curves.live_by(v)
            qfv = qf * (1.0 - qf)
            dem_mu = dem_mu + rate * np.interp(t, v, np.concatenate(([0.0], np.cumsum(0.5 * (qf[1:] + qf[:-1])))))
            dem_var = dem_var + rate * np.interp(t, v, np.concatenate(([0.0], np.cumsum(0.5 * (qfv[1:] + qfv[:-1])))))
        mu0 = dem_mu - sup
        p_last = max(float(p_new[-1]), 1e-3)
        n_max = int(min(self.max_new, max(0.0, -float(mu0.min())) / p_last + 3))
        n = np.arange(n_max + 1, dtype=float)[:, None]
        p = p_new[None, :]
        pv = p * (1.0 - p)
        mu = mu0[None, :] + n * p
        var = dem_var[None, :] + n * pv
        m3 = dem_m3[None, :] + n * pv * (1.0 - 2.0 * p)
        risk = prob_nonnegative(mu, var, m3) @ g
        return np.maximum.accumulate(risk)


class Clairvoyant:
    """Knows agents' free moments and every lead's fate; times answers onto free agents."""

    name = "clairvoyant"

    def __init__(self, sim: OracleSimulation, *, tick: float = 0.5, lead_window: int = 400) -> None:
        self.sim = sim
        self.tick = tick
        self.lead_window = lead_window

    def decide(self, s: Snapshot) -> int:
        sim = self.sim
        if sim.sc.amd:
            raise ValueError("the clairvoyant oracle does not model AMD")
        now = s.now
        free = sorted(sim.next_free(a) for a in sim.agents)
        # agents already promised to answered calls in flight (ringing to be answered, waiting)
        promised = sum(1 for cid in s_calls(sim) if sim.by_id[cid].live)
        slots = [f for f in free if f < INF][promised:]
        n = 0
        k = 0
        budget = s.free_lines
        for f in slots:
            # dial every unanswered lead ahead of the next answered one; place that one once
            # its answer would come within the drop timeout before the agent frees up
            while n < budget and k < self.lead_window:
                lead = sim.peek(k)
                if lead.answered:
                    break
                n += 1
                k += 1
            if n >= budget or k >= self.lead_window:
                break
            lead = sim.peek(k)
            if now + lead.ring >= f - s.drop_timeout + 0.25 or now + self.tick + lead.ring > f:
                n += 1
                k += 1
                continue
            break  # leads are dialled in order: wait for this one's moment
        return max(0, min(n, budget))


def s_calls(sim: OracleSimulation) -> list[int]:
    """Ids of the calls in flight: ringing, in AMD, or answered and waiting."""
    return list(sim.call_views)


def run(
    scenario: Scenario,
    seed: int,
    make: Callable[[OracleSimulation], object],
    *,
    hours: float | None = None,
) -> RunMetrics:
    """One oracle run; ``make(sim)`` builds the oracle policy for each day."""
    sim = OracleSimulation(scenario, seed, hours=hours)
    sim.make = lambda: make(sim)  # type: ignore[assignment,return-value]
    rec = sim.run()
    return run_metrics(rec, ceiling(scenario))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", nargs="+", default=["medium", "large", "high-contact", "long-calls"])
    ap.add_argument("--oracle", choices=("agent", "clairvoyant", "both"), default="both")
    ap.add_argument("--alpha", type=float, nargs="*", default=[], help="fixed per-call risks (agent oracle)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--hours", type=float)
    ap.add_argument("--tick", type=float, default=2.0, help="agent oracle: seconds between decisions")
    ap.add_argument("--step", type=float, default=2.0, help="agent oracle: answer-time grid (s)")
    ap.add_argument("--no-feedback", action="store_true", help="agent oracle: fixed alphas only")
    ap.add_argument("--future", type=float, default=0.0,
                    help="agent oracle: weight of the calls later decisions will place (0: off)")
    args = ap.parse_args()
    kw = {"tick": args.tick, "step": args.step, "future": args.future}
    variants: list[tuple[str, Callable[[OracleSimulation], object]]] = []
    if args.oracle in ("agent", "both"):
        if not args.no_feedback:
            variants.append(("agent-oracle (feedback)", lambda sim: AgentOracle(sim, **kw)))
        for a in args.alpha:
            variants.append(
                (f"agent-oracle alpha={a:g}", lambda sim, a=a: AgentOracle(sim, fixed_alpha=a, **kw))
            )
    if args.oracle in ("clairvoyant", "both"):
        variants.append(("clairvoyant", lambda sim: Clairvoyant(sim)))
    print("| scenario | oracle | talk min/agent-h | of ceiling | abandon (mean) | worst run | seeds |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in args.scenario:
        path = name if name.endswith(".toml") else f"benchmarks/scenarios/{name}.toml"
        sc = load_scenario(path)
        for label, make in variants:
            runs = [run(sc, seed, make, hours=args.hours)
                    for seed in range(args.first_seed, args.first_seed + args.seeds)]
            talk = np.mean([r.talk_min_per_agent_hour for r in runs])
            frac = np.mean([r.fraction_of_ceiling for r in runs])
            ab = np.mean([r.abandon_rate for r in runs])
            worst = max(r.worst_24h for r in runs)
            print(f"| {sc.name} | {label} | {talk:.1f} | {100 * frac:.1f} % | {100 * ab:.2f} % "
                  f"| {100 * worst:.2f} % | {len(runs)} |", flush=True)


if __name__ == "__main__":
    main()
