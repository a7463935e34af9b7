"""The simulator's AMI surface: login, errors, EventList shapes, Originate outcomes, faults."""

from __future__ import annotations

from dialer.sim import ManualClock, Simulator, capture_scenario, start_server
from tests.sim.amiclient import RawClient

AGENT = "Local/9001@sim-agents"


async def test_banner_and_login_ok(server) -> None:
    c = await RawClient.connect(server.port)
    assert c.banner == "Asterisk Call Manager/13.0.0"
    resp = await c.login()
    assert resp.items_all() == [
        ("Response", "Success"),
        ("ActionID", "login"),
        ("Message", "Authentication accepted"),
    ]
    await c.close()


async def test_login_wrong_secret_is_refused_and_closed(server) -> None:
    c = await RawClient.connect(server.port)
    resp = await c.login(secret="wrong")
    assert resp.items_all() == [
        ("Response", "Error"),
        ("ActionID", "login"),
        ("Message", "Authentication failed"),
    ]
    assert await c.closed()
    await c.close()


async def test_actions_before_login_are_denied(server) -> None:
    c = await RawClient.connect(server.port)
    resp = await c.action("Ping", "p1")
    assert resp.items_all() == [
        ("Response", "Error"),
        ("ActionID", "p1"),
        ("Message", "Permission denied"),
    ]
    resp = await c.action("Originate", "o1", Channel="Local/5550001@sim-customers", Async="true")
    assert resp["Message"] == "Permission denied"
    await c.close()


async def test_unknown_and_missing_action(client: RawClient) -> None:
    resp = await client.action("Frobnicate", "f1")
    assert resp.items_all() == [
        ("Response", "Error"),
        ("ActionID", "f1"),
        (
            "Message",
            "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands.",
        ),
    ]
    client.writer.write(b"ActionID: nothing\r\n\r\n")
    resp = await client.response("nothing")
    assert resp["Message"] == "Missing action in request"


async def test_ping_and_logoff(client: RawClient) -> None:
    resp = await client.action("Ping", "p")
    assert [k for k, _ in resp.items_all()] == ["Response", "ActionID", "Ping", "Timestamp"]
    assert resp["Ping"] == "Pong"
    float(resp["Timestamp"])
    resp = await client.action("Logoff", "bye")
    assert resp.items_all() == [
        ("Response", "Goodbye"),
        ("ActionID", "bye"),
        ("Message", "Thanks for all the fish."),
    ]
    assert await client.closed()


async def test_action_names_and_headers_are_case_insensitive(client: RawClient) -> None:
    client.writer.write(b"action: ping\r\nactionid: lc\r\n\r\n")
    resp = await client.response("lc")
    assert resp["Ping"] == "Pong"


async def test_events_mask(client: RawClient, clock: ManualClock) -> None:
    resp = await client.action("Events", "ev", EventMask="off")
    assert resp.items_all() == [("Response", "Success"), ("ActionID", "ev"), ("Events", "Off")]
    await client.action("QueueAdd", "qa", Queue="camp1", Interface=AGENT, MemberName="agent1")
    resp = await client.action("Events", "ev2", EventMask="agent")
    assert resp["Events"] == "On"
    await client.action("QueuePause", "qp", Queue="camp1", Interface=AGENT, Paused="true")
    await client.action("Ping", "sync")
    assert [f["Event"] for f in client.events()] == ["FullyBooted", "QueueMemberPause"]


async def test_queue_actions_and_errors(client: RawClient) -> None:
    r = await client.action(
        "QueueAdd", "a1", Queue="camp1", Interface=AGENT, MemberName="agent1", Paused="false"
    )
    assert r["Message"] == "Added interface to queue"
    r = await client.action("QueueAdd", "a2", Queue="camp1", Interface=AGENT)
    assert (r["Response"], r["Message"]) == ("Error", "Unable to add interface: Already there")
    r = await client.action(
        "QueuePause", "p1", Queue="camp1", Interface=AGENT, Paused="true", Reason="BREAK"
    )
    assert r["Message"] == "Interface paused successfully"
    ev = await client.until_event(lambda f: f["Event"] == "QueueMemberPause")
    assert (ev["Paused"], ev["PausedReason"]) == ("1", "BREAK")
    r = await client.action(
        "QueuePause", "p2", Queue="camp1", Interface="Local/1@nowhere", Paused="true"
    )
    assert (r["Response"], r["Message"]) == ("Error", "Interface not found")
    r = await client.action("QueueRemove", "r1", Queue="camp1", Interface=AGENT)
    assert r["Message"] == "Removed interface from queue"
    r = await client.action("QueueRemove", "r2", Queue="camp1", Interface=AGENT)
    assert (r["Response"], r["Message"]) == ("Error", "Unable to remove interface: Not there")
    assert [f["Event"] for f in client.events()][1:] == [
        "QueueMemberAdded",
        "QueueMemberPause",
        "QueueMemberRemoved",
    ]


async def test_eventlist_shapes(client: RawClient, clock: ManualClock) -> None:
    await client.action("QueueAdd", "qa", Queue="camp1", Interface=AGENT, MemberName="agent1")
    await client.action(
        "Originate", "o1", Channel="Local/5550001@sim-customers", Context="dialer-connect", Exten="s",
        Priority=1, Async="true", ChannelId="call-1", OtherChannelId="call-1-peer", Variable="LEAD_ID=1",
    )  # fmt: skip
    clock.advance(3.0)  # answered at 2 s, connected to the agent at once
    client.send("CoreShowChannels", ActionID="csc")
    items = await client.list_items("csc", "CoreShowChannelsComplete")
    resp, *chans, done = items
    assert [k for k, _ in resp.items_all()] == ["Response", "ActionID", "EventList", "Message"]
    assert resp["Message"] == "Channels will follow"
    assert len(chans) == 4 and all(f["Event"] == "CoreShowChannel" for f in chans)
    assert [k for k, _ in chans[0].items_all()][:3] == ["Event", "ActionID", "Channel"]
    assert [k for k, _ in chans[0].items_all()][-4:] == [
        "Application",
        "ApplicationData",
        "Duration",
        "BridgeId",
    ]
    assert {f["Linkedid"] for f in chans} == {"call-1"}
    assert done.items_all() == [
        ("Event", "CoreShowChannelsComplete"),
        ("ActionID", "csc"),
        ("EventList", "Complete"),
        ("ListItems", "4"),
    ]

    client.send("QueueStatus", ActionID="qs", Queue="camp1")
    items = await client.list_items("qs", "QueueStatusComplete")
    assert [f.get("Event") or f["Response"] for f in items] == [
        "Success",
        "QueueParams",
        "QueueMember",
        "QueueStatusComplete",
    ]
    assert items[0]["Message"] == "Queue status will follow"
    assert items[2]["Status"] == "2" and items[2]["InCall"] == "1"
    assert items[-1]["ListItems"] == "2"

    client.send("QueueSummary", ActionID="qsum")
    items = await client.list_items("qsum", "QueueSummaryComplete")
    assert [f.get("Event") or f["Response"] for f in items] == [
        "Success",
        "QueueSummary",
        "QueueSummaryComplete",
    ]
    assert items[1]["LoggedIn"] == "1" and items[1]["Available"] == "0"


async def test_originate_validation(client: RawClient) -> None:
    r = await client.action("Originate", "o1", Context="dialer-connect", Exten="s", Priority=1)
    assert (r["Response"], r["Message"]) == ("Error", "Channel not specified")
    r = await client.action(
        "Originate", "o2", Channel="nonsense", Context="x", Exten="s", Priority=1
    )
    assert r["Message"] == "Invalid channel"
    r = await client.action(
        "Originate",
        "o3",
        Channel="Local/1@sim-customers",
        Context="x",
        Exten="s",
        Priority=1,
        Timeout="soon",
    )
    assert r["Message"] == "Invalid timeout"


async def test_hangup_action(client: RawClient, clock: ManualClock, sim: Simulator) -> None:
    r = await client.action("Hangup", "h0", Channel="Local/nothing-00000001;1")
    assert (r["Response"], r["Message"]) == ("Error", "No such channel")
    await client.action(
        "Originate", "o1", Channel="Local/5550003@sim-customers", Context="dialer-connect", Exten="s",
        Priority=1, Async="true", ChannelId="call-9", Timeout=20000,
    )  # fmt: skip
    chan = await client.until_event(
        lambda f: f["Event"] == "Newchannel" and f["Channel"].endswith(";1")
    )
    r = await client.action("Hangup", "h1", Channel=chan["Channel"])
    assert r["Message"] == "Channel Hungup"
    ev = await client.until_event(lambda f: f["Event"] == "OriginateResponse")
    assert (ev["Response"], ev["Reason"]) == ("Failure", "1")
    assert sim.active_calls() == 0 and sim.stats.hung_up_by_client == 1


async def test_speed_runs_a_call_in_scaled_time() -> None:
    sim = Simulator(capture_scenario(), speed=200)
    async with await start_server(sim) as srv:
        c = await RawClient.connect(srv.port)
        await c.login()
        await c.action(
            "Originate", "o1", Channel="Local/5550003@sim-customers", Context="dialer-connect", Exten="s",
            Priority=1, Async="true", Timeout=5000,
        )  # fmt: skip
        ev = await c.until_event(
            lambda f: f["Event"] == "OriginateResponse", timeout=2.0
        )  # 5 s / 200
        assert ev["Reason"] == "3"
        await c.close()


async def test_sync_originate_answers_after_the_outcome(
    client: RawClient, clock: ManualClock
) -> None:
    client.send(
        "Originate",
        ActionID="s1",
        Channel="Local/5550001@sim-customers",
        Context="dialer-connect",
        Exten="s",
        Priority=1,
    )
    client.send("Ping", ActionID="after")
    await client.until_event(lambda f: f["Event"] == "DialState")
    assert not any(f.get("ActionID") in ("s1", "after") for f in client.frames)
    clock.advance(2.5)
    resp = await client.response("s1")
    assert resp["Message"] == "Originate successfully queued"
    await client.response("after")
    assert not client.events("OriginateResponse")
    # in order: the call's progress, then the Originate's answer, and only then the Ping's
    order = [f.get("ActionID") or f["Event"] for f in client.frames]
    assert order.index("DialState") < order.index("s1") < order.index("after")
