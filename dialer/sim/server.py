"""The AMI side of the simulator: an asyncio TCP server speaking Asterisk's manager protocol.

``sim = Simulator(scenario)``; ``server = await start_server(sim, "127.0.0.1", 0)``;
``server.port``; faults ``server.drop_connections()``, ``server.freeze(seconds)``,
``await server.restart()``, ``server.stop_gracefully()``; ``await server.close()``.  Ground
truth in ``sim.stats``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dialer.ami.codec import Banner, Frame, FrameParser
from dialer.clock import Clock, ScaledClock
from dialer.sim.cli import ACTIONS, cli_command, dialplan
from dialer.sim.events import (
    ALL_CLASSES,
    CLASS_BITS,
    lines,
    list_complete,
    list_event,
    parse_mask,
    response,
)
from dialer.sim.pbx import PBX, CallTruth, Member, Stats, truthy
from dialer.sim.scenario import Scenario, load_scenario

log = logging.getLogger("dialer.sim")

BANNER = "Asterisk Call Manager/13.0.0"
MAX_BUFFER = 32 * 1024 * 1024  # a client that stops reading is cut off, as Asterisk does
_PRE_LOGIN = frozenset({"login", "logoff", "challenge"})
#: CLI commands that stop the PBX gracefully (calls in progress end first).
STOP_COMMANDS = frozenset({"core stop gracefully", "core stop when convenient"})


class Simulator:
    """The simulated PBX plus its scenario and clock (no networking: see :func:`start_server`)."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        clock: Clock | None = None,
        speed: float | None = None,
        seed: int | None = None,
        deterministic: bool | None = None,
        username: str | None = None,
        secret: str | None = None,
        epoch: float | None = None,
    ) -> None:
        scenario = scenario or load_scenario()
        changes: dict[str, Any] = {}
        if speed is not None:
            changes["speed"] = float(speed)
        if seed is not None:
            changes["seed"] = int(seed)
        if deterministic is not None:
            changes["deterministic"] = bool(deterministic)
        if username is not None:
            changes["username"] = username
        if secret is not None:
            changes["secret"] = secret
        self.scenario = replace(scenario, **changes) if changes else scenario
        self.clock: Clock = clock if clock is not None else ScaledClock(self.scenario.speed)
        self.pbx = PBX(self.scenario, self.clock, epoch=epoch)

    @property
    def stats(self) -> Stats:
        return self.pbx.stats

    @property
    def truth(self) -> dict[str, CallTruth]:
        """Per dial attempt (by ``ChannelId``): what really happened."""
        return self.pbx.truth

    def active_calls(self) -> int:
        return self.pbx.active_calls()

    def members(self, queue: str) -> list[Member]:
        q = self.pbx.queues.get(queue)
        return list(q.members.values()) if q else []

    def add_member(
        self, queue: str, interface: str, name: str = "", *, paused: bool = False
    ) -> str | None:
        """Add a queue member as QueueAdd would (events included); an error message or ``None``."""
        return self.pbx.queue_add(queue, interface, name, interface, paused)

    def hangup(self, channel: str, cause: int = 16) -> bool:
        return self.pbx.hangup_channel(channel, cause)


class AmiServer:
    """A listening AMI endpoint on a :class:`Simulator`, with fault injection."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self._port = port
        self._server: asyncio.base_events.Server | None = None
        self.connections: set[AmiConnection] = set()
        self.frozen_until = 0.0  # loop time
        self._hold_events = False
        self._held: list[tuple[int, bytes]] = []
        self._thaw: asyncio.TimerHandle | None = None
        self.total_connections = 0
        self.shutting_down = False  # ``core stop gracefully`` under way: every action refused
        self.stopped = asyncio.Event()  # set when a graceful stop has closed everything
        self._stopper: asyncio.Task[None] | None = None
        sim.pbx.listeners.append(self._broadcast)

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> AmiServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AmiConnection(self), self.host, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._stopper is not None:
            self._stopper.cancel()
        if self._server is not None:
            self._server.close()
        self.drop_connections()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._thaw is not None:
            self._thaw.cancel()
        if self._broadcast in self.sim.pbx.listeners:
            self.sim.pbx.listeners.remove(self._broadcast)

    async def __aenter__(self) -> AmiServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ faults
    def drop_connections(self) -> int:
        """Cut every client connection at once (no Goodbye); returns how many were cut."""
        conns = list(self.connections)
        for conn in conns:
            conn.abort()
        return len(conns)

    def freeze(self, seconds: float, *, events: bool = False) -> None:
        """Stop answering actions for ``seconds`` (wall-clock); they are answered afterwards.

        With ``events=True`` the event stream stalls too (and is delivered at the thaw).
        """
        loop = asyncio.get_running_loop()
        self.frozen_until = max(self.frozen_until, loop.time() + seconds)
        self._hold_events = self._hold_events or events
        if self._thaw is not None:
            self._thaw.cancel()
        self._thaw = loop.call_at(self.frozen_until, self._unfreeze)

    def _unfreeze(self) -> None:
        self._thaw = None
        self.frozen_until = 0.0
        held, self._held, self._hold_events = self._held, [], False
        for bit, data in held:
            self._send_event(bit, data)
        for conn in list(self.connections):
            conn.pump()

    @property
    def frozen(self) -> bool:
        return self.frozen_until > 0.0

    async def restart(self, *, keep_members: bool = False, downtime: float = 0.0) -> None:
        """Like ``core restart now``: connections close, calls in progress vanish without events,
        dynamic queue members are forgotten (``persistentmembers = no``) unless ``keep_members``.
        With ``downtime`` the port refuses connections for that many wall-clock seconds."""
        if downtime > 0 and self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()
            self._server = None
            self.sim.pbx.reset(keep_members=keep_members)
            await asyncio.sleep(downtime)
            await self.start()
            return
        self.drop_connections()
        self.sim.pbx.reset(keep_members=keep_members)

    def stop_gracefully(self, *, linger: float = 2.0, downtime: float | None = None) -> None:
        """Like ``core stop gracefully`` (recording 06 of the Asterisk 22 set): from now on every
        action on every connection, logins included, is answered ``Response: Error`` /
        ``Message: Asterisk is shutting down`` and nothing new is dialled; calls in progress go
        on to their natural end; ``linger`` seconds (simulated) after the last one, ``Event:
        Shutdown`` (``Cleanly``, ``Restart: False``) and the connections close.  The port then
        refuses connections; with ``downtime`` (wall-clock seconds) the PBX starts again after
        it, its dynamic members forgotten, as a restarted Asterisk."""
        if self.shutting_down:
            return
        self.shutting_down = self.sim.pbx.shutting_down = True
        self.stopped.clear()
        self._stopper = asyncio.ensure_future(self._stop_when_idle(linger, downtime))

    async def _stop_when_idle(self, linger: float, downtime: float | None) -> None:
        while self.sim.active_calls():
            await asyncio.sleep(0.01)
        await self.sim.clock.sleep(linger)
        self._broadcast(CLASS_BITS["system"],
                        "Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: False\r\n\r\n")
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self.connections):
            conn.close()
        if server is not None:
            await server.wait_closed()
        self.sim.pbx.reset()
        self.shutting_down = False
        self.stopped.set()
        log.info("sim: stopped gracefully")
        if downtime is not None:
            await asyncio.sleep(downtime)
            await self.start()
            log.info("sim: started again")

    # ------------------------------------------------------------------ events
    def _broadcast(self, bit: int, text: str) -> None:
        data = text.encode()
        if self._hold_events:
            self._held.append((bit, data))
            return
        self._send_event(bit, data)

    def _send_event(self, bit: int, data: bytes) -> None:
        for conn in self.connections:
            if conn.authenticated and conn.mask & bit:
                conn.send(data)


class AmiConnection(asyncio.Protocol):
    """One manager session: parses actions, answers them in order, receives events."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.pbx = server.sim.pbx
        self.scenario = server.sim.scenario
        self.parser = FrameParser(expect_banner=False)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[Frame] = deque()
        self.blocked = False
        self.authenticated = False
        self.mask = ALL_CLASSES
        self.peer = ""
        self._wake: asyncio.TimerHandle | None = None
        self.username = ""
        self.denied = {a.lower() for a in self.scenario.denied_actions}

    # -------------------------------------------------------------- transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server.connections.add(self)
        self.server.total_connections += 1
        log.info("sim: connection from %s", self.peer)
        transport.write((BANNER + "\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self._wake is not None:
            self._wake.cancel()
        self.transport = None
        log.info("sim: connection from %s closed", self.peer)

    def data_received(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            if isinstance(frame, Banner):
                continue
            self.pending.append(frame)
        self.pump()

    def send(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(data)
        if t.get_write_buffer_size() > MAX_BUFFER:
            log.warning("sim: %s does not read its events; disconnecting", self.peer)
            t.abort()

    def write(self, text: str) -> None:
        self.send(text.encode())

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # ---------------------------------------------------------------- actions
    def pump(self) -> None:
        """Answer queued actions in order, unless frozen or waiting on a non-async Originate."""
        loop = asyncio.get_running_loop()
        while self.pending and not self.blocked and self.transport is not None:
            if self.server.frozen_until > loop.time():
                if self._wake is None:
                    self._wake = loop.call_at(self.server.frozen_until, self._woken)
                return
            self.handle(self.pending.popleft())

    def _woken(self) -> None:
        self._wake = None
        self.pump()

    def handle(self, frame: Frame) -> None:
        h: dict[str, str] = {}
        variables: list[str] = []
        for key, value in frame.items_all():
            k = key.lower()
            if k == "variable":
                variables.append(value)
            h.setdefault(k, value)
        aid = h.get("actionid")
        action = h.get("action", "").strip()
        if not action:
            self.write(response(aid, "Error", [("Message", "Missing action in request")]))
            return
        name = action.lower()
        if self.server.shutting_down:  # manager.c: before the login check, for every action
            self.write(response(aid, "Error", [("Message", "Asterisk is shutting down")]))
            return
        if not self.authenticated and name not in _PRE_LOGIN:
            self.write(response(aid, "Error", [("Message", "Permission denied")]))
            return
        if name in self.denied:
            self.write(response(aid, "Error", [("Message", "Permission denied")]))
            return
        handler = _HANDLERS.get(name)
        if handler is None:
            msg = f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            self.write(response(aid, "Error", [("Message", msg)]))
            return
        self.pbx.hold()
        try:
            handler(self, h, variables, aid)
        finally:
            self.pbx.release()

    def error(self, aid: str | None, message: str) -> None:
        self.write(response(aid, "Error", [("Message", message)]))

    def ok(self, aid: str | None, message: str) -> None:
        self.write(response(aid, "Success", [("Message", message)]))

    # Each handler: (headers lower-cased, Variable lines, ActionID).
    def a_login(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        if self.authenticated:
            self.ok(aid, "Already authenticated")
            return
        sc = self.scenario
        good = h.get("username", "") == sc.username and h.get("secret", "") == sc.secret
        if not good:
            log.info("sim: %s failed to authenticate as %r", self.peer, h.get("username", ""))
            self.blocked = True

            def refuse() -> None:
                self.error(aid, "Authentication failed")
                self.close()

            if sc.auth_fail_delay > 0:
                asyncio.get_running_loop().call_later(sc.auth_fail_delay, refuse)
            else:
                refuse()
            return
        self.authenticated = True
        self.username = h.get("username", "")
        if "events" in h:
            mask = parse_mask(h["events"])
            self.mask = ALL_CLASSES if mask is None else mask
        log.info("sim: %s logged in as %s", self.peer, self.username)
        self.ok(aid, "Authentication accepted")
        if self.mask & CLASS_BITS["system"]:
            up = int(self.pbx.epoch() - self.pbx.started)
            self.write(
                f"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: {up}\r\nLastReload: {up}\r\nStatus: Fully Booted\r\n\r\n"
            )

    def a_logoff(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        self.write(response(aid, "Goodbye", [("Message", "Thanks for all the fish.")]))
        self.blocked = True
        self.close()

    def a_ping(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        self.write(
            response(aid, "Success", [("Ping", "Pong"), ("Timestamp", f"{self.pbx.epoch():.6f}")])
        )

    def a_events(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        mask = parse_mask(h.get("eventmask", ""))
        if mask is None:
            self.error(aid, "Invalid event mask")
            return
        self.mask = mask
        self.write(response(aid, "Success", [("Events", "On" if mask else "Off")]))

    def a_originate(self, h: dict[str, str], variables: list[str], aid: str | None) -> None:
        result = self.pbx.originate(h, variables, aid)
        if result.error is not None:
            self.error(aid, result.error)
            return
        if result.pending and result.call is not None:
            self.blocked = True

            def done(ok: bool) -> None:
                if ok:
                    self.ok(aid, "Originate successfully queued")
                else:
                    self.error(aid, "Originate failed")
                self.blocked = False
                asyncio.get_running_loop().call_soon(self.pump)

            result.call.on_result = done
            return
        self.ok(aid, "Originate successfully queued")

    def a_hangup(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        channel = h.get("channel", "")
        if not channel:
            self.error(aid, "No channel specified")
            return
        try:
            cause = int(h.get("cause") or 16)
        except ValueError:
            cause = 16
        if self.pbx.channels.get(channel) is None:
            self.error(aid, "No such channel")
            return
        self.ok(aid, "Channel Hungup")
        self.pbx.hangup_channel(channel, cause)

    def a_queueadd(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        queue, interface = h.get("queue", ""), h.get("interface", "")
        if not queue:
            self.error(aid, "'Queue' not specified.")
            return
        if not interface:
            self.error(aid, "'Interface' not specified.")
            return
        try:
            penalty = int(h.get("penalty") or 0)
        except ValueError:
            penalty = 0
        q = self.pbx.get_queue(queue)
        if q is None:
            self.error(aid, "Unable to add interface to queue: No such queue")
            return
        if interface in q.members:
            self.error(aid, "Unable to add interface: Already there")
            return
        self.ok(aid, "Added interface to queue")
        self.pbx.queue_add(
            queue,
            interface,
            h.get("membername", ""),
            h.get("stateinterface", ""),
            truthy(h.get("paused")),
            h.get("reason", ""),
            penalty,
        )

    def a_queueremove(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        queue, interface = h.get("queue", ""), h.get("interface", "")
        if not queue or not interface:
            self.error(aid, "Need 'Queue' and 'Interface' parameters.")
            return
        q = self.pbx.queues.get(queue)
        m = q.members.get(interface) if q else None
        if q is None:
            self.error(aid, "Unable to remove interface from queue: No such queue")
        elif m is None:
            self.error(aid, "Unable to remove interface: Not there")
        elif m.membership != "dynamic":
            self.error(aid, "Member not dynamic")
        else:
            self.ok(aid, "Removed interface from queue")
            self.pbx.queue_remove(queue, interface)

    def a_queuepause(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        interface, paused_s = h.get("interface", ""), h.get("paused", "")
        if not interface or not paused_s:
            self.error(aid, "Need 'Interface' and 'Paused' parameters.")
            return
        paused = truthy(paused_s)
        queue = h.get("queue", "")
        targets = (
            [self.pbx.queues[queue]]
            if queue in self.pbx.queues
            else ([] if queue else list(self.pbx.queues.values()))
        )
        if not any(interface in q.members for q in targets):
            self.error(aid, "Interface not found")
            return
        self.ok(
            aid, "Interface paused successfully" if paused else "Interface unpaused successfully"
        )
        self.pbx.queue_pause(queue or None, interface, paused, h.get("reason", ""))

    def a_queuestatus(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        only_q, only_m = h.get("queue", ""), h.get("member", "")
        self.write(
            response(
                aid, "Success", [("EventList", "start"), ("Message", "Queue status will follow")]
            )
        )
        items = 0
        now = self.pbx.now()
        for q in list(self.pbx.queues.values()):
            if only_q and q.name != only_q:
                continue
            done = q.completed
            ab = q.abandoned
            perf = 100.0 if done else 0.0
            perf2 = 100.0 * done / (done + ab) if done + ab else 0.0
            self.write(
                list_event(
                    "QueueParams",
                    aid,
                    [
                        ("Queue", q.name),
                        ("Max", 0),
                        ("Strategy", q.config.strategy),
                        ("Calls", len(q.callers)),
                        ("Holdtime", int(q.holdtime_total / done) if done else 0),
                        ("TalkTime", int(q.talktime_total / done) if done else 0),
                        ("Completed", done),
                        ("Abandoned", ab),
                        ("ServiceLevel", 0),
                        ("ServicelevelPerf", f"{perf:.1f}"),
                        ("ServicelevelPerf2", f"{perf2:.1f}"),
                        ("Weight", 0),
                    ],
                    id_last=True,
                )
            )
            items += 1
            for m in q.members.values():
                if only_m and m.interface != only_m and m.name != only_m:
                    continue
                pairs = m.pairs(ringinuse=False)
                pairs[1:3] = [("Name", m.name), ("Location", m.interface)]
                self.write(list_event("QueueMember", aid, pairs, id_last=True))
                items += 1
            for pos, call in enumerate(q.callers, 1):
                c1 = call.c1
                self.write(
                    list_event(
                        "QueueEntry",
                        aid,
                        [
                            ("Queue", q.name),
                            ("Position", pos),
                            ("Channel", c1.name),
                            ("Uniqueid", c1.uniqueid),
                            ("CallerIDNum", c1.cid_num),
                            ("CallerIDName", c1.cid_name),
                            ("ConnectedLineNum", c1.con_num),
                            ("ConnectedLineName", c1.con_name),
                            ("Wait", int(now - call.join_at)),
                            ("Priority", 0),
                        ],
                        id_last=True,
                    )
                )
                items += 1
        self.write(list_complete("QueueStatusComplete", aid, items))

    def a_queuesummary(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        only_q = h.get("queue", "")
        self.write(
            response(
                aid, "Success", [("EventList", "start"), ("Message", "Queue summary will follow")]
            )
        )
        items = 0
        now = self.pbx.now()
        for q in list(self.pbx.queues.values()):
            if only_q and q.name != only_q:
                continue
            done = q.completed
            longest = max((int(now - c.join_at) for c in q.callers), default=0)
            self.write(
                list_event(
                    "QueueSummary",
                    aid,
                    [
                        ("Queue", q.name),
                        ("LoggedIn", len(q.members)),
                        ("Available", sum(1 for m in q.members.values() if self.pbx._available(m))),
                        ("Callers", len(q.callers)),
                        ("HoldTime", int(q.holdtime_total / done) if done else 0),
                        ("TalkTime", int(q.talktime_total / done) if done else 0),
                        ("LongestHoldTime", longest),
                    ],
                    id_last=True,
                )
            )
            items += 1
        self.write(list_complete("QueueSummaryComplete", aid, items))

    def a_coreshowchannels(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        self.write(
            response(aid, "Success", [("EventList", "start"), ("Message", "Channels will follow")])
        )
        now = self.pbx.now()
        chans = list(self.pbx.channels.values())
        for ch in chans:
            secs = int(now - ch.created)
            dur = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
            head = "Event: CoreShowChannel\r\n" + (
                f"ActionID: {aid}\r\n" if aid is not None else ""
            )
            self.write(
                head
                + ch.block()
                + f"Application: {ch.app}\r\nApplicationData: {ch.appdata}\r\nDuration: {dur}\r\nBridgeId: {ch.bridge}\r\n\r\n"
            )
        self.write(list_complete("CoreShowChannelsComplete", aid, len(chans)))


    # AstDB, as manager.c answers it (manager_dbget / dbput / dbdel / dbdeltree).
    def a_dbget(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        family, key = h.get("family", ""), h.get("key", "")
        if not family or not key:
            return self.error(aid, "No family specified." if not family else "No key specified.")
        value = self.pbx.astdb.get((family, key))
        if value is None:
            return self.error(aid, "Database entry not found")
        self.ok(aid, "Result will follow")
        tail = f"ActionID: {aid}\r\n" if aid is not None else ""
        self.write(f"Event: DBGetResponse\r\nFamily: {family}\r\nKey: {key}\r\nVal: {value}\r\n{tail}\r\n")
        self.write(f"Event: DBGetComplete\r\n{tail}\r\n")

    def a_dbput(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        family, key = h.get("family", ""), h.get("key", "")
        if not family or not key:
            return self.error(aid, "No family specified." if not family else "No key specified.")
        self.pbx.astdb[(family, key)] = h.get("val", "")
        self.ok(aid, "Updated database successfully")

    def a_dbdel(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        if self.pbx.astdb.pop((h.get("family", ""), h.get("key", "")), None) is None:
            return self.error(aid, "Database entry not found")
        self.ok(aid, "Key deleted successfully")

    def a_dbdeltree(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        family = h.get("family", "")
        if not family:
            return self.error(aid, "No family specified.")
        doomed = [k for k in self.pbx.astdb if k[0] == family]
        if not doomed:
            return self.error(aid, "Database entry not found")
        for k in doomed:
            del self.pbx.astdb[k]
        self.ok(aid, "Key tree deleted successfully")

    def a_listcommands(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        pairs = [(name, f"{synopsis} (Priv: {priv})") for name, (synopsis, priv) in ACTIONS.items()
                 if name.lower() not in self.denied]
        self.write(response(aid, "Success", pairs))

    def a_command(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        command = h.get("command", "").strip()
        if not command:
            self.error(aid, "No command provided")
            return
        if " ".join(command.split()).lower() in STOP_COMMANDS:
            # Asterisk's session thread stays in the command until the PBX closes the connection:
            # no response and no events on it (recording 06, full/).
            self.blocked, self.mask = True, 0
            self.server.stop_gracefully()
            return
        known, output = cli_command(self.scenario, command)
        status = "Success" if known else "Error"
        self.write(response(aid, status, [("Message", "Command output follows"),
                                          *(("Output", line) for line in output)]))

    def a_showdialplan(self, h: dict[str, str], _v: list[str], aid: str | None) -> None:
        only_ctx, only_ext = h.get("context", ""), h.get("extension", "")
        contexts = dialplan(self.scenario, self.pbx.connect_extensions())
        if only_ctx and only_ctx not in contexts:
            self.error(aid, f"Did not find context {only_ctx}")
            return
        self.write(response(aid, "Success", [("EventList", "start"),
                                             ("Message", "DialPlan list will follow")]))
        items, extens = 0, set()
        for ctx, rows in contexts.items():
            if only_ctx and ctx != only_ctx:
                continue
            for exten, prio, app, data in rows:
                if only_ext and exten != only_ext:
                    continue
                extens.add((ctx, exten))
                items += 1
                self.write(list_event("ListDialplan", aid, [
                    ("Context", ctx), ("Extension", exten), ("Priority", prio),
                    ("Application", app), ("AppData", data), ("Registrar", "pbx_config")],
                    id_last=False))
        n_ctx = 1 if only_ctx else len(contexts)
        aid_line = "" if aid is None else f"ActionID: {aid}\r\n"
        counts = [("ListItems", items), ("ListExtensions", len(extens)), ("ListPriorities", items),
                  ("ListContexts", n_ctx)]
        self.write(f"Event: ShowDialPlanComplete\r\n{aid_line}EventList: Complete\r\n{lines(counts)}\r\n")


_HANDLERS: dict[str, Callable[[AmiConnection, dict[str, str], list[str], str | None], None]] = {
    "login": AmiConnection.a_login,
    "logoff": AmiConnection.a_logoff,
    "ping": AmiConnection.a_ping,
    "events": AmiConnection.a_events,
    "originate": AmiConnection.a_originate,
    "hangup": AmiConnection.a_hangup,
    "queueadd": AmiConnection.a_queueadd,
    "queueremove": AmiConnection.a_queueremove,
    "queuepause": AmiConnection.a_queuepause,
    "queuestatus": AmiConnection.a_queuestatus,
    "queuesummary": AmiConnection.a_queuesummary,
    "coreshowchannels": AmiConnection.a_coreshowchannels,
    "listcommands": AmiConnection.a_listcommands,
    "command": AmiConnection.a_command,
    "showdialplan": AmiConnection.a_showdialplan,
    "dbget": AmiConnection.a_dbget,
    "dbput": AmiConnection.a_dbput,
    "dbdel": AmiConnection.a_dbdel,
    "dbdeltree": AmiConnection.a_dbdeltree,
}


async def start_server(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> AmiServer:
    """Listen for AMI clients on ``host:port`` (``port=0``: any free port, see ``.port``)."""
    return await AmiServer(sim, host, port).start()
