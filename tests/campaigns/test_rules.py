"""Table tests of rule evaluation: defaults, custom rules, limits, the retarget case."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.definition import load_definition
from campaigns.rules import (
    AddToDnc,
    Callback,
    CallResult,
    Finish,
    LeadHistory,
    MoveToCampaign,
    PastCall,
    Retry,
    earliest_allowed,
    evaluate,
)
from campaigns.rulespec import parse_int_range
from campaigns.windows import is_open, next_open
from tests.campaigns.conftest import EXAMPLES, make_definition

NY = "America/New_York"
# Tuesday 2026-05-12 10:00 in New York (14:00 UTC)
NOW = datetime(2026, 5, 12, 14, 0, tzinfo=UTC)
DEFAULT = make_definition()
NO_HISTORY = LeadHistory()


def run(call: CallResult, definition=DEFAULT, history=NO_HISTORY, now=NOW, zones=(NY,), **kw):
    return evaluate(definition, history, call, now=now, rng=random.Random(7), zones=zones, **kw)


def history(**counts: int) -> LeadHistory:
    return LeadHistory(outcome_counts=counts)


def local(at: datetime, zone: str = NY) -> datetime:
    return at.astimezone(ZoneInfo(zone))


# --- defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize("previous_busy", [0, 1, 4])
def test_busy_retries_in_15_minutes_up_to_5_times(previous_busy: int) -> None:
    action = run(CallResult("BUSY", attempt=previous_busy + 1), history=history(BUSY=previous_busy))
    assert isinstance(action, Retry) and action.rule == "default:busy"
    assert timedelta(minutes=13) <= action.at - NOW <= timedelta(minutes=17)


def test_sixth_busy_goes_to_another_day() -> None:
    action = run(CallResult("BUSY", attempt=6), history=history(BUSY=5))
    assert isinstance(action, Retry) and action.rule == "default:busy-later"
    assert local(action.at).date() == local(NOW).date() + timedelta(days=1)


def test_first_no_answer_retries_in_3_hours() -> None:
    action = run(CallResult("NO_ANSWER"))
    assert isinstance(action, Retry) and action.rule == "default:no-answer"
    assert timedelta(hours=2, minutes=45) <= action.at - NOW <= timedelta(hours=3, minutes=15)


@pytest.mark.parametrize("seed", range(8))
def test_second_no_answer_is_next_day_at_another_hour_band(seed: int) -> None:
    action = evaluate(
        DEFAULT,
        history(NO_ANSWER=1),
        CallResult("NO_ANSWER", attempt=2),
        now=NOW,
        rng=random.Random(seed),
        zones=(NY,),
    )
    assert isinstance(action, Retry) and action.rule == "default:no-answer-later"
    when = local(action.at)
    assert when.date() == local(NOW).date() + timedelta(days=1)
    # this call was at 10:00 local (band 08-12): the retry is in 12-16 or 16-21
    assert 12 <= when.hour < 21


def test_machine_is_next_day_another_band_and_at_least_24h_later() -> None:
    evening = datetime(2026, 5, 13, 0, 30, tzinfo=UTC)  # 20:30 in New York
    for seed in range(10):
        action = evaluate(
            DEFAULT,
            NO_HISTORY,
            CallResult("MACHINE"),
            now=evening,
            rng=random.Random(seed),
            zones=(NY,),
        )
        assert isinstance(action, Retry) and action.rule == "default:machine"
        assert action.at >= evening + timedelta(hours=24)
        assert is_open(DEFAULT.window, [NY], action.at)


def test_abandoned_not_within_72_hours() -> None:
    action = run(CallResult("ABANDONED"))
    assert isinstance(action, Retry) and action.rule == "default:abandoned"
    assert action.at >= NOW + timedelta(hours=72)


@pytest.mark.parametrize(
    ("call", "expected", "rule"),
    [
        (CallResult("CONNECTED", disposition="DNC"), AddToDnc, "default:dnc"),
        (CallResult("CONNECTED", disposition="SALE"), Finish, "default:final"),
        (CallResult("CONNECTED", disposition="REFUSED", reason="PRICE"), Finish, "default:final"),
        (CallResult("CONNECTED", disposition="WRONG_NUMBER"), Finish, "default:final"),
        (CallResult("INVALID_NUMBER"), Finish, "default:invalid-number"),
        (CallResult("CONGESTION"), Retry, "default:congestion"),
        (CallResult("FAILED"), Retry, "default:failed"),
        (CallResult("CONNECTED", disposition="NO_CONTACT"), Retry, "default:connected"),
        (CallResult("CONNECTED"), Retry, "default:connected"),
    ],
)
def test_default_table(call: CallResult, expected: type, rule: str) -> None:
    action = run(call)
    assert isinstance(action, expected)
    assert action.rule == rule


def test_failed_too_often_finishes() -> None:
    action = run(CallResult("FAILED", attempt=4), history=history(FAILED=3))
    assert isinstance(action, Finish) and action.rule == "default:failed-finish"


def test_callback_at_requested_time_owned_by_agent() -> None:
    asked = NOW + timedelta(hours=4)
    action = run(CallResult("CONNECTED", disposition="CALLBACK", callback_at=asked, agent="a7"))
    assert isinstance(action, Callback)
    assert action.at == asked and action.requested_at == asked
    assert action.owner == "a7" and action.exclusive_until == asked + timedelta(minutes=15)


def test_callback_outside_window_moves_to_next_open() -> None:
    asked = datetime(2026, 5, 13, 2, 0, tzinfo=UTC)  # 22:00 in New York
    action = run(CallResult("CONNECTED", disposition="CALLBACK", callback_at=asked, agent="a7"))
    assert isinstance(action, Callback)
    assert local(action.at).replace(tzinfo=None) == datetime(2026, 5, 13, 8, 0)
    assert action.requested_at == asked
    assert any("window" in n for n in action.notes)


def test_callback_to_anyone() -> None:
    d = make_definition(
        rules=[{"when": {"flag": "callback"}, "action": "callback", "owner": "anyone"}]
    )
    asked = NOW + timedelta(hours=1)
    action = run(CallResult("CONNECTED", disposition="CALLBACK", callback_at=asked, agent="a7"), d)
    assert isinstance(action, Callback) and action.owner is None and action.exclusive_until is None


# --- custom rules --------------------------------------------------------------------------


def test_first_matching_rule_wins() -> None:
    d = make_definition(
        rules=[
            {
                "name": "first",
                "when": {"outcome": "BUSY", "attempt": "1-2"},
                "action": "retry",
                "after": "5m",
            },
            {"name": "second", "when": {"outcome": "BUSY"}, "action": "retry", "after": "1h"},
            {"name": "third", "when": {"outcome": "BUSY"}, "action": "finish"},
        ]
    )
    assert run(CallResult("BUSY", attempt=1), d).rule == "first"
    assert run(CallResult("BUSY", attempt=2), d).rule == "first"
    second = run(CallResult("BUSY", attempt=3), d)
    assert second.rule == "second" and second.at == NOW + timedelta(hours=1)
    # no rule for NO_ANSWER: the defaults apply after the campaign's rules
    assert run(CallResult("NO_ANSWER"), d).rule == "default:no-answer"


def test_custom_rule_can_override_a_final_disposition() -> None:
    d = make_definition(
        rules=[
            {
                "when": {"disposition": "REFUSED", "reason": "NO_TIME"},
                "action": "retry",
                "after": "2d",
            }
        ]
    )
    retry = run(CallResult("CONNECTED", disposition="REFUSED", reason="NO_TIME"), d)
    assert isinstance(retry, Retry)
    # a refusal: the 30-day default gap after a refusal pushes the 2-day retry
    assert retry.at >= NOW + timedelta(days=30)
    other = run(CallResult("CONNECTED", disposition="REFUSED", reason="PRICE"), d)
    assert isinstance(other, Finish)


def test_lead_field_match() -> None:
    d = make_definition(
        rules=[
            {
                "when": {"outcome": "BUSY", "lead": {"tier": "gold"}},
                "action": "retry",
                "after": "2m",
            }
        ]
    )
    assert run(CallResult("BUSY"), d, lead={"tier": "Gold"}).rule == "rules[0]"
    assert run(CallResult("BUSY"), d, lead={"tier": "silver"}).rule == "default:busy"
    assert run(CallResult("BUSY"), d, lead={}).rule == "default:busy"


def test_dnc_rule_and_no_defaults() -> None:
    d = make_definition(
        rules=[{"when": {"reason": "NOT_INTERESTED"}, "action": "dnc"}],
        recycle={"default_rules": False},
    )
    assert isinstance(
        run(CallResult("CONNECTED", disposition="REFUSED", reason="NOT_INTERESTED"), d), AddToDnc
    )
    fallback = run(CallResult("BUSY"), d)
    assert isinstance(fallback, Finish) and fallback.rule == "fallback"
    assert run(CallResult("CONNECTED", disposition="DNC")).scope == "global"


def test_campaign_scoped_dnc() -> None:
    d = make_definition(
        rules=[{"when": {"reason": "NO_TIME"}, "action": "dnc", "scope": "campaign"}]
    )
    action = run(CallResult("CONNECTED", disposition="REFUSED", reason="NO_TIME"), d)
    assert isinstance(action, AddToDnc) and action.scope == "campaign"


def test_jitter_is_deterministic_for_a_seed() -> None:
    one = evaluate(DEFAULT, NO_HISTORY, CallResult("BUSY"), now=NOW, rng=random.Random(3))
    two = evaluate(DEFAULT, NO_HISTORY, CallResult("BUSY"), now=NOW, rng=random.Random(3))
    assert one == two


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [("3", [3], [2, 4]), ("2-4", [2, 4], [1, 5]), ("3+", [3, 99], [2]), (">=3", [3], [2]),
     (">3", [4], [3]), ("<=2", [1, 2], [3]), ("<3", [2], [3])],
)  # fmt: skip
def test_int_ranges(text: str, inside: list[int], outside: list[int]) -> None:
    r = parse_int_range(text)
    assert all(n in r for n in inside) and not any(n in r for n in outside)
    assert parse_int_range(r.to_data()) == r


# --- limits --------------------------------------------------------------------------------


def test_max_attempts_finishes_retries_but_not_callbacks() -> None:
    d = make_definition(limits={"max_attempts": 3})
    done = run(CallResult("BUSY", attempt=3), d)
    assert isinstance(done, Finish) and "maximum attempts" in done.reason
    asked = NOW + timedelta(hours=2)
    cb = run(CallResult("CONNECTED", attempt=3, disposition="CALLBACK", callback_at=asked), d)
    assert isinstance(cb, Callback)


def test_gap_after_earlier_abandoned_call_pushes_retry() -> None:
    earlier = NOW - timedelta(hours=10)
    action = run(CallResult("BUSY", attempt=2), history=LeadHistory(last_abandoned_at=earlier))
    assert isinstance(action, Retry)
    assert action.at >= earlier + timedelta(hours=72)


def test_frequency_cap_pushes_to_when_the_oldest_call_expires() -> None:
    d = make_definition(limits={"max_calls_per_number": 4, "per_days": 30})
    calls = tuple(NOW - timedelta(days=d) for d in (20, 10, 5))
    action = run(CallResult("BUSY", attempt=4), d, history=LeadHistory(number_calls=calls))
    # four calls in the last 30 days (three earlier and this one): the next waits
    # until the one 20 days ago is 30 days old, then for the window
    assert isinstance(action, Retry)
    assert action.at >= NOW + timedelta(days=10)
    assert action.at - (NOW + timedelta(days=10)) < timedelta(hours=12)


def test_history_from_calls() -> None:
    h = LeadHistory.from_calls(
        [
            PastCall(NOW - timedelta(days=3), "BUSY"),
            PastCall(NOW - timedelta(days=2), "MACHINE"),
            PastCall(NOW - timedelta(days=1), "CONNECTED", refusal=True),
            PastCall(NOW - timedelta(hours=5), "ABANDONED", same_lead=False),
        ]
    )
    assert h.outcome_counts == {"BUSY": 1, "MACHINE": 1, "CONNECTED": 1}
    assert len(h.number_calls) == 4
    assert h.last_machine_at == NOW - timedelta(days=2)
    assert h.last_refusal_at == NOW - timedelta(days=1)
    assert h.last_abandoned_at == NOW - timedelta(hours=5)
    assert earliest_allowed(DEFAULT, h, None, NOW) == NOW - timedelta(days=1) + timedelta(days=30)


# --- the retarget case -------------------------------------------------------------------------


def test_price_refusal_in_a_is_called_in_b_after_b_starts() -> None:
    basic = load_definition(EXAMPLES / "retention-basic.toml")
    cheaper = load_definition(EXAMPLES / "retention-cheaper.toml")
    refused = CallResult("CONNECTED", attempt=1, disposition="REFUSED", reason="PRICE", agent="a1")
    action = run(refused, basic)
    assert isinstance(action, MoveToCampaign)
    assert action.campaign == "retention-cheaper" and action.at == "start"
    assert action.not_before == NOW + timedelta(days=14)  # retention-basic's refusal gap

    # other reasons are not moved
    no_time = CallResult("CONNECTED", disposition="REFUSED", reason="NO_TIME")
    assert isinstance(run(no_time, basic), Finish)

    # retention-cheaper starts 3 weeks later on a Sunday evening: the lead is due
    # at the start, and is first dialled when B's window opens (Monday 09:00)
    starts = datetime(2026, 6, 7, 23, 0, tzinfo=UTC)  # Sunday 19:00 in New York
    due = max(starts, action.not_before)
    history = LeadHistory.from_calls([PastCall(NOW, "CONNECTED", refusal=True)])
    due = max(due, earliest_allowed(cheaper, history, None, starts))
    first_call = next_open(cheaper.window, [NY], due)
    assert first_call is not None and first_call >= starts
    assert local(first_call).replace(tzinfo=None) == datetime(2026, 6, 8, 9, 0)


def test_retarget_respects_the_target_campaigns_gap() -> None:
    basic = load_definition(EXAMPLES / "retention-basic.toml")
    strict = make_definition(name="strict", limits={"gap_after_refusal": "90d"})
    refused = CallResult("CONNECTED", disposition="REFUSED", reason="PRICE")
    action = run(refused, basic)
    assert isinstance(action, MoveToCampaign)
    history = LeadHistory.from_calls([PastCall(NOW, "CONNECTED", refusal=True)])
    starts = NOW + timedelta(days=21)
    due = max(starts, action.not_before, earliest_allowed(strict, history, None, starts))
    assert due == NOW + timedelta(days=90)


def test_move_at_once_respects_gaps() -> None:
    d = make_definition(
        rules=[{"when": {"reason": "PRICE"}, "action": "move", "campaign": "other", "at": "now"}],
        limits={"gap_after_refusal": "60d"},
    )
    action = run(CallResult("CONNECTED", disposition="REFUSED", reason="PRICE"), d)
    assert isinstance(action, MoveToCampaign) and action.at == "now"
    assert action.not_before == NOW + timedelta(days=60)
