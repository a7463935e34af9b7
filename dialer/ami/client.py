"""The AMI client: the asyncio shell around panoramisk's ``Manager``.

It adds what a dialer needs and panoramisk 1.4 does not do (see ``docs/ami.md``):

- connect + login with a timeout and clear errors (bad credentials, refused, timeout), never
  showing the secret;
- reconnect with exponential backoff and jitter (panoramisk's own fixed-delay reconnect and its
  unchecked Ping are switched off), re-login, then ``CoreShowChannels`` to reconcile;
- a watchdog Ping whose missing or wrong Pong declares the link dead;
- per-action timeouts, and actions in flight failed (not silently re-sent: panoramisk would
  re-send an Originate after a reconnect) when the link drops;
- Originate always ``Async: true`` and answered by its immediate response, so that
  ``OriginateResponse`` arrives as an ordinary event (panoramisk's async-Originate future
  would swallow it);
- frames parsed by :mod:`dialer.ami.codec` (panoramisk's parser decodes each TCP read on its
  own and drops a UTF-8 character split across reads), and events a dialer does not need
  dropped before any further work;
- typed events (:mod:`dialer.ami.events`) and link notifications (``LinkUp``, ``LinkLost``,
  ``Reconciled``) delivered, in order, to one callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from dialer.ami.codec import Banner, FrameParser
from dialer.ami.events import (
    DIALER_EVENTS,
    EVENT_MASK,
    AmiEvent,
    CoreShowChannel,
    LinkLost,
    LinkUp,
    Reconciled,
    parse_event,
)
from dialer.ami.ids import OriginateIds, originate_ids
from dialer.errors import DialerError
from dialer.secrets import MASK
from dialer.settings import AmiSettings

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectError",
    "AmiError",
    "AmiLinkLost",
    "AmiTimeout",
]

log = logging.getLogger("dialer.ami")

AmiItem = AmiEvent | LinkUp | LinkLost | Reconciled


class AmiError(DialerError):
    """Something went wrong on the AMI link (messages never contain the secret)."""


class AmiConnectError(AmiError):
    """The PBX could not be reached (refused, unreachable, closed during login)."""


class AmiAuthError(AmiError):
    """The PBX refused the username/secret."""


class AmiTimeout(AmiError):
    """Connecting, logging in, or an action took longer than allowed."""


class AmiLinkLost(AmiError):
    """The link is down, or dropped while the action was in flight (its fate is unknown)."""


class AmiActionError(AmiError):
    """The PBX answered an action with ``Response: Error``."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI {action} failed: {message}")
        self.action = action
        self.message = message


class _Redact(logging.Filter):
    """Masks the secret in anything panoramisk logs (it logs whole actions on errors)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret and self.secret in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.secret, MASK), ()
        return True


class _FrameProtocol(AMIProtocol):
    """panoramisk's protocol with the byte → message step done by :class:`FrameParser`.

    Events nobody asked for (``Newexten``, ``VarSet``...) are dropped here, before a
    panoramisk ``Message`` is built; the rest goes through panoramisk's own matching of
    responses to actions and its event dispatch, unchanged.
    """

    wanted: frozenset[str] = DIALER_EVENTS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._parser = FrameParser()

    def data_received(self, data: bytes) -> None:
        for item in self._parser.feed(data):
            if isinstance(item, Banner):
                self.version = item.partition("/")[2].strip()
                continue
            name = item.get("Event")
            if name is not None and name not in self.wanted and "ActionID" not in item:
                continue
            pairs = item.items_all()
            headers: dict[str, Any]
            if len(pairs) == len(item):
                headers = dict(item)
            else:  # repeated keys become lists, as panoramisk does
                headers = {}
                for key, value in pairs:
                    if key in headers:
                        old = headers[key]
                        headers[key] = [*old, value] if isinstance(old, list) else [old, value]
                    else:
                        headers[key] = value
            message = Message(headers)
            message.frame = item  # the codec's frame: faster lookups for parse_event
            self.handle_message(message)


class _Manager(Manager):
    """panoramisk's Manager with its own reconnect loop and Ping switched off:
    :class:`AmiClient` does both (with backoff, and checking the Pong)."""

    client: AmiClient

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # the client reports the error and decides when to retry
        super().connection_made(f)

    def login(self, future: asyncio.Future[Any]) -> bool:
        if future.cancelled():
            return False
        ok = bool(super().login(future))
        if not ok:
            self.client._login_refused(future.result())
        return ok

    def ping(self) -> None:  # panoramisk's Ping never checks the Pong; the client's watchdog does
        self.pinger = None

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.on_disconnect(self, exc)  # and no reconnect scheduled here


class AmiClient:
    """One AMI link for the daemon.

    ``on_event`` receives every typed event a dialer needs and the link notifications
    (``LinkUp``, ``LinkLost``, ``Reconciled``), in order, synchronously from the event loop.
    """

    def __init__(
        self,
        settings: AmiSettings,
        on_event: Callable[[AmiItem], Any],
        *,
        reconnect_min_delay: float = 0.5,
        events: str = EVENT_MASK,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.reconnect_min_delay = reconnect_min_delay
        self.events = events
        self._rng = rng
        self._manager: _Manager | None = None
        self._logged_in = False
        self._closing = False
        self._login_waiter: asyncio.Future[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._early: list[AmiEvent] = []
        self._abort_reason: str | None = None
        self._down = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._redact = _Redact(settings.secret.reveal())
        self.reconnects = 0
        self.last_pong_rtt: float | None = None

    def __repr__(self) -> str:
        s = self.settings
        return f"AmiClient({s.username}@{s.host}:{s.port}, logged_in={self._logged_in})"

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        """Logged in and not known to be dead."""
        return self._logged_in

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect and log in (raising a clear :class:`AmiError`), then keep the link up."""
        self._closing = False
        await self._open(reconnected=False)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._supervise(), name="ami-reconnect"),
            loop.create_task(self._watchdog(), name="ami-watchdog"),
        ]

    async def close(self) -> None:
        """Log off (best effort) and close; no reconnect afterwards."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._logged_in:
            with contextlib.suppress(AmiError):
                await self._request(
                    {"Action": "Logoff"}, timeout=min(1.0, self.settings.action_timeout)
                )
        self._logged_in = False
        self._fail_pending(AmiLinkLost("AMI client closed"))
        if self._manager is not None:
            self._manager.close()

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _new_manager(self) -> _Manager:
        s = self.settings
        plog = logging.getLogger("dialer.ami.panoramisk")
        if self._redact not in plog.filters:
            plog.addFilter(self._redact)
        manager = _Manager(
            host=s.host,
            port=s.port,
            username=s.username,
            secret=s.secret.reveal(),
            events=self.events,
            loop=asyncio.get_running_loop(),
            protocol_factory=_FrameProtocol,
            ping_delay=10**9,
            log=plog,
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
        )
        manager.client = self
        manager.register_event("*", self._dispatch)
        return manager

    async def _open(self, *, reconnected: bool) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        if self._manager is None:
            self._manager = self._new_manager()
        manager = self._manager
        self._login_waiter = loop.create_future()
        self._early.clear()
        deadline = loop.time() + s.connect_timeout
        task = manager.connect()
        try:
            await asyncio.wait_for(asyncio.shield(task), s.connect_timeout)
        except TimeoutError:
            task.cancel()
            raise AmiTimeout(
                f"AMI connection to {self.where} timed out after {s.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise AmiConnectError(f"cannot connect to AMI at {self.where}: {reason}") from None
        try:
            await asyncio.wait_for(
                asyncio.shield(self._login_waiter), max(0.0, deadline - loop.time())
            )
        except TimeoutError:
            self._abort()
            raise AmiTimeout(
                f"no answer to the AMI login at {self.where} within {s.connect_timeout:g} s"
            ) from None
        except AmiError:
            self._abort()
            raise
        self._logged_in = True
        self._down.clear()
        log.info("AMI logged in", extra={"ami": self.where, "user": s.username})
        self._deliver(LinkUp(reconnected=reconnected))
        early, self._early = self._early, []
        for event in early:  # events that came with the login response (FullyBooted...)
            self._deliver(event)

    # panoramisk callbacks ------------------------------------------------------------

    def _on_login(self, manager: Manager) -> None:
        if self._login_waiter is not None and not self._login_waiter.done():
            self._login_waiter.set_result(None)

    def _login_refused(self, response: Any) -> None:
        message = str(getattr(response, "message", "") or "refused")
        if self._login_waiter is not None and not self._login_waiter.done():
            self._login_waiter.set_exception(
                AmiAuthError(
                    f"AMI login as {self.settings.username!r} refused by {self.where}: {message}"
                    " (check the username and secret)"
                )
            )

    def _on_disconnect(self, manager: Manager, exc: Any) -> None:
        reason = "PBX shut down" if isinstance(exc, Message) else "connection closed"
        if isinstance(exc, BaseException):
            reason = f"connection lost: {type(exc).__name__}"
        if self._abort_reason:
            reason, self._abort_reason = self._abort_reason, None
        if self._login_waiter is not None and not self._login_waiter.done():
            self._login_waiter.set_exception(
                AmiConnectError(f"AMI at {self.where} closed the connection during login")
            )
        self._link_down(reason)

    # ------------------------------------------------------------------ link state

    def _abort(self, reason: str | None = None) -> None:
        self._abort_reason = reason
        protocol = getattr(self._manager, "protocol", None)
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()  # asyncio then calls connection_lost → _on_disconnect

    def _link_down(self, reason: str) -> None:
        manager = self._manager
        if manager is not None:
            manager.awaiting_actions.clear()  # never re-send an Originate after a reconnect
        self._fail_pending(
            AmiLinkLost(f"AMI link to {self.where} lost while the action was in flight")
        )
        if not self._logged_in:
            return
        self._logged_in = False
        log.warning("AMI link lost", extra={"ami": self.where, "reason": reason})
        self._deliver(LinkLost(reason))
        if not self._closing:
            self._down.set()

    def _fail_pending(self, error: AmiError) -> None:
        for fut in list(self._pending):
            if not fut.done():
                fut.set_exception(error)
        self._pending.clear()

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect attempt ``attempt`` (0-based): exponential, capped, jittered
        ("equal jitter": between half and all of the exponential delay)."""
        cap = max(self.settings.reconnect_max_delay, self.reconnect_min_delay)
        delay = min(cap, self.reconnect_min_delay * (2**attempt))
        return delay / 2 + delay / 2 * self._rng()

    async def _supervise(self) -> None:
        while not self._closing:
            await self._down.wait()
            attempt = 0
            while not self._closing:
                await asyncio.sleep(self.backoff(attempt))
                try:
                    await self._open(reconnected=True)
                    break
                except AmiError as exc:
                    log.warning(
                        "AMI reconnect failed", extra={"ami": self.where, "error": str(exc)}
                    )
                    attempt += 1
            if self._closing:
                return
            self.reconnects += 1
            try:
                channels = await self.core_show_channels()
            except AmiError as exc:
                log.warning(
                    "AMI reconciliation failed", extra={"ami": self.where, "error": str(exc)}
                )
                continue  # the link dropped again: the next round reconciles
            self._deliver(Reconciled(tuple(channels)))

    async def _watchdog(self) -> None:
        interval = self.settings.ping_interval
        while not self._closing:
            await asyncio.sleep(interval)
            if not self._logged_in:
                continue
            reason = await self._check_ping(timeout=min(self.settings.action_timeout, interval))
            if reason is not None and self._logged_in:
                log.warning("AMI watchdog: link dead", extra={"ami": self.where, "reason": reason})
                self._abort(f"watchdog: {reason}")

    async def _check_ping(self, timeout: float) -> str | None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            resp = await self._request({"Action": "Ping"}, timeout=timeout)
        except AmiTimeout:
            return f"no Pong within {timeout:g} s"
        except AmiError as exc:
            return str(exc)
        if resp.get("Response") != "Success" or resp.get("Ping") != "Pong":
            return "wrong answer to Ping"
        self.last_pong_rtt = loop.time() - start
        return None

    def _dispatch(self, manager: Manager, message: Message) -> None:
        frame = message.__dict__.get("frame") or message
        event = parse_event(frame)
        if event is None:
            return
        if self._login_waiter is not None and not self._login_waiter.done():
            self._early.append(event)  # delivered right after LinkUp
        else:
            self._deliver(event)

    def _deliver(self, item: AmiItem) -> None:
        try:
            self.on_event(item)
        except Exception:
            log.exception("AMI event handler failed", extra={"item": type(item).__name__})

    # ------------------------------------------------------------------ actions

    async def _request(
        self,
        fields: Mapping[str, Any],
        *,
        timeout: float | None = None,
        as_list: bool | None = False,
    ) -> Any:
        """Send one action; its response (or list of responses), within ``timeout``."""
        if (
            self._manager is None
            or self._manager.protocol is None
            or getattr(self._manager.protocol, "closed", True)
        ):
            raise AmiLinkLost(f"AMI link to {self.where} is down")
        if not self._logged_in and fields.get("Action") != "Logoff":
            raise AmiLinkLost(f"AMI link to {self.where} is down")
        for key, value in fields.items():
            for v in value if isinstance(value, list | tuple) else (value,):
                if "\r" in str(v) or "\n" in str(v) or "\r" in key or "\n" in key:
                    raise ValueError(f"AMI action field {key!r} contains a line break")
        action = Action(dict(fields), as_list=as_list)
        protocol = self._manager.protocol
        fut = self._manager.send_action(action, as_list=as_list)
        self._pending.add(fut)
        timeout = self.settings.action_timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            protocol.responses.pop(action.id, None)
            raise AmiTimeout(
                f"AMI {fields.get('Action')} got no response within {timeout:g} s"
            ) from None
        finally:
            self._pending.discard(fut)

    async def send(self, fields: Mapping[str, Any], *, timeout: float | None = None) -> Message:
        """Any single-response action; raises :class:`AmiActionError` on ``Response: Error``."""
        resp = await self._request(fields, timeout=timeout)
        if resp.get("Response") in ("Error", "Fail", "Failure"):
            raise AmiActionError(str(fields.get("Action")), str(resp.get("Message", "")))
        return resp

    async def _list(
        self, fields: Mapping[str, Any], *, timeout: float | None = None
    ) -> list[Message]:
        resp = await self._request(fields, timeout=timeout, as_list=None)
        if not isinstance(resp, list):  # a single response: an error
            raise AmiActionError(str(fields.get("Action")), str(resp.get("Message", "")))
        first = resp[0]
        if first.get("Response") in ("Error", "Fail", "Failure"):
            raise AmiActionError(str(fields.get("Action")), str(first.get("Message", "")))
        return resp[1:]

    async def originate(
        self,
        attempt_id: str,
        channel: str,
        *,
        context: str,
        exten: str = "s",
        priority: int = 1,
        ring_timeout: float = 30.0,
        caller_id: str | None = None,
        lead_id: str | int | None = None,
        campaign: str | None = None,
        attempt: int | str | None = None,
        variables: Mapping[str, object] | None = None,
        account: str | None = None,
        timeout: float | None = None,
    ) -> OriginateIds:
        """Place a call; returns when the PBX has *queued* it (``Originate successfully queued``).

        Always ``Async: true``; ``ChannelId``/``OtherChannelId``/``ActionID`` from
        :func:`~dialer.ami.ids.originate_ids`; ``Timeout`` is the ring timeout in ms; channel
        variables ``LEAD_ID``, ``CAMPAIGN``, ``ATTEMPT`` plus ``variables``.  The outcome comes
        later as events (``OriginateResponse`` first).  Raises :class:`AmiActionError` when the
        PBX refuses it, :class:`AmiTimeout` / :class:`AmiLinkLost` when its fate is unknown.
        """
        ids = originate_ids(attempt_id)
        var: list[str] = []
        for name, value in (("LEAD_ID", lead_id), ("CAMPAIGN", campaign), ("ATTEMPT", attempt)):
            if value is not None:
                var.append(f"{name}={value}")
        var += [f"{k}={v}" for k, v in (variables or {}).items()]
        fields: dict[str, Any] = {
            "Action": "Originate",
            "ActionID": ids.action_id,
            "ChannelId": ids.channel_id,
            "OtherChannelId": ids.other_channel_id,
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": str(priority),
            "Timeout": str(int(round(ring_timeout * 1000))),
            "Async": "true",
        }
        if caller_id:
            fields["CallerID"] = caller_id
        if account:
            fields["Account"] = account
        if var:
            fields["Variable"] = var
        await self.send(fields, timeout=timeout)
        return ids

    async def hangup(self, channel: str, cause: int = 16) -> None:
        """Hang up a channel, by name or by unique id (e.g. the attempt's channel id)."""
        await self.send({"Action": "Hangup", "Channel": channel, "Cause": str(cause)})

    async def queue_add(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str | None = None,
        state_interface: str | None = None,
        paused: bool = False,
        penalty: int | None = None,
    ) -> None:
        fields: dict[str, Any] = {"Action": "QueueAdd", "Queue": queue, "Interface": interface}
        if member_name:
            fields["MemberName"] = member_name
        if state_interface:
            fields["StateInterface"] = state_interface
        if penalty is not None:
            fields["Penalty"] = str(penalty)
        fields["Paused"] = "true" if paused else "false"
        await self.send(fields)

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self.send({"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def queue_pause(
        self, interface: str, paused: bool, *, queue: str | None = None, reason: str | None = None
    ) -> None:
        """Pause (with a pause code) or unpause a member, in one queue or all of them."""
        fields: dict[str, Any] = {
            "Action": "QueuePause",
            "Interface": interface,
            "Paused": "true" if paused else "false",
        }
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        await self.send(fields)

    async def queue_status(self, queue: str | None = None) -> list[AmiEvent]:
        """``QueueStatus`` as typed events (``QueueMember``...; ``QueueParams`` is left out)."""
        fields: dict[str, Any] = {"Action": "QueueStatus"}
        if queue:
            fields["Queue"] = queue
        return [e for m in await self._list(fields) if (e := parse_event(_frame(m))) is not None]

    async def core_show_channels(self) -> list[CoreShowChannel]:
        """Every live channel, from the ``CoreShowChannels`` event list."""
        items = await self._list({"Action": "CoreShowChannels"})
        return [e for m in items if isinstance(e := parse_event(_frame(m)), CoreShowChannel)]

    async def ping(self) -> float:
        """Round-trip time of a checked Ping, in seconds."""
        reason = await self._check_ping(timeout=self.settings.action_timeout)
        if reason is not None:
            raise AmiTimeout(f"AMI Ping to {self.where}: {reason}")
        assert self.last_pong_rtt is not None
        return self.last_pong_rtt


def _frame(message: Message) -> Mapping[str, Any]:
    return message.__dict__.get("frame") or message


def live_ids(channels: Iterable[CoreShowChannel]) -> set[str]:
    """Unique ids and linked ids of live channels (what reconciliation matches on)."""
    return {x for c in channels for x in (c.uniqueid, c.linkedid) if x}
