"""The benchmark-only oracles (benchmarks/pacing_oracle.py): what they know is exact."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.pacing_oracle import AgentOracle, Clairvoyant, OracleSimulation, run
from dialer.pacing.sim.engine import _Agent
from dialer.pacing.sim.scenario import load_scenario
from dialer.pacing.snapshot import AgentState, Snapshot

SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"


class _Checked(OracleSimulation):
    """Records each agent's predicted next-free moment and checks it when the agent frees."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.predicted: dict[int, float] = {}
        self.checked = 0
        self.wrong: list[tuple[float, float]] = []

    def _tick(self, obj: object) -> None:
        for a in self.agents:
            if a.state is not AgentState.READY and a.idx not in self.predicted:
                self.predicted[a.idx] = self.next_free(a)
        super()._tick(obj)

    def _make_ready(self, a: _Agent) -> None:
        want = self.predicted.pop(a.idx, None)
        if want is not None:
            self.checked += 1
            if not math.isclose(want, self.now, abs_tol=1e-6):
                self.wrong.append((want, self.now))
        super()._make_ready(a)

    def _account_out(self, a: _Agent) -> None:
        want = self.predicted.pop(a.idx, None)
        if want is not None and want < math.inf and want < self.day_end - 1e-6:
            self.wrong.append((want, math.inf))
        super()._account_out(a)


def test_agent_free_moments_are_exact() -> None:
    sc = load_scenario(SCENARIOS / "medium.toml")
    sim = _Checked(sc, 3, hours=3.0)
    sim.make = lambda: AgentOracle(sim)  # type: ignore[assignment]
    sim.run()
    assert sim.checked > 300
    assert sim.wrong == []


def test_lead_stream_is_what_gets_dialled() -> None:
    sc = load_scenario(SCENARIOS / "medium.toml")
    sim = OracleSimulation(sc, 1, hours=0.2)
    seen: list[float] = []

    class Peek:
        name, tick = "peek", 1.0

        def decide(self, s: Snapshot) -> int:
            seen.append(sim.peek(0).ring)
            return 1 if s.free_lines else 0

    sim.make = Peek  # type: ignore[assignment]
    sim.run()
    rings = sorted(c.ring for c in sim.by_id.values())
    assert len(seen) >= len(rings) > 100
    assert sorted(seen[: len(rings)]) == pytest.approx(rings)


def test_clairvoyant_is_near_the_ceiling_without_abandons() -> None:
    sc = load_scenario(SCENARIOS / "medium.toml")
    m = run(sc, 0, lambda sim: Clairvoyant(sim), hours=2.0)
    assert m.abandoned == 0
    assert m.fraction_of_ceiling > 0.9
