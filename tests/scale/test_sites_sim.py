"""The pacing simulator with several sites of one campaign: the sites' events interleave in
virtual time, each site's governor sees the other sites' answers (shared) or not (isolated),
and the campaign's record is the sum of the sites'."""

from __future__ import annotations

from dialer.pacing import make_policy
from dialer.pacing.sim.engine import Simulation
from dialer.pacing.sim.metrics import run_metrics
from dialer.pacing.sim.scenario import scenario_from_dict
from dialer.pacing.sim.sites import merge, simulate_sites, site_scenarios

SC = scenario_from_dict({"name": "tiny", "hours": 1.0, "agents": {"count": 9, "login_spread": 60, "breaks": []},
                         "talk": {"human": {"dist": "lognormal", "mean": 60, "cv": 0.5}},
                         "outcomes": {"human": 0.3, "machine": 0.1, "busy": 0.1, "no_answer": 0.5, "invalid": 0.0}})


def _predictive():
    return make_policy("predictive")


def test_sites_split_agents_and_lines() -> None:
    sites = site_scenarios(SC.with_changes(max_lines=90), [6, 3])
    assert [(s.agents, s.lines, s.name) for s in sites] == [(6, 60, "tiny/site0"), (3, 30, "tiny/site1")]


def test_shared_sites_see_each_others_answers_and_add_up() -> None:
    seen: list[int] = []
    original = Simulation.snapshot

    def spy(self: Simulation):  # type: ignore[no-untyped-def]
        snap = original(self)
        assert self.governor is not None
        own = self.ledger.counts(self.now).day
        seen.append(snap.day.answered - own.answered)  # what the peers add
        return snap

    Simulation.snapshot = spy  # type: ignore[method-assign]
    try:
        recs = simulate_sites(SC, [6, 3], _predictive, seed=3)
        peers_shared = max(seen)
        seen.clear()
        isolated = simulate_sites(SC, [6, 3], _predictive, seed=3, shared=False)
        peers_isolated = max(seen)
    finally:
        Simulation.snapshot = original  # type: ignore[method-assign]
    assert peers_shared > 0 and peers_isolated == 0
    camp = merge(recs, "tiny")
    assert camp.dials == sum(r.dials for r in recs) and camp.connected == sum(r.connected for r in recs)
    assert camp.answer_times == sorted(camp.answer_times)
    assert len(camp.answer_times) == sum(len(r.answer_times) for r in recs)
    m = run_metrics(camp, 0.9)
    assert m.abandon_rate == camp.abandoned / (camp.abandoned + camp.connected)
    assert [r.dials for r in simulate_sites(SC, [6, 3], _predictive, seed=3)] == [r.dials for r in recs]  # deterministic
    assert [r.dials for r in isolated] != [] and all(r.agent_seconds > 0 for r in isolated)
