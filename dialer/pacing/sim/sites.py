"""Several sites of one campaign in one discrete-event simulation (issue 18).

Each site is a :class:`~dialer.pacing.sim.engine.Simulation` of its own agents and lines (its
PBX and daemon); the sites' events run interleaved in virtual time. With ``shared=True`` each
site's governor reads the *other* sites' ledgers every ``sync`` seconds, as a daemon reads the
campaign-wide ledger from the database (:mod:`dialer.pacing.shared`); with ``shared=False`` each
site paces on its own answers only (one daemon per PBX before the shared ledger).

:func:`merge` adds the sites' records up into the campaign's, so that the campaign's abandon rate
and talk time are measured exactly as one site's are (:func:`~dialer.pacing.sim.metrics.run_metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dialer.pacing.governor import LedgerCounts
from dialer.pacing.sim.engine import DAY, RunRecord, Simulation
from dialer.pacing.sim.scenario import Scenario
from dialer.pacing.simple import Policy
from dialer.pacing.stats import PacingStats

#: Seconds between two reads of the other sites' counts (the daemon's ``ledger_interval``).
SYNC = 5.0


def site_scenarios(scenario: Scenario, sizes: Sequence[int]) -> list[Scenario]:
    """The scenario cut into sites of ``sizes`` agents; lines in proportion when capped."""
    total = sum(sizes)
    return [scenario.with_changes(agents=n, name=f"{scenario.name}/site{i}",
                                  max_lines=max(1, round(scenario.max_lines * n / total)) if scenario.max_lines else 0)
            for i, n in enumerate(sizes)]


def simulate_sites(scenario: Scenario, sizes: Sequence[int], make: Callable[[], Policy], seed: int, *,
                   shared: bool = True, sync: float = SYNC, hours: float | None = None) -> list[RunRecord]:
    """Run the sites of one campaign; one record per site (see :func:`merge`)."""
    sims = [Simulation(sc, make, seed, hours=hours) for sc in site_scenarios(scenario, sizes)]
    for day in range(scenario.days):
        for sim in sims:
            sim.begin_day(day)
        live = list(sims)
        next_sync = day * DAY
        while live:
            sim = min(live, key=Simulation.next_time)
            t = sim.next_time()
            if shared and t >= next_sync:
                counts = [s.ledger.counts(t) for s in sims]
                for i, s in enumerate(sims):
                    assert s.governor is not None
                    others = LedgerCounts()
                    for j, c in enumerate(counts):
                        if j != i:
                            others = others + c
                    s.governor.peers.read(others, t)
                next_sync = t + sync
            if not sim.step():
                live.remove(sim)
        for sim in sims:
            sim.end_day()
            sim.stats = PacingStats.from_dict(sim.stats.to_dict())
    return [sim.rec for sim in sims]


def merge(records: Sequence[RunRecord], name: str) -> RunRecord:
    """The campaign's record: the sites' added up, live answers in time order."""
    first = records[0]
    out = RunRecord(name, first.policy, first.seed, first.days, day_spans=list(first.day_spans))
    answers: list[tuple[float, bool]] = []
    for r in records:
        out.agent_seconds += r.agent_seconds
        out.talk_seconds += r.talk_seconds
        out.dials += r.dials
        out.connected += r.connected
        out.abandoned += r.abandoned
        out.machine_to_agent += r.machine_to_agent
        out.amd_false_positive += r.amd_false_positive
        out.peak_lines += r.peak_lines
        out.waits += r.waits
        answers += zip(r.answer_times, r.answer_abandoned, strict=True)
    answers.sort()
    out.answer_times = [t for t, _ in answers]
    out.answer_abandoned = [a for _, a in answers]
    return out
