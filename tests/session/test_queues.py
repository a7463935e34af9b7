"""An agent who is a member of other queues too is counted by its state in the campaign's
queue (issue 16, item 1: paused in the campaign's queue with LUNCH but a member of a second
queue, it was counted ready and dialled for; 3 of 5 calls abandoned on a real Asterisk)."""

from __future__ import annotations

from dialer.pacing import AgentState
from tests.session.helpers import T0, feed, member, session, who


def _in_other_queue(frame: dict[str, str]) -> dict[str, str]:
    return {**frame, "Queue": "support"}


def test_paused_in_the_campaign_queue_is_paused_whatever_other_queues_say() -> None:
    s = session("progressive")
    s.login(who("alice"), "e2e", T0)
    feed(s, member("QueueMemberAdded", "alice"), T0)
    feed(s, _in_other_queue(member("QueueMemberAdded", "alice")), T0 + 1)
    feed(s, member("QueueMemberPause", "alice", paused=True, reason="LUNCH"), T0 + 2)
    feed(s, _in_other_queue(member("QueueMemberStatus", "alice")), T0 + 3)  # ready over there
    snap = s.snapshot(next(iter(s.campaigns.values())), T0 + 4)
    assert snap.count_agents(AgentState.READY) == 0
    assert snap.count_agents(AgentState.PAUSED) == 1
    assert s.ready_owners(next(iter(s.campaigns.values()))) == set()
    # ... and unpaused in the campaign's queue it is ready again
    feed(s, member("QueueMemberPause", "alice", paused=False), T0 + 5)
    snap = s.snapshot(next(iter(s.campaigns.values())), T0 + 6)
    assert snap.count_agents(AgentState.READY) == 1


def test_pause_spans_carry_their_code_and_a_ready_agent_has_none() -> None:
    """Issue 16 item 8: agent_state_log.pause_code was always NULL (no pause time by code) and
    `agents ls` showed a ready agent with the stale code "wrapup"."""
    from dialer.session import LogAgentState, SetAgentState

    s = session("progressive", "alice")
    feed(s, member("QueueMemberPause", "alice", paused=True, reason="LUNCH"), T0 + 10)
    cmds = feed(s, member("QueueMemberPause", "alice", paused=False, reason="LUNCH"), T0 + 70)
    [span] = [c for c in cmds if isinstance(c, LogAgentState)]
    assert (span.state, span.pause_code) == ("paused", "LUNCH")
    [state] = [c for c in cmds if isinstance(c, SetAgentState)]
    assert (state.state, state.pause_code) == ("ready", None)


def test_new_leads_are_claimed_soon_after_an_import_into_a_campaign_that_ran_dry() -> None:
    """Issue 16 item 6: a campaign whose leads were all called has no zone keys; new leads
    imported into it waited for the 300 s zone refresh (90 s+ with agents ready)."""
    from dialer.session import ClaimPlan

    s = session("progressive", "alice")
    camp = next(iter(s.campaigns.values()))
    s.zones_read(camp.id, [], T0)  # ran dry: no leads left to call, no zone keys
    assert not s.zones_stale(camp.id, T0 + 31)
    s.leads_claimed(ClaimPlan(camp.id, 1, 0, False), [], T0 + 31)  # nothing to claim
    assert s.zones_stale(camp.id, T0 + 32)  # re-read at the next pass, not 300 s later
    s.zones_read(camp.id, [], T0 + 40)
    s.leads_changed()  # an import the engine saw
    assert s.zones_stale(camp.id, T0 + 41)


def test_the_state_interface_goes_with_every_queue_add() -> None:
    """Issue 16 item 3: a Local agent interface that dials onward names its device's state."""
    from dialer.session import AgentRef, QueueAdd

    s = session("progressive")
    agent = AgentRef(1, "alice", "Local/9001@agents/n", state_interface="PJSIP/alice")
    [add] = [c for c in s.login(agent, "e2e", T0) if isinstance(c, QueueAdd)]
    assert (add.interface, add.state_interface) == ("Local/9001@agents/n", "PJSIP/alice")


def test_a_changed_campaign_definition_invalidates_the_zone_cache_at_once() -> None:
    """Issue 16 item 6, "and on campaign change": a new definition (here a narrower calling
    window) is dialled by at the next pass: the zone keys are stale at once and the open zone
    sets of the same minute are recomputed with the new window (not up to 300 s / 60 s later)."""
    import tomllib
    from datetime import UTC, datetime

    from campaigns.definition import parse_definition
    from tests.e2e.conftest import E2E_CAMPAIGN

    s = session("progressive", "alice")
    camp = next(iter(s.campaigns.values()))
    at = datetime.fromtimestamp(T0, UTC)  # 06:06 in New York, 12:06 in Paris
    keys: list[tuple[str, str | None, str | None]] = [("America/New_York", "US", "NY"), ("Europe/Paris", "FR", None)]
    s.zones_read(camp.id, keys, T0)
    assert s.open_sets(camp.id, at) == {"America/New_York", "Europe/Paris"}  # 00:00-24:00
    assert not s.zones_stale(camp.id, T0 + 1)
    text = E2E_CAMPAIGN.replace("MODE", "progressive").replace('hours = "00:00-24:00"', 'hours = "09:00-17:00"')
    camp.redefine(parse_definition(tomllib.loads(text), "changed"))
    assert s.zones_stale(camp.id, T0 + 1)  # re-read at the next pass
    assert s.open_sets(camp.id, at) == {"Europe/Paris"}  # the same minute, the new window
    s.zones_read(camp.id, keys, T0 + 1)
    assert s.open_sets(camp.id, at) == {"Europe/Paris"} and not s.zones_stale(camp.id, T0 + 2)
