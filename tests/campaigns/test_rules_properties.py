"""Property tests: a computed next time never breaks a gap, a cap, an attempt limit or the window."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.definition import CampaignDefinition
from campaigns.rules import (
    Callback,
    CallResult,
    Finish,
    LeadHistory,
    MoveToCampaign,
    Retry,
    evaluate,
)
from campaigns.rulespec import OUTCOMES
from campaigns.windows import is_open
from tests.campaigns.conftest import make_definition

N = int(os.environ.get("CAMPAIGNS_HYPOTHESIS_EXAMPLES", "150"))
ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "Pacific/Auckland",
]
NOW_ST = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda d: datetime(2026, 3, 8, 7, tzinfo=UTC) + d,
        st.timedeltas(timedelta(days=-2), timedelta(days=2)),
    ),
)
CUSTOM_RULES = [
    {"when": {"outcome": "BUSY", "attempt": "<=2"}, "action": "retry", "after": "1m"},
    {"when": {"reason": "PRICE"}, "action": "move", "campaign": "cheaper", "at": "now"},
    {"when": {"reason": "NO_TIME"}, "action": "retry", "after": "1h", "jitter": "30m"},
    {"when": {"outcome": "NO_ANSWER"}, "action": "retry", "days": 1, "band": "same"},
    {"when": {"disposition": "NO_CONTACT"}, "action": "retry", "after": "5m", "jitter": "5m"},
    {"when": {"flag": "callback"}, "action": "callback", "owner": "anyone", "after": "10m"},
]


@st.composite
def definitions(draw: st.DrawFn) -> CampaignDefinition:
    limits = {
        "max_attempts": draw(st.integers(1, 8)),
        "gap_after_refusal": f"{draw(st.integers(0, 90))}d",
        "gap_after_abandoned": f"{draw(st.integers(0, 96))}h",
        "gap_after_machine": f"{draw(st.integers(0, 48))}h",
        "per_days": draw(st.integers(1, 30)),
    }
    if draw(st.booleans()):
        limits["max_calls_per_number"] = draw(st.integers(1, 6))
    rules = draw(st.lists(st.sampled_from(CUSTOM_RULES), max_size=4, unique_by=str))
    window = draw(
        st.sampled_from(
            [
                {},
                {"weekdays": "10:00-13:00, 14:00-20:00", "weekend": "closed"},
                {"hours": "09:00-12:00", "sun": "closed"},
            ]
        )
    )
    return make_definition(limits=limits, rules=rules, window=window)


@st.composite
def situations(draw: st.DrawFn):
    now = draw(NOW_ST)
    past = st.one_of(
        st.none(), st.timedeltas(timedelta(0), timedelta(days=120)).map(lambda d: now - d)
    )
    history = LeadHistory(
        outcome_counts={
            o: draw(st.integers(0, 6)) for o in draw(st.sets(st.sampled_from(sorted(OUTCOMES))))
        },
        number_calls=tuple(
            sorted(
                now - d
                for d in draw(st.lists(st.timedeltas(timedelta(0), timedelta(days=40)), max_size=8))
            )
        ),
        last_refusal_at=draw(past),
        last_abandoned_at=draw(past),
        last_machine_at=draw(past),
    )
    outcome = draw(st.sampled_from(sorted(OUTCOMES)))
    disposition = reason = callback_at = None
    if outcome == "CONNECTED":
        disposition = draw(
            st.sampled_from([None, "SALE", "REFUSED", "CALLBACK", "NO_CONTACT", "DNC"])
        )
        if disposition == "REFUSED":
            reason = draw(st.sampled_from(["PRICE", "HAS_PROVIDER", "NOT_INTERESTED", "NO_TIME"]))
        if disposition == "CALLBACK":
            callback_at = now + draw(st.timedeltas(timedelta(minutes=1), timedelta(days=20)))
    call = CallResult(
        outcome,
        attempt=draw(st.integers(1, 10)),
        placed_at=now - draw(st.timedeltas(timedelta(0), timedelta(minutes=10))),
        disposition=disposition,
        reason=reason,
        callback_at=callback_at,
        agent="agent-1",
    )
    zones = draw(st.lists(st.sampled_from(ZONES), max_size=2, unique=True))
    return now, history, call, zones, draw(st.integers(0, 2**32))


def _check_limits(
    d: CampaignDefinition, history: LeadHistory, call: CallResult, now: datetime, at: datetime
) -> None:
    limits = d.limits
    disposition = d.disposition(call.disposition) if call.disposition else None
    assert at >= now
    refusals = [history.last_refusal_at] + ([now] if disposition and disposition.refusal else [])
    abandons = [history.last_abandoned_at] + ([now] if call.outcome == "ABANDONED" else [])
    machines = [history.last_machine_at] + ([now] if call.outcome == "MACHINE" else [])
    for events, gap in (
        (refusals, limits.gap_after_refusal),
        (abandons, limits.gap_after_abandoned),
        (machines, limits.gap_after_machine),
    ):
        for event in events:
            if event is not None:
                assert at >= event + gap, (event, gap, at)
    if limits.max_calls_per_number:
        calls = [*history.number_calls, call.placed_at]
        recent = [c for c in calls if c > at - timedelta(days=limits.per_days)]
        assert len(recent) < limits.max_calls_per_number, (recent, at)


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=definitions(), situation=situations())
def test_next_time_respects_every_limit(definition: CampaignDefinition, situation) -> None:
    now, history, call, zones, seed = situation
    action = evaluate(definition, history, call, now=now, rng=random.Random(seed), zones=zones)
    if isinstance(action, Retry):
        assert call.attempt < definition.limits.max_attempts
    if isinstance(action, Retry | Callback):
        _check_limits(definition, history, call, now, action.at)
        if zones and not any("no open calling window" in n for n in action.notes):
            assert is_open(definition.window, zones, action.at)
    if isinstance(action, Callback):
        assert call.callback_at is None or action.at >= call.callback_at
    if isinstance(action, MoveToCampaign):
        _check_limits(definition, history, call, now, action.not_before)
    if call.attempt >= definition.limits.max_attempts:
        assert not isinstance(action, Retry)
    if call.disposition == "DNC":
        assert not isinstance(action, Retry | Callback)
    if call.disposition == "SALE":
        assert isinstance(action, Finish)


@settings(max_examples=N, deadline=None)
@given(definition=definitions(), situation=situations())
def test_evaluation_is_deterministic(definition: CampaignDefinition, situation) -> None:
    now, history, call, zones, seed = situation
    first = evaluate(definition, history, call, now=now, rng=random.Random(seed), zones=zones)
    again = evaluate(definition, history, call, now=now, rng=random.Random(seed), zones=zones)
    assert first == again
