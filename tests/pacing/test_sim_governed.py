"""The simulator dials through the pacing governor: its calls never exceed the governor's caps."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.pacing import Snapshot, make_policy
from dialer.pacing.governor import WORKING, abandon_limit_reached
from dialer.pacing.sim.engine import Simulation
from dialer.pacing.sim.scenario import Scenario, load_scenario
from dialer.pacing.simple import Progressive, uncovered_ready

SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"


class Greedy:
    """Wants every line there is: only the governor stands between it and the trunk."""

    name = "greedy"
    tick = 1.0

    def decide(self, snapshot: Snapshot) -> int:
        return snapshot.free_lines


class Checked(Simulation):
    """Checks each decision's placed calls against the caps of the governor's mode."""

    decisions = 0
    fallbacks = 0

    def _tick(self, obj: object) -> None:
        if not self.dialling:
            return
        snap = self.snapshot()  # what the governor is about to see
        before = self.lines
        super()._tick(obj)
        placed = self.lines - before
        assert self.governor is not None
        assert 0 <= placed <= snap.free_lines
        assert self.lines <= self.sc.lines
        mode = self.governor.mode
        if mode == "predictive" and placed:
            working = snap.count_agents(*WORKING)
            assert self.lines <= int(self.governor.max_lines_per_agent * working)
        elif mode == "ratio" and abandon_limit_reached(snap):
            assert placed <= uncovered_ready(snap)
            self.fallbacks += 1
        self.decisions += 1


def _small(agents: int, lines: int, human: float) -> Scenario:
    sc = load_scenario(SCENARIOS / "small.toml")
    outcomes = dict(sc.outcomes, human=human, no_answer=max(0.0, 0.75 - human))
    return sc.with_changes(agents=agents, max_lines=lines, outcomes=outcomes, login_spread=120.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    agents=st.integers(1, 6),
    lines=st.integers(1, 40),
    human=st.floats(0.05, 0.6),
    per_agent=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    mode=st.sampled_from(["progressive", "ratio", "predictive"]),
    seed=st.integers(0, 10_000),
)
def test_greedy_policy_is_held_to_the_caps_of_every_mode(
    agents: int, lines: int, human: float, per_agent: float, mode: str, seed: int
) -> None:
    sim = Checked(_small(agents, lines, human), Greedy, seed, hours=0.25, mode=mode,
                  max_lines_per_agent=per_agent)
    rec = sim.run()
    assert sim.decisions > 0
    assert rec.peak_lines <= lines
    if mode == "predictive":
        assert rec.peak_lines <= int(per_agent * agents)


def test_shipped_predictive_is_capped_where_it_would_overdial() -> None:
    # low-contact: 10 % persons per dial, so the forecast wants ~5 lines per agent
    sc = load_scenario(SCENARIOS / "low-contact.toml")
    free = Checked(sc, lambda: make_policy("predictive"), 0, hours=1.0, max_lines_per_agent=10.0)
    capped = Checked(sc, lambda: make_policy("predictive"), 0, hours=1.0)
    assert free.run().peak_lines > 3 * sc.agents >= capped.run().peak_lines
    assert capped.governor is not None and capped.governor.mode == "predictive"


def test_ratio_falls_back_to_progressive_at_the_abandon_limit() -> None:
    sc = _small(4, 40, 0.4)
    sim = Checked(sc, lambda: make_policy("ratio", ratio=3.0), 1, hours=1.0)
    sim.run()
    assert sim.fallbacks > 0


def test_vicidial_and_progressive_get_the_free_lines_limit_only() -> None:
    sc = _small(4, 40, 0.3)
    for make in (lambda: make_policy("vicidial"), Progressive):
        sim = Checked(sc, make, 2, hours=0.25)
        sim.run()
        assert sim.governor is not None and sim.governor.mode == "progressive"


def test_agents_flagging_machines_leave_only_people_connected_in_the_ledger() -> None:
    """``[agents] flag_machines``: each machine an agent reached is disposed as one (the
    campaign's ``machine`` disposition) and leaves the governor's ledger, so its connected count is
    the people connected; without it, machines reaching agents count as live answers."""
    sc = load_scenario(SCENARIOS / "medium.toml").with_changes(hours=2.0)
    for flag in (False, True):
        sim = Simulation(sc.with_changes(flag_machines=flag), lambda: make_policy("predictive"), 3)
        rec = sim.run()
        assert sim.governor is not None and rec.machine_to_agent > 0
        connected = sim.governor.ledger.month(sim.now).connected
        assert connected == rec.connected + (0 if flag else rec.machine_to_agent)
