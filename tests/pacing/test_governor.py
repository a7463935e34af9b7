"""The pacing governor: line caps, the ratio fallback and the abandon ledger (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing import AbandonCounts, AgentState, AgentView, CallState, CallView, Snapshot
from dialer.pacing.governor import (
    DAY,
    GOVERNOR_MODES,
    HOUR,
    MONTH,
    AbandonLedger,
    LedgerCounts,
    PacingGovernor,
    abandon_limit_reached,
    mode_for,
)
from dialer.pacing.policies import POLICIES, make_policy


@pytest.mark.parametrize(
    ("abandoned", "connected", "limited"),
    [(0, 0, False), (0, 500, False), (1, 10, True), (1, 64, True), (1, 65, False), (3, 200, False), (3, 120, True)],
)
def test_abandon_limit_table(abandoned: int, connected: int, limited: bool) -> None:
    snap = Snapshot(now=0.0, day=AbandonCounts(abandoned, connected), abandon_target=0.03)
    assert abandon_limit_reached(snap) is limited


@given(st.integers(0, 50), st.integers(0, 5000))
def test_ratio_dialling_never_starts_from_a_rate_that_one_abandon_would_break(a: int, c: int) -> None:
    snap = Snapshot(now=0.0, day=AbandonCounts(a, c), abandon_target=0.03)
    if a and not abandon_limit_reached(snap):
        assert (a + 1) / (a + c + 1) <= 0.03


_NO_ANSWERS = AbandonCounts()


def _snap(ready: int, talking: int = 0, ringing: int = 0, *, max_lines: int = 1000,
          day: AbandonCounts = _NO_ANSWERS) -> Snapshot:
    agents = [AgentView(AgentState.READY, 0.0)] * ready + [AgentView(AgentState.TALKING, 0.0)] * talking
    calls = [CallView(CallState.RINGING, 0.0)] * ringing
    return Snapshot(now=10.0, agents=agents, calls=calls, max_lines=max_lines, day=day)


def test_ratio_places_ratio_lines_per_ready_agent_until_the_abandon_limit() -> None:
    gov = PacingGovernor.for_mode("ratio", ratio=3.0)
    assert gov.decide(_snap(ready=4)) == 12
    # at the limit: progressive (one line per ready agent not already covered)
    assert gov.decide(_snap(ready=4, day=AbandonCounts(1, 10))) == 4


def test_predictive_line_cap_per_working_agent() -> None:
    gov = PacingGovernor.for_mode("predictive", max_lines_per_agent=2.0)

    class Greedy:
        def decide(self, snap: Snapshot) -> int:
            return 100

    gov.policy = Greedy()  # type: ignore[assignment]
    # 2 ready + 1 talking = 3 working agents: 6 lines at most, 1 (the talker's) already busy
    assert gov.decide(_snap(ready=2, talking=1)) == 5
    assert gov.decide(_snap(ready=2, talking=1, ringing=5)) == 0
    # and never more than the free lines
    assert gov.decide(_snap(ready=2, talking=1, max_lines=3)) == 2


@given(st.integers(0, 20), st.integers(0, 20), st.integers(0, 60), st.integers(1, 80),
       st.sampled_from(["progressive", "ratio", "predictive"]))
def test_never_negative_never_over_free_lines(ready: int, talking: int, ringing: int, max_lines: int,
                                              mode: str) -> None:
    gov = PacingGovernor.for_mode(mode, ratio=2.5)
    snap = _snap(ready, talking, ringing, max_lines=max_lines)
    n = gov.decide(snap)
    assert 0 <= n <= snap.free_lines


def test_ledger_windows_roll() -> None:
    ledger = AbandonLedger()
    ledger.record(0.0, True)
    ledger.record(10.0, False)
    ledger.record(HOUR + 5.0, False)
    assert ledger.hour(HOUR + 6.0) == AbandonCounts(0, 2)
    assert ledger.day(HOUR + 6.0) == AbandonCounts(1, 2)
    assert ledger.day(DAY + 1.0) == AbandonCounts(0, 2)
    assert ledger.month(DAY + 1.0) == AbandonCounts(1, 2)
    assert ledger.month(MONTH + 11.0) == AbandonCounts(0, 1)


@given(st.lists(st.tuples(st.floats(0, 3 * DAY), st.booleans()), max_size=60), st.floats(0, 4 * DAY))
def test_ledger_counts_equal_a_plain_filter(answers: list[tuple[float, bool]], extra: float) -> None:
    answers.sort()
    ledger = AbandonLedger()
    ledger.extend(answers)
    now = (answers[-1][0] if answers else 0.0) + extra
    for span, counts in ((HOUR, ledger.hour(now)), (DAY, ledger.day(now)), (MONTH, ledger.month(now))):
        inside = [a for t, a in answers if t >= now - span]
        assert counts == AbandonCounts(sum(inside), len(inside) - sum(inside))


@given(st.lists(st.tuples(st.floats(0, 3 * DAY), st.booleans()), max_size=60), st.floats(0, 4 * DAY))
def test_ledger_counts_in_one_call_equal_the_three_windows(answers: list[tuple[float, bool]],
                                                           extra: float) -> None:
    answers.sort()
    one, three = AbandonLedger(), AbandonLedger()
    one.extend(answers)
    three.extend(answers)
    now = (answers[-1][0] if answers else 0.0) + extra
    assert one.counts(now) == LedgerCounts(three.hour(now), three.day(now), three.month(now))


def test_every_policy_has_a_governor_mode() -> None:
    assert set(GOVERNOR_MODES) == set(POLICIES)
    for mode in ("progressive", "ratio", "predictive"):
        assert mode_for(mode) == mode  # a campaign's dial mode governs its own policy
    assert mode_for("vicidial") == "progressive"  # the baseline keeps its own drop limit
    with pytest.raises(ValueError, match="turbo"):
        mode_for("turbo")


def test_for_policy_takes_the_mode_from_the_name_and_shares_the_ledger() -> None:
    ledger = AbandonLedger()
    gov = PacingGovernor.for_policy(make_policy("ratio", ratio=3.0), ledger=ledger)
    assert gov.mode == "ratio" and gov.ledger is ledger
    gov.record_answer(0.0, True)
    assert ledger.day(1.0) == AbandonCounts(1, 0)
    assert PacingGovernor.for_policy(make_policy("vicidial"), mode="ratio").mode == "ratio"
