"""The AMI client: the asyncio shell around panoramisk's ``Manager``.

It adds what a dialer needs and panoramisk 1.4 does not do (see ``docs/ami.md``):

- connect + login with a timeout and clear errors (bad credentials, refused, timeout), never
  showing the secret;
- reconnect with exponential backoff and jitter (panoramisk's own fixed-delay reconnect and its
  unchecked Ping are switched off), re-login, then ``CoreShowChannels`` to reconcile — retried
  with backoff while the link is up, each failure reported (``ReconcileFailed``);
- a watchdog Ping whose missing or wrong Pong declares the link dead — but a PBX answering
  "Asterisk is shutting down" is alive: ``PbxStopping`` is delivered (once; again with
  ``stopping=False`` if it answers normally later) and the link is kept until the PBX closes it,
  so that the calls still live end on it; a login refused that way is retried like a refused
  connection, never taken for bad credentials;
- per-action timeouts, and actions in flight failed (not silently re-sent: panoramisk would
  re-send an Originate after a reconnect) when the link drops;
- Originate always ``Async: true`` and answered by its immediate response, so that
  ``OriginateResponse`` arrives as an ordinary event (panoramisk's async-Originate future
  would swallow it);
- frames parsed by :mod:`dialer.ami.codec` through :mod:`dialer.ami.protocol` (malformed ones
  dropped, not the connection), and events a dialer does not need dropped before any further
  work;
- typed events (:mod:`dialer.ami.events`) and link notifications (``LinkUp``, ``LinkLost``,
  ``Reconciled``, ``ReconcileFailed``) delivered, in order, to one callback;
- every wait (ping interval, timeouts, backoff) on an injected :class:`~dialer.clock.Clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from panoramisk.actions import Action  # type: ignore[import-untyped]
from panoramisk.message import Message  # type: ignore[import-untyped]

from dialer.ami.codec import Frame, encode_action
from dialer.ami.events import (
    EVENT_MASK,
    AmiEvent,
    CoreShowChannel,
    LinkLost,
    LinkUp,
    PbxStopping,
    Reconciled,
    ReconcileFailed,
    is_shutting_down,
    parse_event,
)
from dialer.ami.ids import OriginateIds, originate_ids
from dialer.ami.protocol import NEVER, FrameMessage, FrameProtocol, OneShotManager
from dialer.clock import Clock, RealClock
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

AmiItem = AmiEvent | LinkUp | LinkLost | Reconciled | ReconcileFailed | PbxStopping
T = TypeVar("T")


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


class AmiClient:
    """One AMI link for the daemon.

    ``on_event`` receives every typed event a dialer needs and the link notifications
    (``LinkUp``, ``LinkLost``, ``Reconciled``, ``ReconcileFailed``), in order, synchronously
    from the event loop.  ``clock`` (default: real time) times the ping interval, the timeouts
    and the reconnect backoff.
    """

    def __init__(
        self,
        settings: AmiSettings,
        on_event: Callable[[AmiItem], Any],
        *,
        reconnect_min_delay: float = 0.5,
        events: str = EVENT_MASK,
        rng: Callable[[], float] = random.random,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.reconnect_min_delay = reconnect_min_delay
        self.events = events
        self.clock: Clock = clock if clock is not None else RealClock()
        self._rng = rng
        self._manager: OneShotManager | None = None
        self._logged_in = False
        self._logging_in = False
        self._closing = False
        self._pending: set[asyncio.Future[Any]] = set()
        self._early: list[AmiEvent] = []
        self._abort_reason: str | None = None
        self._down = asyncio.Event()
        self._reconcile_asked = asyncio.Event()
        self._reconcile_owed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._redact = _Redact(settings.secret.reveal())
        self._pbx_stopping = False  # the PBX answers "Asterisk is shutting down"
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

    @property
    def synced(self) -> bool:
        """Logged in, and no reconciliation owed (none since the first login, or one succeeded
        after the last re-login): the PBX's channels are known."""
        return self._logged_in and not self._reconcile_owed

    # ------------------------------------------------------------------ lifecycle

    async def connect(self, *, retry: bool = False) -> None:
        """Connect and log in (raising a clear :class:`AmiError`), then keep the link up.

        ``retry``: a PBX that cannot be reached yet (refused, timed out, shutting down) is tried
        again with the reconnect backoff, each failure logged, until it answers (cancel to give
        up); refused credentials still raise at once — waiting would not fix them."""
        self._closing = False
        attempt = 0
        while True:
            try:
                await self._open(reconnected=False)
                break
            except AmiAuthError:
                raise
            except AmiError as exc:
                if not retry:
                    raise
                delay = self.backoff(attempt)
                attempt += 1
                log.warning("PBX not reachable; retrying", extra={
                    "ami": self.where, "error": str(exc), "attempt": attempt, "retry_in": round(delay, 3)})
                await self.clock.sleep(delay)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._supervise(), name="ami-reconnect"),
            loop.create_task(self._watchdog(), name="ami-watchdog"),
            loop.create_task(self._reconciler(), name="ami-reconcile"),
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

    async def _within(self, aw: Awaitable[T], seconds: float) -> T:
        """``aw``'s result, or :class:`TimeoutError` once ``seconds`` of the client's clock have
        passed (``aw`` is left running: the caller cancels or forgets it)."""
        fut = asyncio.ensure_future(aw)
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait((fut, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if fut.done():
            return fut.result()
        raise TimeoutError

    def _new_manager(self) -> OneShotManager:
        """A panoramisk ``Manager`` for one connection; it does not log in (the client does,
        to read the refusal's message) and never pings or reconnects on its own."""
        plog = logging.getLogger("dialer.ami.panoramisk")
        if self._redact not in plog.filters:
            plog.addFilter(self._redact)
        manager = OneShotManager(
            host=self.settings.host,
            port=self.settings.port,
            loop=asyncio.get_running_loop(),
            protocol_factory=FrameProtocol,
            ping_delay=NEVER,
            log=plog,
            on_disconnect=self._on_disconnect,
        )
        manager.register_event("*", self._dispatch)
        return manager

    async def _open(self, *, reconnected: bool) -> None:
        s = self.settings
        deadline = self.clock.monotonic() + s.connect_timeout
        self._manager = manager = self._new_manager()
        self._early.clear()
        self._logging_in = True
        try:
            task = manager.connect()
            try:
                await self._within(task, s.connect_timeout)
            except TimeoutError:
                raise AmiTimeout(
                    f"AMI connection to {self.where} timed out after {s.connect_timeout:g} s"
                ) from None
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise AmiConnectError(f"cannot connect to AMI at {self.where}: {reason}") from None
            finally:
                task.cancel()  # no-op once done; stops a connect still under way
            await self._login(manager, max(0.0, deadline - self.clock.monotonic()))
        finally:
            self._logging_in = False
        self._logged_in = True
        self._pbx_stopping = False
        self._down.clear()
        log.info("AMI logged in", extra={"ami": self.where, "user": s.username})
        self._deliver(LinkUp(reconnected=reconnected))
        early, self._early = self._early, []
        for event in early:  # events that came with the login response (FullyBooted...)
            self._deliver(event)

    async def _login(self, manager: OneShotManager, timeout: float) -> None:
        s = self.settings
        login = Action(
            {
                "Action": "Login",
                "Username": s.username,
                "Secret": s.secret.reveal(),
                "Events": self.events,
            },
            as_list=False,
        )
        fut = manager.send_action(login, as_list=False)
        self._pending.add(fut)
        try:
            resp = await self._within(fut, timeout)
        except TimeoutError:
            self._abort()
            raise AmiTimeout(
                f"no answer to the AMI login at {self.where} within {s.connect_timeout:g} s"
            ) from None
        except AmiLinkLost:
            raise AmiConnectError(
                f"AMI at {self.where} closed the connection during login"
            ) from None
        finally:
            self._pending.discard(fut)
        if not resp.success:
            self._abort()
            message = str(resp.get("Message") or "refused")
            if is_shutting_down(message):
                raise AmiConnectError(f"AMI at {self.where} refused the login: {message}")
            raise AmiAuthError(
                f"AMI login as {s.username!r} refused by {self.where}: {message}"
                " (check the username and secret)"
            )

    # panoramisk callbacks ------------------------------------------------------------

    def _on_disconnect(self, manager: OneShotManager, exc: Any) -> None:
        if manager is not self._manager:
            return  # an earlier connection's late news
        reason = "PBX shut down" if isinstance(exc, Message) else "connection closed"
        if isinstance(exc, BaseException):
            reason = f"connection lost: {type(exc).__name__}"
        if self._abort_reason:
            reason, self._abort_reason = self._abort_reason, None
        self._link_down(reason)

    def _dispatch(self, manager: OneShotManager, message: Message) -> None:
        event = parse_event(message.frame if isinstance(message, FrameMessage) else message)
        if event is None:
            return
        if self._logging_in:
            self._early.append(event)  # delivered right after LinkUp
        else:
            self._deliver(event)

    # ------------------------------------------------------------------ link state

    def _abort(self, reason: str | None = None) -> None:
        self._abort_reason = reason
        protocol = self._manager.protocol if self._manager is not None else None
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()  # asyncio then calls connection_lost → _on_disconnect

    def _link_down(self, reason: str) -> None:
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
                await self.clock.sleep(self.backoff(attempt))
                try:
                    await self._open(reconnected=True)
                    break
                except AmiError as exc:
                    log.warning(
                        "AMI reconnect failed", extra={"ami": self.where, "error": str(exc)}
                    )
                    attempt += 1
            else:
                return
            self.reconnects += 1
            self.reconcile_soon()

    # ------------------------------------------------------------------ reconciliation

    def reconcile_soon(self) -> None:
        """Owe a reconciliation: ``CoreShowChannels`` → :class:`Reconciled`, in the background.

        Done after every re-login; the owner may ask too (e.g. after adopting calls a previous
        run left in flight).  While the link is up it is retried with backoff, each failure
        delivered as :class:`ReconcileFailed`, until it succeeds; a loss stops it and the next
        re-login asks again.  Runs at once when none is under way, else at its next retry.
        """
        self._reconcile_owed = True
        self._reconcile_asked.set()

    async def reconcile(self) -> tuple[CoreShowChannel, ...]:
        """Take ``CoreShowChannels`` now and deliver :class:`Reconciled` (also returned); raises
        :class:`AmiError` (nothing delivered) when it fails."""
        channels = tuple(await self.core_show_channels())
        self._reconcile_owed = False
        self._deliver(Reconciled(channels))
        return channels

    async def _reconciler(self) -> None:
        while not self._closing:
            await self._reconcile_asked.wait()
            self._reconcile_asked.clear()
            attempt = 0
            while self._reconcile_owed and self._logged_in and not self._closing:
                try:
                    await self.reconcile()
                except AmiLinkLost:
                    break  # the next re-login asks again
                except AmiError as exc:
                    delay = self.backoff(attempt)
                    attempt += 1
                    log.warning(
                        "AMI reconciliation failed",
                        extra={"ami": self.where, "error": str(exc), "retry_in": round(delay, 3)},
                    )
                    self._deliver(ReconcileFailed(str(exc), attempt, delay))
                    await self.clock.sleep(delay)

    # ------------------------------------------------------------------ watchdog

    async def _watchdog(self) -> None:
        interval = self.settings.ping_interval
        while not self._closing:
            await self.clock.sleep(interval)
            if not self._logged_in:
                continue
            reason = await self._check_ping(timeout=min(self.settings.action_timeout, interval))
            if reason is not None and self._logged_in:
                log.warning("AMI watchdog: link dead", extra={"ami": self.where, "reason": reason})
                self._abort(f"watchdog: {reason}")

    async def _check_ping(self, timeout: float) -> str | None:
        start = self.clock.monotonic()
        try:
            resp = await self._request({"Action": "Ping"}, timeout=timeout)
        except AmiTimeout:
            return f"no Pong within {timeout:g} s"
        except AmiError as exc:
            return str(exc)
        if self._stopping_answer(resp):
            return None  # alive; the PBX closes the link when it has stopped
        if resp.get("Response") != "Success" or resp.get("Ping") != "Pong":
            return "wrong answer to Ping"
        self.last_pong_rtt = self.clock.monotonic() - start
        if self._pbx_stopping:  # answered normally again: the shutdown was aborted
            self._pbx_stopping = False
            log.info("AMI: the PBX is no longer shutting down", extra={"ami": self.where})
            self._deliver(PbxStopping(False))
        return None

    def _stopping_answer(self, resp: Any) -> bool:
        """``resp`` is an error saying the PBX is shutting down (``PbxStopping`` delivered once)."""
        message = str(resp.get("Message", "")) if resp.get("Response") == "Error" else ""
        if not is_shutting_down(message):
            return False
        if not self._pbx_stopping:
            self._pbx_stopping = True
            log.warning("AMI: the PBX is shutting down", extra={"ami": self.where, "answer": message})
            self._deliver(PbxStopping(True, message))
        return True

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
        """Send one action; its response (or list of responses), within ``timeout``.

        ``as_list``: ``False`` for single-response actions (the future resolves on the first
        response, so an Originate's ``OriginateResponse`` stays an event), ``None`` for
        EventLists (panoramisk collects the items; an ``Error`` answer still resolves it).
        """
        manager = self._manager
        protocol = manager.protocol if manager is not None else None
        if manager is None or protocol is None or protocol.closed:
            raise AmiLinkLost(f"AMI link to {self.where} is down")
        if not self._logged_in and fields.get("Action") != "Logoff":
            raise AmiLinkLost(f"AMI link to {self.where} is down")
        encode_action(fields)  # refuses a line break in any key or value before anything is sent
        action = Action(dict(fields), as_list=as_list)
        fut = manager.send_action(action, as_list=as_list)
        self._pending.add(fut)
        timeout = self.settings.action_timeout if timeout is None else timeout
        try:
            return await self._within(fut, timeout)
        except TimeoutError:
            protocol.forget(action.id)
            raise AmiTimeout(
                f"AMI {fields.get('Action')} got no response within {timeout:g} s"
            ) from None
        finally:
            self._pending.discard(fut)

    async def send(self, fields: Mapping[str, Any], *, timeout: float | None = None) -> Message:
        """Any single-response action; raises :class:`AmiActionError` on ``Response: Error``."""
        resp = await self._request(fields, timeout=timeout)
        self._stopping_answer(resp)
        if resp.get("Response") in ("Error", "Fail", "Failure"):
            raise AmiActionError(str(fields.get("Action")), str(resp.get("Message", "")))
        return resp

    async def _list(
        self, fields: Mapping[str, Any], *, timeout: float | None = None
    ) -> list[Message]:
        resp = await self._request(fields, timeout=timeout, as_list=None)
        if not isinstance(resp, list):  # a single response: an error
            self._stopping_answer(resp)
            raise AmiActionError(str(fields.get("Action")), str(resp.get("Message", "")))
        first = resp[0]
        self._stopping_answer(first)
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

    async def db_get(self, family: str, key: str) -> str | None:
        """An AstDB value (``DBGet``), ``None`` when there is no such entry."""
        try:
            items = await self._list({"Action": "DBGet", "Family": family, "Key": key})
        except AmiActionError as exc:
            if "not found" in exc.message.lower():
                return None
            raise
        return next((str(m.get("Val", "")) for m in items if m.get("Event") == "DBGetResponse"), None)

    async def db_del_tree(self, family: str) -> None:
        """Delete an AstDB family (``DBDelTree``); an empty one is not an error."""
        try:
            await self.send({"Action": "DBDelTree", "Family": family})
        except AmiActionError as exc:
            if "not found" not in exc.message.lower():
                raise

    async def show_dialplan(self, context: str) -> list[Frame]:
        """``ShowDialPlan`` of one context: its ``ListDialplan`` items."""
        return [_as_frame(m) for m in await self._list({"Action": "ShowDialPlan", "Context": context})]

    async def command(self, command: str) -> Frame:
        """A CLI command (``Command``, write class ``command``): the response, its ``Output``
        lines as repeated keys; raises :class:`AmiActionError` when refused."""
        resp = await self.send({"Action": "Command", "Command": command})
        return _as_frame(resp)

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
    return message.frame if isinstance(message, FrameMessage) else message


def _as_frame(message: Message) -> Frame:
    """The message as a codec :class:`Frame` (repeated keys kept)."""
    if isinstance(message, FrameMessage):
        return message.frame
    return Frame((k, str(x)) for k, v in message.items() for x in (v if isinstance(v, list) else [v]))
