"""The governor's last decision (for the wallboard) and the abandon budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing import AbandonCounts, AgentState, AgentView, CallState, CallView, Snapshot
from dialer.pacing.governor import PacingGovernor, abandon_budget


def test_decision_says_what_limited_the_lines() -> None:
    gov = PacingGovernor.for_mode("progressive")
    snap = Snapshot(now=10.0, agents=[AgentView(AgentState.READY, 0.0)] * 3,
                    calls=[CallView(CallState.RINGING, 9.0)], max_lines=2)
    assert gov.decide(snap) == 1
    d = gov.last
    assert d is not None and (d.free_lines, d.wants) == (1, 1)
    assert (d.ready, d.working, d.ringing, d.waiting) == (3, 3, 1, 0)
    assert d.as_dict()["wants"] == 1 and d.as_dict()["limited_by"] == "policy"
    gov.decide(Snapshot(now=11.0, agents=[AgentView(AgentState.READY, 0.0)]))
    assert gov.last.limited_by == "policy" and gov.last.wants == 1


def test_ratio_falls_back_on_the_abandon_limit_and_says_so() -> None:
    gov = PacingGovernor.for_mode("ratio", ratio=3.0)
    snap = Snapshot(now=5.0, agents=[AgentView(AgentState.READY, 0.0)] * 2,
                    day=AbandonCounts(abandoned=3, connected=50))
    assert gov.decide(snap) == 2
    assert gov.last.limited_by == "abandon limit" and gov.last.policy_wants == 6


def test_budget_examples() -> None:
    assert abandon_budget(AbandonCounts(0, 0), 0.03) == 0
    assert abandon_budget(AbandonCounts(0, 100), 0.03) == 3  # 3/103 <= 3 %, 4/104 > 3 %
    assert abandon_budget(AbandonCounts(5, 95), 0.03) == 0


@given(a=st.integers(0, 500), c=st.integers(0, 5000), target=st.sampled_from([0.01, 0.02, 0.03]))
def test_budget_is_the_largest_k_within_target(a: int, c: int, target: float) -> None:
    k = abandon_budget(AbandonCounts(a, c), target)
    n = a + c
    if k > 0:
        assert (a + k) / (n + k) <= target + 1e-12
    assert n + k + 1 == 0 or (a + k + 1) / (n + k + 1) > target - 1e-12
