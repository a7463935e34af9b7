"""Online statistics a campaign learns from its own calls, for the predictive policy.

:class:`PacingStats` holds three estimators, all with exponential forgetting (so they follow
a contact rate that drifts through the day) and a conservative prior (so a fresh campaign
behaves nearly progressively until it has data):

- :class:`AnswerModel` — what happens to a dial attempt while it rings, estimated per *dial
  cohort*: an attempt only enters the estimate once every attempt placed at the same time
  has surely finished ringing (``placed_at + ring_timeout + slack``). Recent *finishes* are
  a biased sample (answers come back early, no-answers only at the ring timeout), recent
  cohorts are not.
- :class:`HazardModel` for talk time — a piecewise-constant hazard (a survival estimate).
  Calls still in progress enter as censored exposure at forecast time, so an agent who has
  already talked longer than any finished call is not taken to be "about to be free".
- :class:`HazardModel` for wrap-up, plus the share of wrap-ups that end in a pause or logout
  rather than ready.

The daemon feeds it events and persists it::

    stats.observe_attempt(placed_at=..., ring_seconds=..., answered=..., live=..., now=...)
    stats.observe_talk(seconds, now=...)
    stats.observe_wrapup(seconds, ready=True, now=...)
    saved = stats.to_dict()            # JSON-able; store it with the campaign
    stats = PacingStats.from_dict(saved)

Use a clock that survives restarts (epoch seconds) for ``placed_at``/``now`` if the stats
are persisted; attempts not yet matured are persisted too.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT_VERSION = 1

#: Talk-time bin edges (seconds); the last bin is open-ended.
TALK_EDGES: tuple[float, ...] = (
    0, 5, 10, 15, 20, 30, 40, 50, 60, 75, 90, 105, 120, 140, 160, 180, 210, 240, 270, 300,
    360, 420, 480, 540, 600, 720, 840, 960, 1200, 1500, 1800, 2400, 3600, 1e7,
)
#: Wrap-up bin edges (seconds); the last bin is open-ended.
WRAP_EDGES: tuple[float, ...] = (
    *range(0, 62, 2), 70, 80, 90, 105, 120, 150, 180, 240, 300, 450, 600, 1e7,
)


def _decay(half_life: float) -> float:
    return 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0


class HazardModel:
    """A duration distribution as a piecewise-constant hazard, with censoring and forgetting.

    For each bin it keeps the (forgotten-weighted) time at risk and the number of ends.
    The prior is ``prior_weight`` pseudo-observations from an exponential distribution with
    mean ``prior_mean`` — choose a long mean to be conservative.
    """

    def __init__(
        self,
        edges: tuple[float, ...],
        *,
        prior_mean: float,
        prior_weight: float = 2.0,
        half_life: float = 500.0,
    ) -> None:
        self.edges = np.asarray(edges, dtype=float)
        self.lo = self.edges[:-1]
        self.width = np.diff(self.edges)
        self.exposure = np.zeros(len(self.width))
        self.events = np.zeros(len(self.width))
        self.weight = 0.0  # forgotten-weighted number of observations
        self.half_life = half_life
        self.prior_mean = prior_mean
        self.prior_weight = prior_weight
        s_lo = np.exp(-self.lo / prior_mean)
        s_hi = np.exp(-self.edges[1:] / prior_mean)
        self._prior_events = prior_weight * (s_lo - s_hi)
        self._prior_exposure = prior_weight * prior_mean * (s_lo - s_hi)
        self._cache: np.ndarray | None = None
        self._lag: tuple[bytes, np.ndarray] | None = None

    def observe(self, duration: float) -> None:
        """Record one finished duration (seconds)."""
        d = max(0.0, float(duration))
        lam = _decay(self.half_life)
        self.exposure *= lam
        self.events *= lam
        self.weight = self.weight * lam + 1.0
        self.exposure += np.clip(d - self.lo, 0.0, self.width)
        idx = int(np.searchsorted(self.edges, d, side="right")) - 1
        self.events[min(max(idx, 0), len(self.width) - 1)] += 1.0
        self._cache = None
        self._lag = None

    def censored_exposure(self, elapsed: np.ndarray) -> np.ndarray:
        """Time at risk per bin contributed by durations still running (``elapsed`` so far)."""
        if elapsed.size == 0:
            return np.zeros_like(self.width)
        return np.clip(elapsed[:, None] - self.lo[None, :], 0.0, self.width[None, :]).sum(axis=0)

    def hazard(self, elapsed: np.ndarray | None = None) -> np.ndarray:
        """Hazard per bin (1/s), with running durations ``elapsed`` treated as censored."""
        exposure = self.exposure + self._prior_exposure
        if elapsed is not None and elapsed.size:
            exposure = exposure + self.censored_exposure(elapsed)
        return (self.events + self._prior_events) / exposure

    def cumulative(self, elapsed: np.ndarray | None = None) -> np.ndarray:
        """Cumulative hazard at each bin edge (for :func:`numpy.interp`)."""
        if elapsed is None and self._cache is not None:
            return self._cache
        out = np.concatenate(([0.0], np.cumsum(self.hazard(elapsed) * self.width)))
        if elapsed is None:
            self._cache = out
        return out

    def survival(self, x: np.ndarray, cum: np.ndarray | None = None) -> np.ndarray:
        """P(duration > x)."""
        cum = self.cumulative() if cum is None else cum
        return np.exp(-np.interp(x, self.edges, cum))

    def lag_cdf(self, tau: np.ndarray) -> np.ndarray:
        """``M[k, j] = P(duration <= tau[j] - k - 0.5)`` for k = 0..ceil(max tau)-1 (cached)."""
        key = tau.tobytes()
        if self._lag is not None and self._lag[0] == key:
            return self._lag[1]
        steps = np.arange(int(np.ceil(float(tau.max()))) if tau.size else 0, dtype=float)
        lag = tau[None, :] - (steps[:, None] + 0.5)
        m = np.where(lag > 0, 1.0 - np.exp(-np.interp(lag, self.edges, self.cumulative())), 0.0)
        self._lag = (key, m)
        return m

    def mean(self) -> float:
        """Mean duration implied by the current hazard (integral of the survival)."""
        haz = self.hazard()
        cum = np.concatenate(([0.0], np.cumsum(haz * self.width)))
        s0 = np.exp(-cum[:-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(haz > 0, s0 * (1 - np.exp(-haz * self.width)) / haz, s0 * self.width)
        return float(part.sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "exposure": self.exposure.tolist(),
            "events": self.events.tolist(),
            "weight": self.weight,
        }

    def load(self, data: dict[str, Any]) -> None:
        exposure = np.asarray(data["exposure"], dtype=float)
        events = np.asarray(data["events"], dtype=float)
        if exposure.shape != self.exposure.shape or events.shape != self.events.shape:
            raise ValueError("saved hazard bins do not match this version's bins")
        self.exposure, self.events = exposure, events
        self.weight = float(data.get("weight", 0.0))
        self._cache = None
        self._lag = None


@dataclass(frozen=True, slots=True)
class AnswerCurves:
    """Cumulative curves of the answer model on 1-second bins of ring time.

    ``live[x]``: expected live answers (calls that reach the agent queue) by ring time ``x``
    per dialled call; ``resolved[x]``: share of calls no longer ringing by ``x``.
    ``live_given_answer``: share of answered calls that reach the queue (after AMD).
    ``n_eff``: effective number of observations behind the curves.
    """

    edges: np.ndarray
    live: np.ndarray
    resolved: np.ndarray
    live_given_answer: float
    n_eff: float

    @property
    def p_live(self) -> float:
        return float(self.live[-1])

    def live_by(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.edges, self.live)

    def live_within(self, elapsed: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        """P(live answer in (e, e+h] | still ringing at e) for every pair (rows e, columns h)."""
        still = 1.0 - np.interp(elapsed, self.edges, self.resolved)
        base = np.interp(elapsed, self.edges, self.live)
        later = np.interp(elapsed[:, None] + horizon[None, :], self.edges, self.live)
        gain = later - base[:, None]
        # A call ringing past every observed answer: assume it may still be answered now.
        safe = np.maximum(still, 1e-9)[:, None]
        q = np.where(still[:, None] > 1e-6, gain / safe, 0.0)
        return np.clip(q, 0.0, 1.0)


class AnswerModel:
    """Ring-time outcomes per dial cohort, on 1-second bins up to ``max_ring`` seconds.

    Prior: ``prior_calls`` pseudo-attempts that were all live answers, spread uniformly over
    the ring time — i.e. with no data every ringing call counts as an agent's next call,
    which is what progressive dialling assumes.
    """

    def __init__(
        self,
        *,
        ring_timeout: float = 25.0,
        max_ring: int = 120,
        prior_calls: float = 10.0,
        half_life_calls: float = 800.0,
        half_life_seconds: float = 3600.0,
        slack: float = 10.0,
        fold_every: float = 5.0,
    ) -> None:
        self.ring_timeout = ring_timeout
        self.max_ring = max_ring
        self.prior_calls = prior_calls
        self.half_life_calls = half_life_calls
        self.half_life_seconds = half_life_seconds
        self.slack = slack
        self.fold_every = fold_every
        self.last_fold = -np.inf
        self.live = np.zeros(max_ring + 1)  # live answers by answer-time bin
        self.other = np.zeros(max_ring + 1)  # answered, not live (AMD machine, hung up)
        self.ended = np.zeros(max_ring + 1)  # never answered: busy, invalid, no answer...
        self.w = 0.0
        self.w2 = 0.0
        self.last_decay: float | None = None
        self.pending: list[tuple[float, float, bool, bool]] = []
        self._curves: AnswerCurves | None = None

    # -- updates -------------------------------------------------------------------------
    def observe(
        self, placed_at: float, ring_seconds: float, answered: bool, live: bool, now: float
    ) -> None:
        heapq.heappush(self.pending, (placed_at, float(ring_seconds), answered, live))
        self.advance(now)

    def advance(self, now: float) -> None:
        """Fold in every pending attempt whose whole dial cohort has finished ringing."""
        cutoff = now - self.ring_timeout - self.slack
        if not self.pending or self.pending[0][0] > cutoff:
            return
        if 0 <= now - self.last_fold < self.fold_every:
            return  # fold in batches: the curves move slowly, recomputing them is not free
        self.last_fold = now
        self._time_decay(now)
        batch = []
        while self.pending and self.pending[0][0] <= cutoff:
            batch.append(heapq.heappop(self.pending))
        lam = _decay(self.half_life_calls)
        k = len(batch)
        decay_all = lam**k
        self.live *= decay_all
        self.other *= decay_all
        self.ended *= decay_all
        if lam < 1.0:
            self.w = self.w * decay_all + (1.0 - decay_all) / (1.0 - lam)
            self.w2 = self.w2 * decay_all * decay_all + (1.0 - decay_all**2) / (1.0 - lam * lam)
        else:
            self.w += k
            self.w2 += k
        for i, (_, ring, answered, live) in enumerate(batch):
            weight = lam ** (k - 1 - i)  # later records are forgotten less
            b = min(max(int(ring), 0), self.max_ring)
            if live:
                self.live[b] += weight
            elif answered:
                self.other[b] += weight
            else:
                self.ended[b] += weight
        self._curves = None

    def _time_decay(self, now: float) -> None:
        if self.last_decay is None or now < self.last_decay:
            self.last_decay = now
            return
        dt = now - self.last_decay
        if dt <= 0 or self.half_life_seconds <= 0:
            return
        f = 0.5 ** (dt / self.half_life_seconds)
        self.live *= f
        self.other *= f
        self.ended *= f
        self.w *= f
        self.w2 *= f * f
        self.last_decay = now

    # -- queries -------------------------------------------------------------------------
    def curves(self) -> AnswerCurves:
        if self._curves is not None:
            return self._curves
        n = self.max_ring + 1
        edges = np.arange(n + 1, dtype=float)
        prior = np.zeros(n)
        span = max(1, min(int(math.ceil(self.ring_timeout)), n))
        prior[:span] = self.prior_calls / span
        live = self.live + prior
        total = float(self.live.sum() + self.other.sum() + self.ended.sum()) + self.prior_calls
        cum_live = np.concatenate(([0.0], np.cumsum(live))) / total
        cum_res = np.concatenate(([0.0], np.cumsum(live + self.other + self.ended))) / total
        answered = float(live.sum() + self.other.sum())
        n_eff = (self.w * self.w / self.w2 if self.w2 > 0 else 0.0) + self.prior_calls
        self._curves = AnswerCurves(
            edges=edges,
            live=cum_live,
            resolved=np.minimum(cum_res, 1.0),
            live_given_answer=float(live.sum()) / answered if answered > 0 else 1.0,
            n_eff=n_eff,
        )
        return self._curves

    def to_dict(self) -> dict[str, Any]:
        return {
            "ring_timeout": self.ring_timeout,
            "max_ring": self.max_ring,
            "live": self.live.tolist(),
            "other": self.other.tolist(),
            "ended": self.ended.tolist(),
            "w": self.w,
            "w2": self.w2,
            "last_decay": self.last_decay,
            "pending": [list(p) for p in sorted(self.pending)],
        }

    def load(self, data: dict[str, Any]) -> None:
        self.ring_timeout = float(data.get("ring_timeout", self.ring_timeout))
        for name in ("live", "other", "ended"):
            arr = np.asarray(data[name], dtype=float)
            if arr.shape != (self.max_ring + 1,):
                raise ValueError(f"saved answer bins {name!r} do not match max_ring")
            setattr(self, name, arr)
        self.w = float(data["w"])
        self.w2 = float(data["w2"])
        self.last_decay = data.get("last_decay")
        self.pending = [(float(p), float(r), bool(a), bool(v)) for p, r, a, v in data["pending"]]
        heapq.heapify(self.pending)
        self._curves = None


class PacingStats:
    """Everything the predictive policy learns about one campaign (see the module docs)."""

    def __init__(self, *, ring_timeout: float = 25.0) -> None:
        self.answers = AnswerModel(ring_timeout=ring_timeout)
        self.talk = HazardModel(TALK_EDGES, prior_mean=600.0)
        self.wrap = HazardModel(WRAP_EDGES, prior_mean=60.0)
        # share of wrap-ups that end in a pause/logout instead of ready (forgotten-weighted)
        self.pause_after = 0.0
        self.pause_weight = 0.0
        self.half_life_wrapups = 200.0

    # -- events from the daemon ----------------------------------------------------------
    def observe_attempt(
        self,
        *,
        placed_at: float,
        ring_seconds: float,
        answered: bool,
        live: bool,
        now: float,
    ) -> None:
        """A dial attempt left the ringing phase for good.

        ``ring_seconds``: from placing the call to its answer, or to its end when it was never
        answered (busy, invalid, congestion, no answer at the ring timeout). ``live``: the
        answer reached the agent queue (a person, or a machine AMD let through); report it
        once AMD has decided. Call it for *every* attempt, failures included.
        """
        self.answers.observe(placed_at, ring_seconds, answered, live and answered, now)

    def observe_talk(self, seconds: float, *, now: float | None = None) -> None:
        """An agent finished a connected call that lasted ``seconds`` (from connect to hangup)."""
        self.talk.observe(seconds)

    def observe_wrapup(self, seconds: float, *, ready: bool = True, now: float | None = None) -> None:
        """An agent's wrap-up lasted ``seconds``; ``ready=False`` if it ended in a pause/logout."""
        self.wrap.observe(seconds)
        lam = _decay(self.half_life_wrapups)
        self.pause_after = self.pause_after * lam + (0.0 if ready else 1.0)
        self.pause_weight = self.pause_weight * lam + 1.0

    def advance(self, now: float) -> None:
        """Let time pass (matures dial cohorts); policies call this from ``decide``."""
        self.answers.advance(now)

    # -- summaries -----------------------------------------------------------------------
    @property
    def ring_timeout(self) -> float:
        return self.answers.ring_timeout

    @ring_timeout.setter
    def ring_timeout(self, value: float) -> None:
        self.answers.ring_timeout = float(value)
        self.answers._curves = None

    @property
    def pause_share(self) -> float:
        """Share of wrap-ups ending in a pause (prior: 1 in 20)."""
        return (self.pause_after + 0.05 * 2) / (self.pause_weight + 2)

    def summary(self) -> dict[str, float]:
        """A few human-readable figures (for dashboards and logs)."""
        c = self.answers.curves()
        return {
            "live_answer_rate": round(c.p_live, 4),
            "observed_attempts": round(c.n_eff - self.answers.prior_calls, 1),
            "mean_talk_s": round(self.talk.mean(), 1),
            "mean_wrapup_s": round(self.wrap.mean(), 1),
            "pause_after_wrapup": round(self.pause_share, 3),
        }

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (floats, lists); restore with :meth:`from_dict`."""
        return {
            "version": FORMAT_VERSION,
            "answers": self.answers.to_dict(),
            "talk": self.talk.to_dict(),
            "wrap": self.wrap.to_dict(),
            "pause_after": self.pause_after,
            "pause_weight": self.pause_weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PacingStats:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported pacing stats version {data.get('version')!r}")
        stats = cls(ring_timeout=float(data["answers"]["ring_timeout"]))
        stats.answers.load(data["answers"])
        stats.talk.load(data["talk"])
        stats.wrap.load(data["wrap"])
        stats.pause_after = float(data["pause_after"])
        stats.pause_weight = float(data["pause_weight"])
        return stats
