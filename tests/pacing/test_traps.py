"""The three forecast traps of DESIGN.md, as regression tests."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from dialer.pacing import AbandonCounts, PacingStats, Snapshot, make_policy
from dialer.pacing.forecast import ready_by
from dialer.pacing.predictive import Predictive
from dialer.pacing.sim.engine import simulate
from dialer.pacing.sim.metrics import run_metrics
from dialer.pacing.sim.scenario import ceiling, load_scenario

from .helpers import agents, ringing, trained_stats

SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"


def test_trap1_burst_then_early_answers() -> None:
    """After a burst of dials, recent finishes are first all answers, then all no-answers.

    A finish-order estimate swings from far too high to near zero; the cohort estimate does
    not move, and the policy never dials hundreds of lines.
    """
    stats = trained_stats(p_live=0.25, attempts=2000)
    rng = random.Random(7)
    burst = []  # (placed, finished, live)
    for i in range(300):
        placed = i * 0.03  # 300 dials in 9 s
        if rng.random() < 0.25:
            ring = rng.uniform(3, 12)
            burst.append((placed, placed + ring, True, ring))
        else:
            burst.append((placed, placed + 25.0, False, 25.0))
    burst.sort(key=lambda b: b[1])
    finished: list[bool] = []
    naive, ours, decisions = [], [], []
    policy = Predictive()
    i = 0
    for now in np.arange(1.0, 90.0, 1.0):
        while i < len(burst) and burst[i][1] <= now:
            placed, _, live, ring = burst[i]
            stats.observe_attempt(placed_at=placed, ring_seconds=ring, answered=live, live=live, now=now)
            finished.append(live)
            i += 1
        if len(finished) >= 20:
            naive.append(np.mean(finished[-50:]))
        ours.append(stats.answers.curves().p_live)
        in_flight = [b for b in burst if b[1] > now]
        s = Snapshot(
            now=float(now),
            agents=agents(now, wrapup=[15.0] * 20),
            calls=ringing(now, *[now - b[0] for b in in_flight]),
            stats=stats,
            day=AbandonCounts(0, 2000),
        )
        decisions.append(policy.decide(s))
    assert max(naive) > 0.6 and min(naive) < 0.05  # the trap is real
    assert min(ours) > 0.2 and max(ours) < 0.32  # ours does not swing
    assert max(decisions) <= 80  # 20 agents: never hundreds of lines


def test_trap2_early_shift_long_talk_is_censored() -> None:
    """Early in a shift only short calls have finished; agents talking longer are not "due"."""
    stats = trained_stats(p_live=0.3, talks=0)
    for d in np.linspace(30, 60, 15):
        stats.observe_talk(float(d))
        stats.observe_wrapup(10.0)
    now = 500.0
    talking = np.full(8, 240.0)
    tau = np.array([10.0, 27.0])
    f_talk, _ = ready_by(stats.talk, stats.wrap, talking, np.zeros(0), tau)
    assert f_talk[:, -1].max() < 0.3  # not "about to be free"
    s = Snapshot(now=now, agents=agents(now, talking=list(talking)), stats=stats, day=AbandonCounts(0, 1000))
    assert Predictive().decide(s) <= 1


def test_trap2_talk_survival_without_data_is_conservative() -> None:
    stats = PacingStats()
    f_talk, _ = ready_by(stats.talk, stats.wrap, np.array([30.0, 300.0]), np.zeros(0), np.array([27.0]))
    assert f_talk.max() < 0.1


def test_trap3_small_team_long_calls_never_worse_than_progressive() -> None:
    """4 agents on 5-minute calls: predictive keeps the abandon rate under target and talks
    at least as much as progressive, on the same seed."""
    sc = load_scenario(SCENARIOS / "small-long.toml")
    c = ceiling(sc)
    prog = run_metrics(simulate(sc, lambda: make_policy("progressive"), 3, hours=4), c)
    pred = run_metrics(simulate(sc, lambda: make_policy("predictive"), 3, hours=4), c)
    assert pred.abandon_rate <= 0.03
    assert pred.talk_min_per_agent_hour >= prog.talk_min_per_agent_hour - 0.5
