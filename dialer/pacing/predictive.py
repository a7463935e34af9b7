"""The predictive policy: place the calls whose answer is very likely to find an agent.

For each candidate call it estimates the probability that, if a person answers it, no agent
is free within the drop timeout (2 s) — the *marginal abandon risk* — and places calls while
that risk stays within a budget ``alpha``:

1. **Supply.** Ready agents now, plus each talking agent's chance to finish the call and a
   wrap-up by time ``t`` (talk-time survival learned online, running calls as censored
   observations) and each wrapping-up agent's chance to finish it; agents that pause after
   the wrap-up are discounted.
2. **Demand.** Calls waiting for an agent; calls in AMD times the share of answers that reach
   the queue; each ringing call's chance of a live answer by ``t`` *given how long it has
   rung*; and the other new calls. Answer curves come from dial cohorts
   (:class:`~dialer.pacing.stats.AnswerModel`), never from the most recent finishes.
3. **Risk.** A new call answered at ring time ``t`` is abandoned only if the live answers by
   ``t`` use up every agent free by ``t + 2 s``; that sum of Bernoulli terms is evaluated with
   a skew-corrected normal approximation, plus the uncertainty of the learned answer rate,
   and averaged over the call's answer-time distribution.
4. **Budget.** ``alpha`` starts at the abandon target and follows the measured abandon counts:
   it falls when the last 24 h (integral term) or the last hour run over a set point below the
   target, and rises while there is unused budget. When one more abandon would put the last
   24 h over the target, only progressive calls are placed.

It never places fewer calls than :class:`~dialer.pacing.simple.Progressive` would, and
with no statistics it *is* progressive. ``decide`` is a function of the snapshot (and of the
stats it carries); the policy keeps no state of its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dialer.pacing.forecast import prob_nonnegative, ready_by
from dialer.pacing.simple import uncovered_ready
from dialer.pacing.snapshot import AgentState, CallState, Snapshot


class Predictive:
    """Parameters (all optional, none scenario-specific):

    - ``margin``: the set point of the abandon feedback, as a share of the target.
    - ``gain`` / ``hour_gain``: strength of the 24 h and last-hour feedback terms.
    - ``max_alpha``: the per-call risk budget never exceeds ``max_alpha * target``.
    - ``warmup``: cold start. While the last 24 h hold fewer than ``warmup / target`` live
      answers (67 at 3 % with 2.0), the budget is scaled by their share of that number: one
      abandon among 20 answers is already 5 %, and a burst of early abandons would hold the
      campaign in progressive-only mode until enough answers dilute it (issue 18). 0 disables.
      Campaigns set it with ``[dial] warmup``; measured in ``benchmarks/cold_start.py``.
    - ``warmup_shape``: the ramp is that share raised to this power (1: linear; < 1 spends more
      early).
    - ``warmup_min_agents``: the warm-up applies only while at least this many agents are logged
      in (smaller teams stay near progressive anyway and barely lock in; applied to a team of 4
      it cost 1.1 % talk).
    - ``hour_cap``: when > 0, progressive only while one more abandon would put the last hour
      over ``hour_cap`` × the target (as the last 24 h over the target); measured in
      ``benchmarks/cold_start.py``.
    - ``step``: resolution (s) of the answer-time grid.
    - ``tick``: recommended seconds between decisions (calling more often is harmless).
    """

    name = "predictive"

    def __init__(
        self,
        *,
        margin: float = 0.9,
        gain: float = 0.5,
        hour_gain: float = 0.5,
        max_alpha: float = 3.0,
        warmup: float = 0.0,
        warmup_shape: float = 1.0,
        warmup_min_agents: int = 5,
        hour_cap: float = 0.0,
        step: float = 2.0,
        max_new: int = 2000,
        tick: float = 2.0,
    ) -> None:
        self.tick = tick
        self.margin = margin
        self.gain = gain
        self.hour_gain = hour_gain
        self.max_alpha = max_alpha
        self.warmup = warmup
        self.warmup_shape = warmup_shape
        self.warmup_min_agents = warmup_min_agents
        self.hour_cap = hour_cap
        self.step = step
        self.max_new = max_new

    # -- the budget ----------------------------------------------------------------------
    def alpha(self, s: Snapshot) -> float:
        """The per-call abandon-risk budget; 0.0 means "progressive only"."""
        target = s.target
        if target <= 0:
            return 0.0
        a, n = s.day.abandoned, s.day.answered
        if a > 0 and a + 1 > target * (n + 1):
            return 0.0  # one more abandon would put the last 24 h over the target
        sp = self.margin * target
        z_day = (a - sp * n) / math.sqrt(sp * n + 1.0)
        h_a, h_n = s.hour.abandoned, s.hour.answered
        if self.hour_cap > 0 and h_a > 0 and h_a + 1 > self.hour_cap * target * (h_n + 1):
            return 0.0  # one more abandon would put the last hour over hour_cap x the target
        z_hour = max(0.0, (h_a - sp * h_n) / math.sqrt(sp * h_n + 1.0))
        alpha = min(target * math.exp(-self.gain * z_day - self.hour_gain * z_hour), self.max_alpha * target)
        if self.warmup > 0 and len(s.agents) >= self.warmup_min_agents:
            alpha *= min(1.0, (n + 1) * target / self.warmup) ** self.warmup_shape
        return alpha

    # -- the decision --------------------------------------------------------------------
    def decide(self, s: Snapshot) -> int:
        free = s.free_lines
        base = min(uncovered_ready(s), free)
        stats = s.stats
        if stats is None or free <= base:
            return base
        alpha = self.alpha(s)
        if alpha <= 0.0:
            return base
        risk = self.marginal_risk(s)
        if risk is None:
            return base
        over = np.nonzero(risk > alpha)[0]
        n = int(over[0]) if over.size else risk.size
        return max(base, min(n, free))

    def marginal_risk(self, s: Snapshot) -> np.ndarray | None:
        """``risk[n]``: P(abandon | the (n+1)-th new call is answered live), for n = 0, 1, ...

        Non-decreasing; its length bounds the useful number of new calls.
        """
        stats = s.stats
        if stats is None:
            return None
        now = s.now
        stats.advance(now)
        curves = stats.answers.curves()

        ready = 0
        talk_el: list[float] = []
        wrap_el: list[float] = []
        for a in s.agents:
            st = a.state
            if st is AgentState.READY:
                ready += 1
            elif st is AgentState.TALKING:
                talk_el.append(now - a.since)
            elif st is AgentState.RESERVED:
                talk_el.append(0.0)
            elif st is AgentState.WRAPUP:
                wrap_el.append(now - a.since)
        if ready + len(talk_el) + len(wrap_el) == 0:
            return None
        grid = answer_grid(s.ring_timeout, self.step, curves)
        if grid is None:
            return None
        t, g, p_new = grid

        # supply: agents ready by t + drop timeout
        tau = t + s.drop_timeout
        f_talk, f_wrap = ready_by(
            stats.talk,
            stats.wrap,
            np.asarray(talk_el),
            np.asarray(wrap_el),
            tau,
            stay=1.0 - stats.pause_share,
        )
        f = np.vstack((f_talk, f_wrap))
        fv = f * (1.0 - f)
        sup_mu = ready + f.sum(axis=0)
        sup_var = fv.sum(axis=0)
        sup_m3 = (fv * (1.0 - 2.0 * f)).sum(axis=0)

        dem_mu, dem_var, dem_m3, uncertain = in_flight_demand(s, curves, t)

        mu0 = dem_mu - sup_mu
        # how many new calls could possibly be useful: until expected demand exceeds supply
        p_last = max(float(p_new[-1]), 1e-3)
        n_max = int(min(self.max_new, max(0.0, -float(mu0.min())) / p_last + 3))
        n = np.arange(n_max + 1, dtype=float)[:, None]
        p = p_new[None, :]
        pv = p * (1.0 - p)
        p_live = max(curves.p_live, 1e-3)
        rel2 = (1.0 - p_live) / (p_live * curves.n_eff)  # relative variance of the answer rate
        mu = mu0[None, :] + n * p
        var = (sup_var + dem_var)[None, :] + n * pv + rel2 * (uncertain[None, :] + n * p) ** 2
        m3 = (dem_m3 - sup_m3)[None, :] + n * pv * (1.0 - 2.0 * p)
        risk = prob_nonnegative(mu, var, m3) @ g
        return np.maximum.accumulate(risk)


def answer_grid(ring_timeout: float, step: float, curves: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A new call's answer-time grid: bin centres ``t`` over the ring timeout, the share ``g`` of
    its live answers in each bin, and ``P(live answer by t)``; ``None`` before any answer."""
    bins = max(1, int(math.ceil(ring_timeout / step)))
    edges = np.arange(bins + 1, dtype=float) * step
    t = edges[:-1] + 0.5 * step
    g = np.diff(curves.live_by(edges))
    if g.sum() <= 0:
        return None
    return t, g / g.sum(), curves.live_by(t)


def in_flight_demand(s: Snapshot, curves: Any, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Live answers needing an agent by each ``t`` from the calls already placed: mean, variance
    and third central moment, and the (uncertain) part of the mean still ringing."""
    ring_el: list[float] = []
    n_amd = n_wait = 0
    for c in s.calls:
        if c.state is CallState.RINGING:
            ring_el.append(s.now - c.placed_at)
        elif c.state is CallState.ANALYSING:
            n_amd += 1
        else:
            n_wait += 1
    pa = curves.live_given_answer
    dem_mu = n_wait + n_amd * pa + np.zeros_like(t)
    dem_var = n_amd * pa * (1 - pa) + np.zeros_like(t)
    dem_m3 = n_amd * pa * (1 - pa) * (1 - 2 * pa) + np.zeros_like(t)
    uncertain = np.zeros_like(t)
    if ring_el:
        q = curves.live_within(np.asarray(ring_el), t)
        qv = q * (1.0 - q)
        uncertain = q.sum(axis=0)
        dem_mu = dem_mu + uncertain
        dem_var = dem_var + qv.sum(axis=0)
        dem_m3 = dem_m3 + (qv * (1.0 - 2.0 * q)).sum(axis=0)
    return dem_mu, dem_var, dem_m3, uncertain
