"""The predictive policy's last-hour cap (``[dial] hour_cap``): progressive only while one more
abandon would put the last hour over ``hour_cap`` × the target; off by default."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaigns.definition import DEFAULT_HOUR_CAP, definition_from_data, definition_to_data
from dialer.pacing import AbandonCounts, AgentState, AgentView, Snapshot
from dialer.pacing.predictive import Predictive
from dialer.session.runtime import make_governor
from tests.campaigns.conftest import MINIMAL, make_definition


def snap(hour_a: int, hour_c: int, day_c: int = 2000) -> Snapshot:
    team = tuple(AgentView(AgentState.TALKING, since=0.0) for _ in range(10))
    return Snapshot(now=0.0, agents=team, abandon_target=0.03, hour=AbandonCounts(hour_a, hour_c),
                    day=AbandonCounts(hour_a, day_c))


@given(st.integers(0, 20), st.integers(0, 400), st.floats(1.0, 3.0))
def test_the_cap_stops_predictive_exactly_when_one_more_abandon_would_break_it(a: int, c: int, cap: float) -> None:
    capped, plain = Predictive(hour_cap=cap).alpha(snap(a, c)), Predictive().alpha(snap(a, c))
    if a > 0 and (a + 1) / (a + c + 1) > cap * 0.03:
        assert capped == 0.0
    else:
        assert capped == plain


def test_off_by_default_and_carried_from_the_campaign() -> None:
    assert Predictive().hour_cap == DEFAULT_HOUR_CAP == make_definition().dial.hour_cap == 0.0
    d = make_definition(dial={**MINIMAL["dial"], "mode": "predictive", "hour_cap": 1.5})
    assert definition_from_data(definition_to_data(d)) == d
    policy = make_governor(d).policy
    assert isinstance(policy, Predictive) and policy.hour_cap == 1.5
