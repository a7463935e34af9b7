"""``dialer pbx check``: is this Asterisk set up the way the dialer needs?

Logs in with the dialer's AMI settings and checks, one line each (ok, or what to fix): the AMI
user's permissions (``ListCommands`` lists only the actions a user may send) and read classes,
the dialer's dialplan context and its ``failed`` extension (``ShowDialPlan``), the campaign's
queue (``QueueStatus``), the safe-harbour sound (``Command: core show sound``, when the user may
send CLI commands), and with ``--call NUMBER`` a test call through the campaign's trunk into its
queue, which also shows whether the read classes and event filters are right.

The interpretation of each answer is a pure function of the frames (``check_*``), tested
without a PBX; :class:`Probe` only moves frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import click

from campaigns.trunk import dial_string, template_problem
from dialer.ami.checks import SOUND_CHECK, Check, check_sound, dialplan_sound
from dialer.ami.codec import Banner, Frame, FrameParser, encode_action
from dialer.ami.events import is_shutting_down
from dialer.sim.dialplan import resolve

#: Actions the daemon sends; the check needs ShowDialPlan too, Command is optional.
NEEDED_ACTIONS = ("Originate", "Hangup", "QueueAdd", "QueueRemove", "QueuePause", "QueueStatus",
                  "CoreShowChannels", "Ping")
#: Events the dialer never uses; manager.conf's eventfilters should drop them.
FILTERED = frozenset({"Newexten", "VarSet", "DeviceStateChange", "NewCallerid", "NewConnectedLine",
                      "RTCPSent", "RTCPReceived"})
REASONS = {0: "failed (no channel: bad trunk or technology)", 1: "hung up while ringing",
           3: "no answer", 4: "answered", 5: "busy", 8: "congestion"}


# ------------------------------------------------------------------ pure interpretation


def check_login(response: Mapping[str, str], events: Iterable[Mapping[str, str]]) -> list[Check]:
    if response.get("Response") != "Success":
        message = response.get("Message", "refused")
        if is_shutting_down(message):
            return [Check("login", False, f"{message}: wait until Asterisk is running again, then check again")]
        return [Check("login", False, f"{message}: check [ami] username/secret "
                                      "and manager.conf's permit/deny for this host")]
    booted = any(e.get("Event") == "FullyBooted" for e in events)
    return [Check("login", True, "logged in"),
            Check("read system", booted, "FullyBooted received" if booted else
                  "no FullyBooted: add 'system' to the user's read= in manager.conf")]


def check_permissions(response: Mapping[str, str]) -> Check:
    """``ListCommands`` lists the actions the user's write= classes allow."""
    if response.get("Response") != "Success":
        return Check("permissions", False, f"ListCommands refused: {response.get('Message', '')}")
    missing = [a for a in NEEDED_ACTIONS if a not in response]
    if missing:
        return Check("permissions", False, f"the AMI user may not send {', '.join(missing)}: "
                     "write = system,call,agent,originate,reporting in manager.conf")
    return Check("permissions", True, "write allows " + ", ".join(NEEDED_ACTIONS))


def check_dialplan(response: Mapping[str, str], items: list[Mapping[str, str]], context: str,
                   exten: str) -> tuple[list[Check], str | None]:
    """The context exists, ``exten`` (the queue) reaches it, ``failed`` is handled; returns the
    checks and the sound its ``Playback`` plays (the safe-harbour message), if any."""
    if response.get("Response") != "Success":
        message = response.get("Message", "")
        if "permission" in message.lower():
            return [Check("dialplan", None, "the AMI user may not send ShowDialPlan (write=reporting)")], None
        return [Check("dialplan", False, f"{message or 'no context'}: #include extensions-dialer.conf "
                      "from extensions.conf, then 'dialplan reload'")], None
    extensions = list(dict.fromkeys(i.get("Extension", "") for i in items if i.get("Context") == context))
    checks = [Check("dialplan", True, f"context {context} ({len(extensions)} extensions)")]
    target = resolve(extensions, exten)
    checks.append(Check("extension", target is not None,
                        f"{exten}@{context} runs {target}" if target else
                        f"no extension of {context} matches {exten!r}: every Originate would be refused"))
    if "failed" in extensions:
        checks.append(Check("failed extension", True, "handled explicitly"))
    else:
        catcher = resolve(extensions, "failed")
        checks.append(Check("failed extension", catcher is None,
                            f"the pattern {catcher} catches Asterisk's 'failed' extension: every failed call "
                            "runs the connect dialplan; add 'exten => failed,1,Hangup()' (config/asterisk/"
                            "extensions-dialer.conf)" if catcher else "no extension matches 'failed'"))
    noted = any(i.get("Context") == context and i.get("Extension") == "h" and "dialer-calls" in i.get("AppData", "")
                for i in items)
    checks.append(Check("hangup note", noted, "the h extension notes the agent a call reached (AstDB)" if noted else
                        "no 'h' extension noting the agent a call reached (AstDB dialer-calls): a call that "
                        "ends while the dialer is down is recorded UNKNOWN; add it from config/asterisk/"
                        "extensions-dialer.conf (and setinterfacevar = yes in the queue)"))
    return checks, dialplan_sound(items, context)


def check_queue(response: Mapping[str, str], items: list[Mapping[str, str]], queue: str) -> Check:
    if response.get("Response") != "Success":
        return Check("queue", False, f"QueueStatus refused: {response.get('Message', '')}")
    if not any(i.get("Event") == "QueueParams" and i.get("Queue") == queue for i in items):
        return Check("queue", False, f"no queue {queue!r}: add it to queues.conf "
                     "(config/asterisk/queues-dialer.conf), then 'queue reload all'")
    members = sum(1 for i in items if i.get("Event") == "QueueMember" and i.get("Queue") == queue)
    return Check("queue", True, f"{queue} exists ({members} members now)")


def check_call(reason: int | None, events: list[Mapping[str, str]], channel_id: str) -> list[Check]:
    """The test call: its outcome, and what its events say about read classes and filters."""
    if reason is None:
        return [Check("test call", False, "no OriginateResponse: add 'call' to the user's read=")]
    ok = reason in (3, 4, 5)
    checks = [Check("test call", ok, REASONS.get(reason, f"reason {reason}"))]
    mine = [e for e in events if channel_id in (e.get("Uniqueid"), e.get("Linkedid"))]
    if reason == 4:
        answered = any(e.get("UserEvent") == "DialerAnswered" for e in mine)
        checks.append(Check("read user", answered, "DialerAnswered received" if answered else
                            "no DialerAnswered: add 'user' to read= and check the eventfilters"))
    noise = sorted({e.get("Event", "") for e in events} & FILTERED)
    checks.append(Check("event filters", not noise, "only the events the dialer uses" if not noise else
                        f"{', '.join(noise)} received: add manager.conf's eventfilter lines"))
    return checks


# ------------------------------------------------------------------ the AMI conversation


@dataclass
class Probe:
    """A plain AMI session: one action at a time, everything received kept."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeout: float
    frames: list[Frame] = field(default_factory=list)
    parser: FrameParser = field(default_factory=FrameParser)
    _seq: int = 0

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> Probe:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer, timeout)

    async def _until(self, found: Any, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not found():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(self.reader.read(65536), left)
            if not data:
                raise ConnectionError("the PBX closed the connection")
            self.frames += [f for f in self.parser.feed(data) if not isinstance(f, Banner)]

    async def action(self, action: str, **fields: object) -> Frame:
        self._seq += 1
        aid = f"check-{self._seq}"
        self.writer.write(encode_action(action, {"ActionID": aid, **fields}))
        await self.writer.drain()
        await self._until(lambda: self._response(aid) is not None)
        return self._response(aid)  # type: ignore[return-value]

    def _response(self, aid: str) -> Frame | None:
        return next((f for f in self.frames if "Response" in f and f.get("ActionID") == aid), None)

    async def listing(self, action: str, complete: str, **fields: object) -> tuple[Frame, list[Frame]]:
        response = await self.action(action, **fields)
        aid = response.get("ActionID")
        if response.get("Response") == "Success":
            await self._until(lambda: any(f.get("Event") == complete and f.get("ActionID") == aid
                                          for f in self.frames))
        return response, [f for f in self.frames if "Event" in f and f.get("ActionID") == aid]

    async def wait_event(self, pred: Any, timeout: float) -> Frame | None:
        try:
            await self._until(lambda: any(pred(f) for f in self.frames), timeout)
        except (TimeoutError, ConnectionError):
            return None
        return next(f for f in self.frames if pred(f))

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


@dataclass(frozen=True)
class Target:
    """What to check: the campaign's queue, trunk, caller id; the dialer's context."""

    queue: str
    context: str = "dialer-connect"
    trunk: str = ""
    caller_id: str | None = None
    call: str | None = None
    ring_timeout: float = 30.0


async def run_checks(host: str, port: int, username: str, secret: str, target: Target,
                     timeout: float = 10.0) -> list[Check]:
    try:
        probe = await Probe.open(host, port, timeout)
    except (OSError, TimeoutError) as exc:
        return [Check("connect", False, f"cannot reach AMI at {host}:{port} ({exc or 'timed out'}): "
                      "manager.conf enabled = yes, bindaddr/port, firewall")]
    try:
        return await _conversation(probe, username, secret, target)
    except (ConnectionError, TimeoutError) as exc:
        return [Check("connection", False, f"{exc or 'no answer in time'}")]
    finally:
        await probe.close()


async def _conversation(probe: Probe, username: str, secret: str, target: Target) -> list[Check]:
    login = await probe.action("Login", Username=username, Secret=secret, Events="on")
    await probe.wait_event(lambda f: f.get("Event") == "FullyBooted", 0.5)
    checks = check_login(login, probe.frames)
    if not checks[0].ok:
        return checks
    checks.append(check_permissions(await probe.action("ListCommands")))
    response, items = await probe.listing("ShowDialPlan", "ShowDialPlanComplete", Context=target.context)
    dialplan, sound = check_dialplan(response, items, target.context, target.queue)
    checks += dialplan
    checks.append(check_queue(*await probe.listing("QueueStatus", "QueueStatusComplete", Queue=target.queue),
                              target.queue))
    if dialplan[0].ok:
        command = await probe.action("Command", Command=f"core show sound {sound}") if sound else Frame()
        checks.append(check_sound(command, sound))
    else:
        checks.append(Check(SOUND_CHECK, None, "not checked (the dialplan could not be read)"))
    if target.call:
        checks += await _test_call(probe, target)
    else:  # only a call's events show them
        checks.append(Check("event filters", None, "not checked (needs --call NUMBER): a test call shows "
                            "whether the read classes (call, user) and manager.conf's eventfilters are right"))
    await probe.action("Logoff")
    return checks


async def _test_call(probe: Probe, target: Target) -> list[Check]:
    if not target.trunk or (problem := template_problem(target.trunk)):
        detail = f": {problem}" if target.trunk else ""
        return [Check("test call", False, f"no usable trunk template (--trunk or the campaign's){detail}")]
    channel_id = f"pbxcheck-{int(time.time())}"
    variables = f"LEAD_ID=0,CAMPAIGN=pbx-check,DIALER_QUEUE={target.queue},DIALER_AMD=0,ATTEMPT=1"
    fields: dict[str, object] = {
        "Channel": dial_string(target.trunk, target.call or ""), "Context": target.context,
        "Exten": target.queue, "Priority": 1, "Timeout": int(target.ring_timeout * 1000), "Async": "true",
        "ChannelId": channel_id, "OtherChannelId": channel_id + "-peer", "Variable": variables}
    if target.caller_id:
        fields["CallerID"] = target.caller_id
    start = len(probe.frames)
    response = await probe.action("Originate", **fields)
    if response.get("Response") != "Success":
        return [Check("test call", False, f"Originate refused: {response.get('Message', '')}")]
    aid = response.get("ActionID")
    done = await probe.wait_event(lambda f: f.get("Event") == "OriginateResponse" and f.get("ActionID") == aid,
                                  target.ring_timeout + 10)
    reason = int(done.get("Reason", "0")) if done is not None else None
    if reason == 4:  # answered: wait for the call to end (an agent, or the safe-harbour message)
        await probe.wait_event(lambda f: f.get("Event") == "Hangup" and f.get("Uniqueid") == channel_id, 120)
    return check_call(reason, probe.frames[start:], channel_id)


# ------------------------------------------------------------------ the command


@click.group()
def cli() -> None:
    """The PBX the dialer drives: check its configuration."""


@cli.command()
@click.option("--campaign", help="Take the queue, trunk and caller id from this campaign (database).")
@click.option("--queue", help="The campaign's Asterisk queue (default: the campaign's).")
@click.option("--context", default="dialer-connect", show_default=True, help="The dialer's dialplan context.")
@click.option("--trunk", help="Dial string template with {e164}, {digits} or {national} (default: the campaign's).")
@click.option("--call", "number", metavar="NUMBER",
              help="Also place a test call to NUMBER (as the campaign dials it, e.g. +12125550100); "
                   "when answered it goes to the queue like any call.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def check(obj, campaign: str | None, queue: str | None, context: str, trunk: str | None,
          number: str | None, as_json: bool) -> None:
    """Check the PBX: AMI login and permissions, the dialplan context and its `failed`
    extension, the campaign's queue, the safe-harbour sound, optionally a test call.
    One line per check; exit status 1 when something is to fix."""
    caller_id, ring = None, 30.0
    if campaign:
        from campaigns import store

        with obj.reader.connect() as conn:
            _id, _status, definition = store.load(conn, campaign)
        dial = definition.dial
        queue, trunk = queue or dial.queue, trunk or dial.trunk
        caller_id, ring = dial.caller_id, float(dial.ring_timeout)
    if not queue:
        raise click.UsageError("give --campaign or --queue")
    ami = obj.settings.ami
    target = Target(queue, context, trunk or "", caller_id, number, ring)
    checks = asyncio.run(run_checks(ami.host, ami.port, ami.username, ami.secret.reveal(), target,
                                    timeout=ami.action_timeout))
    if as_json:
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            click.echo(c.line())
    if any(c.ok is False for c in checks):
        raise SystemExit(1)
