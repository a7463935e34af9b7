"""The predictive cold-start warm-up: its shape, its default, and the campaign setting that carries it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.definition import DEFAULT_WARMUP, definition_from_data, definition_to_data
from dialer.pacing import AbandonCounts, AgentState, AgentView, Snapshot
from dialer.pacing.governor import PacingGovernor
from dialer.pacing.predictive import Predictive
from dialer.session.runtime import make_governor
from tests.campaigns.conftest import MINIMAL, make_definition


def snap(a: int, c: int, agents: int = 10) -> Snapshot:
    team = tuple(AgentView(AgentState.TALKING, since=0.0) for _ in range(agents))
    return Snapshot(now=0.0, agents=team, day=AbandonCounts(a, c), abandon_target=0.03)


@given(st.integers(0, 5), st.integers(0, 400), st.floats(0.5, 4.0), st.floats(0.25, 2.0))
def test_warmup_scales_the_budget_by_the_answers_and_ends(a: int, c: int, warmup: float, shape: float) -> None:
    plain = Predictive(warmup=0.0).alpha(snap(a, c))
    cold = Predictive(warmup=warmup, warmup_shape=shape).alpha(snap(a, c))
    assert 0.0 <= cold <= plain
    share = (a + c + 1) * 0.03 / warmup
    if share >= 1:
        assert cold == plain
    else:
        assert cold == pytest.approx(plain * share**shape)


@given(st.integers(0, 60), st.floats(0.5, 4.0))
def test_a_softer_shape_spends_more_early_and_every_shape_grows_with_the_answers(c: int, warmup: float) -> None:
    soft, linear = Predictive(warmup=warmup, warmup_shape=0.5), Predictive(warmup=warmup)
    assert soft.alpha(snap(0, c)) >= linear.alpha(snap(0, c))
    assert linear.alpha(snap(0, c + 1)) >= linear.alpha(snap(0, c))
    assert soft.alpha(snap(0, c + 1)) >= soft.alpha(snap(0, c))


@given(st.integers(0, 5), st.integers(0, 60), st.integers(0, 30), st.floats(0.5, 4.0))
def test_the_warmup_applies_to_teams_of_five_or_more_only(a: int, c: int, agents: int, warmup: float) -> None:
    cold = Predictive(warmup=warmup).alpha(snap(a, c, agents))
    plain = Predictive(warmup=0.0).alpha(snap(a, c, agents))
    if agents < 5 or (a + c + 1) * 0.03 >= warmup:
        assert cold == plain
    else:
        assert cold < plain or plain == 0.0


def test_the_campaign_default_is_the_policys_default() -> None:
    assert Predictive().warmup == DEFAULT_WARMUP
    assert make_definition().dial.warmup == DEFAULT_WARMUP


def test_a_campaign_sets_its_warmup_and_the_governor_carries_it() -> None:
    d = make_definition(dial={**MINIMAL["dial"], "mode": "predictive", "warmup": 1.5})
    assert d.dial.warmup == 1.5
    assert definition_from_data(definition_to_data(d)) == d
    policy = make_governor(d).policy
    assert isinstance(policy, Predictive) and policy.warmup == 1.5
    off = make_definition(dial={**MINIMAL["dial"], "mode": "predictive", "warmup": 0})
    assert isinstance(p := make_governor(off).policy, Predictive) and p.warmup == 0.0


def test_other_modes_ignore_the_warmup() -> None:
    gov = PacingGovernor.for_mode("ratio", ratio=2.0, warmup=3.0)
    assert gov.policy.name == "ratio"
