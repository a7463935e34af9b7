"""The PBX's failures of an agent's actions reach the caller: refused or unanswered -> 502 with
the PBX's reason, not a member -> 409, "Already there" on a login -> 200 (idempotent); a login
the PBX refuses leaves the agent as it was, in memory and in its row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialer.schema import metadata
from tests.api.conftest import ALICE, Api

agents = metadata.tables["agents"]


async def post(api: Api, action: str, **body: str):
    return await api.client.post(f"/api/agents/alice/{action}", json=body or None, headers=ALICE)


async def stored(api: Api) -> tuple:
    async with api.engine.db.connect() as conn:
        return (await conn.execute(select(agents.c.campaign_id, agents.c.node, agents.c.state)
                                   .where(agents.c.name == "alice"))).one()


async def test_a_login_the_pbx_refuses_is_502_with_its_reason_and_undone(api: Api) -> None:
    api.link.refuse("add", "Unable to add interface to queue: No such queue")
    r = await post(api, "login", campaign="e2e")
    assert r.status_code == 502
    assert r.json() == {"error": "PBX refused QueueAdd: Unable to add interface to queue: No such queue"}
    assert api.engine.agent_by_name("alice") is None  # not logged in here
    assert tuple(await stored(api)) == (None, None, "logged_out")
    r = await post(api, "pause", code="BREAK")
    assert r.status_code == 409 and "not logged in" in r.json()["error"]


async def test_a_login_the_pbx_does_not_answer_is_502_and_undone(api: Api) -> None:
    api.link.silence("add")
    r = await post(api, "login", campaign="e2e")
    assert r.status_code == 502 and r.json()["error"].startswith("PBX did not answer QueueAdd: no response")
    assert api.engine.agent_by_name("alice") is None
    assert tuple(await stored(api))[:2] == (None, None)


async def test_a_relogin_the_pbx_refuses_keeps_the_agent_logged_in_as_before(api: Api) -> None:
    assert (await post(api, "login", campaign="e2e")).status_code == 200
    campaign_id, node, _ = await stored(api)
    assert campaign_id is not None and node == api.engine.node
    api.link.refuse("add", "Out of memory")
    assert (await post(api, "login", campaign="e2e")).status_code == 502
    assert api.engine.agent_by_name("alice").campaign.name == "e2e"
    assert tuple(await stored(api))[:2] == (campaign_id, node)


async def test_a_login_already_there_is_idempotent(api: Api) -> None:
    api.link.refuse("add", "Unable to add interface: Already there")
    r = await post(api, "login", campaign="e2e")
    assert r.status_code == 200, r.text
    # the member the PBX has is set to the pause state the login asks for (unpaused)
    assert api.link.actions[-2:] == [("add", ("e2e", "PJSIP/alice", "alice")),
                                     ("pause", ("e2e", "PJSIP/alice", False, ""))]
    assert api.engine.agent_by_name("alice").campaign.name == "e2e"


@pytest.mark.parametrize(("action", "body"), [("pause", {"code": "BREAK"}), ("ready", {})])
async def test_a_pause_or_ready_the_pbx_refuses_is_502_not_a_member_409(api: Api, action: str, body: dict) -> None:
    assert (await post(api, "login", campaign="e2e")).status_code == 200
    api.link.refuse("pause", "Something odd")
    r = await post(api, action, **body)
    assert r.status_code == 502 and r.json() == {"error": "PBX refused QueuePause: Something odd"}
    api.link.refuse("pause", "Interface not found")
    r = await post(api, action, **body)
    assert r.status_code == 409 and r.json() == {"error": "PBX: QueuePause: Interface not found"}
    api.link.silence("pause")
    r = await post(api, action, **body)
    assert r.status_code == 502 and "did not answer QueuePause" in r.json()["error"]
    api.link.failures.clear()
    assert (await post(api, action, **body)).status_code == 200


async def test_a_logout_the_pbx_refuses_is_502_not_a_member_is_done(api: Api) -> None:
    assert (await post(api, "login", campaign="e2e")).status_code == 200
    api.link.refuse("remove", "Member not dynamic")
    r = await post(api, "logout")
    assert r.status_code == 502 and r.json() == {"error": "PBX refused QueueRemove: Member not dynamic"}
    api.link.refuse("remove", "Unable to remove interface: Not there")
    r = await post(api, "logout")
    assert r.status_code == 200 and r.json() == {"agent": "alice", "state": "logged_out"}
